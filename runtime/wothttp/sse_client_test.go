package wothttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// fastRetry shortens the stream backoff for the test.
func fastRetry(t *testing.T) {
	old, oldFails := minBackoff, maxStreamFails
	minBackoff, maxStreamFails = 5*time.Millisecond, 4
	t.Cleanup(func() { minBackoff, maxStreamFails = old, oldFails })
}

func TestSSEObserve(t *testing.T) {
	leakCheck(t)
	ps := newProfileServer()
	srv := newServer(t, ps.handler())
	ct := consume(t, srv.URL, profileTD)
	ctx := ctxT(t)

	c := newCollector()
	sub, err := ct.ObserveProperty(ctx, "brightness", c.fn)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{20, 30} {
		if _, err := ct.WriteProperty(ctx, "brightness", v); err != nil {
			t.Fatal(err)
		}
	}
	ns := c.wait(t, 2)
	for i, want := range []string{"20", "30"} {
		n := ns[i]
		at, _ := time.Parse(time.RFC3339Nano, n.ID)
		if n.Name != "brightness" || n.Kind != td.KindProperty || string(n.Value) != want || at.IsZero() || !n.Time.Equal(at) {
			t.Errorf("notification %d = %+v", i, n)
		}
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSSEThingLevelAndEvents(t *testing.T) {
	leakCheck(t)
	ps := newProfileServer()
	srv := newServer(t, ps.handler())
	ct := consume(t, srv.URL, profileTD)
	ctx := ctxT(t)

	props, evs, one := newCollector(), newCollector(), newCollector()
	if _, err := ct.ObserveAllProperties(ctx, props.fn); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.SubscribeAllEvents(ctx, evs.fn); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.SubscribeEvent(ctx, "overheat", one.fn); err != nil {
		t.Fatal(err)
	}
	ps.emit("bogus", "1", false) // no such event in the TD: not delivered on the Thing-level stream
	ps.emit("overheat", "91.5", false)
	ps.emit("ping", "", false) // an event without data on the wire: dropped by the SSE parser (no data line)
	if _, err := ct.WriteProperty(ctx, "brightness", 5); err != nil {
		t.Fatal(err)
	}
	p := props.wait(t, 1)[0]
	if p.Name != "brightness" || string(p.Value) != "5" || p.Kind != td.KindProperty {
		t.Errorf("observeall: %+v", p)
	}
	e := evs.wait(t, 1)[0]
	if e.Name != "overheat" || string(e.Value) != "91.5" || e.Kind != td.KindEvent {
		t.Errorf("subscribeall: %+v", e)
	}
	if o := one.wait(t, 1)[0]; o.Name != "overheat" || string(o.Value) != "91.5" {
		t.Errorf("subscribeevent: %+v", o)
	}
	if n := evs.count(); n != 1 {
		t.Errorf("subscribeall got %d notifications, want 1 (bogus must be skipped)", n)
	}
	ct.Close() // ends the three streams
}

// sseScript serves successive connections from a list of scripts; each script writes its
// events and then either returns (the stream drops) or holds the connection.
type sseScript struct {
	mu      sync.Mutex
	conns   int
	lastIDs []string
	scripts []func(w http.ResponseWriter, r *http.Request)
}

func (s *sseScript) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.conns
	s.conns++
	s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
	s.mu.Unlock()
	if i >= len(s.scripts) {
		i = len(s.scripts) - 1
	}
	s.scripts[i](w, r)
}

func eventStream(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fmt.Fprint(w, body)
	http.NewResponseController(w).Flush()
}

func hold(r *http.Request) { <-r.Context().Done() }

const sseTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:s", "title": "s",
  "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
  "properties": {"level": {"type": "integer", "observable": true, "forms": [
    {"href": "%s/level", "op": "readproperty"},
    {"href": "%s/level/sse", "op": "observeproperty", "subprotocol": "sse"}]}},
  "events": {"alarm": {"forms": [{"href": "%s/alarm", "subprotocol": "sse"}]}}}`

func id(n int) string { return sseEpoch.Add(time.Duration(n)).Format(time.RFC3339Nano) }

func TestSSEResume(t *testing.T) {
	leakCheck(t)
	fastRetry(t)
	s := &sseScript{scripts: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) {
			eventStream(w, "retry: 10\n\nevent: level\ndata: 1\nid: "+id(1)+"\n\nevent: level\ndata: 2\nid: "+id(2)+"\n\nevent: level\ndata: 99\nid: "+id(99))
			// drops mid-event: the partial event (99) must not be delivered
		},
		func(w http.ResponseWriter, r *http.Request) {
			// A Thing that replays one too many: 2 again, then 3 and 4.
			eventStream(w, "event: level\ndata: 2\nid: "+id(2)+"\n\nevent: level\ndata: 3\nid: "+id(3)+"\n\n: keep-alive\n\nevent: level\ndata: 4\nid: "+id(4)+"\n\n")
			hold(r)
		},
	}}
	srv := newServer(t, s)
	ct := consume(t, srv.URL, strings.Replace(sseTD, "%s/level/sse", "%s/sse", 1))
	c := newCollector()
	sub, err := ct.ObserveProperty(ctxT(t), "level", c.fn)
	if err != nil {
		t.Fatal(err)
	}
	ns := c.wait(t, 4)
	var vals []string
	for _, n := range ns {
		vals = append(vals, string(n.Value))
	}
	if got := strings.Join(vals, ","); got != "1,2,3,4" {
		t.Errorf("values %s, want 1,2,3,4 (nothing lost, no duplicate)", got)
	}
	s.mu.Lock()
	last := s.lastIDs
	s.mu.Unlock()
	if len(last) != 2 || last[0] != "" || last[1] != id(2) {
		t.Errorf("Last-Event-ID per connection = %q, want [\"\" %q]", last, id(2))
	}
	if sub.Err() != nil {
		t.Errorf("subscription failed: %v", sub.Err())
	}
	sub.Stop(ctxT(t))
}

func TestSSEEndsFor204(t *testing.T) {
	leakCheck(t)
	fastRetry(t)
	s := &sseScript{scripts: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) { eventStream(w, "retry: 1\ndata: 1\nid: a\n\n") },
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
	}}
	srv := newServer(t, s)
	ct := consume(t, srv.URL, sseTD)
	c := newCollector()
	sub, err := ct.SubscribeEvent(ctxT(t), "alarm", c.fn)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.wait(t, 1)[0]; n.Name != "alarm" || string(n.Value) != "1" || n.ID != "a" {
		t.Errorf("unnamed message on the event's stream: %+v", n)
	}
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a 204 on reconnect did not end the subscription")
	}
	if err := sub.Err(); err == nil || !strings.Contains(err.Error(), "204") {
		t.Errorf("Err = %v, want the 204", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns != 2 {
		t.Errorf("%d connections, want 2 (no reconnect after 204)", s.conns)
	}
}

func TestSSERefused(t *testing.T) {
	leakCheck(t)
	cases := []struct {
		name   string
		h      http.HandlerFunc
		status int
		text   string
	}{
		{"401", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lamp"`)
			w.WriteHeader(401)
		}, 401, `WWW-Authenticate: Bearer realm="lamp"`},
		{"204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, 0, "204"},
		{"json instead of a stream", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, 1) }, 0, "instead of text/event-stream"},
		{"404 problem", func(w http.ResponseWriter, r *http.Request) { problem(w, 404, "no alarm here") }, 404, "no alarm here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.h)
			ct := consume(t, srv.URL, sseTD)
			_, err := ct.SubscribeEvent(ctxT(t), "alarm", func(wot.Notification) {})
			if err == nil || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %q", err, tc.text)
			}
			if tc.status != 0 && wot.StatusOf(err) != tc.status {
				t.Errorf("status %d, want %d", wot.StatusOf(err), tc.status)
			}
		})
	}
}

