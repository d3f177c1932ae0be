package wtp

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/wotgen/wotgen/runtime/wot"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// stillWorks checks the connection still serves requests.
func (c *rawClient) stillWorks() {
	c.t.Helper()
	c.ok(OpReadProperty, func(m *Message) { m.Name = "open" })
}

func TestEnvelopeErrorsKeepConnection(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	tests := []struct {
		name, frame string
		status      int
		detail      string
		echo        func(t *testing.T, m *Message)
	}{
		{"not JSON", `{"thingID": nope`, 400, "not valid JSON", func(t *testing.T, m *Message) {
			if m.ThingID != valveID || m.Operation != "" || m.CorrelationID != "" {
				t.Errorf("want the endpoint's sole thingID and nothing else, got %+v", m)
			}
		}},
		{"not an object", `[1,2,3]`, 400, "JSON object", nil},
		{"missing messageID", `{"thingID":"` + valveID + `","messageType":"request","operation":"readproperty","name":"open","correlationID":"c-1"}`,
			400, "missing mandatory member(s) messageID", func(t *testing.T, m *Message) {
				if m.CorrelationID != "c-1" || m.Operation != OpReadProperty || m.Name != "open" {
					t.Errorf("echo %+v", m)
				}
			}},
		{"missing several", `{"messageID":"m"}`, 400, "thingID, messageType, operation", nil},
		{"wrong member type", `{"thingID":"` + valveID + `","messageID":"m","messageType":"request","operation":"readmultipleproperties","names":"open"}`,
			400, `"names" must be an array of strings`, nil},
		{"response from consumer", `{"thingID":"` + valveID + `","messageID":"m","messageType":"response","operation":"writeproperty","name":"open","value":true}`,
			400, `messageType is "response"`, nil},
		{"unknown operation", `{"thingID":"` + valveID + `","messageID":"m","messageType":"request","operation":"observeaction","correlationID":"c-2"}`,
			400, `unknown operation "observeaction"`, func(t *testing.T, m *Message) {
				if m.Operation != "observeaction" || m.CorrelationID != "c-2" {
					t.Errorf("echo %+v", m)
				}
			}},
		{"unknown thingID", `{"thingID":"urn:other","messageID":"m","messageType":"request","operation":"readproperty","name":"open"}`,
			404, `no Thing with thingID "urn:other"`, func(t *testing.T, m *Message) {
				if m.ThingID != "urn:other" {
					t.Errorf("thingID %q", m.ThingID)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.sendRaw(tt.frame)
			m := c.recv()
			if m.MessageType != MessageTypeResponse || !isUUID(m.MessageID) {
				t.Fatalf("not a response: %+v", m)
			}
			expectProblem(t, m, tt.status, tt.detail)
			if tt.echo != nil {
				tt.echo(t, m)
			}
			c.stillWorks()
		})
	}
	c.t = t
	if st := ServerStats(s); st.Errors[400] != 7 || st.Errors[404] != 1 {
		t.Errorf("Stats.Errors = %v", st.Errors)
	}
}

func TestMalformedLimitCloses1007(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th}, WithMalformedLimit(3))
	c := dial(t, hs)
	for range 2 {
		c.sendRaw("x")
		expectProblem(t, c.recv(), 400, "not valid JSON")
	}
	c.stillWorks() // a good message resets the run
	for range 3 {
		c.sendRaw("x")
	}
	for range 3 { // every malformed frame is answered, the last one too
		expectProblem(t, c.recv(), 400, "not valid JSON")
	}
	if code := c.closeStatus(); code != CloseMalformed {
		t.Fatalf("close code %v, want 1007", code)
	}
}

func TestBinaryFrameCloses1003(t *testing.T) {
	_, hs := serve(t, []*Thing{newValve(t)})
	c := dial(t, hs)
	c.ws.Write(context.Background(), websocket.MessageBinary, []byte("{}"))
	if code := c.closeStatus(); code != CloseBinary {
		t.Fatalf("close code %v, want 1003", code)
	}
}

func TestReadLimitCloses1009(t *testing.T) {
	_, hs := serve(t, []*Thing{newValve(t)}, WithReadLimit(1024))
	c := dial(t, hs)
	c.stillWorks()
	c.sendRaw(`{"pad":"` + strings.Repeat("x", 2048) + `"}`)
	if code := c.closeStatus(); code != CloseTooBig {
		t.Fatalf("close code %v, want 1009", code)
	}
}

