package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const benchThingID = "urn:wotgen:bench"

// target is a server under test: the raw baseline or the wotgen runtime.
type target interface {
	url() string     // WebSocket endpoint
	thingID() string // thingID to address
	notify(v int)    // change property "level" to v and notify its observers
	close()
}

// targets lists the servers every scenario runs against, baseline first.
var targets = []struct {
	name  string
	start func(testing.TB) target
}{
	{"raw", startRaw},
}

func dial(tb testing.TB, t target) *websocket.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, t.url(), &websocket.DialOptions{Subprotocols: []string{"webthingprotocol"}})
	if err != nil {
		tb.Fatalf("dial %s: %v", t.url(), err)
	}
	c.SetReadLimit(1 << 20)
	return c
}

func request(t target, op string) []byte {
	return fmt.Appendf(nil, `{"thingID":%q,"messageID":"6f3c1a52-8d0e-4a8b-9c1e-2b7d4e5f6a7b","messageType":"request","operation":%q,"name":"level","correlationID":"0e8a4f6b-2c1d-4e3f-8a9b-7c6d5e4f3a2b"}`, t.thingID(), op)
}

// roundTrip sends req and reads one message.
func roundTrip(tb testing.TB, c *websocket.Conn, req []byte) {
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		tb.Fatal(err)
	}
}

// sequential: n readproperty round trips, one at a time, on one connection.
func sequential(tb testing.TB, t target, n int, prepare func()) {
	c := dial(tb, t)
	defer c.CloseNow()
	req := request(t, "readproperty")
	roundTrip(tb, c, req)
	prepare()
	for range n {
		roundTrip(tb, c, req)
	}
}

// pipelined: n readproperty requests with up to 64 in flight on one connection.
func pipelined(tb testing.TB, t target, n int, prepare func()) {
	c := dial(tb, t)
	defer c.CloseNow()
	req := request(t, "readproperty")
	roundTrip(tb, c, req)
	prepare()
	window := make(chan struct{}, 64)
	errc := make(chan error, 1)
	go func() {
		for range n {
			window <- struct{}{}
			if err := c.Write(context.Background(), websocket.MessageText, req); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range n {
		if _, _, err := c.Read(context.Background()); err != nil {
			tb.Fatal(err)
		}
		<-window
	}
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
}

// connections: n round trips spread over 100 connections working in parallel.
func connections(tb testing.TB, t target, n int, prepare func()) {
	const conns = 100
	cs := make([]*websocket.Conn, conns)
	req := request(t, "readproperty")
	for i := range cs {
		cs[i] = dial(tb, t)
		defer cs[i].CloseNow()
		roundTrip(tb, cs[i], req)
	}
	prepare()
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(n))
	for _, c := range cs {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				roundTrip(tb, c, req)
			}
		})
	}
	wg.Wait()
}

// observe subscribes k connections to "level" and returns them with a function that waits until each
// has received want notifications in total. Waiting blocks (no spinning): on 2 shared cores a
// spinning waiter would steal the CPU the server under test needs and measure itself.
func observe(tb testing.TB, t target, k int) (wait func(want int64), closeAll func()) {
	cs := make([]*websocket.Conn, k)
	obs := make([]observer, k)
	var wg sync.WaitGroup
	req := request(t, "observeproperty")
	for i := range cs {
		cs[i] = dial(tb, t)
		roundTrip(tb, cs[i], req)
		obs[i].reached = make(chan struct{}, 1)
		wg.Go(func() {
			o := &obs[i]
			for {
				if _, _, err := cs[i].Read(context.Background()); err != nil {
					return
				}
				if o.n.Add(1) == o.want.Load() {
					select {
					case o.reached <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	wait = func(want int64) {
		deadline := time.NewTimer(2 * time.Minute)
		defer deadline.Stop()
		for i := range obs {
			o := &obs[i]
			o.want.Store(want)
			for o.n.Load() < want {
				select {
				case <-o.reached: // maybe a stale signal of an earlier wait: check again
				case <-deadline.C:
					tb.Fatalf("observer %d got %d of %d notifications", i, o.n.Load(), want)
				}
			}
		}
	}
	closeAll = func() {
		for _, c := range cs {
			c.CloseNow()
		}
		wg.Wait()
	}
	return wait, closeAll
}

// observer counts the notifications one connection received and signals when it reaches want.
type observer struct {
	n, want atomic.Int64
	reached chan struct{}
}

// push: n property changes delivered to one observing consumer.
func push(tb testing.TB, t target, n int, prepare func()) {
	wait, closeAll := observe(tb, t, 1)
	defer closeAll()
	prepare()
	notifyPaced(t, n, wait)
}

// notifyPaced makes n changes, keeping each observer at most 128 notifications behind, so the
// in-process benchmarks measure steady throughput (the out-of-process wtp-push and wtp-burst
// measure unpaced bursts).
func notifyPaced(t target, n int, wait func(int64)) {
	for i := range n {
		t.notify(i)
		if i%64 == 63 && i >= 128 {
			wait(int64(i - 128))
		}
	}
	wait(int64(n))
}

// fanout: n changes, each delivered to 1,000 observers.
func fanout(tb testing.TB, t target, n int, prepare func()) {
	wait, closeAll := observe(tb, t, 1000)
	defer closeAll()
	prepare()
	notifyPaced(t, n, wait)
}

// idleBytes opens k idle WebSocket connections with a minimal client (a bare TCP connection after
// the handshake) and returns the growth of heap and stacks per connection.
func idleBytes(tb testing.TB, t target, k int) float64 {
	u, err := url.Parse(t.url())
	if err != nil {
		tb.Fatal(err)
	}
	before := memInUse()
	conns := make([]net.Conn, 0, k)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range k {
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			tb.Fatal(err)
		}
		var key [16]byte
		rand.Read(key[:])
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: webthingprotocol\r\n\r\n",
			u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key[:]))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			tb.Fatalf("handshake: %v %v", resp, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond) // let every server goroutine settle into its idle read
	after := memInUse()
	return float64(after-before) / float64(k)
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// scenario is one measured workload: run n operations on target t, calling prepare once set up.
type scenario struct {
	name string
	run  func(tb testing.TB, t target, n int, prepare func())
}

var scenarios = []scenario{
	{"sequential", sequential},
	{"pipelined64", pipelined},
	{"conns100", connections},
	{"push", push},
	{"fanout1000", fanout},
	{"serverRT", serverRoundTrip}, // allocs/op = the server's alone (the client allocates nothing)
}

func BenchmarkWTP(b *testing.B) {
	for _, s := range scenarios {
		for _, tg := range targets {
			b.Run(s.name+"/"+tg.name, func(b *testing.B) {
				t := tg.start(b)
				defer t.close()
				b.ReportAllocs()
				s.run(b, t, b.N, b.ResetTimer)
			})
		}
	}
}

func BenchmarkIdleConnection(b *testing.B) {
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			t := tg.start(b)
			defer t.close()
			b.ReportMetric(idleBytes(b, t, 500), "B/conn")
		})
	}
}

// TestScenariosRun keeps the harness honest in ordinary test runs: every scenario completes briefly
// against every target.
func TestScenariosRun(t *testing.T) {
	for _, s := range scenarios {
		for _, tg := range targets {
			t.Run(s.name+"/"+tg.name, func(t *testing.T) {
				if testing.Short() && s.name == "fanout1000" {
					t.Skip("1,000 connections; skipped with -short")
				}
				tgt := tg.start(t)
				defer tgt.close()
				s.run(t, tgt, 20, func() {})
			})
		}
	}
}