// TestSSESilentStream: a stream that never sends ends only by stop, which is prompt.
func TestSSESilentStream(t *testing.T) {
	leakCheck(t)
	started := make(chan struct{}, 1)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w, "")
		started <- struct{}{}
		hold(r)
	}))
	ct := consume(t, srv.URL, sseTD, wot.WithRequestTimeout(100*time.Millisecond))
	sub, err := ct.SubscribeEvent(ctxT(t), "alarm", func(wot.Notification) {})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	// Longer than the request timeout: streams are not bound by it.
	select {
	case <-sub.Done():
		t.Fatalf("the stream ended on its own: %v", sub.Err())
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	if err := sub.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stop took %v", d)
	}
}

func TestSSEEventTooLarge(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w, "data: "+strings.Repeat("7", 5000)+"\n\n")
		hold(r)
	}))
	ct := consume(t, srv.URL, sseTD, WithMaxBodySize(1000))
	sub, err := ct.SubscribeEvent(ctxT(t), "alarm", func(wot.Notification) {})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("an oversized event did not end the subscription")
	}
	if err := sub.Err(); err == nil || !strings.Contains(err.Error(), "WithMaxBodySize") {
		t.Errorf("Err = %v", err)
	}
}

// TestSSETransientThenGiveUp: a Thing that keeps answering 503 is retried a bounded number
// of times, then the subscription fails with the Thing's error.
func TestSSETransientThenGiveUp(t *testing.T) {
	leakCheck(t)
	fastRetry(t)
	s := &sseScript{scripts: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) { eventStream(w, "retry: 1\ndata: 1\n\n") },
		func(w http.ResponseWriter, r *http.Request) { problem(w, 503, "restarting") },
	}}
	srv := newServer(t, s)
	cl, n := openClient(t, srv.URL, sseTD)
	sk := newSink()
	stop, err := cl.Subscribe(ctxT(t), request(t, n, td.OpSubscribeEvent, "alarm"), sk)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	err = sk.waitFail(t)
	var we *wot.Error
	if !errors.As(err, &we) || we.Status != 503 || !strings.Contains(err.Error(), "could not be reopened") {
		t.Errorf("fail = %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns != 1+maxStreamFails {
		t.Errorf("%d connections, want %d", s.conns, 1+maxStreamFails)
	}
}