func TestRateLimit(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th}, WithRateLimit(1, 3), wot.ServerSetting(rateGraceKey{}, 200*time.Millisecond))
	c := dial(t, hs)
	for range 3 {
		c.stillWorks()
	}
	c.fails(OpReadProperty, func(m *Message) { m.Name = "open" }, 503, "rate limited")
	time.Sleep(250 * time.Millisecond)
	c.sendRaw(`{}`) // still over the limit after the grace period
	if code := c.closeStatus(); code != CloseRateLimited {
		t.Fatalf("close code %v, want 1008", code)
	}
	if ServerStats(s).RateLimited < 1 {
		t.Error("RateLimited not counted")
	}
}

func TestHandshake(t *testing.T) {
	_, hs := serve(t, []*Thing{newValve(t)})
	get := func(hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", hs.URL+"/wtp", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	upgrade := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
	resp, body := get(upgrade)
	if resp.StatusCode != 400 || !strings.Contains(body, "Sec-WebSocket-Protocol: webthingprotocol") {
		t.Fatalf("no sub-protocol: %d %q", resp.StatusCode, body)
	}
	upgrade["Sec-WebSocket-Protocol"] = "chat, other"
	if resp, _ := get(upgrade); resp.StatusCode != 400 {
		t.Fatalf("wrong sub-protocol: %d", resp.StatusCode)
	}
	if resp, body := get(nil); resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(body, "webthingprotocol") {
		t.Fatalf("plain GET: %d %q", resp.StatusCode, body)
	}
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{"other", Subprotocol}})
	if err != nil || ws.Subprotocol() != Subprotocol {
		t.Fatalf("dial offering several sub-protocols: %v", err)
	}
	ws.CloseNow()
	if resp, _ := get(map[string]string{}); resp.StatusCode == 200 {
		t.Fatal("unexpected 200")
	}
}

func TestAuthentication(t *testing.T) {
	cases := []struct {
		name      string
		auth      Authenticator
		good, bad http.Header
		query     string
		challenge string
	}{
		{"bearer", BearerAuth("s3cret"), http.Header{"Authorization": {"Bearer s3cret"}}, http.Header{"Authorization": {"Bearer s3cre"}}, "", "Bearer"},
		{"basic", BasicAuth("farmer", "pw"), http.Header{"Authorization": {"Basic ZmFybWVyOnB3"}}, http.Header{"Authorization": {"Basic ZmFybWVyOnB4"}}, "", "Basic"},
		{"apikey header", APIKeyAuth("header", "X-API-Key", "k1"), http.Header{"X-Api-Key": {"k1"}}, http.Header{"X-Api-Key": {"k2"}}, "", "APIKey"},
		{"apikey query", APIKeyAuth("query", "key", "k1"), nil, nil, "?key=k1", "APIKey"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, hs := serve(t, []*Thing{newValve(t)}, WithAuthenticator(tc.auth))
			try := func(h http.Header, q string) (*websocket.Conn, *http.Response, error) {
				return websocket.Dial(context.Background(), wsURLOf(hs, "/wtp")+q, &websocket.DialOptions{Subprotocols: []string{Subprotocol}, HTTPHeader: h})
			}
			for _, h := range []http.Header{nil, tc.bad} {
				_, resp, err := try(h, "")
				if err == nil || resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), tc.challenge) {
					t.Fatalf("bad credentials %v: err %v resp %+v", h, err, resp)
				}
			}
			ws, _, err := try(tc.good, tc.query)
			if err != nil {
				t.Fatalf("good credentials refused: %v", err)
			}
			ws.CloseNow()
			if ServerStats(s).AuthFailures != 2 {
				t.Errorf("AuthFailures = %d", ServerStats(s).AuthFailures)
			}
		})
	}
	// The principal reaches handlers.
	th := newValve(t)
	got := make(chan string, 1)
	th.HandleRead("open", func(ctx context.Context) (any, error) { got <- wot.CallerFrom(ctx).Principal; return true, nil })
	_, hs := serve(t, []*Thing{th}, WithAuthenticator(AnyAuth(BearerAuth("t"), BasicAuth("farmer", "pw"))))
	c := dial(t, hs, dialOpts{header: http.Header{"Authorization": {"Basic ZmFybWVyOnB3"}}})
	c.stillWorks()
	if p := <-got; p != "farmer" {
		t.Fatalf("principal %q", p)
	}
}

