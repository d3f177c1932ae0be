package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"

	"github.com/wotgen/wotgen/runtime/wot"
)

func dialFake(t *testing.T, fs *fakeServer, opts ...wot.DialOption) *wot.ConsumedThing {
	t.Helper()
	opts = append([]wot.DialOption{wot.WithThingID("urn:test:fake")}, opts...)
	c, err := wot.Dial(consumerCtx(t, 5*time.Second), fs.wsURL(), opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clients maps the TD of each consumed Thing to the WTP client opened for it.
var clients = struct {
	sync.Mutex
	m map[*td.Thing]*client
}{m: map[*td.Thing]*client{}}

func init() {
	openHook = func(c *client) {
		clients.Lock()
		clients.m[c.target.TD] = c
		clients.Unlock()
	}
}

// clientOf returns the WTP client of c.
func clientOf(t *testing.T, c *wot.ConsumedThing) *client {
	t.Helper()
	clients.Lock()
	defer clients.Unlock()
	cl := clients.m[c.TD()]
	if cl == nil {
		t.Fatal("no WTP client was opened for this ConsumedThing")
	}
	return cl
}

func onlyConn(t *testing.T, c *wot.ConsumedThing) *clientConn {
	t.Helper()
	cl := clientOf(t, c)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.conns) != 1 {
		t.Fatalf("ConsumedThing has %d connections, want 1", len(cl.conns))
	}
	for _, cc := range cl.conns {
		return cc
	}
	return nil
}

func TestConsumerFakeReadWrite(t *testing.T) {
	fs := newFakeServer(t, answerAll)
	c := dialFake(t, fs)
	v, err := c.ReadProperty(consumerCtx(t, 2*time.Second), "temp")
	if err != nil || string(v) != "42" {
		t.Fatalf("ReadProperty = %s, %v; want 42", v, err)
	}
	got, err := c.WriteProperty(consumerCtx(t, 2*time.Second), "temp", 7.5)
	if err != nil || string(got) != "7.5" {
		t.Fatalf("WriteProperty = %s, %v; want 7.5", got, err)
	}
	c.Close()
	consumerNoLeaks(t)
}

func TestConsumerThingErrorIsProblem(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, m *Message) {
		r := fakeResponse(m)
		r.Error = NotFound("no property %q", m.Name)
		fc.send(r)
	})
	c := dialFake(t, fs)
	_, err := c.ReadProperty(consumerCtx(t, 2*time.Second), "nope")
	var pe *wot.Error
	if !errors.As(err, &pe) || pe.Status != 404 || !wot.IsNotFound(err) || !strings.Contains(pe.Detail, "nope") {
		t.Fatalf("err = %#v, want a 404 *Error", err)
	}
}

func TestConsumerSilentServerTimesOutCleanly(t *testing.T) {
	fs := newFakeServer(t, func(*fakeConn, *Message) {})
	c := dialFake(t, fs)
	start := time.Now()
	_, err := c.ReadProperty(consumerCtx(t, 300*time.Millisecond), "temp")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no response") {
		t.Fatalf("err = %v, want a deadline error saying there was no response", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("took %v, want about the 300ms deadline", el)
	}
	if n := onlyConn(t, c).pendingCount(); n != 0 {
		t.Fatalf("%d pending entries after the deadline, want 0", n)
	}
	// wot.WithRequestTimeout bounds a context without deadline.
	c2 := dialFake(t, fs, wot.WithRequestTimeout(200*time.Millisecond))
	if _, err := c2.ReadProperty(context.Background(), "temp"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the request timeout", err)
	}
}

func TestConsumerCancelLeavesNoPending(t *testing.T) {
	fs := newFakeServer(t, func(*fakeConn, *Message) {})
	c := dialFake(t, fs)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.ReadProperty(ctx, "temp"); errc <- err }()
	cc := onlyConn(t, c)
	consumerWaitFor(t, func() bool { return cc.pendingCount() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := cc.pendingCount(); n != 0 {
		t.Fatalf("%d pending entries after cancel, want 0", n)
	}
}

func TestConsumerGarbageGivesClearError(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, m *Message) { fc.sendRaw([]byte("<html>hello</html>")) })
	c := dialFake(t, fs)
	_, err := c.ReadProperty(consumerCtx(t, 300*time.Millisecond), "temp")
	if err == nil || !strings.Contains(err.Error(), "malformed") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error that mentions the malformed messages", err)
	}
	// A malformed response that still names the request fails it at once.
	fs.handle = func(fc *fakeConn, m *Message) {
		fc.sendRaw(fmt.Appendf(nil, `{"messageType":"response","correlationID":%q,"thingID":"x","status":7}`, m.CorrelationID))
	}
	start := time.Now()
	_, err = c.ReadProperty(consumerCtx(t, 5*time.Second), "temp")
	if err == nil || !strings.Contains(err.Error(), "malformed response") || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want an immediate malformed-response error", err, time.Since(start))
	}
}

