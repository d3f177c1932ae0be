package wot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

const testTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:dev:test", "title": "test",
 "properties": {
  "level": {"type": "integer", "minimum": 0, "maximum": 40, "forms": [{"href": "props/level"}]},
  "temp": {"type": "number", "readOnly": true, "forms": [{"href": "props/temp"}]},
  "pin": {"type": "string", "writeOnly": true, "forms": [{"href": "props/pin"}]},
  "mode": {"type": "string", "enum": ["eco", "boost"], "forms": [{"href": "props/mode"}]}},
 "actions": {
  "add": {"synchronous": true, "input": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, "forms": [{"href": "actions/add"}]},
  "flush": {"synchronous": false, "forms": [{"href": "actions/flush"}]},
  "none": {"forms": [{"href": "actions/none"}]}},
 "events": {"alarm": {"data": {"type": "string"}, "forms": [{"href": "events/alarm"}]},
            "tick": {"forms": [{"href": "events/tick"}]}}}`

func mustParseTD(t testing.TB, doc string) *td.Thing {
	t.Helper()
	d, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse TD: %v", err)
	}
	return d
}

func newTestThing(t testing.TB, opts ...ThingOption) *Thing {
	t.Helper()
	th, err := NewThing(mustParseTD(t, testTD), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// wantStatus fails unless err is an *Error with status whose detail contains want.
func wantStatus(t testing.TB, err error, status int, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a %d *Error containing %q, got %v", status, want, err)
	}
	if e.Status != status || !strings.Contains(e.Detail, want) {
		t.Fatalf("want %d containing %q, got %d %q", status, want, e.Status, e.Detail)
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recorder is a Subscriber that records what it is notified of.
type recorder struct {
	mu    sync.Mutex
	notes []string // "name=value tag"
	ids   []string
}

func (r *recorder) Notify(n *Notification, tag any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := string(n.Value)
	if n.Value == nil {
		v = "-"
	}
	r.notes = append(r.notes, fmt.Sprintf("%s=%s %v", n.Name, v, tag))
	r.ids = append(r.ids, n.ID)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
}

func (r *recorder) lastID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[len(r.ids)-1]
}

func TestPropertyOperations(t *testing.T) {
	th := newTestThing(t)
	ctx := context.Background()
	if v, err := th.ReadProperty(ctx, "level"); err != nil || string(v) != "0" {
		t.Fatalf("initial level %s %v", v, err)
	}
	_, err := th.ReadProperty(ctx, "nope")
	wantStatus(t, err, 404, `no property "nope"`)
	_, err = th.ReadProperty(ctx, "pin")
	wantStatus(t, err, 400, "write-only")

	if v, err := th.WriteProperty(ctx, "level", raw(` 7 `)); err != nil || string(v) != "7" {
		t.Fatalf("write: %s %v", v, err)
	}
	_, err = th.WriteProperty(ctx, "level", raw(`41`))
	wantStatus(t, err, 400, "level")
	_, err = th.WriteProperty(ctx, "temp", raw(`1`))
	wantStatus(t, err, 400, "read-only")
	if !th.IsReadOnly("temp") || th.IsReadOnly("level") || th.IsReadOnly("nope") {
		t.Error("IsReadOnly")
	}
	_, err = th.WriteProperty(ctx, "nope", raw(`1`))
	wantStatus(t, err, 404, "nope")
	_, err = th.WriteProperty(ctx, "level", nil)
	wantStatus(t, err, 400, "value")
	if v, err := th.WriteProperty(ctx, "pin", raw(`"1234"`)); err != nil || v != nil {
		t.Fatalf("a write-only value was echoed: %s %v", v, err)
	}

	// Handlers: errors keep their status, other errors become 500, panics too (logged).
	th.HandleRead("temp", func(ctx context.Context) (any, error) { return 21.5, nil })
	if v, err := th.ReadProperty(ctx, "temp"); err != nil || string(v) != "21.5" {
		t.Fatalf("handler read %s %v", v, err)
	}
	th.HandleRead("temp", func(ctx context.Context) (any, error) { return nil, Unavailable("sensor warming up") })
	_, err = th.ReadProperty(ctx, "temp")
	wantStatus(t, err, 503, "warming up")
	th.HandleRead("temp", func(ctx context.Context) (any, error) { return nil, errors.New("i2c bus") })
	_, err = th.ReadProperty(ctx, "temp")
	wantStatus(t, err, 500, "i2c bus")
	th.HandleRead("temp", func(ctx context.Context) (any, error) { panic("boom") })
	_, err = th.ReadProperty(ctx, "temp")
	wantStatus(t, err, 500, "panicked")
	th.HandleRead("temp", func(ctx context.Context) (any, error) { return func() {}, nil })
	_, err = th.ReadProperty(ctx, "temp")
	wantStatus(t, err, 500, "cannot be marshalled")
	if !th.HasHandler(td.OpReadProperty, "temp") || th.HasHandler(td.OpReadProperty, "level") || !th.HasHandler(td.OpReadAllProperties, "") {
		t.Error("HasHandler")
	}
	th.HandleWrite("mode", func(ctx context.Context, v json.RawMessage) (any, error) { return nil, nil })
	if v, err := th.WriteProperty(ctx, "mode", raw(`"eco"`)); err != nil || v != nil {
		t.Fatalf("unconfirmed write %s %v", v, err)
	}
}

func TestMultiPropertyOperations(t *testing.T) {
	th := newTestThing(t)
	ctx := context.Background()
	all, err := th.ReadProperties(ctx, nil)
	if err != nil || len(all) != 3 || all["pin"] != nil || string(all["mode"]) != `"eco"` {
		t.Fatalf("readall %v %v", all, err)
	}
	_, err = th.ReadProperties(ctx, []string{})
	wantStatus(t, err, 400, "at least one")
	_, err = th.ReadProperties(ctx, []string{"level", "nope"})
	wantStatus(t, err, 400, `no property "nope"`) // 400, not 404, for multi-property operations
	_, err = th.ReadProperties(ctx, []string{"pin"})
	wantStatus(t, err, 400, "write-only")
	th.HandleRead("temp", func(ctx context.Context) (any, error) { return nil, errors.New("offline") })
	got, err := th.ReadProperties(ctx, []string{"level", "temp"})
	wantStatus(t, err, 500, "offline")
	if string(got["level"]) != "0" || got["temp"] != nil {
		t.Fatalf("partial values %v", got)
	}

	_, err = th.WriteProperties(ctx, map[string]json.RawMessage{})
	wantStatus(t, err, 400, "at least one")
	_, err = th.WriteProperties(ctx, map[string]json.RawMessage{"temp": raw(`1`)})
	wantStatus(t, err, 400, "read-only")
	_, err = th.WriteProperties(ctx, map[string]json.RawMessage{"x": raw(`1`)})
	wantStatus(t, err, 400, `no property "x"`)
	// Every value is checked before anything is written.
	_, err = th.WriteProperties(ctx, map[string]json.RawMessage{"level": raw(`5`), "mode": raw(`"turbo"`)})
	wantStatus(t, err, 400, "mode")
	if v, _ := th.ReadProperty(ctx, "level"); string(v) != "0" {
		t.Fatal("a refused writemultipleproperties wrote a value")
	}
	th.HandleWrite("mode", func(ctx context.Context, v json.RawMessage) (any, error) { return nil, errors.New("relay stuck") })
	done, err := th.WriteProperties(ctx, map[string]json.RawMessage{"level": raw(`5`), "mode": raw(`"boost"`)})
	wantStatus(t, err, 500, "relay stuck")
	if string(done["level"]) != "5" {
		t.Fatalf("values written before the failure: %v", done)
	}
	if m := th.MissingWritable(map[string]json.RawMessage{"level": raw(`1`)}); m != "mode" {
		t.Errorf("MissingWritable = %q", m)
	}
}

func TestActionOperations(t *testing.T) {
	th := newTestThing(t)
	ctx := context.Background()
	_, err := th.InvokeAction(ctx, "nope", nil)
	wantStatus(t, err, 404, "nope")
	_, err = th.InvokeAction(ctx, "none", nil)
	wantStatus(t, err, 501, "no handler")
	th.HandleAction("add", func(ctx context.Context, in json.RawMessage) (any, error) {
		var v struct{ N int }
		json.Unmarshal(in, &v)
		if v.N < 0 {
			panic("negative")
		}
		return v.N + 1, nil
	})
	_, err = th.InvokeAction(ctx, "add", raw(`{}`))
	wantStatus(t, err, 400, "input")
	inv, err := th.InvokeAction(ctx, "add", raw(`{"n":1}`))
	if err != nil || string(inv.Output) != "2" || inv.Status != nil || inv.Name != "add" {
		t.Fatalf("sync invocation %+v %v", inv, err)
	}
	_, err = th.InvokeAction(ctx, "add", raw(`{"n":-1}`))
	wantStatus(t, err, 500, "panicked")

	release := make(chan struct{})
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	inv, err = th.InvokeAction(ctx, "flush", nil)
	if err != nil || inv.Status == nil || inv.Status.Name != "flush" || inv.Status.State != ActionPending && inv.Status.State != ActionRunning {
		t.Fatalf("async invocation %+v %v", inv, err)
	}
	id := inv.Status.ActionID
	if th.ActionOf(ctx, id) != "flush" || th.ActionOf(ctx, "nope") != "" {
		t.Error("ActionOf")
	}
	close(release)
	waitUntil(t, "completion", func() bool { st, _ := th.QueryAction(ctx, id); return st.State == ActionCompleted })
	st, _ := th.QueryAction(ctx, id)
	if string(st.Output) != `"done"` || st.TimeEnded.IsZero() {
		t.Fatalf("status %+v", st)
	}
	wantStatus(t, th.CancelAction(ctx, id), 400, "already completed")
	_, err = th.QueryAction(ctx, "")
	wantStatus(t, err, 400, "actionID")
	_, err = th.QueryAction(ctx, "nope")
	wantStatus(t, err, 404, "nope")
	wantStatus(t, th.CancelAction(ctx, "nope"), 404, "nope")
	wantStatus(t, th.CancelAction(ctx, ""), 400, "actionID")

	// Cancel ends the handler's context and deletes the instance.
	cancelled, started := make(chan struct{}), make(chan struct{})
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	})
	inv, _ = th.InvokeAction(ctx, "flush", nil)
	<-started
	if err := th.CancelAction(ctx, inv.Status.ActionID); err != nil {
		t.Fatal(err)
	}
	<-cancelled
	_, err = th.QueryAction(ctx, inv.Status.ActionID)
	wantStatus(t, err, 404, inv.Status.ActionID)
	all, err := th.QueryAllActions(ctx)
	if err != nil || len(all) != 3 || len(all["flush"]) != 0 || all["add"] == nil {
		// anonymous, session-less callers list nothing: they hold instances by id only
		t.Fatalf("queryallactions %v %v", all, err)
	}
}

// Per-caller visibility: principals see only their own instances; anonymous callers list
// their session's, and reach others' by id.
func TestActionVisibility(t *testing.T) {
	for _, shared := range []bool{false, true} {
		th := newTestThing(t, WithSharedActions(shared))
		th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
			if p := CallerFrom(ctx).Principal; p != "alice" && p != "" {
				return nil, fmt.Errorf("handler sees principal %q", p)
			}
			return nil, nil
		})
		alice := WithCaller(context.Background(), Caller{Principal: "alice"})
		bob := WithCaller(context.Background(), Caller{Principal: "bob"})
		s1 := WithCaller(context.Background(), Caller{Session: 1})
		s2 := WithCaller(context.Background(), Caller{Session: 2})
		a, _ := th.InvokeAction(alice, "flush", nil)
		anon, _ := th.InvokeAction(s1, "flush", nil)
		list := func(ctx context.Context) int { all, _ := th.QueryAllActions(ctx); return len(all["flush"]) }
		_, bobErr := th.QueryAction(bob, a.Status.ActionID)
		if shared {
			if list(bob) != 2 || bobErr != nil {
				t.Errorf("shared: bob lists %d, query %v", list(bob), bobErr)
			}
			continue
		}
		if list(alice) != 1 || list(bob) != 0 || list(s1) != 1 || list(s2) != 0 || !IsNotFound(bobErr) {
			t.Errorf("private: alice %d bob %d s1 %d s2 %d, bob's query %v", list(alice), list(bob), list(s1), list(s2), bobErr)
		}
		if _, err := th.QueryAction(s2, anon.Status.ActionID); err != nil {
			t.Errorf("an anonymous caller cannot follow an id it knows: %v", err)
		}
		wantStatus(t, th.CancelAction(bob, a.Status.ActionID), 404, "")
	}
}

func TestActionRetentionAge(t *testing.T) {
	th := newTestThing(t, WithActionRetention(10, time.Nanosecond))
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	ctx := WithCaller(context.Background(), Caller{Session: 1})
	for range 3 {
		inv, err := th.InvokeAction(ctx, "flush", nil)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "completion", func() bool {
			st, err := th.QueryAction(ctx, inv.Status.ActionID)
			return err != nil || st.State == ActionCompleted
		})
	}
	all, _ := th.QueryAllActions(ctx)
	if n := len(all["flush"]); n != 1 {
		t.Fatalf("%d instances kept, want only the newest", n)
	}
}

func TestAuthorizerInThingOperations(t *testing.T) {
	th := newTestThing(t)
	var mu sync.Mutex
	var calls []string
	s := NewServer(WithServerBindings(), WithAuthorizer(func(ctx context.Context, thingID, op, name string) error {
		mu.Lock()
		calls = append(calls, op+" "+name)
		mu.Unlock()
		switch {
		case thingID != "urn:dev:test":
			return errors.New("wrong thing")
		case op == td.OpWriteProperty:
			return errors.New("writes need the operator role")
		case op == td.OpQueryAction && name == "add":
			return errors.New("hidden")
		case op == td.OpInvokeAction:
			return NewError(http.StatusTooManyRequests, "slow down")
		case op == td.OpSubscribeEvent:
			panic("authorizer bug")
		}
		return nil
	}))
	if err := s.AddThing(th); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := th.ReadProperty(ctx, "level"); err != nil {
		t.Fatal(err)
	}
	_, err := th.WriteProperty(ctx, "level", raw(`1`))
	wantStatus(t, err, 403, "operator role")
	_, err = th.InvokeAction(ctx, "flush", nil)
	wantStatus(t, err, 429, "slow down")
	wantStatus(t, th.Subscribe(ctx, &recorder{}, td.KindEvent, []string{"alarm"}, nil, ""), 500, "authorizer failed")
	all, _ := th.QueryAllActions(ctx)
	if _, ok := all["add"]; ok || all["flush"] == nil {
		t.Fatalf("queryallactions shows what the principal may not query: %v", all)
	}
	// Authorization comes before everything, even the name check.
	_, err = th.WriteProperty(ctx, "nope", raw(`1`))
	wantStatus(t, err, 403, "operator")
	mu.Lock()
	defer mu.Unlock()
	if calls[0] != "readproperty level" {
		t.Errorf("calls %v", calls)
	}
}

func TestSubscribeReplayAndLastWins(t *testing.T) {
	th := newTestThing(t, WithHistory(10, 0))
	ctx := context.Background()
	a := &recorder{}
	if err := th.Subscribe(ctx, a, td.KindProperty, []string{"level"}, "t1", ""); err != nil {
		t.Fatal(err)
	}
	th.SetProperty("level", 1)
	th.SetProperty("mode", "boost") // not observed by a
	th.EmitEvent("alarm", "hot")
	if got := fmt.Sprint(a.got()); got != "[level=1 t1]" {
		t.Fatalf("got %s", got)
	}
	first := a.lastID()
	// Last subscription wins: the same affordance with a new tag, through the "all" form.
	if err := th.Subscribe(ctx, a, td.KindProperty, nil, "t2", ""); err != nil {
		t.Fatal(err)
	}
	th.SetProperty("level", 2)
	if got := a.got(); got[len(got)-1] != "level=2 t2" || len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	// Consumer writes notify only on change; write-only properties never.
	th.WriteProperty(ctx, "level", raw(`2`))
	th.WriteProperty(ctx, "pin", raw(`"1"`))
	if n := len(a.got()); n != 2 {
		t.Fatalf("%d notifications, want 2", n)
	}

	// A new subscriber resuming after the first notification gets what it missed, of the
	// kind and names it asks for, in order, with the original IDs.
	b := &recorder{}
	if err := th.Subscribe(ctx, b, td.KindProperty, nil, "b", first); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(b.got()); got != `[mode="boost" b level=2 b]` {
		t.Fatalf("replay %s", got)
	}
	// Replaying again skips what was sent; an unknown ID replays nothing.
	th.Subscribe(ctx, b, td.KindProperty, nil, "b", first)
	th.Subscribe(ctx, b, td.KindEvent, nil, "e", "unknown")
	if n := len(b.got()); n != 2 {
		t.Fatalf("replayed twice: %v", b.got())
	}
	th.Subscribe(ctx, b, td.KindEvent, []string{"alarm"}, "e", first)
	if got := b.got(); got[len(got)-1] != `alarm="hot" e` {
		t.Fatalf("event replay %v", got)
	}
	th.EmitEvent("tick", nil)
	th.EmitEvent("alarm", nil)
	if got := b.got(); got[len(got)-1] != "alarm=- e" {
		t.Fatalf("event without data %v", got)
	}

	// Unsubscribe one name, then all of a kind; Forget drops everything.
	th.Unsubscribe(b, td.KindProperty, []string{"mode"})
	th.SetProperty("mode", "eco")
	th.SetProperty("level", 3)
	if got := b.got(); got[len(got)-1] != "level=3 b" {
		t.Fatalf("after unsubscribing mode %v", got)
	}
	th.Unsubscribe(b, td.KindProperty, nil)
	th.Forget(a)
	n, m := len(a.got()), len(b.got())
	th.SetProperty("level", 4)
	th.Unsubscribe(&recorder{}, td.KindEvent, nil) // unknown subscriber: nothing to do
	if len(a.got()) != n || len(b.got()) != m {
		t.Fatal("notified after Unsubscribe/Forget")
	}
}

func TestSubscribeErrors(t *testing.T) {
	th := newTestThing(t)
	ctx := context.Background()
	r := &recorder{}
	wantStatus(t, th.Subscribe(ctx, r, td.KindProperty, []string{"nope"}, nil, ""), 404, "nope")
	wantStatus(t, th.Subscribe(ctx, r, td.KindEvent, []string{"nope"}, nil, ""), 404, "nope")
	wantStatus(t, th.Subscribe(ctx, r, td.KindProperty, []string{"pin"}, nil, ""), 400, "write-only")
	wantStatus(t, th.Subscribe(ctx, r, td.KindAction, nil, nil, ""), 400, "only properties and events")
	if err := th.Subscribe(ctx, nil, td.KindEvent, nil, nil, ""); err == nil {
		t.Error("a nil Subscriber was accepted")
	}
	// Hooks: all must pass, else nothing changes.
	var hooked []string
	th.HandleObserve("level", func(ctx context.Context, name string) error { hooked = append(hooked, name); return nil })
	th.HandleObserve("temp", func(ctx context.Context, name string) error { return Forbidden("only the owner") })
	th.HandleSubscribe("alarm", func(ctx context.Context, name string) error { panic("hook bug") })
	wantStatus(t, th.Subscribe(ctx, r, td.KindProperty, nil, "all", ""), 403, "owner")
	wantStatus(t, th.Subscribe(ctx, r, td.KindEvent, []string{"alarm"}, nil, ""), 500, "panicked")
	th.SetProperty("level", 1)
	if len(r.got()) != 0 || len(hooked) != 1 {
		t.Fatalf("a refused subscription took effect: %v, hooks %v", r.got(), hooked)
	}
	for _, f := range []func(){
		func() { th.HandleObserve("nope", nil) },
		func() { th.HandleSubscribe("nope", nil) },
		func() { th.HandleAction("nope", nil) },
		func() { th.HandleWrite("nope", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a handler for an unknown affordance did not panic")
				}
			}()
			f()
		}()
	}
	wantStatus(t, th.SetProperty("nope", 1), 404, "nope")
	wantStatus(t, th.NotifyPropertyChange("nope", 1), 404, "nope")
	wantStatus(t, th.NotifyPropertyChange("pin", 1), 400, "write-only")
	wantStatus(t, th.EmitEvent("nope", 1), 404, "nope")
	if err := th.SetProperty("level", func() {}); err == nil {
		t.Error("an unmarshallable value was stored")
	}
}

// Many goroutines publishing while subscribers come and go: every subscriber sees each
// affordance's notifications in history order (run with -race).
func TestPublishConcurrently(t *testing.T) {
	th := newTestThing(t, WithValidation(false))
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := &recorder{}
			for i := range 50 {
				th.Subscribe(ctx, r, td.KindProperty, []string{"level"}, g, "")
				th.SetProperty("level", i)
				th.NotifyPropertyChange("mode", "eco")
				if i%10 == 0 {
					th.Forget(r)
				}
			}
		})
	}
	wg.Wait()
}
func TestNewThingErrors(t *testing.T) {
	if _, err := NewThing(nil); err == nil {
		t.Error("nil TD")
	}
	if _, err := NewThing(mustParseTD(t, testTD), WithID("not a uri")); err == nil || !strings.Contains(err.Error(), "absolute URI") {
		t.Errorf("bad thingID: %v", err)
	}
	bad := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "properties": {"p": {"type": "string", "pattern": "(?<=a)b", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol"}]}}}`
	if _, err := NewThing(mustParseTD(t, bad)); err == nil || !strings.Contains(err.Error(), "WithValidation(false)") {
		t.Errorf("uncompilable schema: %v", err)
	}
	if _, err := NewThing(mustParseTD(t, bad), WithValidation(false)); err != nil {
		t.Errorf("without validation: %v", err)
	}
	remote := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "properties": {"p": {"type": "string", "$ref": "file:///etc/passwd", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol"}]}}}`
	if _, err := NewThing(mustParseTD(t, remote)); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("a $ref to a file was followed: %v", err)
	}
	th := newTestThing(t)
	defer func() {
		if recover() == nil {
			t.Error("HandleRead of an unknown property did not panic")
		}
	}()
	th.HandleRead("nope", nil)
}

func TestInitialValues(t *testing.T) {
	for schema, want := range map[string]string{
		`{"type":"integer","default":7}`:     "7",
		`{"type":"string","const":"c"}`:      `"c"`,
		`{"type":"string","enum":["a","b"]}`: `"a"`,
		`{"type":"number","minimum":2.5}`:    "2.5",
		`{"type":"array"}`:                   "[]",
		`{"type":"object"}`:                  "{}",
		`{}`:                                 "null",
	} {
		var s td.DataSchema
		if err := json.Unmarshal([]byte(schema), &s); err != nil {
			t.Fatal(err)
		}
		if got := string(initialValue(&s)); got != want {
			t.Errorf("%s: initial %s, want %s", schema, got, want)
		}
	}
}