func TestOriginPolicy(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		origin   string
		ok       bool
	}{
		{nil, "https://evil.example", false},
		{[]string{"dashboard.example.org"}, "https://dashboard.example.org", true},
		{nil, "", true}, // non-browser clients send no Origin
	} {
		_, hs := serve(t, []*Thing{newValve(t)}, WithOriginPatterns(tc.patterns...))
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ws, resp, err := websocket.Dial(context.Background(), wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{Subprotocol}, HTTPHeader: h})
		if (err == nil) != tc.ok {
			t.Errorf("origin %q patterns %v: err %v resp %v", tc.origin, tc.patterns, err, resp)
		}
		if ws != nil {
			ws.CloseNow()
		}
	}
}

func TestPingKeepAlive(t *testing.T) {
	s, hs := serve(t, []*Thing{newValve(t)}, WithPingInterval(30*time.Millisecond))
	alive := dial(t, hs)                          // reads, so it answers pings
	dead := dial(t, hs, dialOpts{noReader: true}) // never reads: pings go unanswered
	// The server cuts the dead connection once a ping goes unanswered; by then the live one has
	// answered pings of the same rounds and must still work. The client's dial returns on the
	// 101, which may be before the server counts the connection: count both first, or the
	// test could read the dead connection (and so answer its pings) before it was cut.
	waitFor(t, "both connections", func() bool { return ServerStats(s).ConnectionsTotal >= 2 })
	deadline := time.Now().Add(5 * time.Second)
	for ServerStats(s).Connections > 1 {
		if time.Now().After(deadline) {
			t.Fatal("the unresponsive connection is still open after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	alive.stillWorks()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, err := dead.ws.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("the cut connection did not see its close: %v", err)
	}
}

// A stalled reader is dropped while a healthy observer receives everything, in order, and
// the Thing never waits for either. Small socket buffers make the stall show after a few
// messages instead of megabytes.
func TestStalledReaderDropped(t *testing.T) {
	th := newValve(t)
	s := NewServer(WithSendBuffer(8 * 16 << 10))
	s.AddThing(th)
	hs := httptest.NewUnstartedServer(s)
	hs.Listener = smallBufferListener{hs.Listener}
	hs.Start()
	t.Cleanup(func() { s.Close(); hs.Close() })

	healthy := dial(t, hs)
	healthy.ok(OpObserveProperty, func(m *Message) { m.Name = "open" })
	stalled := dial(t, hs, dialOpts{noReader: true, smallBuffer: true})
	stalled.send(stalled.request(OpObserveProperty, func(m *Message) { m.Name = "open" }))
	waitFor(t, "both observers", func() bool { return ServerStats(s).MessagesOut >= 2 }) // the second observe answered

	big := strings.Repeat("x", 16<<10)
	const n = 200
	var slowest time.Duration
	for i := range n {
		v := json.RawMessage(fmt.Sprintf(`"%d:%s"`, i, big))
		start := time.Now()
		th.NotifyPropertyChange("open", v)
		slowest = max(slowest, time.Since(start))
		m := healthy.recv() // pace the producer by the healthy consumer only
		if !strings.HasPrefix(string(m.Value), fmt.Sprintf(`"%d:`, i)) {
			t.Fatalf("healthy consumer got notification %.10s at position %d", m.Value, i)
		}
	}
	if slowest > time.Second { // a consumer-bound wait would be the 10 s write timeout
		t.Errorf("NotifyPropertyChange blocked for %v", slowest)
	}
	waitFor(t, "the stalled consumer to be dropped", func() bool { return ServerStats(s).DroppedSlowConsumers == 1 })
	healthy.stillWorks()
	// The dropped connection is fully gone soon, although its peer never read a byte.
	waitFor(t, "one connection left", func() bool { return ServerStats(s).Connections == 1 })
}

// smallBufferListener gives accepted connections a small send buffer.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestSeveralThingsOneEndpoint(t *testing.T) {
	a := newValve(t)
	b, err := NewThing(parseTD(t, valveTD), wot.WithID("urn:dev:valve-8"), WithTDPath("/things/valve-8"))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := serve(t, []*Thing{a, b})
	a.SetProperty("targetFlow", 1)
	b.SetProperty("targetFlow", 2)
	c := dial(t, hs)
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "targetFlow" }).Value; string(v) != "1" {
		t.Fatalf("valve-7: %s", v)
	}
	c.thingID = "urn:dev:valve-8"
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "targetFlow" }).Value; string(v) != "2" {
		t.Fatalf("valve-8: %s", v)
	}
	// Subscriptions are per (connection, Thing).
	r := c.ok(OpObserveAllProperties, nil)
	a.SetProperty("open", true)
	c.expectNone()
	b.SetProperty("open", true)
	if m := c.recv(); m.ThingID != "urn:dev:valve-8" || m.CorrelationID != r.CorrelationID {
		t.Fatalf("notification %+v", m)
	}
	// A malformed frame on a shared endpoint cannot name a Thing: thingID is omitted.
	c.sendRaw("{")
	if m := c.recv(); m.ThingID != "" || m.Error == nil {
		t.Fatalf("malformed answer %+v", m)
	}
}