func TestConsumerHandshakeErrors(t *testing.T) {
	fs := newFakeServer(t, answerAll)
	fs.noProto = true
	_, err := wot.Dial(consumerCtx(t, 2*time.Second), fs.wsURL(), wot.WithThingID("urn:x"))
	if err == nil || !strings.Contains(err.Error(), "sub-protocol") {
		t.Fatalf("err = %v, want a sub-protocol error", err)
	}
	fs.noProto = false
	fs.auth = func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer good" }
	_, err = wot.Dial(consumerCtx(t, 2*time.Second), fs.wsURL(), wot.WithThingID("urn:x"), wot.WithBearerToken("bad"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "WithBearerToken") {
		t.Fatalf("err = %v, want a 401 error that says what to do", err)
	}
	if _, err := wot.Dial(consumerCtx(t, 2*time.Second), "ws://127.0.0.1:1/wtp", wot.WithThingID("urn:x")); err == nil {
		t.Fatal("dialling a closed port succeeded")
	}
	if _, err := wot.Dial(consumerCtx(t, 2*time.Second), fs.wsURL()); err == nil || !strings.Contains(err.Error(), "WithThingID") {
		t.Fatalf("err = %v, want a hint to use WithThingID", err)
	}
}

func TestConsumerDifferentCredentialsNeverShare(t *testing.T) {
	fs := newFakeServer(t, answerAll)
	th := consumerTD(t, "urn:test:sec", fs.wsURL(), `, "securityDefinitions": {"b": {"scheme": "bearer"}}, "security": "b"`)
	ctx := consumerCtx(t, 5*time.Second)
	a1, err := wot.Consume(ctx, th, "", wot.WithBearerToken("alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer a1.Close()
	a2, err := wot.Consume(ctx, th, "", wot.WithBearerToken("alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	b, err := wot.Consume(ctx, th, "", wot.WithBearerToken("bob"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Every handshake the consumers finished reached the fake server before they returned.
	if n := fs.handshakes(); n != 2 {
		t.Fatalf("%d WebSocket handshakes for 2 credentials, want 2", n)
	}
	consumerWaitFor(t, func() bool { return fs.accepted.Load() == 2 })
	if onlyConn(t, a1) != onlyConn(t, a2) || onlyConn(t, a1) == onlyConn(t, b) {
		t.Fatal("same credentials must share a connection, different ones must not")
	}
	seen := map[string]bool{}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, h := range fs.headers {
		seen[h.Get("Authorization")] = true
	}
	if !seen["Bearer alice"] || !seen["Bearer bob"] {
		t.Fatalf("handshake Authorization headers = %v", seen)
	}
	if _, err := wot.Consume(ctx, th, ""); err == nil || !strings.Contains(err.Error(), "WithBearerToken") {
		t.Fatalf("err = %v, want a missing-credentials error that says what to pass", err)
	}
}

func TestConsumerAPIKeyInQuery(t *testing.T) {
	fs := newFakeServer(t, answerAll)
	th := consumerTD(t, "urn:test:key", fs.wsURL(), `, "securityDefinitions": {"k": {"scheme": "apikey", "in": "query", "name": "key"}}, "security": "k"`)
	c, err := wot.Consume(consumerCtx(t, 5*time.Second), th, "", wot.WithCredentials(func(s *td.SecurityScheme) (wot.Credentials, error) {
		return wot.Credentials{APIKey: "s3cret"}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if q := fs.queries[len(fs.queries)-1]; q != "key=s3cret" {
		t.Fatalf("handshake query = %q, want key=s3cret", q)
	}
}

func TestConsumerSlowCallbackDoesNotBlockAndOverflowEnds(t *testing.T) {
	fs := newFakeServer(t, answerAll)
	c := dialFake(t, fs, wot.WithSubscriptionQueue(8))
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	sub, err := c.ObserveProperty(consumerCtx(t, 2*time.Second), "temp", func(n wot.Notification) {
		<-release
		mu.Lock()
		got = append(got, string(n.Value))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	fc := fs.conn(0)
	notify := func(i int) {
		fc.send(&Message{ThingID: "urn:test:fake", MessageID: NewUUID(), MessageType: MessageTypeNotification,
			Operation: OpObserveProperty, Name: "temp", Value: json.RawMessage(fmt.Sprint(i))})
	}
	for i := range 5 {
		notify(i)
	}
	// The read loop is free although the callback is stuck.
	if _, err := c.ReadProperty(consumerCtx(t, 2*time.Second), "temp"); err != nil {
		t.Fatalf("ReadProperty while a callback is stuck: %v", err)
	}
	close(release)
	consumerWaitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 5 })
	if strings.Join(got, ",") != "0,1,2,3,4" {
		t.Fatalf("delivered %v, want in order 0..4", got)
	}
	// Now overflow it.
	block := make(chan struct{})
	sub2, err := c.SubscribeEvent(consumerCtx(t, 2*time.Second), "alarm", func(wot.Notification) { <-block })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		fc.send(&Message{ThingID: "urn:test:fake", MessageID: NewUUID(), MessageType: MessageTypeNotification,
			Operation: OpSubscribeEvent, Name: "alarm", Data: json.RawMessage(fmt.Sprint(i))})
	}
	consumerWaitFor(t, func() bool { return sub2.Err() != nil })
	if !errors.Is(sub2.Err(), wot.ErrSlowConsumer) {
		t.Fatalf("Err = %v, want wot.ErrSlowConsumer", sub2.Err())
	}
	close(block)
	<-sub2.Done()
	if sub.Err() != nil {
		t.Fatalf("the other subscription was affected: %v", sub.Err())
	}
	if err := sub.Stop(consumerCtx(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	consumerNoLeaks(t)
}

// captureBinding is the WTP binding whose Open only records the forms the core selected.
type captureBinding struct {
	Binding
	target *wot.Target
}

var errCaptured = errors.New("captured")

func (b *captureBinding) Open(_ context.Context, t *wot.Target) (wot.Client, error) {
	b.target = t
	return nil, errCaptured
}

// selectedEndpoints consumes th with the WTP binding without connecting and returns, per
// (op, name), the endpoint the selected form maps to, and the distinct endpoints.
func selectedEndpoints(t *testing.T, th *td.Thing, opts ...wot.DialOption) (map[[2]string]*remoteEndpoint, []*remoteEndpoint) {
	t.Helper()
	cb := &captureBinding{}
	_, err := wot.Consume(context.Background(), th, "", append(opts, wot.WithBindings(cb))...)
	if !errors.Is(err, errCaptured) {
		t.Fatalf("Consume = %v, want the captured Open", err)
	}
	c := &client{target: cb.target, opts: optionsOf(cb.target.Config), eps: map[string]*remoteEndpoint{}}
	routes := map[[2]string]*remoteEndpoint{}
	var eps []*remoteEndpoint
	for _, f := range cb.target.Forms {
		ep, fresh := c.endpointOf(f.URL, f.Form)
		if fresh {
			eps = append(eps, ep)
		}
		// The core passes one form per (op, affordance); the affordance is found by identity.
		for _, op := range f.Op {
			routes[[2]string{op, affordanceOf(cb.target.TD, f.Form)}] = ep
		}
	}
	return routes, eps
}

func affordanceOf(th *td.Thing, f *td.Form) string {
	for n, p := range th.Properties {
		for i := range p.Forms {
			if &p.Forms[i] == f {
				return n
			}
		}
	}
	return ""
}

func TestConsumerRoutesFollowSpec21(t *testing.T) {
	th, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:r", "title": "R",
	 "base": "WS://Example.COM:80/things/", "securityDefinitions": {"n": {"scheme": "nosec"}, "b": {"scheme": "bearer"}}, "security": "n",
	 "properties": {
	  "a": {"type": "number", "readOnly": true, "observable": true, "forms": [
	     {"href": "http://example.com/a"},
	     {"href": "wtp", "subprotocol": "webthingprotocol"}]},
	  "b": {"type": "number", "forms": [{"href": "wss://other.example/wtp", "subprotocol": "webthingprotocol", "security": "b"}]}},
	 "forms": [{"href": "wtp", "subprotocol": "webthingprotocol", "op": "readallproperties"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	routes, eps := selectedEndpoints(t, th)
	if len(eps) != 2 {
		t.Fatalf("%d endpoints, want 2", len(eps))
	}
	ra := routes[[2]string{OpReadProperty, "a"}]
	if ra == nil || normalizeURL(ra.spec.target) != "ws://example.com/things/wtp" {
		t.Fatalf("readproperty a → %+v", ra)
	}
	if routes[[2]string{OpWriteProperty, "a"}] != nil {
		t.Error("a read-only property got a default writeproperty route")
	}
	if routes[[2]string{OpObserveProperty, "a"}] != nil {
		t.Error("observable: true must not imply observeproperty")
	}
	if r := routes[[2]string{OpReadAllProperties, ""}]; r != ra {
		t.Error("TD-level and property forms with the same href and security must share an endpoint")
	}
	if _, err := routes[[2]string{OpWriteProperty, "b"}].spec.auth(); err == nil {
		t.Error("form-level bearer security without a token must fail")
	}
	u, _ := url.Parse("WS://Example.COM:80/things/wtp?x=1#frag")
	if got := normalizeURL(u); got != "ws://example.com/things/wtp?x=1" {
		t.Errorf("normalizeURL = %q", got)
	}
}

func TestConsumerBackoffBounds(t *testing.T) {
	p := ReconnectPolicy{MinDelay: 10 * time.Millisecond, MaxDelay: 80 * time.Millisecond, Jitter: 0.5}.withDefaults()
	for n := range 20 {
		d := p.delay(n)
		hi := min(10*time.Millisecond<<n, 80*time.Millisecond)
		if n > 4 {
			hi = 80 * time.Millisecond
		}
		if d > hi || d < hi/2 {
			t.Fatalf("delay(%d) = %v, want within [%v, %v]", n, d, hi/2, hi)
		}
	}
}

func consumerWaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConsumerFailedDialLeavesNothing(t *testing.T) {
	fs := newFakeServer(t, answerAll)
	th := consumerTD(t, "urn:test:fail", fs.wsURL(), `, "securityDefinitions": {"b": {"scheme": "bearer"}}, "security": "b"`)
	called := make(chan ConnState, 4)
	state := WithConnStateFunc(func(s ConnState) { called <- s })
	if _, err := wot.Consume(consumerCtx(t, 2*time.Second), th, "", state); err == nil {
		t.Fatal("Consume without the required token succeeded")
	}
	fs.auth = func(*http.Request) bool { return false }
	if _, err := wot.Consume(consumerCtx(t, 2*time.Second), th, "", state, wot.WithBearerToken("x")); err == nil {
		t.Fatal("Consume with a refused token succeeded")
	}
	if _, err := wot.Dial(consumerCtx(t, 2*time.Second), "ws://127.0.0.1:1/wtp", wot.WithThingID("urn:x"), state); err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	consumerNoLeaks(t)
	if defaultPool.size() != 0 {
		t.Fatalf("%d pool entries after failed dials", defaultPool.size())
	}
	select {
	case s := <-called:
		t.Fatalf("state callback called (%v) for a Dial that failed", s)
	default:
	}
}

func TestConsumerResponsesWithoutCorrelationID(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, m *Message) {
		r := fakeResponse(m)
		r.CorrelationID = ""
		r.Value = json.RawMessage(`1`)
		fc.send(r)
	})
	c := dialFake(t, fs)
	_, err := c.ReadProperty(consumerCtx(t, 300*time.Millisecond), "temp")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "correlationID") {
		t.Fatalf("err = %v, want a timeout that suspects the missing correlationID", err)
	}
}

// stateRecorder returns the newest ConnState reported to the WithConnStateFunc option it
// also returns.
func stateRecorder() (func() ConnState, wot.DialOption) {
	var mu sync.Mutex
	var last ConnState
	return func() ConnState {
			mu.Lock()
			defer mu.Unlock()
			return last
		}, WithConnStateFunc(func(s ConnState) {
			mu.Lock()
			last = s
			mu.Unlock()
		})
}

// A TD whose forms name two endpoints: Consume connects both; if one is unreachable it fails
// and leaves no connection behind.
func TestConsumerConnectsEveryEndpoint(t *testing.T) {
	fs1 := newFakeServer(t, answerAll)
	fs2 := newFakeServer(t, answerAll)
	doc := func(second string) *td.Thing {
		return parseConsumerTD(t, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:two", "title": "T",
		 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
		 "properties": {
		  "a": {"type": "integer", "forms": [{"href": "`+fs1.wsURL()+`", "subprotocol": "webthingprotocol"}]},
		  "b": {"type": "integer", "forms": [{"href": "`+second+`", "subprotocol": "webthingprotocol"}]}}}`)
	}
	c, err := wot.Consume(consumerCtx(t, 5*time.Second), doc(fs2.wsURL()), "")
	if err != nil {
		t.Fatal(err)
	}
	// Handshakes are counted as they arrive, before the 101 goes out, so the count is final once
	// Consume returns (the server's count of accepted WebSockets may lag the client by a moment).
	if fs1.handshakes() != 1 || fs2.handshakes() != 1 {
		t.Fatalf("%d and %d WebSocket handshakes at Consume, want 1 each", fs1.handshakes(), fs2.handshakes())
	}
	for _, n := range []string{"a", "b"} {
		if v, err := c.ReadProperty(consumerCtx(t, 2*time.Second), n); err != nil || string(v) != "42" {
			t.Fatalf("read %s = %s, %v", n, v, err)
		}
	}
	c.Close()
	if _, err := wot.Consume(consumerCtx(t, 5*time.Second), doc("ws://127.0.0.1:1/wtp"), ""); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Consume with an unreachable endpoint = %v", err)
	}
	consumerNoLeaks(t)
	if n := defaultPool.size(); n != 0 {
		t.Fatalf("%d pooled connections after the failed Consume", n)
	}
}

func parseConsumerTD(t *testing.T, doc string) *td.Thing {
	t.Helper()
	th, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("test TD: %v", err)
	}
	return th
}
