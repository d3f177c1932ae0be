package wothttp_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/nodewot"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wothttp"
)

// TestNodeWotThing consumes a real node-wot 0.9.2 Thing (interop/nodewot/thing.js) with the
// HTTP binding: the TD as node-wot serves it, every operation it offers, its plain-text
// errors, and long-poll observation and events.
func TestNodeWotThing(t *testing.T) {
	env := nodewot.Require(t)
	thing := env.StartThing(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ct, err := wot.Dial(ctx, thing.TD, wot.WithBindings(wothttp.NewBinding()))
	if err != nil {
		t.Fatalf("dial %s: %v", thing.TD, err)
	}
	defer ct.Close()

	read := func(name string) string {
		t.Helper()
		v, err := ct.ReadProperty(ctx, name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		return string(v)
	}
	write := func(name string, v any) {
		t.Helper()
		if _, err := ct.WriteProperty(ctx, name, v); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	if got := read("label"); got != `"hello"` {
		t.Errorf("label = %s", got)
	}
	write("count", 5)
	write("enabled", true)
	write("config", map[string]any{"name": "n", "count": 2})
	if got := read("count"); got != "5" {
		t.Errorf("count = %s", got)
	}
	if got := read("enabled"); got != "true" {
		t.Errorf("enabled = %s", got)
	}
	var cfg struct {
		Name  string
		Count int
	}
	if err := json.Unmarshal([]byte(read("config")), &cfg); err != nil || cfg.Name != "n" || cfg.Count != 2 {
		t.Errorf("config = %+v, %v", cfg, err)
	}
	write("secret", "abcd")
	if got := read("lastSecretLength"); got != "4" {
		t.Errorf("lastSecretLength = %s", got)
	}
	// node-wot refuses an out-of-range value with a plain-text 500.
	if _, err := ct.WriteProperty(ctx, "count", 500); wot.StatusOf(err) != 500 {
		t.Errorf("out-of-range write: %v, want a 500 *wot.Error", err)
	}

	inv, err := ct.InvokeAction(ctx, "add", map[string]int{"a": 2, "b": 3})
	if err != nil || string(inv.Output) != "5" {
		t.Errorf("add = %+v, %v", inv, err)
	}
	inv, err = ct.InvokeAction(ctx, "setLevel", 4)
	if err != nil || inv.Output != nil || inv.Status != nil {
		t.Errorf("setLevel = %+v, %v", inv, err)
	}
	inv, err = ct.InvokeAction(ctx, "bump", nil)
	if err != nil || string(inv.Output) != "5.5" {
		t.Errorf("bump = %+v, %v", inv, err)
	}
	if got := read("level"); got != "5.5" {
		t.Errorf("level = %s", got)
	}

	// Long poll: node-wot answers one value per GET.
	var mu sync.Mutex
	var counts, alarms []string
	got := make(chan struct{}, 16)
	obs, err := ct.ObserveProperty(ctx, "count", func(n wot.Notification) {
		mu.Lock()
		counts = append(counts, string(n.Value))
		mu.Unlock()
		got <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ct.SubscribeEvent(ctx, "alarm", func(n wot.Notification) {
		mu.Lock()
		alarms = append(alarms, string(n.Value))
		mu.Unlock()
		got <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The long polls register with node-wot when their GET arrives, which this side cannot
	// observe: repeat the change until one is seen.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		mu.Lock()
		done := len(counts) > 0 && len(alarms) > 0
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notifications: counts %v, alarms %v", counts, alarms)
		}
		write("count", 10+i%50)
		if _, err := ct.InvokeAction(ctx, "fire", nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(100 * time.Millisecond):
		}
	}
	mu.Lock()
	var alarm struct {
		Seq     int
		Message string
	}
	if err := json.Unmarshal([]byte(alarms[0]), &alarm); err != nil || alarm.Seq == 0 || !strings.HasPrefix(alarm.Message, "alarm ") {
		t.Errorf("alarm = %s, %v", alarms[0], err)
	}
	mu.Unlock()
	if err := obs.Stop(ctx); err != nil {
		t.Error(err)
	}
	if err := sub.Stop(ctx); err != nil {
		t.Error(err)
	}

	// readallproperties: node-wot's /properties fails (the write-only property has no read
	// handler) and
	// answers 500; a consumer that falls back to one read per property gets the readable values.
	all, err := ct.ReadAllProperties(ctx)
	switch {
	case err != nil && wot.StatusOf(err) != 500:
		t.Errorf("readallproperties: %v, want node-wot's 500", err)
	case err == nil && string(all["label"]) != `"hello"`:
		t.Errorf("readall = %v", all)
	}
}
