package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"

	"github.com/wotgen/wotgen/runtime/wot"
)

func TestConsumerActionFailureAndCloseWhileReconnecting(t *testing.T) {
	th := newLiveThing(t, "urn:test:fail", "/fail")
	th.HandleAction("slow", func(context.Context, json.RawMessage) (any, error) {
		return nil, Unavailable("pump is off")
	})
	ls := newLiveServer(t, th)
	ctx := consumerCtx(t, 10*time.Second)
	state, stateOpt := stateRecorder()
	c, err := wot.Dial(ctx, ls.url("/fail"), WithReconnect(ReconnectPolicy{MinDelay: 50 * time.Millisecond}), stateOpt)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.InvokeAction(ctx, "slow", 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wot.NewAction[int](c, inv).Wait(ctx)
	var pe *wot.Error
	if !errors.As(err, &pe) || pe.Status != 503 || !strings.Contains(pe.Detail, "pump is off") {
		t.Fatalf("Wait = %v, want the action's 503", err)
	}
	if _, err := c.SubscribeEvent(ctx, "alarm", func(wot.Notification) {}); err != nil {
		t.Fatal(err)
	}
	ls.stop() // and never start again: the consumer keeps redialling until closed
	consumerWaitFor(t, func() bool { return state() == ConnReconnecting })
	rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = c.ReadProperty(rctx, "temp")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection was down") {
		t.Fatalf("request while reconnecting = %v, want a deadline error saying the connection was down", err)
	}
	start := time.Now()
	c.Close()
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Close took %v while reconnecting", time.Since(start))
	}
	consumerWaitFor(t, func() bool { return state() == ConnClosed })
	if _, err := c.ReadProperty(ctx, "temp"); !errors.Is(err, wot.ErrClosed) {
		t.Fatalf("after Close: %v, want wot.ErrClosed", err)
	}
	consumerNoLeaks(t)
}

func TestConsumerTLSAndHeaders(t *testing.T) {
	th := newLiveThing(t, "urn:test:tls", "/tls")
	srv := NewServer()
	if err := srv.AddThing(th); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Trace"))
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	hs.StartTLS()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	}()
	ctx := consumerCtx(t, 10*time.Second)
	if _, err := wot.Dial(ctx, hs.URL+"/tls"); err == nil {
		t.Fatal("Dial trusted an unknown certificate")
	}
	tlsCfg := hs.Client().Transport.(*http.Transport).TLSClientConfig
	c, err := wot.Dial(ctx, hs.URL+"/tls", wot.WithTLSConfig(tlsCfg), wot.WithHeader("X-Trace", "abc"))
	if err != nil {
		t.Fatalf("Dial over TLS: %v", err)
	}
	defer c.Close()
	if ep := onlyConn(t, c).spec.target; ep.Scheme != "wss" {
		t.Fatalf("endpoint %v, want wss", ep)
	}
	if v, err := c.WriteProperty(ctx, "temp", 5); err != nil || string(v) != "5" {
		t.Fatalf("WriteProperty over wss = %s, %v", v, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 || seen[0] != "abc" || seen[len(seen)-1] != "abc" {
		t.Fatalf("X-Trace on the TD request and the handshake: %v", seen)
	}
}

// A real TD from the W3C plugfests: WTP forms without base, secured with oauth2.
func TestConsumerCorpusTDRoutes(t *testing.T) {
	path := filepath.Join(testcorpus.Dir(t), "td", "valid", "wot-testing__Conexxus-CacheSYSTEM_2400.td.json")
	th, err := td.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	routes, eps := selectedEndpoints(t, th, wot.WithBearerToken("tok"))
	if len(eps) != 1 || normalizeURL(eps[0].spec.target) != "ws://192.168.1.3:8080/" {
		t.Fatalf("endpoints %v", eps)
	}
	for _, n := range th.PropertyNames() {
		if r := routes[[2]string{OpReadProperty, n}]; r != eps[0] {
			t.Errorf("readproperty %q has no route", n)
		}
	}
	a, err := eps[0].spec.auth()
	if err != nil || a.header.Get("Authorization") != "Bearer tok" {
		t.Fatalf("oauth2 credentials: %+v, %v", a, err)
	}
	_, eps = selectedEndpoints(t, th)
	if _, err := eps[0].spec.auth(); err == nil || !strings.Contains(err.Error(), "oauth2") {
		t.Fatalf("missing oauth2 token: err = %v", err)
	}
}
