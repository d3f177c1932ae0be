package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/internal/bench/burst"
)

// driver holds the flags of one drive run.
type driver struct {
	base, wtpURL, thing, httpURL, sseURL string
	n                                    int
	waitDrop                             bool
	hc                                   *http.Client
}

// result is one measurement, printed as a JSON line.
type result struct {
	Scenario string  `json:"scenario"`
	N        int     `json:"n"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate,omitempty"`  // operations per second
	Value    float64 `json:"value,omitempty"` // bytes per connection, allocations per operation
	Unit     string  `json:"unit,omitempty"`  // of Value
	// Extra holds further figures of a scenario (wtp-burst: how long until the stalled
	// observer was dropped, the server's RSS growth).
	Extra map[string]float64 `json:"extra,omitempty"`
}

var scenarios = map[string]func(*driver) (result, error){
	"wtp-sequential":  (*driver).wtpSequential,
	"wtp-pipelined":   (*driver).wtpPipelined,
	"wtp-conns100":    (*driver).wtpConns100,
	"wtp-push":        func(d *driver) (result, error) { return d.wtpPush(1) },
	"wtp-fanout100":   func(d *driver) (result, error) { return d.wtpPush(100) },
	"wtp-idle":        (*driver).wtpIdle,
	"wtp-allocs":      (*driver).wtpAllocs,
	"wtp-burst":       (*driver).wtpBurst,
	"http-sequential": (*driver).httpSequential,
	"http-conns100":   (*driver).httpConns100,
	"http-push":       (*driver).httpPush,
}

