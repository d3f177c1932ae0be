package wot

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRequestThingDescriptionBounds(t *testing.T) {
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
	ctx := testCtx(t)

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

func TestDialFetchesTheTDAndResolvesAgainstItsURL(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "http"}
	mux := http.NewServeMux()
	mux.HandleFunc("/things/lamp", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Trace") != "abc" {
			http.Error(w, "no trace", http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "Lamp",
		 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
		 "properties": {"on": {"type": "boolean", "forms": [{"href": "lamp/on"}]}}}`))
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	c, err := Dial(testCtx(t), hs.URL+"/things/lamp", WithBindings(a), WithHeader("X-Trace", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ThingID() != hs.URL+"/things/lamp" {
		t.Errorf("ThingID = %q, want the TD's URL (it has no id)", c.ThingID())
	}
	if _, err := c.ReadProperty(testCtx(t), "on"); err != nil {
		t.Fatal(err)
	}
	if got := a.summary(); got != "readproperty on "+hs.URL+"/things/lamp/on" {
		t.Fatalf("request %q: the relative href must resolve against the TD's URL", got)
	}
}

func TestHTTPClientAppliesTLSConfig(t *testing.T) {
	tc := &tls.Config{MinVersion: tls.VersionTLS13}
	hc, err := newConfig([]DialOption{WithTLSConfig(tc)}).HTTPClient()
	if err != nil || hc.Transport.(*http.Transport).TLSClientConfig != tc {
		t.Fatalf("HTTPClient = %v, %v", hc, err)
	}
	own := &http.Client{Timeout: time.Second}
	cfg := newConfig([]DialOption{WithHTTPClient(own), WithTLSConfig(tc)})
	hc, err = cfg.HTTPClient()
	if err != nil || hc == own || hc.Timeout != time.Second || hc.Transport.(*http.Transport).TLSClientConfig != tc {
		t.Fatalf("HTTPClient with both = %+v, %v", hc, err)
	}
	if again, _ := cfg.HTTPClient(); again != hc {
		t.Fatal("HTTPClient is not built once per Config")
	}
	if hc, _ := newConfig([]DialOption{WithHTTPClient(own)}).HTTPClient(); hc != own {
		t.Fatal("WithHTTPClient without TLS must be used as is")
	}
	odd := &http.Client{Transport: roundTripFunc(nil)}
	if _, err := newConfig([]DialOption{WithHTTPClient(odd), WithTLSConfig(tc)}).HTTPClient(); err == nil || !strings.Contains(err.Error(), "Transport") {
		t.Fatalf("TLS on a foreign Transport: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDialSettings(t *testing.T) {
	type key struct{}
	cfg := newConfig([]DialOption{DialSetting(key{}, 42), WithThingID("urn:x"), WithRequestTimeout(-1), nil})
	if cfg.Setting(key{}) != 42 || cfg.Setting("other") != nil {
		t.Fatalf("Setting = %v", cfg.Setting(key{}))
	}
	if cfg.ThingID != "urn:x" || cfg.RequestTimeout != 0 || cfg.Logger == nil || cfg.MaxTDSize != defaultMaxTDSize || cfg.SubscriptionQueue != defaultSubQueue {
		t.Fatalf("config %+v", cfg)
	}
}
