// Package interop tests wotgen against Eclipse Thingweb node-wot 0.9.2 (interop/nodewot), the most
// used WoT runtime, over HTTP, in both directions: wotgen's generated client drives a node-wot Thing,
// and node-wot's consumer drives a `wotgen serve` Thing and a generated server.
package interop

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/internal/interop/testthing/testthingwot"
	"github.com/wotgen/wotgen/internal/nodewot"
	"github.com/wotgen/wotgen/runtime/wot"
)

// The generated typed client drives node-wot's Thing over HTTP: reads and writes of scalars and
// objects, an invalid write refused before sending, actions with and without input or output,
// observe, events, read-all and unsubscribe.
func TestGeneratedClientDrivesNodeWot(t *testing.T) {
	env := nodewot.Require(t)
	thing := env.StartThing(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c, err := testthingwot.Dial(ctx, thing.TD)
	if err != nil {
		t.Fatalf("Dial %s: %v", thing.TD, err)
	}
	defer c.Close()

	if v, err := c.ReadCount(ctx); err != nil || v != 0 {
		t.Errorf("ReadCount = %v, %v; want 0", v, err)
	}
	if v, err := c.ReadLabel(ctx); err != nil || v != "hello" {
		t.Errorf("ReadLabel = %q, %v; want hello", v, err)
	}
	if v, err := c.ReadConfig(ctx); err != nil || v != (testthingwot.Config{Name: "initial", Count: 1}) {
		t.Errorf("ReadConfig = %+v, %v", v, err)
	}
	if err := c.WriteCount(ctx, 42); err != nil {
		t.Fatalf("WriteCount: %v", err)
	}
	if err := c.WriteLabel(ctx, "wotgen"); err != nil {
		t.Fatalf("WriteLabel: %v", err)
	}
	if err := c.WriteEnabled(ctx, true); err != nil {
		t.Fatalf("WriteEnabled: %v", err)
	}
	if err := c.WriteConfig(ctx, testthingwot.Config{Name: "n", Count: 7}); err != nil {
		t.Fatalf("WriteConfig: %v", err)
	}
	if v, err := c.ReadConfig(ctx); err != nil || v != (testthingwot.Config{Name: "n", Count: 7}) {
		t.Errorf("ReadConfig after write = %+v, %v", v, err)
	}
	if err := c.WriteSecret(ctx, "abcd"); err != nil {
		t.Fatalf("WriteSecret: %v", err)
	}
	if v, err := c.ReadLastSecretLength(ctx); err != nil || v != 4 {
		t.Errorf("ReadLastSecretLength = %v, %v; want 4", v, err)
	}
	// Refused by the generated Validate before any request: node-wot would answer 500.
	if err := c.WriteCount(ctx, 1000); !wot.IsBadRequest(err) {
		t.Errorf("WriteCount(1000) = %v; want a 400 from validation", err)
	}
	if v, err := c.ReadCount(ctx); err != nil || v != 42 {
		t.Errorf("ReadCount after the refused write = %v, %v; want 42", v, err)
	}
	if v, err := c.Add(ctx, testthingwot.AddInput{A: 1, B: 2.5}); err != nil || v != 3.5 {
		t.Errorf("Add = %v, %v; want 3.5", v, err)
	}
	if err := c.SetLevel(ctx, 10); err != nil {
		t.Errorf("SetLevel: %v", err)
	}
	all, err := c.ReadAllProperties(ctx)
	if err != nil || all.Count != 42 || all.Label != "wotgen" || !all.Enabled || all.Level != 10 {
		t.Errorf("ReadAllProperties = %+v, %v", all, err)
	}

	// Observe level (long poll): each bump raises it.
	levels := make(chan float64, 16)
	sub, err := c.ObserveLevel(ctx, func(v float64, err error) {
		if err != nil {
			t.Errorf("ObserveLevel: %v", err)
			return
		}
		levels <- v
	})
	if err != nil {
		t.Fatalf("ObserveLevel: %v", err)
	}
	got := triggerUntil(t, ctx, levels, func() error { _, err := c.Bump(ctx); return err })
	if got <= 10 {
		t.Errorf("observed level %v; want above 10 after a bump", got)
	}
	if err := sub.Stop(ctx); err != nil {
		t.Errorf("unobserve: %v", err)
	}

	// Events: every fire emits an alarm with a rising sequence number.
	alarms := make(chan testthingwot.AlarmData, 16)
	esub, err := c.SubscribeAlarm(ctx, func(a testthingwot.AlarmData, err error) {
		if err != nil {
			t.Errorf("SubscribeAlarm: %v", err)
			return
		}
		alarms <- a
	})
	if err != nil {
		t.Fatalf("SubscribeAlarm: %v", err)
	}
	first := triggerUntil(t, ctx, alarms, func() error { return c.Fire(ctx) })
	second := triggerUntil(t, ctx, alarms, func() error { return c.Fire(ctx) })
	if second.Seq <= first.Seq {
		t.Errorf("alarms %+v then %+v; want rising seq", first, second)
	}
	if err := esub.Stop(ctx); err != nil {
		t.Errorf("unsubscribe: %v", err)
	}
}

// triggerUntil calls trigger until a value arrives (node-wot's long poll only sees changes made after
// its request reached the Thing, so one trigger can fall between two polls).
func triggerUntil[T any](t *testing.T, ctx context.Context, ch <-chan T, trigger func() error) T {
	t.Helper()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	if err := trigger(); err != nil {
		t.Fatalf("trigger: %v", err)
	}
	for {
		select {
		case v := <-ch:
			return v
		case <-tick.C:
			if err := trigger(); err != nil {
				t.Fatalf("trigger: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("no notification before the deadline")
		}
	}
}

// lampPlan is what node-wot's consumer does with a lamp: the TD check, reads, a write read back, a
// write the schema refuses, an action, read-all, observation and an event.
func lampPlan(overheat bool) nodewot.Plan {
	steps := []nodewot.Step{
		{Op: "readproperty", Name: "on"},
		{Op: "readproperty", Name: "level"},
		{Op: "readproperty", Name: "temperature"},
		{Op: "writeproperty", Name: "level", Value: 42, ReadBack: true},
		{Op: "writeproperty", Name: "on", Value: true, ReadBack: true},
		{ID: "invalid write", Op: "writeproperty", Name: "level", Value: 120, ExpectError: true},
		{ID: "level unchanged", Op: "readproperty", Name: "level", Expect: 42},
		{Op: "invokeaction", Name: "fade", Input: map[string]any{"level": 50, "duration": 0}},
		{Op: "readallproperties", Names: []string{"on", "level", "temperature"}},
		{Op: "observeproperty", Name: "level", Trigger: &nodewot.Trigger{Op: "writeproperty", Name: "level", Values: []any{10, 20, 30, 40}}},
	}
	if overheat {
		steps = append(steps, nodewot.Step{Op: "subscribeevent", Name: "overheated",
			Trigger: &nodewot.Trigger{Op: "writeproperty", Name: "level", Values: []any{100}}})
	} else {
		steps = append(steps, nodewot.Step{Op: "subscribeevent", Name: "overheated"}) // `serve -events` emits it
	}
	return nodewot.Plan{Steps: steps}
}

// node-wot's HTTP consumer drives the generated lamp server (examples/lamp).
func TestNodeWotConsumesGeneratedServer(t *testing.T) {
	env := nodewot.Require(t)
	_, srv, err := device.New(device.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	rs := env.Consume(t, hs.URL+"/", lampPlan(true))
	rs.RequireOK(t)
}

// node-wot's HTTP consumer drives `wotgen serve` of the lamp TD (simulated values; events on a timer).
func TestNodeWotConsumesWotgenServe(t *testing.T) {
	env := nodewot.Require(t)
	url := startServe(t, "-events", "200ms", filepath.Join(repoRoot(t), "examples", "lamp", "lamp.td.json"))
	rs := env.Consume(t, url, lampPlan(false))
	rs.RequireOK(t)
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// startServe runs the wotgen binary's serve command on 127.0.0.1 and returns the TD URL it prints.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wotgen-interop")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "wotgen")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, "./cmd/wotgen")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = err
			t.Logf("%s", out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("go build ./cmd/wotgen: %v", buildOnce.err)
	}
	cmd := exec.Command(buildOnce.bin, append([]string{"serve", "-addr", "127.0.0.1:0", "-console=false"}, args...)...)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	var line string
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := out.Read(buf)
		line += string(buf[:n])
		for _, l := range strings.Split(line, "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "TD:" {
				go io.Copy(io.Discard, out) // keep the pipe drained
				return f[1]
			}
		}
		if err != nil {
			break
		}
	}
	t.Fatalf("wotgen serve printed no TD URL: %q", line)
	return ""
}