func drive(args []string) error {
	fs := flag.NewFlagSet("drive", flag.ContinueOnError)
	scenario := fs.String("scenario", "", "what to measure")
	d := &driver{}
	fs.StringVar(&d.base, "base", "", "http://host:port of the server (for /bench/…)")
	fs.StringVar(&d.wtpURL, "wtp", "", "ws:// URL of the WTP endpoint")
	fs.StringVar(&d.thing, "thing", benchThingID, "thingID to address over WTP")
	fs.StringVar(&d.httpURL, "http", "", "URL of GET level over HTTP")
	fs.StringVar(&d.sseURL, "sse", "", "URL of the SSE stream of level")
	fs.IntVar(&d.n, "n", 10000, "operations")
	fs.BoolVar(&d.waitDrop, "wait-drop", true, "wtp-burst: wait until the server drops the observer that reads nothing (a small burst fits in socket buffers and never stalls it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	run := scenarios[*scenario]
	if run == nil {
		return fmt.Errorf("unknown scenario %q", *scenario)
	}
	d.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}, Timeout: 2 * time.Minute}
	r, err := run(d)
	if err != nil {
		return fmt.Errorf("%s: %w", *scenario, err)
	}
	r.Scenario, r.N = *scenario, d.n
	if r.Rate == 0 && r.Seconds > 0 {
		r.Rate = float64(d.n) / r.Seconds
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func (d *driver) dial() (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, d.wtpURL, &websocket.DialOptions{Subprotocols: []string{"webthingprotocol"}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

func (d *driver) request(op string) []byte {
	return fmt.Appendf(nil, `{"thingID":%q,"messageID":"6f3c1a52-8d0e-4a8b-9c1e-2b7d4e5f6a7b","messageType":"request","operation":%q,"name":"level","correlationID":"0e8a4f6b-2c1d-4e3f-8a9b-7c6d5e4f3a2b"}`, d.thing, op)
}

// roundTrip sends req and reads one message, which must not be an error response.
func roundTrip(c *websocket.Conn, req []byte) error {
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		return err
	}
	_, data, err := c.Read(ctx)
	if err == nil && bytes.Contains(data, []byte(`"error"`)) {
		err = fmt.Errorf("error response: %s", data)
	}
	return err
}

func timed(f func() error) (result, error) {
	start := time.Now()
	err := f()
	return result{Seconds: time.Since(start).Seconds()}, err
}

func (d *driver) wtpSequential() (result, error) {
	c, err := d.dial()
	if err != nil {
		return result{}, err
	}
	defer c.CloseNow()
	req := d.request("readproperty")
	if err := roundTrip(c, req); err != nil {
		return result{}, err
	}
	return timed(func() error {
		for range d.n {
			if err := roundTrip(c, req); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *driver) wtpPipelined() (result, error) {
	c, err := d.dial()
	if err != nil {
		return result{}, err
	}
	defer c.CloseNow()
	req := d.request("readproperty")
	if err := roundTrip(c, req); err != nil {
		return result{}, err
	}
	return timed(func() error {
		window := make(chan struct{}, 64)
		errc := make(chan error, 1)
		go func() {
			for range d.n {
				window <- struct{}{}
				if err := c.Write(context.Background(), websocket.MessageText, req); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for range d.n {
			if _, _, err := c.Read(context.Background()); err != nil {
				return err
			}
			<-window
		}
		return <-errc
	})
}

func (d *driver) wtpConns100() (result, error) {
	cs := make([]*websocket.Conn, 100)
	req := d.request("readproperty")
	for i := range cs {
		c, err := d.dial()
		if err != nil {
			return result{}, err
		}
		defer c.CloseNow()
		if err := roundTrip(c, req); err != nil {
			return result{}, err
		}
		cs[i] = c
	}
	return timed(func() error { return parallel(len(cs), d.n, func(i int) error { return roundTrip(cs[i], req) }) })
}

// parallel runs n operations spread over k workers; the first error stops them all.
func parallel(k, n int, op func(worker int) error) error {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	for i := range k {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(i); err != nil {
					once.Do(func() { first = err })
					left.Store(0)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// wtpPush subscribes k connections to level, asks the server for n changes at once and waits until
// every connection received all n: a burst that a consumer reading at full speed must survive.
func (d *driver) wtpPush(k int) (result, error) {
	cs := make([]*websocket.Conn, k)
	req := d.request("observeproperty")
	for i := range cs {
		c, err := d.dial()
		if err != nil {
			return result{}, err
		}
		defer c.CloseNow()
		if err := roundTrip(c, req); err != nil {
			return result{}, err
		}
		cs[i] = c
	}
	return timed(func() error {
		errc := make(chan error, k)
		for _, c := range cs {
			go func() {
				for got := 0; got < d.n; got++ {
					if _, _, err := c.Read(context.Background()); err != nil {
						errc <- fmt.Errorf("after %d of %d notifications: %w", got, d.n, err)
						return
					}
				}
				errc <- nil
			}()
		}
		if err := d.notify(); err != nil {
			return err
		}
		for range cs {
			if err := <-errc; err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *driver) notify() error {
	resp, err := d.hc.Post(fmt.Sprintf("%s/bench/notify?n=%d", d.base, d.n), "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("notify: %s", resp.Status)
	}
	return nil
}

// memStats is the server's /bench/mem: heap and stacks in use after a GC, the allocation count,
// the resident set size and its peak, and how many slow consumers it dropped.
type memStats struct{ Inuse, Mallocs, RSS, HWM, Dropped, Changes, Hash uint64 }

func (d *driver) memStats() (memStats, error) {
	var m memStats
	resp, err := d.hc.Get(d.base + "/bench/mem")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&m)
	return m, err
}

// mem returns the server's heap and stacks in use and its allocation count.
func (d *driver) mem() (inuse, mallocs uint64, err error) {
	m, err := d.memStats()
	return m.Inuse, m.Mallocs, err
}

// wtpBurst: one connection writes level n times with 256 writes in flight; observer B reads
// every change as fast as it can, observer A reads nothing. Value is how long B took to receive
// all n changes (it must receive each, in order); Extra has how long until the server dropped A
// and how much the server's resident memory grew (peak RSS over RSS before).
func (d *driver) wtpBurst() (result, error) {
	// Ask the server to record the Thing's changes (an older build may not offer it).
	if resp, err := d.hc.Post(d.base+"/bench/record", "", nil); err == nil {
		resp.Body.Close()
	}
	before, err := d.memStats()
	if err != nil {
		return result{}, err
	}
	res, err := burst.Run(burst.Config{URL: d.wtpURL, ThingID: d.thing, Property: "level", N: d.n, InFlight: 256,
		Value: func(i int) int { return i % 100 }, Sentinel: 100, Timeout: 2 * time.Minute})
	if res != nil && res.A != nil {
		defer res.A.Close()
	}
	if err != nil {
		return result{}, err
	}
	// B must have received exactly the changes the Thing notified, in its order.
	thing, err := d.memStats()
	if err != nil {
		return result{}, err
	}
	if thing.Changes != 0 && (uint64(len(res.Values)) != thing.Changes-before.Changes || burst.Hash(res.Values) != thing.Hash) {
		return result{}, fmt.Errorf("observer B received %d changes, the Thing notified %d (or in another order)", len(res.Values), thing.Changes-before.Changes)
	}
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	var after memStats
	for d.waitDrop {
		if after, err = d.memStats(); err != nil {
			return result{}, err
		}
		if after.Dropped > before.Dropped {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("observer B received all %d changes in %v, but the observer that reads nothing was not dropped within 60 s", d.n, res.Elapsed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return result{Seconds: res.Elapsed.Seconds(), Value: res.Elapsed.Seconds(), Unit: "s",
		Extra: map[string]float64{
			"a_dropped_s":    res.Elapsed.Seconds() + time.Since(start).Seconds(),
			"rss_growth_mib": float64(int64(after.HWM)-int64(before.RSS)) / (1 << 20),
		}}, nil
}

// wtpIdle opens n idle WebSocket connections (bare TCP after the handshake) and reports the
// server's memory growth per connection.
func (d *driver) wtpIdle() (result, error) {
	u, err := url.Parse(d.wtpURL)
	if err != nil {
		return result{}, err
	}
	before, _, err := d.mem()
	if err != nil {
		return result{}, err
	}
	conns := make([]net.Conn, 0, d.n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range d.n {
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			return result{}, err
		}
		var key [16]byte
		rand.Read(key[:])
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: webthingprotocol\r\n\r\n",
			u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key[:]))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			return result{}, fmt.Errorf("handshake: %v %v", resp, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond) // let the server's goroutines settle into their idle reads
	after, _, err := d.mem()
	if err != nil {
		return result{}, err
	}
	return result{Value: float64(int64(after)-int64(before)) / float64(d.n), Unit: "B/conn"}, nil
}

// wtpAllocs counts the server's allocations per sequential readproperty round trip.
func (d *driver) wtpAllocs() (result, error) {
	c, err := d.dial()
	if err != nil {
		return result{}, err
	}
	defer c.CloseNow()
	req := d.request("readproperty")
	if err := roundTrip(c, req); err != nil {
		return result{}, err
	}
	_, m0, err := d.mem()
	if err != nil {
		return result{}, err
	}
	r, err := timed(func() error {
		for range d.n {
			if err := roundTrip(c, req); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	_, m1, err := d.mem()
	r.Value, r.Unit = float64(m1-m0)/float64(d.n), "allocs/op"
	return r, err
}

func (d *driver) get() error {
	resp, err := d.hc.Get(d.httpURL)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", d.httpURL, resp.Status)
	}
	return err
}

func (d *driver) httpSequential() (result, error) {
	if err := d.get(); err != nil {
		return result{}, err
	}
	return timed(func() error {
		for range d.n {
			if err := d.get(); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *driver) httpConns100() (result, error) {
	if err := d.get(); err != nil {
		return result{}, err
	}
	return timed(func() error { return parallel(100, d.n, func(int) error { return d.get() }) })
}

// httpPush opens the SSE stream, asks for n changes and waits until all n events arrived.
func (d *driver) httpPush() (result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.sseURL, nil)
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := d.hc.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return result{}, fmt.Errorf("GET %s: %s %s", d.sseURL, resp.Status, resp.Header.Get("Content-Type"))
	}
	return timed(func() error {
		errc := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			got := 0
			for got < d.n && sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data:") {
					got++
				}
			}
			if got < d.n {
				errc <- fmt.Errorf("the stream ended after %d of %d events: %v", got, d.n, errors.Join(sc.Err(), io.ErrUnexpectedEOF))
				return
			}
			errc <- nil
		}()
		if err := d.notify(); err != nil {
			return err
		}
		return <-errc
	})
}
