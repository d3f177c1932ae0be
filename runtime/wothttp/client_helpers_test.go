package wothttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// leakCheck records the goroutine count and, at cleanup (after the servers and consumers
// the test registered later are closed), waits for it to come back.
func leakCheck(t *testing.T) {
	t.Helper()
	closeIdle()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			closeIdle()
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d goroutines, %d at the start\n%s", n, base, buf)
				return
			}
			time.Sleep(10 * time.Millisecond) // polling interval, not an assertion
		}
	})
}

func closeIdle() {
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}

// newServer starts an httptest server on 127.0.0.1 that is closed (its client connections
// first, so held requests end) when the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

// consume parses tdJSON (with %s replaced by base) and consumes it with the HTTP binding only.
func consume(t testing.TB, base, tdJSON string, opts ...wot.DialOption) *wot.ConsumedThing {
	t.Helper()
	thing, err := td.Parse([]byte(strings.ReplaceAll(tdJSON, "%s", base)))
	if err != nil {
		t.Fatalf("parse TD: %v", err)
	}
	opts = append([]wot.DialOption{wot.WithBindings(NewBinding())}, opts...)
	ct, err := wot.Consume(context.Background(), thing, base+"/td", opts...)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	t.Cleanup(func() { ct.Close() })
	return ct
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collector gathers a subscription's notifications.
type collector struct {
	mu sync.Mutex
	ns []wot.Notification
	ch chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) fn(n wot.Notification) {
	c.mu.Lock()
	c.ns = append(c.ns, n)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// wait returns once n notifications arrived, failing the test after a deadline.
func (c *collector) wait(t *testing.T, n int) []wot.Notification {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]wot.Notification(nil), c.ns...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("got %d notifications, want %d: %+v", len(got), n, got)
		}
	}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ns)
}

// sink is a wot.Sink for tests that drive the Client directly.
type sink struct {
	collector
	mu2    sync.Mutex
	err    error
	failed chan struct{}
	last   string
}

func newSink() *sink {
	return &sink{collector: collector{ch: make(chan struct{}, 1)}, failed: make(chan struct{})}
}

func (s *sink) Deliver(n wot.Notification) bool {
	s.fn(n)
	s.mu2.Lock()
	if n.ID != "" {
		s.last = n.ID
	}
	s.mu2.Unlock()
	return true
}

func (s *sink) Fail(err error) {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	if s.err == nil {
		s.err = err
		close(s.failed)
	}
}

func (s *sink) LastID() string {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	return s.last
}

func (s *sink) waitFail(t *testing.T) error {
	t.Helper()
	select {
	case <-s.failed:
		s.mu2.Lock()
		defer s.mu2.Unlock()
		return s.err
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription did not fail")
		return nil
	}
}

// problem writes an RFC 9457 problem.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "https://example.org/errors/" + fmt.Sprint(status), "title": http.StatusText(status), "status": status, "detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// openClient opens the binding's Client for a TD directly, for tests below the core.
func openClient(t *testing.T, base, tdJSON string, opts ...wot.DialOption) (*client, *td.Thing) {
	t.Helper()
	thing, err := td.Parse([]byte(strings.ReplaceAll(tdJSON, "%s", base)))
	if err != nil {
		t.Fatalf("parse TD: %v", err)
	}
	n := td.Normalize(thing)
	cfg := &wot.Config{}
	for _, o := range opts {
		o(cfg)
	}
	cl, err := Binding{}.Open(context.Background(), &wot.Target{TD: n, Config: cfg})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl.(*client), n
}

// request builds the Request for the first form of name (affordance or Thing) naming op.
func request(t *testing.T, n *td.Thing, op, name string) *wot.Request {
	t.Helper()
	forms := n.AffordanceForms(op, name)
	if len(forms) == 0 {
		t.Fatalf("no form for %s %q", op, name)
	}
	u, err := n.ResolveHref(forms[0].Href, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &wot.Request{Op: op, Name: name, Form: wot.Form{Form: forms[0], URL: u}, URL: u}
}

// newMux serves every path with h.
func newMux(h http.HandlerFunc) http.Handler { return h }
