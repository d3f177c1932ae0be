package wtp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/wotgen/wotgen/runtime/wot"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestSubscribeHooks(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	var observed record
	th.HandleObserve("flowRate", func(ctx context.Context, name string) error { observed.add(name); return nil })
	th.HandleObserve("open", func(ctx context.Context, name string) error { return Forbidden("only the farmer may watch the valve") })
	th.HandleSubscribe("leak", func(ctx context.Context, name string) error { return errors.New("leak sensor offline") })

	c.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	c.fails(OpObserveProperty, func(m *Message) { m.Name = "open" }, 403, "farmer")
	c.fails(OpObserveAllProperties, nil, 403, "farmer") // all-or-nothing
	c.fails(OpSubscribeEvent, func(m *Message) { m.Name = "leak" }, 500, "offline")
	c.ok(OpSubscribeEvent, func(m *Message) { m.Name = "lowPressure" })
	if got := observed.get(); len(got) != 2 || got[0] != "flowRate" {
		t.Errorf("hook calls %v", got) // once direct, once from the refused observeallproperties
	}
	// A refused observeallproperties left the earlier observation in place.
	th.SetProperty("flowRate", 9)
	if m := c.recv(); m.Operation != OpObserveProperty {
		t.Fatalf("got %+v", m)
	}
	defer func() {
		if recover() == nil {
			t.Error("HandleSubscribe of an unknown event did not panic")
		}
	}()
	th.HandleSubscribe("nope", nil)
}

func TestAuthorizer(t *testing.T) {
	th := newValve(t)
	var calls record
	_, hs := serve(t, []*Thing{th}, WithAuthorizer(func(ctx context.Context, thingID, op, name string) error {
		calls.add(op + " " + name)
		switch {
		case op == OpWriteProperty:
			return errors.New("writes need the operator role")
		case op == OpQueryAction && name == "selfTest":
			return errors.New("hidden")
		case op == OpInvokeAction:
			return NewError(http.StatusTooManyRequests, "slow down")
		}
		return nil
	}))
	c := dial(t, hs)
	c.ok(OpReadProperty, func(m *Message) { m.Name = "open" })
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "open"; m.Value = raw("true") }, 403, "operator role")
	resp := c.call(OpInvokeAction, func(m *Message) { m.Name = "flush" })
	if resp.Error == nil || resp.Error.Status != 429 {
		t.Fatalf("custom problem from the authorizer: %+v", resp.Error)
	}
	all := c.ok(OpQueryAllActions, nil).Statuses
	if _, ok := all["selfTest"]; ok || all["flush"] == nil {
		t.Fatalf("queryallactions shows what the principal may not query: %v", all)
	}
	if got := calls.get(); got[0] != "readproperty open" {
		t.Errorf("calls %v", got)
	}
}

// Write-only properties never produce notifications, live or replayed.
func TestWriteOnlyNeverNotified(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	a := dial(t, hs)
	a.ok(OpObserveAllProperties, nil)
	th.SetProperty("open", true)
	first := a.recv()
	th.SetProperty("servicePin", "1234")
	a.ok(OpWriteProperty, func(m *Message) { m.Name = "servicePin"; m.Value = raw(`"9999"`) })
	th.SetProperty("open", false)
	a.recv()
	if err := th.NotifyPropertyChange("servicePin", "x"); !IsBadRequest(err) {
		t.Errorf("NotifyPropertyChange of a write-only property: %v", err)
	}
	b := dial(t, hs)
	b.ok(OpObserveAllProperties, func(m *Message) { m.LastNotificationID = first.MessageID })
	if m := b.recv(); m.Name != "open" || string(m.Value) != "false" {
		t.Fatalf("replay %+v", m)
	}
	b.expectNone()
}

func TestHandlerCanceledWhenConsumerLeaves(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	started, gone := make(chan struct{}), make(chan struct{})
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		close(gone)
		return nil, ctx.Err()
	})
	c := dial(t, hs)
	c.send(c.request(OpInvokeAction, func(m *Message) { m.Name = "selfTest" }))
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the action handler was not called")
	}
	c.ws.CloseNow()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("a synchronous action kept running after its consumer left")
	}
}

func TestMaxInFlight(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th}, WithMaxInFlight(1))
	release := make(chan struct{})
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) { <-release; return true, nil })
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return 1, nil })
	c := dial(t, hs)
	c.ok(OpObserveProperty, func(m *Message) { m.Name = "open" })
	inv := c.request(OpInvokeAction, func(m *Message) { m.Name = "selfTest" })
	c.send(inv)
	rd := c.request(OpReadProperty, func(m *Message) { m.Name = "flowRate" })
	c.send(rd) // waits for the one slot
	waitFor(t, "the read to be taken in", func() bool { return ServerStats(s).MessagesIn == 3 })
	th.SetProperty("open", true) // notifications still flow while the reader waits
	if m := c.recv(); m.MessageType != MessageTypeNotification {
		t.Fatalf("want the notification, got %+v", m)
	}
	close(release)
	checkResponse(t, inv, c.recv())
	checkResponse(t, rd, c.recv())
}

