package wothttp

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not an assertion
	}
}

func TestLongPollObserveAndEvents(t *testing.T) {
	leakCheck(t)
	nw := &nodeWotServer{}
	srv := newServer(t, nw.handler())
	ct := consume(t, srv.URL, nodeWotTD)
	ctx := ctxT(t)

	props, evs := newCollector(), newCollector()
	psub, err := ct.ObserveProperty(ctx, "count", props.fn)
	if err != nil {
		t.Fatal(err)
	}
	esub, err := ct.SubscribeEvent(ctx, "ping", evs.fn)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		waitFor(t, "a held poll", func() bool { p, e := nw.waiting(); return p == 1 && e == 1 })
		nw.set(i * 10)
		nw.ping("p" + string(rune('0'+i)))
		props.wait(t, i)
		evs.wait(t, i)
	}
	ps, es := props.wait(t, 3), evs.wait(t, 3)
	seen := map[string]bool{}
	for i, n := range ps {
		if n.Name != "count" || n.Kind != td.KindProperty || string(n.Value) != []string{"10", "20", "30"}[i] || n.ID == "" || seen[n.ID] || n.Time.IsZero() {
			t.Errorf("property notification %d = %+v", i, n)
		}
		seen[n.ID] = true
	}
	for i, n := range es {
		if n.Name != "ping" || n.Kind != td.KindEvent || string(n.Value) != `"p`+string(rune('1'+i))+`"` {
			t.Errorf("event notification %d = %+v", i, n)
		}
	}
	// Stopping cancels the held poll: the Thing sees the request go away.
	if err := psub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := esub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held polls to end", func() bool { p, e := nw.waiting(); return p == 0 && e == 0 })
}

// pollScript answers successive long polls from a list; the last entry repeats.
type pollScript struct {
	mu      sync.Mutex
	polls   int
	heads   int
	answers []func(w http.ResponseWriter, r *http.Request)
}

func (p *pollScript) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if r.Method == http.MethodHead {
		p.heads++
		p.mu.Unlock()
		w.WriteHeader(202)
		return
	}
	i := p.polls
	p.polls++
	p.mu.Unlock()
	p.answers[min(i, len(p.answers)-1)](w, r)
}

func (p *pollScript) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.polls
}

const pollTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:p", "title": "p",
  "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
  "events": {"tick": {"forms": [{"href": "%s/tick"}]}}}`

func TestLongPollEmptyAnswersAndNetworkErrors(t *testing.T) {
	leakCheck(t)
	fastRetry(t)
	empty := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }
	drop := func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close() // the connection dies without an answer
		}
	}
	value := func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, 42) }
	ps := &pollScript{answers: []func(http.ResponseWriter, *http.Request){
		empty, empty, drop, drop, empty, value,
		func(w http.ResponseWriter, r *http.Request) { hold(r) },
	}}
	srv := newServer(t, ps)
	ct := consume(t, srv.URL, pollTD)
	c := newCollector()
	sub, err := ct.SubscribeEvent(ctxT(t), "tick", c.fn)
	if err != nil {
		t.Fatal(err)
	}
	n := c.wait(t, 1)[0]
	if string(n.Value) != "42" || n.Name != "tick" {
		t.Errorf("notification %+v", n)
	}
	waitFor(t, "the next poll", func() bool { return ps.count() == 7 })
	if sub.Err() != nil {
		t.Errorf("subscription ended: %v", sub.Err())
	}
	if ps.heads != 1 {
		t.Errorf("%d HEAD probes, want 1", ps.heads)
	}
	sub.Stop(ctxT(t))
}

func TestLongPollGivesUp(t *testing.T) {
	leakCheck(t)
	fastRetry(t)
	ps := &pollScript{answers: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) { problem(w, 503, "busy") },
	}}
	srv := newServer(t, ps)
	cl, n := openClient(t, srv.URL, pollTD)
	sk := newSink()
	stop, err := cl.Subscribe(ctxT(t), request(t, n, td.OpSubscribeEvent, "tick"), sk)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	err = sk.waitFail(t)
	if wot.StatusOf(err) != 503 || !strings.Contains(err.Error(), "in a row") {
		t.Errorf("fail = %v", err)
	}
	if got := ps.count(); got != maxStreamFails {
		t.Errorf("%d polls, want %d", got, maxStreamFails)
	}
}

func TestLongPollFatalAnswers(t *testing.T) {
	leakCheck(t)
	fastRetry(t)
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		want   string
	}{
		{"403 mid-subscription", func(w http.ResponseWriter, r *http.Request) { problem(w, 403, "revoked") }, "revoked"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
		}, "not JSON"},
		{"garbage JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{nope"))
		}, "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, &pollScript{answers: []func(http.ResponseWriter, *http.Request){tc.answer}})
			cl, n := openClient(t, srv.URL, pollTD)
			sk := newSink()
			stop, err := cl.Subscribe(ctxT(t), request(t, n, td.OpSubscribeEvent, "tick"), sk)
			if err != nil {
				t.Fatal(err)
			}
			defer stop(context.Background())
			if err := sk.waitFail(t); !strings.Contains(err.Error(), tc.want) {
				t.Errorf("fail = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLongPollProbe(t *testing.T) {
	leakCheck(t)
	// HEAD refused for want of credentials: Subscribe says so at once.
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="p"`)
		w.WriteHeader(401)
	}))
	ct := consume(t, srv.URL, pollTD)
	_, err := ct.SubscribeEvent(ctxT(t), "tick", func(wot.Notification) {})
	if wot.StatusOf(err) != 401 || !strings.Contains(err.Error(), `Basic realm="p"`) {
		t.Fatalf("err = %v", err)
	}
	// A Thing that holds HEAD like a GET (HEAD is not required): subscribed after the probe's
	// short timeout, and the loop runs.
	var mu sync.Mutex
	gets := 0
	srv2 := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			mu.Lock()
			gets++
			mu.Unlock()
		}
		hold(r)
	}))
	ct2 := consume(t, srv2.URL, pollTD)
	start := time.Now()
	sub, err := ct2.SubscribeEvent(ctxT(t), "tick", func(wot.Notification) {})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*probeTimeout {
		t.Errorf("subscribe took %v", d)
	}
	waitFor(t, "the first GET", func() bool { mu.Lock(); defer mu.Unlock(); return gets == 1 })
	sub.Stop(ctxT(t))
	// Nobody listening: a clear network error.
	srv3 := newServer(t, http.NotFoundHandler())
	url3 := srv3.URL
	srv3.Close()
	ct3 := consume(t, url3, pollTD)
	if _, err := ct3.SubscribeEvent(ctxT(t), "tick", func(wot.Notification) {}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
}
