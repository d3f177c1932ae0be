// Package burst drives a burst against a WTP server over real sockets: one connection writes a
// property n times with a window of writes in flight, observer B reads every notification as fast
// as it can, observer A subscribes and then reads nothing. A
// server that bounds its send queues by progress and bytes delivers everything to B and drops A;
// one that bounds them by a message count drops B too. Used by internal/bench's tests (in process)
// and by wotbench (out of process).
package burst

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Config says what to drive.
type Config struct {
	URL      string // ws:// endpoint
	ThingID  string
	Property string // an observable, writable integer property
	N        int    // writes
	InFlight int    // writes in flight at once
	// Value is the i-th value written; consecutive values must differ so that each write is a
	// change.
	Value func(i int) int
	// Sentinel is written once all N writes are answered: a value Value never returns, so it is
	// a change, and the Thing's last. B reads until it sees it.
	Sentinel int
	// Timeout bounds the whole burst (default 60 s).
	Timeout time.Duration
}

// Result is what B received and how long it took.
//
// Writes that call handlers may run concurrently (a server hands a slow one off its
// connection's reader), so the Thing may apply them in another order than sent, and a write of
// the value the property already has is no change: B's values are to be compared with the
// changes the Thing itself notified, not with the writes.
type Result struct {
	Values  []int         // the values of B's notifications, in the order received, Sentinel last
	Elapsed time.Duration // from the first write to B's last notification (or the end)
	// A is the stalled observer, still open: the caller checks that the server drops it, then
	// closes it.
	A net.Conn
}

// Run drives the burst and returns once B has received the notification of Sentinel, or with an
// error when a write fails, B's connection ends, or Timeout passes.
func Run(cfg Config) (*Result, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()

	w, err := dial(ctx, cfg.URL, nil)
	if err != nil {
		return nil, err
	}
	defer w.CloseNow()
	b, err := dial(ctx, cfg.URL, nil)
	if err != nil {
		return nil, err
	}
	defer b.CloseNow()
	observe := request(cfg.ThingID, "observeproperty", cfg.Property, "", "0")
	if err := roundTrip(ctx, b, observe); err != nil {
		return nil, fmt.Errorf("observer B observes: %w", err)
	}
	// A's socket receives into a small buffer, so that it stalls after kilobytes rather than the
	// megabytes loopback TCP would otherwise absorb.
	var aConn net.Conn
	a, err := dial(ctx, cfg.URL, func(c net.Conn) {
		aConn = c
		c.(*net.TCPConn).SetReadBuffer(4096)
	})
	if err != nil {
		return nil, err
	}
	if err := roundTrip(ctx, a, observe); err != nil {
		a.CloseNow()
		return nil, fmt.Errorf("observer A observes: %w", err)
	}
	// From here on nothing reads A: its websocket.Conn is left as it is (closing it would close
	// the socket); the caller closes the TCP connection under it.

	res := &Result{A: aConn, Values: make([]int, 0, cfg.N)}
	start := time.Now()
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	// B: every notification, as fast as possible.
	bDone := make(chan struct{})
	wg.Go(func() {
		defer close(bDone)
		for {
			_, data, err := b.Read(ctx)
			if err != nil {
				errc <- fmt.Errorf("observer B, after %d notifications (%d writes): %w", len(res.Values), cfg.N, err)
				return
			}
			var m struct {
				MessageType string          `json:"messageType"`
				Name        string          `json:"name"`
				Value       json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				errc <- fmt.Errorf("observer B received %s: %w", data, err)
				return
			}
			if m.MessageType != "notification" || m.Name != cfg.Property {
				continue
			}
			var v int
			if err := json.Unmarshal(m.Value, &v); err != nil {
				errc <- fmt.Errorf("observer B received value %s: %w", m.Value, err)
				return
			}
			res.Values = append(res.Values, v)
			if v == cfg.Sentinel {
				res.Elapsed = time.Since(start)
				return
			}
		}
	})
	// The writer: N writes, InFlight at once; every response must be a success.
	window := make(chan struct{}, max(cfg.InFlight, 1))
	wg.Go(func() {
		for i := range cfg.N {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			req := request(cfg.ThingID, "writeproperty", cfg.Property, fmt.Sprint(cfg.Value(i)), fmt.Sprint(i))
			if err := w.Write(ctx, websocket.MessageText, req); err != nil {
				errc <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range cfg.N {
			_, data, err := w.Read(ctx)
			if err != nil {
				errc <- fmt.Errorf("the writer's response %d: %w", i, err)
				return
			}
			if err := checkResponse(data); err != nil {
				errc <- fmt.Errorf("the writer's response %d: %w", i, err)
				return
			}
			<-window
		}
		last := request(cfg.ThingID, "writeproperty", cfg.Property, fmt.Sprint(cfg.Sentinel), "last")
		if err := roundTrip(ctx, w, last); err != nil {
			errc <- fmt.Errorf("the last write: %w", err)
		}
	})
	select {
	case <-bDone:
	case err := <-errc:
		cancel()
		wg.Wait()
		return res, err
	}
	wg.Wait()
	select {
	case err := <-errc:
		return res, err
	default:
	}
	return res, nil
}

func dial(ctx context.Context, url string, tweak func(net.Conn)) (*websocket.Conn, error) {
	opts := &websocket.DialOptions{Subprotocols: []string{"webthingprotocol"}}
	if tweak != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				tweak(c)
			}
			return c, err
		}}}
	}
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// request is a WTP request; value is JSON ("" for none), corr the correlationID's suffix.
func request(thingID, op, name, value, corr string) []byte {
	m := map[string]any{"thingID": thingID, "messageID": "6f3c1a52-8d0e-4a8b-9c1e-2b7d4e5f6a7b", "messageType": "request",
		"operation": op, "name": name, "correlationID": "c-" + corr}
	if value != "" {
		m["value"] = json.RawMessage(value)
	}
	b, _ := json.Marshal(m)
	return b
}

// roundTrip sends req and reads until its response (notifications may come first).
func roundTrip(ctx context.Context, c *websocket.Conn, req []byte) error {
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		return err
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var m struct {
			MessageType string `json:"messageType"`
		}
		if json.Unmarshal(data, &m) == nil && m.MessageType == "response" {
			return checkResponse(data)
		}
	}
}

func checkResponse(data []byte) error {
	var m struct {
		MessageType string          `json:"messageType"`
		Error       json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if m.MessageType != "response" || m.Error != nil {
		return fmt.Errorf("not a success response: %s", data)
	}
	return nil
}

// Hash is a digest of a sequence of values, for comparing B's with the Thing's own record
// across processes.
func Hash(values []int) uint64 {
	h := fnv.New64a()
	for _, v := range values {
		fmt.Fprintf(h, "%d,", v)
	}
	return h.Sum64()
}
