// Package nodewot drives Eclipse Thingweb node-wot 0.9.2 (interop/nodewot) from Go tests: it starts
// node-wot's HTTP Thing (thing.js) and runs node-wot's HTTP consumer (consume.js) with a scripted
// plan, so an interop test is a few lines of Go.
//
// node and interop/nodewot/node_modules are outside the module: tests that need them skip with a
// clear message when either is absent, except in CI (CI=true), where that is a failure. CI installs
// them with .ci/nodewot.sh.
package nodewot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the node-wot release the scripts are written for and the lockfile pins.
const Version = "0.9.2"

const (
	// startTimeout bounds thing.js from spawn to its ready line; node-wot loads in about a second,
	// far longer on a loaded CI machine.
	startTimeout = 20 * time.Second
	// consumeTimeout bounds a consume.js run; the script stops itself after at most 30 s.
	consumeTimeout = 40 * time.Second
	// stopTimeout is how long a Thing gets to exit after stdin closes before it is killed.
	stopTimeout = 5 * time.Second
	// stderrLimit caps the node stderr kept for failure reports.
	stderrLimit = 64 << 10
)

// Env is a located node binary and installed node-wot peer.
type Env struct {
	Node        string // absolute path of the node binary
	NodeVersion string // e.g. "v20.20.2"
	Dir         string // absolute path of interop/nodewot
}

// Dir returns the absolute path of interop/nodewot in this module, or "" when it cannot be found.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <module>/internal/nodewot/nodewot.go
	dir, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "interop", "nodewot"))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "consume.js")); err != nil {
		return ""
	}
	return dir
}

var (
	locateOnce sync.Once
	located    *Env
	locateErr  error
)

// Locate finds node and the installed node-wot packages, or says what is missing and how to fix it.
func Locate() (*Env, error) {
	locateOnce.Do(func() { located, locateErr = locate() })
	return located, locateErr
}

func locate() (*Env, error) {
	dir := Dir()
	if dir == "" {
		return nil, errors.New("interop/nodewot is missing from the module")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH: install Node.js 18 or newer, or run .ci/nodewot.sh")
	}
	if node, err = filepath.Abs(node); err != nil {
		return nil, err
	}
	for _, pkg := range []string{"core", "binding-http"} {
		manifest := filepath.Join(dir, "node_modules", "@node-wot", pkg, "package.json")
		data, err := os.ReadFile(manifest)
		if err != nil {
			return nil, fmt.Errorf("@node-wot/%s is not installed in %s: run .ci/nodewot.sh", pkg, dir)
		}
		var m struct{ Version string }
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %v", manifest, err)
		}
		if m.Version != Version {
			return nil, fmt.Errorf("@node-wot/%s %s is installed, the tests need %s: run .ci/nodewot.sh", pkg, m.Version, Version)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %v", node, err)
	}
	return &Env{Node: node, NodeVersion: strings.TrimSpace(string(out)), Dir: dir}, nil
}

// Require returns the located Env, skipping the test when node or node-wot is missing (failing in CI).
func Require(tb testing.TB) *Env {
	tb.Helper()
	env, err := Locate()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("node-wot interop peer unavailable in CI: %v", err)
		}
		tb.Skipf("node-wot interop peer unavailable, skipping: %v", err)
	}
	return env
}

// command builds a node invocation of one of the scripts with an environment node-wot cannot
// misread: PORT and WOT_PORT would override thing.js's port.
func (e *Env) command(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.Node, append([]string{filepath.Join(e.Dir, script)}, args...)...)
	cmd.Dir = e.Dir
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PORT=") || strings.HasPrefix(kv, "WOT_PORT=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.WaitDelay = stopTimeout
	return cmd
}

// Thing is a running thing.js.
type Thing struct {
	TD   string // URL of the Thing Description, e.g. http://127.0.0.1:PORT/testthing
	Port int
	// Stderr returns what node wrote on stderr so far (at most the last 64 KiB).
	Stderr func() string
}

// StartThing starts node-wot's Thing on 127.0.0.1 at a port the kernel picks. The process is ended
// when the test finishes: its stdin closes (thing.js exits), and it is killed if it is still there.
// On failure the test log gets node's stderr; set DEBUG=node-wot* to include node-wot's own logs.
func (e *Env) StartThing(tb testing.TB) *Thing {
	tb.Helper()
	cmd := e.command(context.Background(), "thing.js", "0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr := &tailBuffer{max: stderrLimit}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start node thing.js: %v", err)
	}
	exited := make(chan error, 1)
	stdoutDone := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		defer close(stdoutDone)
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		// Keep draining so a chatty Thing can never block on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-stdoutDone // Wait closes the pipe; read it to the end first.
		exited <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("node thing.js stderr:\n%s", orEmpty(stderr.String()))
		}
	})

	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			tb.Fatalf("node thing.js exited before it was ready; stderr:\n%s", stderr.String())
		}
		line = l
	case <-time.After(startTimeout):
		tb.Fatalf("node thing.js not ready within %v; stderr:\n%s", startTimeout, stderr.String())
	}
	var ready struct {
		TD   string `json:"td"`
		Port int    `json:"port"`
	}
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.TD == "" {
		tb.Fatalf("node thing.js printed %q, want {\"td\":URL,\"port\":N}", line)
	}
	return &Thing{TD: ready.TD, Port: ready.Port, Stderr: stderr.String}
}

// Plan is the script consume.js runs after requesting and consuming the TD.
type Plan struct {
	TimeoutMs         int    `json:"timeoutMs,omitempty"`         // whole run; default 25000, capped at 30000
	StepTimeoutMs     int    `json:"stepTimeoutMs,omitempty"`     // each step; default 5000, twice that for subscriptions
	TriggerIntervalMs int    `json:"triggerIntervalMs,omitempty"` // between triggers; default 300
	Steps             []Step `json:"steps"`
}

