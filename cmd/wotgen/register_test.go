package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/netnstest"
	"github.com/wotgen/wotgen/runtime/discovery"
)

var lampPath = filepath.Join("..", "..", "examples", "lamp", "lamp.td.json")

const lampID = "urn:uuid:0a3f5c56-5d4e-4b59-9e0b-6a1f1e6b7c21"

// startServe runs `wotgen serve` in-process until the line containing ready appears on stdout,
// and returns a stop function that returns the exit code and stderr.
func startServe(t *testing.T, ready string, args ...string) (out *syncBuffer, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, append([]string{"serve", "-addr", "127.0.0.1:0", "-console=false"}, args...), stdio{out: out, err: errOut})
	}()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), ready) {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve ended with %d before %q: %s%s", code, ready, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not print %q; stdout %q stderr %q", ready, out.String(), errOut.String())
		}
	}
	var stopped bool
	var code int
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			cancel()
			select {
			case code = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("serve did not stop within 15 s")
			}
		}
		return code, errOut.String()
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// TestServeRegister: serve -register puts the simulated lamp into a directory that needs a token
// (from $WOTGEN_REGISTER_TOKEN), with the ttl of -ttl, and deletes it when serve stops.
func TestServeRegister(t *testing.T) {
	base, stopDir := startDirectory(t, "-db", filepath.Join(t.TempDir(), "tdd.db"), "-token", "s3cret")
	defer stopDir()
	t.Setenv("WOTGEN_REGISTER_TOKEN", "s3cret")
	out, stop := startServe(t, "registered:", "-register", base, "-ttl", "5s", lampPath)
	if !strings.Contains(out.String(), base+"things/"+lampID) {
		t.Errorf("serve output lacks the directory's URL of the entry:\n%s", out.String())
	}
	c, _ := discovery.NewDirectory(base)
	got, err := c.Get(context.Background(), lampID)
	if err != nil {
		t.Fatal(err)
	}
	info, _, _ := discovery.RegistrationOf(got)
	if got.Title != "Lamp" || info.TTL == nil || *info.TTL != 5 || !strings.HasPrefix(got.Base, "http://127.0.0.1:") {
		t.Errorf("entry: title %q, base %q, registration %+v", got.Title, got.Base, info)
	}
	if code, errOut := stop(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, errOut)
	}
	if _, err := c.Get(context.Background(), lampID); !discovery.IsDirectoryStatus(err, 404) {
		t.Fatalf("after serve stopped: %v, want 404", err)
	}
}

func TestServeRegisterErrors(t *testing.T) {
	base, stopDir := startDirectory(t, "-db", filepath.Join(t.TempDir(), "tdd.db"), "-token", "s3cret")
	defer stopDir()
	t.Setenv("WOTGEN_REGISTER_TOKEN", "")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-register", base, "-register-token", "wrong"}, "bearer token"},
		{[]string{"-register", base, "-ttl", "10ms"}, "below 1s"},
		{[]string{"-register", "ftp://x/"}, "http:// or https://"},
		{[]string{"-register", base, "-addr", "0.0.0.0:0"}, "give -register-td http://HOST:"},
	} {
		var errOut syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		code := runContext(ctx, append(append([]string{"serve", "-addr", "127.0.0.1:0", "-console=false"}, c.args...), lampPath), stdio{out: &syncBuffer{}, err: &errOut})
		cancel()
		if code != exitFindings || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("serve %v: exit %d, stderr %q; want 1 and %q", c.args, code, errOut.String(), c.msg)
		}
	}
}

