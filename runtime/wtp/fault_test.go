package wtp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wotgen/wotgen/runtime/wot"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Fault tests of issue 11 over 127.0.0.1 that the server and consumer tests do not already
// cover (SECURITY.md lists which test proves what). All are bounded and stop by themselves.

// faultProxy forwards TCP connections to a target and can freeze them: it stops moving
// bytes in both directions without closing anything, which is what a peer that vanished
// behind a NAT or a dead Wi-Fi link looks like (no FIN, no RST).
type faultProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	frozen bool
	thaw   chan struct{} // closed on close, wakes frozen copiers
	conns  []net.Conn
	wg     sync.WaitGroup
	closed bool

	forwarded atomic.Int64 // chunks moved, either way: evidence that pings and pongs pass
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, thaw: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		p.conns = append(p.conns, c, u)
		p.wg.Add(2)
		p.mu.Unlock()
		go p.copy(u, c)
		go p.copy(c, u)
	}
}

func (p *faultProxy) copy(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.waitWhileFrozen() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			p.forwarded.Add(1)
		}
		if err != nil {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

// waitWhileFrozen blocks while the proxy is frozen; it reports whether the proxy closed.
func (p *faultProxy) waitWhileFrozen() bool {
	for {
		p.mu.Lock()
		frozen, closed := p.frozen, p.closed
		p.mu.Unlock()
		if closed {
			return true
		}
		if !frozen {
			return false
		}
		select {
		case <-p.thaw:
			return true
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freeze stops all traffic; the copiers stop reading, so the senders' socket buffers fill.
func (p *faultProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

func (p *faultProxy) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.thaw)
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// goroutinesBackTo waits up to 10 s for the goroutine count to fall to base+slack.
func goroutinesBackTo(t *testing.T, base, slack int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base+slack {
			return n
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, baseline %d:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts this process's open file descriptors (-1 where /proc is missing).
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// A consumer vanishes while its read is in a handler that ignores cancellation: the late
// answer goes nowhere, nothing blocks, the connection is cleaned up once the handler
// returns, and another consumer never notices. (TestHandlerCanceledWhenConsumerLeaves covers
// handlers that do honour their context.)
func TestFaultConsumerVanishesMidRequest(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	other := dial(t, hs)
	entered, release := make(chan struct{}), make(chan struct{})
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) {
		close(entered)
		<-release // deliberately deaf to ctx
		return 7.5, nil
	})
	c := dialNoCleanup(t, hs)
	c.send(c.request(OpReadProperty, func(m *Message) { m.Name = "flowRate" }))
	<-entered
	c.ws.CloseNow()
	<-c.done
	other.stillWorks()
	th.SetProperty("open", true) // the Thing is not blocked either
	close(release)
	waitFor(t, "the vanished connection to be cleaned up", func() bool { return ServerStats(s).Connections == 1 })
	other.stillWorks()
}

// A consumer vanishes after starting an async action: the action runs to completion, and a
// new connection (the consumer coming back) finds the result by actionID.
func TestFaultConsumerVanishesMidAction(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	release := make(chan struct{})
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		select {
		case <-release:
			return map[string]float64{"litres": 42}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	c := dialNoCleanup(t, hs)
	id := c.ok(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":3}`) }).Status.ActionID
	c.ws.CloseNow()
	<-c.done
	waitFor(t, "the connection to go", func() bool { return ServerStats(s).Connections == 0 })
	close(release)
	back := dial(t, hs)
	waitFor(t, "the action to complete", func() bool {
		st := back.ok(OpQueryAction, func(m *Message) { m.ActionID = id }).Status
		return st.State == ActionCompleted && string(st.Output) == `{"litres":42}`
	})
}

// A half-open peer (the network path dies: no FIN, no RST, nothing read) is found by the
// ping and removed with its subscriptions; writes to it never block the Thing, and a healthy
// consumer keeps working.
func TestFaultHalfOpenPeerDetectedByPing(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th}, WithPingInterval(100*time.Millisecond))
	healthy := dial(t, hs)
	healthy.ok(OpObserveProperty, func(m *Message) { m.Name = "open" })
	p := newFaultProxy(t, hs.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+p.addr()+"/wtp", &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	go func() { // the victim answers pings while the path is alive
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	req, _ := AppendMessage(nil, &Message{ThingID: valveID, MessageID: NewUUID(), MessageType: MessageTypeRequest,
		Operation: OpObserveProperty, Name: "open", CorrelationID: NewUUID()})
	if err := ws.Write(ctx, websocket.MessageText, req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two observers", func() bool { return ServerStats(s).Connections == 2 && ServerStats(s).MessagesOut >= 2 }) // the second observe answered
	// Pings and pongs pass while the path is alive: three rounds each way, nothing else moves.
	since := p.forwarded.Load()
	waitFor(t, "three ping rounds through the proxy", func() bool { return p.forwarded.Load() >= since+6 })
	if ServerStats(s).Connections != 2 {
		t.Fatal("a live connection behind the proxy was dropped")
	}

	p.freeze()
	frozenAt := time.Now()
	for i := range 50 { // notifications to the dead peer must not block the Thing
		start := time.Now()
		th.SetProperty("open", i%2 == 0)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("SetProperty blocked %v on a half-open peer", d)
		}
		if m := healthy.recv(); m.MessageType != MessageTypeNotification {
			t.Fatalf("healthy consumer got %+v", m)
		}
	}
	waitFor(t, "the half-open peer to be removed", func() bool { return ServerStats(s).Connections == 1 })
	t.Logf("half-open peer removed %v after the path froze (ping interval 100ms)", time.Since(frozenAt).Round(10*time.Millisecond))
	healthy.stillWorks()
}

// Hostile frames: invalid UTF-8, 10,000-deep nesting and huge numbers are answered (or the
// connection closed with the documented code) without harming the server; a 16 MiB message
// is refused with 1009 under the default limit and handled when the limit allows it.
func TestFaultHostileFrames(t *testing.T) {
	th := newValve(t)
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	s, hs := serve(t, []*Thing{th})
	bystander := dial(t, hs)
	bystander.ok(OpObserveProperty, func(m *Message) { m.Name = "open" })
	envelope := func(op, name, member string) string {
		return fmt.Sprintf(`{"thingID":%q,"messageID":%q,"messageType":"request","operation":%q,"name":%q,"correlationID":%q%s}`,
			valveID, NewUUID(), op, name, NewUUID(), member)
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	for _, tc := range []struct{ name, frame string }{
		{"invalid UTF-8 in a member", envelope(OpReadProperty, "open\xff\xfe", "")},
		{"invalid UTF-8 in a value", envelope(OpWriteProperty, "servicePin", `,"value":"`+"\xc3\x28\xa0\xa1"+`"`)},
		{"invalid UTF-8 outside strings", "{\xff}"},
		{"10,000-deep array value", envelope(OpWriteProperty, "targetFlow", `,"value":`+deep)},
		{"10,000-deep object value", envelope(OpInvokeAction, "flush", `,"input":`+deepObj)},
		{"10,000-deep frame", deep},
		{"huge exponent", envelope(OpWriteProperty, "targetFlow", `,"value":1e999999999`)},
		{"huge integer", envelope(OpWriteProperty, "targetFlow", `,"value":`+strings.Repeat("9", 100000))},
		{"negative zero and tiny", envelope(OpWriteProperty, "targetFlow", `,"value":-0.0000000000000000000000001e-999`)},
		{"huge number as action input", envelope(OpInvokeAction, "flush", `,"input":{"seconds":1e999999999}`)},
		{"huge number as consumer-invalid input", envelope(OpInvokeAction, "flush", `,"input":{"seconds":-1e400}`)},
		{"huge number in the envelope", `{"thingID":1e999999,"messageID":` + strings.Repeat("1", 5000) + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, hs)
			c.sendRaw(tc.frame)
			select {
			case m := <-c.msgs:
				if m.Error == nil {
					t.Fatalf("accepted: %+v", m)
				}
				if m.Error.Status != 400 {
					t.Fatalf("want 400, got %d %s", m.Error.Status, m.Error.Detail)
				}
				c.stillWorks()
			case <-c.done:
				if code := websocket.CloseStatus(c.err); code != CloseMalformed {
					t.Fatalf("closed with %v (%v), want a 400 or 1007", code, c.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no answer within 5 s")
			}
		})
	}
	bystander.expectNone() // nothing notified
	bystander.stillWorks()

	// 16 MiB under the default 1 MiB limit: refused with 1009 before it is buffered.
	c := dial(t, hs)
	big := envelope(OpWriteProperty, "servicePin", `,"value":"`+strings.Repeat("x", 16<<20)+`"`)
	go c.ws.Write(context.Background(), websocket.MessageText, []byte(big))
	if code := c.closeStatus(); code != CloseTooBig {
		t.Fatalf("16 MiB message: close code %v, want 1009", code)
	}
	bystander.stillWorks()
	if st := ServerStats(s); st.Errors[500] != 0 {
		t.Fatalf("internal errors: %v", st.Errors)
	}

	// A server configured for big messages handles 16 MiB.
	th2 := newValve(t)
	_, hs2 := serve(t, []*Thing{th2}, WithReadLimit(32<<20))
	c2 := dial(t, hs2)
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second) // slow under -race
	defer wcancel()
	if err := c2.ws.Write(wctx, websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c2.msgs:
		if m.Error != nil {
			t.Fatalf("16 MiB write under a 32 MiB limit: %v", m.Error)
		}
	case <-wctx.Done():
		t.Fatal("no answer to a 16 MiB write within 60 s")
	}
	c2.stillWorks()
}

// Slow handshakes: the HTTP server's ReadHeaderTimeout (wot.Serve sets one) cuts a client that trickles its
// request (slowloris), while an upgraded WebSocket outlives ReadTimeout/WriteTimeout.
// The timeouts are shortened here.
func TestFaultSlowHandshake(t *testing.T) {
	srv := NewServer()
	if err := srv.AddThing(newValve(t)); err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { srv.Close(); hs.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "GET /wtp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n") // and then nothing
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(bufio.NewReader(conn))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server held a trickling handshake for 5 s")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("slow handshake cut after %v", d)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/wtp", &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	time.Sleep(500 * time.Millisecond) // longer than ReadTimeout and WriteTimeout
	req, _ := AppendMessage(nil, &Message{ThingID: valveID, MessageID: NewUUID(), MessageType: MessageTypeRequest,
		Operation: OpReadProperty, Name: "open", CorrelationID: NewUUID()})
	if err := ws.Write(ctx, websocket.MessageText, req); err != nil {
		t.Fatalf("the upgraded connection was cut by the HTTP timeouts: %v", err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatalf("the upgraded connection was cut by the HTTP timeouts: %v", err)
	}
}

// 5,000 connections opened and closed (in rounds, 25 at a time, each doing one request)
// leave goroutines, file descriptors and heap where they were.
func TestFaultConnectionChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 5,000 connections; run without -short")
	}
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	url := wsURLOf(hs, "/wtp")
	req, _ := AppendMessage(nil, &Message{ThingID: valveID, MessageID: NewUUID(), MessageType: MessageTypeRequest,
		Operation: OpReadProperty, Name: "open", CorrelationID: NewUUID()})
	one := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			return err
		}
		defer ws.CloseNow()
		if err := ws.Write(ctx, websocket.MessageText, req); err != nil {
			return err
		}
		if _, _, err := ws.Read(ctx); err != nil {
			return err
		}
		return ws.Close(websocket.StatusNormalClosure, "")
	}
	round := func(n int) {
		var wg sync.WaitGroup
		var failed atomic.Int64
		var firstErr atomic.Value
		sem := make(chan struct{}, 25)
		for range n {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := one(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Fatalf("%d of %d connections failed, first: %v", failed.Load(), n, firstErr.Load())
		}
	}
	round(100) // warm up pools and buffers before taking the baseline
	waitFor(t, "warm-up connections to close", func() bool { return ServerStats(s).Connections == 0 })
	http.DefaultClient.CloseIdleConnections()
	baseG, baseFD, baseHeap := runtime.NumGoroutine(), openFDs(), heapInUse()
	start := time.Now()
	for range 5 {
		round(1000)
	}
	elapsed := time.Since(start)
	waitFor(t, "all connections to close", func() bool { return ServerStats(s).Connections == 0 })
	g := goroutinesBackTo(t, baseG, 2)
	deadline := time.Now().Add(10 * time.Second)
	fd := openFDs()
	for fd > baseFD+4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		fd = openFDs()
	}
	if fd > baseFD+4 {
		t.Errorf("file descriptors %d, baseline %d", fd, baseFD)
	}
	heap := heapInUse()
	if heap > baseHeap+8<<20 {
		t.Errorf("heap in use %d KiB, baseline %d KiB", heap>>10, baseHeap>>10)
	}
	if st := ServerStats(s); st.ConnectionsTotal != 5100 {
		t.Errorf("ConnectionsTotal %d, want 5100", st.ConnectionsTotal)
	}
	t.Logf("5,000 connections in %v; goroutines %d→%d, fds %d→%d, heap in use %d→%d KiB",
		elapsed.Round(time.Millisecond), baseG, g, baseFD, fd, baseHeap>>10, heap>>10)
}

// A consumer flooding requests is answered 503 once over its rate limit and then closed
// with 1008 (CloseRateLimited, reason "rate limit exceeded" or similar), while a polite
// consumer on the same server keeps getting prompt answers.
func TestFaultFloodHitsRateLimitOthersUnaffected(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th}, WithRateLimit(200, 200), wot.ServerSetting(rateGraceKey{}, 300*time.Millisecond))
	polite := dial(t, hs)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	flood, _, err := websocket.Dial(ctx, wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer flood.CloseNow()
	var got503 atomic.Int64
	readErr := make(chan error, 1)
	go func() { // the flooder reads everything, so only the rate limit can stop it
		for {
			_, b, err := flood.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			if m, err := DecodeMessage(b); err == nil && m.Error != nil && m.Error.Status == 503 {
				got503.Add(1)
			}
		}
	}()
	go func() {
		req, _ := AppendMessage(nil, &Message{ThingID: valveID, MessageID: NewUUID(), MessageType: MessageTypeRequest,
			Operation: OpReadProperty, Name: "open", CorrelationID: NewUUID()})
		for ctx.Err() == nil {
			if err := flood.Write(ctx, websocket.MessageText, req); err != nil {
				return
			}
		}
	}()
	var slowest time.Duration
	closed := false
	for !closed {
		start := time.Now()
		polite.stillWorks()
		slowest = max(slowest, time.Since(start))
		select {
		case err := <-readErr:
			closed = true
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseRateLimited {
				t.Fatalf("flooder ended with %v, want close code 1008 (503s %d, stats %+v)", err, got503.Load(), ServerStats(s))
			}
			t.Logf("flooder closed: %d %q after %d answers of 503", ce.Code, ce.Reason, got503.Load())
		case <-time.After(20 * time.Millisecond):
		}
		if ctx.Err() != nil {
			t.Fatal("the flooder was not closed within 10 s")
		}
	}
	if got503.Load() == 0 || ServerStats(s).RateLimited == 0 {
		t.Fatalf("no 503 before the close (503s %d, stats %+v)", got503.Load(), ServerStats(s))
	}
	if slowest > time.Second {
		t.Errorf("the polite consumer waited %v during the flood", slowest)
	}
	polite.stillWorks()
}

// Regression: a sustained flood gets a message through whenever a token trickles back;
// that must not restart the grace period, or a flooder above the rate is never expelled
// (found by TestFaultFloodHitsRateLimitOthersUnaffected). A consumer that slows down after
// being limited is forgiven after a quiet spell.
func TestTokenBucketSustainedFloodExpelled(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := newTokenBucket(200, 200, 300*time.Millisecond, t0)
	expelled := false
	for i := 0; i < 100_000 && !expelled; i++ { // 10,000 msg/s with a 20 ms hiccup every 100 ms
		now := t0.Add(time.Duration(i) * 100 * time.Microsecond)
		now = now.Add(time.Duration(i/1000) * 20 * time.Millisecond)
		_, expelled = b.allow(now)
		if now.Sub(t0) > 2*time.Second {
			break
		}
	}
	if !expelled {
		t.Fatal("a sustained flood at 50× the rate was never expelled")
	}

	b = newTokenBucket(10, 10, 300*time.Millisecond, t0)
	now := t0
	for range 20 { // a burst over the limit…
		b.allow(now)
	}
	for range 50 { // …then well below the rate for 5 s
		now = now.Add(100 * time.Millisecond)
		if ok, expel := b.allow(now); !ok || expel {
			t.Fatalf("a consumer below the rate was refused or expelled at %v", now.Sub(t0))
		}
	}
	now = now.Add(10 * time.Millisecond)
	for range 10 { // a new small burst is not punished for the old one
		if _, expel := b.allow(now); expel {
			t.Fatal("an old run of refusals was held against a new burst")
		}
	}
}
