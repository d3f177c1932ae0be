package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
	cfg := newDialConfig([]DialOption{WithValidation(true), WithThingID("urn:x"), WithLogger(l), WithHistorySize(3)})
	if !cfg.validate || cfg.thingID != "urn:x" || cfg.logger != l {
		t.Fatalf("validate=%v thingID=%q logger set=%v", cfg.validate, cfg.thingID, cfg.logger == l)
	}
	cfg = newDialConfig([]DialOption{WithValidation(true), WithValidation(false)})
	if cfg.validate {
		t.Fatal("WithValidation(false) did not switch validation off")
	}
	cfg = newDialConfig([]DialOption{WithValidation(true), WithHistorySize(3), WithTDPath("/x")})
	if !cfg.validate || cfg.thingID != "" {
		t.Fatal("unrelated Thing options changed consumer settings")
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