// TestCloseEndsStreams: closing the consumer ends every stream without leaking.
func TestCloseEndsStreams(t *testing.T) {
	leakCheck(t)
	ps := newProfileServer()
	nw := &nodeWotServer{}
	srv := newServer(t, ps.handler())
	nsrv := newServer(t, nw.handler())
	ct := consume(t, srv.URL, profileTD)
	nct := consume(t, nsrv.URL, nodeWotTD)
	ctx := ctxT(t)
	for _, name := range []string{"brightness"} {
		if _, err := ct.ObserveProperty(ctx, name, func(wot.Notification) {}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nct.ObserveProperty(ctx, "count", func(wot.Notification) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := nct.SubscribeEvent(ctx, "ping", func(wot.Notification) {}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ct.Close()
	nct.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

// TestSSEHeadersHeldBack: a Thing that sends its response headers only with the first event
// (net/http does, without an explicit flush) is subscribed after sseAcceptWait; a refusal
// that comes later fails the subscription.
func TestSSEHeadersHeldBack(t *testing.T) {
	leakCheck(t)
	old := sseAcceptWait
	sseAcceptWait = 50 * time.Millisecond
	t.Cleanup(func() { sseAcceptWait = old })
	next := make(chan string) // what the held connection does next
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case what := <-next:
			if what == "refuse" {
				problem(w, 403, "not you")
				return
			}
			eventStream(w, "data: 1\n\n")
			hold(r)
		case <-r.Context().Done():
		}
	}))
	ct := consume(t, srv.URL, sseTD)
	c := newCollector()
	sub, err := ct.SubscribeEvent(ctxT(t), "alarm", c.fn)
	if err != nil {
		t.Fatal(err)
	}
	next <- "fire"
	if n := c.wait(t, 1)[0]; string(n.Value) != "1" {
		t.Errorf("notification %+v", n)
	}
	sub.Stop(ctxT(t))

	sub, err = ct.SubscribeEvent(ctxT(t), "alarm", c.fn)
	if err != nil {
		t.Fatal(err)
	}
	next <- "refuse"
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a late refusal did not end the subscription")
	}
	if wot.StatusOf(sub.Err()) != 403 {
		t.Errorf("Err = %v, want the 403", sub.Err())
	}
	// Subscribe's context ends the wait for headers when it is shorter.
	sseAcceptWait = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ct.SubscribeEvent(ctx, "alarm", c.fn); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
}