// Undoing is allowed wherever doing is offered, even if the TD lists only the observe op.
func TestUnobserveAllowedWithObserve(t *testing.T) {
	doc := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "properties": {"p": {"type": "integer", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol", "op": ["readproperty", "observeproperty"]}]},
	                "q": {"type": "integer", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol", "op": "readproperty"}]}},
	 "events": {"e": {"forms": [{"href": "/wtp", "subprotocol": "webthingprotocol", "op": "subscribeevent"}]}},
	 "actions": {"a": {"forms": [{"href": "http://example.org/a"}]}},
	 "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol", "op": ["observeallproperties"]}]}`
	th, err := NewThing(parseTD(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	if th.ID() != "urn:x" || th.TD().Title != "x" {
		t.Fatalf("ID %q TD %+v", th.ID(), th.TD())
	}
	var logs lockedBuffer
	_, hs := serve(t, []*Thing{th}, wot.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	c := dial(t, hs)
	c.thingID = "urn:x"
	c.ok(OpObserveProperty, func(m *Message) { m.Name = "p" })
	c.ok(OpUnobserveProperty, func(m *Message) { m.Name = "p" })
	c.fails(OpUnobserveProperty, func(m *Message) { m.Name = "q" }, 400, "does not offer unobserveproperty")
	c.ok(OpUnsubscribeEvent, func(m *Message) { m.Name = "e" })
	c.ok(OpUnobserveAllProperties, nil)
	c.fails(OpSubscribeAllEvents, nil, 400, "does not offer subscribeallevents")
	c.fails(OpUnsubscribeAllEvents, nil, 400, "does not offer unsubscribeallevents")
	c.fails(OpQueryAllActions, nil, 400, "does not offer queryallactions")
	c.fails(OpInvokeAction, func(m *Message) { m.Name = "a" }, 400, "does not offer invokeaction")
	c.fails(OpWriteAllProperties, func(m *Message) { m.Values = map[string]json.RawMessage{"p": raw("1")} }, 400, "does not offer writeallproperties")
	c.sendRaw(`{"thingID":"urn:x","messageID":"m","messageType":"request","operation":"readproperty","name":"p","correlationID":"not-a-uuid"}`)
	c.recv()
	c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
	waitFor(t, "the connection log", func() bool { return strings.Contains(logs.String(), "connection closed") })
	if !strings.Contains(logs.String(), "correlationID is not a UUID") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// lockedBuffer is a log sink written by server goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Handler calls run on the connection's reader until they take long: a handler that blocks
// (here until released) must not hold up later requests on its connection, handler-backed
// or not, nor other connections; its answer still arrives when it returns. A quick handler
// is answered in order with the requests around it.
func TestSlowHandlerDoesNotBlockItsConnection(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) {
		once.Do(func() { close(entered) })
		<-release
		return true, nil
	})
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return 2.5, nil })
	c := dial(t, hs)
	slow := c.request(OpInvokeAction, func(m *Message) { m.Name = "selfTest" })
	c.send(slow)
	<-entered
	// The same connection: a handler-backed read, a stored property and a subscription.
	for range 3 {
		rd := c.request(OpReadProperty, func(m *Message) { m.Name = "flowRate" })
		c.send(rd)
		if m := c.recv(); m.CorrelationID != rd.CorrelationID || string(m.Value) != "2.5" {
			t.Fatalf("read behind a blocked handler: %+v", m)
		}
	}
	c.ok(OpObserveProperty, func(m *Message) { m.Name = "open" })
	th.SetProperty("open", true)
	if m := c.recv(); m.MessageType != MessageTypeNotification {
		t.Fatalf("want the notification, got %+v", m)
	}
	dial(t, hs).stillWorks() // another connection
	close(release)
	checkResponse(t, slow, c.recv())
	// Back on the common path: quick handlers answered in order, no goroutine left behind.
	var reqs []*Message
	for range 20 {
		rd := c.request(OpReadProperty, func(m *Message) { m.Name = "flowRate" })
		reqs = append(reqs, rd)
		c.send(rd)
	}
	for _, rd := range reqs {
		checkResponse(t, rd, c.recv())
	}
	if n := ServerStats(s).Connections; n != 2 {
		t.Fatalf("%d connections", n)
	}
}

// A handler that keeps the CPU busy (rather than blocking) is handed off the same way.
func TestBusyHandlerDoesNotBlockItsConnection(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	var stop atomic.Bool
	entered := make(chan struct{})
	var once sync.Once
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) {
		once.Do(func() { close(entered) })
		for !stop.Load() {
		}
		return true, nil
	})
	c := dial(t, hs)
	slow := c.request(OpInvokeAction, func(m *Message) { m.Name = "selfTest" })
	c.send(slow)
	<-entered
	c.stillWorks()
	stop.Store(true)
	checkResponse(t, slow, c.recv())
}