// Step is one operation of a Plan. Op is one of readproperty, writeproperty, invokeaction,
// readallproperties, readmultipleproperties, writemultipleproperties, observeproperty,
// subscribeevent. A nil Value/Input/Expect is absent; to mean JSON null use json.RawMessage("null").
type Step struct {
	ID          string         `json:"id,omitempty"` // name in the results; default "<op> <name>"
	Op          string         `json:"op"`
	Name        string         `json:"name,omitempty"`
	Value       any            `json:"value,omitempty"`       // writeproperty
	ReadBack    bool           `json:"readBack,omitempty"`    // writeproperty: read the property back and compare
	Input       any            `json:"input,omitempty"`       // invokeaction; nil for an action without input
	Names       []string       `json:"names,omitempty"`       // read{all,multiple}properties: members the result must have
	Values      map[string]any `json:"values,omitempty"`      // writemultipleproperties
	Count       int            `json:"count,omitempty"`       // observeproperty/subscribeevent: notifications to wait for (default 1)
	Trigger     *Trigger       `json:"trigger,omitempty"`     // observeproperty/subscribeevent: repeated until the notifications arrive
	Expect      any            `json:"expect,omitempty"`      // value the result must deep-equal (first notification for subscriptions)
	ExpectError bool           `json:"expectError,omitempty"` // the operation must fail
	TimeoutMs   int            `json:"timeoutMs,omitempty"`
}

// Trigger makes a Thing notify: an action invocation or a property write. Values, when set, are
// written in turn, for Things that only notify on a change.
type Trigger struct {
	Op     string `json:"op"` // invokeaction or writeproperty
	Name   string `json:"name"`
	Input  any    `json:"input,omitempty"`
	Value  any    `json:"value,omitempty"`
	Values []any  `json:"values,omitempty"`
}

// Result is one step as consume.js reported it. The first two are always "requestThingDescription"
// (node-wot's TD JSON Schema check) and "consume"; an observeproperty/subscribeevent step is
// followed by its "unobserveproperty NAME"/"unsubscribeevent NAME" step; the last is "done".
type Result struct {
	Step  string          `json:"step"`
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value,omitempty"` // subscriptions: the array of notifications
	Error string          `json:"error,omitempty"` // failure reason, or the refusal an expectError step saw
	Ms    int             `json:"ms,omitempty"`
}

// Results is the outcome of a consume.js run.
type Results []Result

// Get returns the result of the step with the given id, failing the test when there is none.
func (rs Results) Get(tb testing.TB, step string) Result {
	tb.Helper()
	for _, r := range rs {
		if r.Step == step {
			return r
		}
	}
	tb.Fatalf("node-wot consumer reported no step %q; steps: %s", step, rs)
	return Result{}
}

// Failed returns the steps that were not ok.
func (rs Results) Failed() Results {
	var out Results
	for _, r := range rs {
		if !r.OK {
			out = append(out, r)
		}
	}
	return out
}

// RequireOK fails the test naming every step that was not ok.
func (rs Results) RequireOK(tb testing.TB) {
	tb.Helper()
	failed := rs.Failed()
	for _, r := range failed {
		// "done" fails because another step did; it only needs naming when alone.
		if r.Step != "done" || len(failed) == 1 {
			tb.Errorf("node-wot consumer step %q failed: %s", r.Step, r.Error)
		}
	}
}

func (rs Results) String() string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  %-32s ok=%-5v", r.Step, r.OK)
		if len(r.Value) > 0 {
			fmt.Fprintf(&b, " value=%s", r.Value)
		}
		if r.Error != "" {
			fmt.Fprintf(&b, " error=%q", r.Error)
		}
	}
	return b.String()
}

// Consume runs node-wot's consumer with plan against the Thing whose TD is at tdURL and returns
// every step it reported. It fails the test only when the harness itself breaks (no verdict from
// the script, bad plan); step failures are in the Results for the caller to assert on, see
// Results.RequireOK. The steps and node's stderr are logged when the test fails.
func (e *Env) Consume(tb testing.TB, tdURL string, plan Plan) Results {
	tb.Helper()
	planJSON, err := json.Marshal(plan)
	if err != nil {
		tb.Fatalf("encode plan: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), consumeTimeout)
	defer cancel()
	cmd := e.command(ctx, "consume.js", tdURL, string(planJSON))
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: stderrLimit}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)

	var rs Results
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			tb.Fatalf("node consume.js printed a line that is not a step result: %q\nstderr:\n%s", line, stderr.String())
		}
		rs = append(rs, r)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("node consume.js (%v) steps:%s\nstderr:\n%s", elapsed.Round(time.Millisecond), rs, orEmpty(stderr.String()))
		}
	})
	if len(rs) == 0 || rs[len(rs)-1].Step != "done" {
		tb.Fatalf("node consume.js gave no verdict (%v after %v); steps:%s\nstderr:\n%s",
			runErr, elapsed.Round(time.Millisecond), rs, stderr.String())
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		tb.Fatalf("node consume.js: %v", runErr)
	}
	if done := rs[len(rs)-1]; done.OK != (runErr == nil) {
		tb.Fatalf("node consume.js verdict ok=%v disagrees with its exit status %v", done.OK, runErr)
	}
	return rs
}

// LoopbackURL reports whether u is an http URL on 127.0.0.1, the only address the tests use.
func LoopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" {
		return false
	}
	ip := net.ParseIP(p.Hostname())
	return ip != nil && ip.IsLoopback()
}

func orEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(empty)"
	}
	return s
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