// TestGenerateFromDirectoryEntry: `wotgen generate` takes a directory's URL of a TD (its
// application/td+json answer, enriched with the registration member) and writes what it writes
// from the file.
func TestGenerateFromDirectoryEntry(t *testing.T) {
	base, stopDir := startDirectory(t, "-db", filepath.Join(t.TempDir(), "tdd.db"))
	defer stopDir()
	raw, err := os.ReadFile(lampPath)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := discovery.NewDirectory(base)
	if _, err := c.CreateJSON(context.Background(), lampID, raw); err != nil {
		t.Fatal(err)
	}
	fromDir, fromFile := t.TempDir(), t.TempDir()
	for _, g := range [][2]string{{c.ThingURL(lampID), fromDir}, {lampPath, fromFile}} {
		var out syncBuffer
		if code := runContext(context.Background(), []string{"generate", "-pkg", "lampwot", "-o", g[1], g[0]}, stdio{out: &out, err: &out}); code != exitOK {
			t.Fatalf("generate %s: exit %d: %s", g[0], code, out.String())
		}
	}
	source := regexp.MustCompile(`(?m)^// Source: .*$`)
	for _, f := range []string{"lamp_types_gen.go", "lamp_client_gen.go", "lamp_server_gen.go"} {
		a, err1 := os.ReadFile(filepath.Join(fromDir, f))
		b, err2 := os.ReadFile(filepath.Join(fromFile, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(source.ReplaceAll(a, nil), source.ReplaceAll(b, nil)) {
			t.Errorf("%s generated from the directory entry differs from the one generated from the file", f)
		}
	}
}

// TestDiscoverThroughDirectoryEndToEnd is issue 16 through a directory: `wotgen directory` runs,
// `wotgen serve -register` puts the lamp into it, `wotgen discover -dir` finds the lamp there, and
// `wotgen generate` from the TD URL it found gives a typed client that a separate program uses to
// read and write the lamp's level.
func TestDiscoverThroughDirectoryEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	base, stopDir := startDirectory(t, "-db", filepath.Join(t.TempDir(), "tdd.db"))
	defer stopDir()
	_, stopServe := startServe(t, "registered:", "-register", base, "-ttl", "30s", lampPath)
	t.Logf("directory up and lamp registered in %v", time.Since(start))

	start = time.Now()
	var stdout, stderr bytes.Buffer
	if code := runContext(ctx, []string{"discover", "-dir", base, "-format", "json"}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr}); code != exitOK {
		t.Fatalf("discover -dir: exit %d: %s", code, stderr.String())
	}
	var found []discovered
	if err := json.Unmarshal(stdout.Bytes(), &found); err != nil || len(found) != 1 {
		t.Fatalf("discover -dir output %q: %v", stdout.String(), err)
	}
	lamp := found[0]
	t.Logf("discover -dir found %+v in %v", lamp, time.Since(start))
	if lamp.Title != "Lamp" || lamp.ID != lampID || lamp.URL != base+"things/"+lampID || lamp.Source != "directory" || lamp.Type != "Thing" {
		t.Fatalf("found %+v", lamp)
	}

	// The JSONPath search finds it too, and finds nothing for another title.
	stdout.Reset()
	if code := runContext(ctx, []string{"discover", "-dir", base, "-query", "$[?(@.title=='Lamp')]", "-format", "json"}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr}); code != exitOK || !strings.Contains(stdout.String(), lampID) {
		t.Fatalf("discover -query: exit %d: %s %s", code, stdout.String(), stderr.String())
	}

	if testing.Short() {
		t.Skip("-short: skipping the generated client program (go run of a temporary module)")
	}
	start = time.Now()
	root := moduleRoot(t)
	mod := t.TempDir()
	var genOut syncBuffer
	if code := runContext(ctx, []string{"generate", "-pkg", "lampwot", "-o", filepath.Join(mod, "lampwot"), lamp.URL}, stdio{out: &genOut, err: &genOut}); code != exitOK {
		t.Fatalf("generate from %s: exit %d: %s", lamp.URL, code, genOut.String())
	}
	gomod := "module example.com/lampclient\n\ngo 1.24\n\nrequire github.com/wotgen/wotgen v0.0.0\n\nreplace github.com/wotgen/wotgen => " + root + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(lampClientProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, mod, "mod", "tidy")
	cmd := exec.CommandContext(ctx, "go", "run", ".", lamp.URL)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run of the generated client: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "level 42") {
		t.Errorf("client output %q, want level 42", out)
	}
	t.Logf("generate + go run of the client in %v: %s", time.Since(start), bytes.TrimSpace(out))

	if code, errOut := stopServe(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, errOut)
	}
	c, _ := discovery.NewDirectory(base)
	if _, err := c.Get(ctx, lampID); !discovery.IsDirectoryStatus(err, 404) {
		t.Errorf("after serve stopped the lamp is still listed: %v", err)
	}
}

// lampClientProgram dials the TD URL it is given through the directory and reads and writes the
// lamp's level through the generated typed client.
const lampClientProgram = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"example.com/lampclient/lampwot"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := lampwot.Dial(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	defer c.Close()
	if err := c.WriteLevel(ctx, 42); err != nil {
		fmt.Fprintln(os.Stderr, "write level:", err)
		os.Exit(1)
	}
	v, err := c.ReadLevel(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "read level:", err)
		os.Exit(1)
	}
	fmt.Printf("level %v\n", v)
}
`

// TestDirectoryAnnounceNetns: `wotgen directory -announce` is found by `wotgen discover -mdns`,
// which lists what the directory holds, in a network namespace whose loopback carries multicast.
func TestDirectoryAnnounceNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base, stopDir := startDirectory(t, "-db", filepath.Join(t.TempDir(), "tdd.db"), "-announce")
	raw, err := os.ReadFile(lampPath)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := discovery.NewDirectory(base)
	if _, err := c.CreateJSON(ctx, lampID, raw); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runContext(ctx, []string{"discover", "-mdns", "-timeout", "3s", "-format", "json"}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr})
	if code != exitOK {
		t.Fatalf("discover -mdns: exit %d: %s", code, stderr.String())
	}
	var found []discovered
	if err := json.Unmarshal(stdout.Bytes(), &found); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	byType := map[string]discovered{}
	for _, d := range found {
		byType[d.Type] = d
	}
	if d := byType["Directory"]; d.Source != "mdns" || d.URL != base+".well-known/wot" {
		t.Errorf("directory: %+v (all: %+v)", d, found)
	}
	if l := byType["Thing"]; l.ID != lampID || l.URL != base+"things/"+lampID || l.Source != "directory" {
		t.Errorf("lamp: %+v (all: %+v)", l, found)
	}
	if code := stopDir(); code != exitOK {
		t.Errorf("directory exit %d", code)
	}
}