func TestShutdownClosesWith1001AndLeavesNoGoroutine(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		th := newValve(t)
		s := NewServer(WithPingInterval(20 * time.Millisecond))
		if err := s.AddThing(th); err != nil {
			t.Fatal(err)
		}
		hs := httpTestServer(s)
		defer hs.Close()

		blocked := make(chan struct{})
		th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) {
			close(blocked)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		var clients []*rawClient
		for range 3 {
			c := dialNoCleanup(t, hs)
			c.ok(OpObserveAllProperties, nil)
			c.ok(OpSubscribeAllEvents, nil)
			clients = append(clients, c)
		}
		clients[0].ok(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":5}`) })
		clients[1].send(clients[1].request(OpInvokeAction, func(m *Message) { m.Name = "selfTest" }))
		<-blocked
		th.SetProperty("open", true)

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		for _, c := range clients {
			if code := c.closeStatus(); code != CloseShutdown {
				t.Errorf("close code %v, want 1001", code)
			}
		}
		if err := s.AddThing(newValve(t)); err == nil {
			t.Error("AddThing after Shutdown succeeded")
		}
		hs.CloseClientConnections()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left (baseline %d):\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseCutsConnections(t *testing.T) {
	th := newValve(t)
	s := NewServer()
	s.AddThing(th)
	hs := httpTestServer(s)
	defer hs.Close()
	c := dialNoCleanup(t, hs)
	c.stillWorks()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.closeStatus()
	if st := ServerStats(s); st.Connections != 0 || st.ConnectionsTotal != 1 || st.MessagesIn != 1 || st.MessagesOut != 1 {
		t.Errorf("stats after Close: %+v", st)
	}
}

func TestMaxConnections(t *testing.T) {
	_, hs := serve(t, []*Thing{newValve(t)}, WithMaxConnections(1))
	c := dial(t, hs)
	c.stillWorks()
	_, resp, err := websocket.Dial(context.Background(), wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second connection: %v %v", err, resp)
	}
	c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
	waitFor(t, "the slot to free", func() bool {
		ws, _, err := websocket.Dial(context.Background(), wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
		if err == nil {
			ws.CloseNow()
		}
		return err == nil
	})
}

// Slow versus stalled: a burst of 20,000 changes. Consumer B reads everything as fast as it
// can but falls thousands of messages behind; it must get every change, in order, once.
// Consumer A reads nothing; it is dropped with 1013 for making no progress, and the
// producer never waits for either. (A message-count queue dropped B here.) A has a small
// receive buffer so that it stalls after a few kilobytes rather than megabytes of kernel
// buffers; B has the usual ones (tiny windows slow loopback TCP to a crawl).
func TestBurstKeepsReaderDropsStalled(t *testing.T) {
	th := newValve(t)
	s := NewServer(WithWriteTimeout(time.Second))
	s.AddThing(th)
	hs := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); hs.Close() })

	b := dial(t, hs)
	b.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	a := dial(t, hs, dialOpts{noReader: true, smallBuffer: true})
	a.send(a.request(OpObserveProperty, func(m *Message) { m.Name = "flowRate" }))
	waitFor(t, "both observers", func() bool { return ServerStats(s).MessagesOut >= 2 })

	const n = 20000
	got := make(chan error, 1)
	go func() {
		for i := range n {
			select {
			case m := <-b.msgs:
				if m.MessageType != MessageTypeNotification || string(m.Value) != fmt.Sprint(i) {
					got <- fmt.Errorf("change %d: got %s %s", i, m.MessageType, m.Value)
					return
				}
			case <-time.After(10 * time.Second):
				got <- fmt.Errorf("change %d of %d: nothing for 10 s (stats %+v)", i, n, ServerStats(s))
				return
			}
		}
		got <- nil
	}()
	var slowest time.Duration
	for i := range n {
		start := time.Now()
		th.SetProperty("flowRate", i)
		slowest = max(slowest, time.Since(start))
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if slowest > time.Second {
		t.Errorf("SetProperty blocked for %v", slowest)
	}
	waitFor(t, "the stalled consumer to be dropped", func() bool { return ServerStats(s).DroppedSlowConsumers == 1 })
	b.expectNone() // nothing duplicated
	b.stillWorks()
	waitFor(t, "one connection left", func() bool { return ServerStats(s).Connections == 1 })
}
