package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

func TestConsumerRequestThingDescriptionBounds(t *testing.T) {
	const doc = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:td", "title": "T",
	 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"}`
	mux := http.NewServeMux()
	mux.HandleFunc("/td", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/td+json")
		w.Write([]byte(doc))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"title": "` + strings.Repeat("x", 4096) + `"}`))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/td", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/td", http.StatusMovedPermanently) })
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(doc))
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	ctx := consumerCtx(t, 10*time.Second)

	if th, err := RequestThingDescription(ctx, hs.URL+"/moved"); err != nil || th.ID != "urn:td" {
		t.Fatalf("following a redirect: %v, %v", th, err)
	}
	if _, err := RequestThingDescription(ctx, hs.URL+"/private", WithBearerToken("t0k")); err != nil {
		t.Fatalf("with a token: %v", err)
	}
	cases := []struct {
		path string
		opts []DialOption
		want string
	}{
		{"/big", []DialOption{WithMaxTDSize(1024)}, "WithMaxTDSize"},
		{"/slow", []DialOption{WithRequestTimeout(100 * time.Millisecond)}, "deadline"},
		{"/loop", nil, "redirects"},
		{"/ftp", nil, "only http and https"},
		{"/private", nil, "401"},
		{"/nothing", nil, "404"},
	}
	for _, tc := range cases {
		start := time.Now()
		// No deadline on the context: WithRequestTimeout (default 30s) bounds the fetch.
		_, err := RequestThingDescription(context.Background(), hs.URL+tc.path, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.path, err, tc.want)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("%s: took %v", tc.path, time.Since(start))
		}
	}
	if _, err := RequestThingDescription(ctx, "file:///etc/passwd"); err == nil || !strings.Contains(err.Error(), "http") {
		t.Errorf("file URL: err = %v", err)
	}
}

func TestConsumerSharedOptionsApplyToDial(t *testing.T) {
	l := slog.New(slog.DiscardHandler)
	cfg := newDialConfig([]DialOption{WithValidation(true), WithThingID("urn:x"), WithLogger(l)})
	if !cfg.validate || cfg.thingID != "urn:x" || cfg.logger != l {
		t.Fatalf("validate=%v thingID=%q logger set=%v", cfg.validate, cfg.thingID, cfg.logger == l)
	}
	cfg = newDialConfig([]DialOption{WithValidation(true), WithValidation(false)})
	if cfg.validate {
		t.Fatal("WithValidation(false) did not switch validation off")
	}
}

func TestConsumerActionFailureAndCloseWhileReconnecting(t *testing.T) {
	th := newLiveThing(t, "urn:test:fail", "/fail")
	th.HandleAction("slow", func(context.Context, json.RawMessage) (any, error) {
		return nil, Unavailable("pump is off")
	})
	ls := newLiveServer(t, th)
	ctx := consumerCtx(t, 10*time.Second)
	c, err := Dial(ctx, ls.url("/fail"), WithReconnect(ReconnectPolicy{MinDelay: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.InvokeAction(ctx, "slow", 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewAction[int](c, inv).Wait(ctx)
	var pe *Error
	if !errors.As(err, &pe) || pe.Status != 503 || !strings.Contains(pe.Detail, "pump is off") {
		t.Fatalf("Wait = %v, want the action's 503", err)
	}
	if _, err := c.SubscribeEvent(ctx, "alarm", func(Notification) {}); err != nil {
		t.Fatal(err)
	}
	ls.stop() // and never start again: the consumer keeps redialling until closed
	consumerWaitFor(t, func() bool { return c.State() == ConnReconnecting })
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
	if c.State() != ConnClosed {
		t.Fatalf("State = %v after Close", c.State())
	}
	if _, err := c.ReadProperty(ctx, "temp"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	consumerNoLeaks(t)
}

func TestConsumerCredentialPlacement(t *testing.T) {
	th := consumerTD(t, "urn:test:cred", "ws://h/wtp", `, "securityDefinitions": {
		"basic": {"scheme": "basic"},
		"hdr": {"scheme": "apikey", "in": "header", "name": "X-Key"},
		"cookie": {"scheme": "apikey", "in": "cookie", "name": "session"},
		"either": {"scheme": "combo", "oneOf": ["bearer", "basic"]},
		"bearer": {"scheme": "bearer"},
		"both": {"scheme": "combo", "allOf": ["hdr", "basic"]},
		"digest": {"scheme": "digest"},
		"nosec": {"scheme": "nosec"}}, "security": "nosec"`)
	cfg := newDialConfig([]DialOption{WithBasicAuth("u", "p"), WithAPIKey("k1")})
	check := func(names []string, header, want string) {
		t.Helper()
		a, err := cfg.authFor(th, names)
		if err != nil {
			t.Fatalf("%v: %v", names, err)
		}
		if got := a.header.Get(header); got != want {
			t.Errorf("%v: %s = %q, want %q", names, header, got, want)
		}
	}
	check([]string{"basic"}, "Authorization", "Basic dTpw")
	check([]string{"hdr"}, "X-Key", "k1")
	check([]string{"either"}, "Authorization", "Basic dTpw") // no token: the basic alternative
	check([]string{"both"}, "X-Key", "k1")
	check([]string{"nosec"}, "Authorization", "")
	if a, err := cfg.authFor(th, []string{"cookie"}); err != nil || len(a.cookies) != 1 || a.cookies[0] != "session=k1" {
		t.Errorf("cookie: %+v, %v", a, err)
	}
	if _, err := cfg.authFor(th, []string{"digest"}); err == nil || !strings.Contains(err.Error(), "WithHeader") {
		t.Errorf("digest: err = %v, want unsupported with a WithHeader hint", err)
	}
	if _, err := cfg.authFor(th, []string{"missing"}); err == nil || !strings.Contains(err.Error(), "securityDefinitions") {
		t.Errorf("undefined scheme: err = %v", err)
	}
	if _, err := newDialConfig(nil).authFor(th, []string{"bearer"}); err == nil || !strings.Contains(err.Error(), "WithBearerToken") {
		t.Errorf("missing token: err = %v", err)
	}
	// A provider wins over static credentials and sees the scheme.
	cfg = newDialConfig([]DialOption{WithBearerToken("static"), WithCredentials(func(s *td.SecurityScheme) (Credentials, error) {
		if s.Scheme != "bearer" {
			return Credentials{}, errors.New("unexpected scheme " + s.Scheme)
		}
		return Credentials{Token: "fresh"}, nil
	})})
	a, err := cfg.authFor(th, []string{"bearer"})
	if err != nil || a.header.Get("Authorization") != "Bearer fresh" {
		t.Errorf("provider: %v, %v", a, err)
	}
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
	if _, err := Dial(ctx, hs.URL+"/tls"); err == nil {
		t.Fatal("Dial trusted an unknown certificate")
	}
	tlsCfg := hs.Client().Transport.(*http.Transport).TLSClientConfig
	c, err := Dial(ctx, hs.URL+"/tls", WithTLSConfig(tlsCfg), WithHeader("X-Trace", "abc"))
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
	routes, eps := buildRoutes(th, nil, newDialConfig([]DialOption{WithBearerToken("tok")}))
	if len(eps) != 1 || normalizeURL(eps[0].spec.target) != "ws://192.168.1.3:8080/" {
		t.Fatalf("endpoints %v", eps)
	}
	for _, n := range th.PropertyNames() {
		if r := routes[opKey{OpReadProperty, n}]; r.ep != eps[0] {
			t.Errorf("readproperty %q has no route", n)
		}
	}
	a, err := eps[0].spec.auth()
	if err != nil || a.header.Get("Authorization") != "Bearer tok" {
		t.Fatalf("oauth2 credentials: %+v, %v", a, err)
	}
	if _, err := newDialConfig(nil).authFor(th, th.Security); err == nil || !strings.Contains(err.Error(), "oauth2") {
		t.Fatalf("missing oauth2 token: err = %v", err)
	}
}
