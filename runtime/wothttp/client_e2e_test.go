package wothttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// TestClientAgainstServerBinding drives this package's server binding (behind wot.Server)
// with this package's client through wot.Dial: the TD the server serves, every operation,
// hostile affordance names, async actions and both stream kinds.
func TestClientAgainstServerBinding(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, ServerLimits{})
	release := make(chan struct{})
	h.thing.HandleAction("toggle", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	h.thing.HandleAction("fade", func(ctx context.Context, in json.RawMessage) (any, error) {
		var n int
		json.Unmarshal(in, &n)
		return n * 2, nil
	})
	h.thing.HandleAction("slow", func(ctx context.Context, in json.RawMessage) (any, error) {
		select {
		case <-release:
			return 7, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	ctx := ctxT(t)
	ct, err := wot.Dial(ctx, h.root(), wot.WithBindings(NewBinding()))
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()

	// Properties, hostile names included.
	for name, v := range map[string]any{"level": 42, "a/b c": 1.5, "ünï code": "ü", "%2F": 3, "..": 4, "q?x=1#f": 5} {
		if _, err := ct.WriteProperty(ctx, name, v); err != nil {
			t.Fatalf("write %q: %v", name, err)
		}
		got, err := ct.ReadProperty(ctx, name)
		want, _ := json.Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Errorf("read %q = %s, %v; want %s", name, got, err, want)
		}
	}
	if _, err := ct.WriteProperty(ctx, "level", 500); !wot.IsBadRequest(err) {
		t.Errorf("out of range write: %v, want 400", err)
	}
	all, err := ct.ReadAllProperties(ctx)
	if err != nil || string(all["level"]) != "42" {
		t.Errorf("readall = %v, %v", all, err)
	}

	// Actions.
	if inv, err := ct.InvokeAction(ctx, "toggle", nil); err != nil || inv.Output != nil || inv.Status != nil {
		t.Errorf("toggle = %+v, %v", inv, err)
	}
	if inv, err := ct.InvokeAction(ctx, "fade", 21); err != nil || string(inv.Output) != "42" {
		t.Errorf("fade = %+v, %v", inv, err)
	}
	inv, err := ct.InvokeAction(ctx, "slow", 1)
	if err != nil || inv.Status == nil || inv.Status.ActionID == "" || inv.Status.Href == "" {
		t.Fatalf("slow = %+v, %v", inv, err)
	}
	st, err := ct.QueryAction(ctx, inv.Status)
	if err != nil || (st.State != wot.ActionPending && st.State != wot.ActionRunning) {
		t.Errorf("query = %+v, %v", st, err)
	}
	// An anonymous caller sees no instances in queryallactions (they are reached by id only).
	if _, err := ct.QueryAllActions(ctx); err != nil {
		t.Errorf("queryall: %v", err)
	}
	inv2, err := ct.InvokeAction(ctx, "slow", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := ct.CancelAction(ctx, inv2.Status); err != nil {
		t.Errorf("cancel: %v", err)
	}
	if _, err := ct.QueryAction(ctx, inv2.Status); !wot.IsNotFound(err) {
		t.Errorf("query after cancel: %v, want 404", err)
	}
	close(release)
	out, err := wot.NewAction[int](ct, inv).Wait(ctx)
	if err != nil || out != 7 {
		t.Errorf("wait = %d, %v", out, err)
	}

	// Streams: observeproperty (the form the core picks first) and the Thing-level SSE stream.
	one, every, evs := newCollector(), newCollector(), newCollector()
	s1, err := ct.ObserveProperty(ctx, "level", one.fn)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ct.ObserveAllProperties(ctx, every.fn)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := ct.SubscribeEvent(ctx, "x/../y", evs.fn)
	if err != nil {
		t.Fatal(err)
	}
	// Long-poll and SSE subscriptions register with the Thing asynchronously (a long poll only
	// once its GET arrives): keep changing the value until both have seen one.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; one.count() == 0 || every.count() == 0 || evs.count() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no notifications: %d, %d, %d", one.count(), every.count(), evs.count())
		}
		h.thing.SetProperty("level", 60+i%10)
		h.thing.EmitEvent("x/../y", i)
		select {
		case <-one.ch:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := one.wait(t, 1)[0]; n.Name != "level" || n.Kind != td.KindProperty {
		t.Errorf("observe: %+v", n)
	}
	if n := every.wait(t, 1)[0]; n.Name != "level" || n.ID == "" || n.Time.IsZero() {
		t.Errorf("observeall: %+v", n)
	}
	if n := evs.wait(t, 1)[0]; n.Name != "x/../y" || n.Kind != td.KindEvent {
		t.Errorf("event: %+v", n)
	}
	for _, s := range []*wot.Subscription{s1, s2, s3} {
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	}

	// The property's SSE form, below the core (which picks the long-poll form, listed first).
	var sse *td.Form
	for _, f := range ct.TD().AffordanceForms(td.OpObserveProperty, "a/b c") {
		if f.Subprotocol == "sse" {
			sse = f
		}
	}
	if sse == nil {
		t.Fatal("the served TD has no sse form for observeproperty")
	}
	u, err := ct.TD().ResolveHref(sse.Href, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &wot.Config{}
	cl, err := Binding{}.Open(ctx, &wot.Target{TD: ct.TD(), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sk := newSink()
	stop, err := cl.Subscribe(ctx, &wot.Request{Op: td.OpObserveProperty, Name: "a/b c", Form: wot.Form{Form: sse, URL: u}, URL: u}, sk)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; sk.count() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no notification on the property's SSE stream")
		}
		h.thing.SetProperty("a/b c", float64(i)+0.5)
		select {
		case <-sk.ch:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := sk.wait(t, 1)[0]; n.Name != "a/b c" || n.ID == "" {
		t.Errorf("sse observe: %+v", n)
	}
	if err := stop(ctx); err != nil {
		t.Error(err)
	}

	// The Thing refuses what does not exist.
	if _, err := ct.ReadProperty(ctx, "nope"); err == nil {
		t.Error("unknown property read succeeded")
	}
	var we *wot.Error
	if _, err := ct.QueryAction(ctx, &wot.ActionStatus{Href: inv.Status.Href + "x", Name: "slow"}); !errors.As(err, &we) || we.Status != 404 {
		t.Errorf("unknown instance: %v", err)
	}
}

// TestLongPollAgainstServerBinding: through the long-poll form, an event without data arrives as
// a notification without value, and notifications carry the Thing's own ids (the server's
// Last-Event-ID header), which the client sends back, so changes between two polls are replayed
// rather than lost.
func TestLongPollAgainstServerBinding(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, ServerLimits{})
	ctx := ctxT(t)
	ct, err := wot.Dial(ctx, h.root(), wot.WithBindings(NewBinding()))
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	cl, err := Binding{}.Open(ctx, &wot.Target{TD: ct.TD(), Config: &wot.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	longPoll := func(op, name string) *wot.Request {
		for _, f := range ct.TD().AffordanceForms(op, name) {
			if f.Subprotocol == "longpoll" {
				u, err := ct.TD().ResolveHref(f.Href, nil)
				if err != nil {
					t.Fatal(err)
				}
				return &wot.Request{Op: op, Name: name, Form: wot.Form{Form: f, URL: u}, URL: u}
			}
		}
		t.Fatalf("the served TD has no longpoll form for %s %q", op, name)
		return nil
	}

	pings := newSink()
	stop, err := cl.Subscribe(ctx, longPoll(td.OpSubscribeEvent, "ping"), pings)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pings.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no event without data arrived over long poll")
		}
		h.thing.EmitEvent("ping", nil)
		select {
		case <-pings.ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if n := pings.wait(t, 1)[0]; n.Value != nil || n.Name != "ping" || strings.HasPrefix(n.ID, lpPrefix) {
		t.Errorf("event without data: %+v; want no value and the Thing's notification id", n)
	}
	if err := stop(ctx); err != nil {
		t.Error(err)
	}

	// Changes made while no poll is outstanding are replayed on the next one.
	levels := newSink()
	stop, err = cl.Subscribe(ctx, longPoll(td.OpObserveProperty, "level"), levels)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; levels.count() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no property change arrived over long poll")
		}
		h.thing.SetProperty("level", i)
		select {
		case <-levels.ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
	base := levels.count()
	for i := range 20 {
		h.thing.SetProperty("level", 1000+i) // a burst: most land between two polls
	}
	got := levels.wait(t, base+20)
	last := got[len(got)-20:]
	for i, n := range last {
		if want := fmt.Sprint(1000 + i); string(n.Value) != want {
			t.Fatalf("change %d: got %s, want %s (lost or reordered between polls): %v", i, n.Value, want, last)
		}
	}
	if err := stop(ctx); err != nil {
		t.Error(err)
	}
}
