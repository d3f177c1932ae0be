package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/runtime/wot"
)

// startLamp serves the example lamp on 127.0.0.1 and returns its TD URL.
func startLamp(t *testing.T, o device.Options) string {
	t.Helper()
	_, srv, err := device.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return hs.URL + "/"
}

func dial(t *testing.T, url string, opts ...wot.DialOption) (*lampwot.Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	c, err := lampwot.Dial(ctx, url, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ctx
}

// recv waits for one value or fails.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(3 * time.Second):
		t.Fatalf("no %s within 3s", what)
		panic("unreachable")
	}
}

func TestThingLevelOperations(t *testing.T) {
	c, ctx := dial(t, startLamp(t, device.Options{}))

	some, err := c.ReadMultipleProperties(ctx, "on", "level")
	if err != nil || some.Level != 50 || some.On || some.Temperature != 0 {
		t.Fatalf("ReadMultipleProperties = %+v, %v; want level 50, on false, temperature unread", some, err)
	}
	if err := c.WriteAllProperties(ctx, &lampwot.LampProperties{On: true, Level: 40, Temperature: 999}); err != nil {
		t.Fatalf("WriteAllProperties: %v", err)
	}
	all, err := c.ReadAllProperties(ctx)
	if err != nil || !all.On || all.Level != 40 || all.Temperature != 40 {
		t.Fatalf("after WriteAllProperties, ReadAllProperties = %+v, %v", all, err)
	}
	if err := c.WriteMultipleProperties(ctx, &lampwot.LampProperties{Level: 10}, "level"); err != nil {
		t.Fatalf("WriteMultipleProperties: %v", err)
	}
	if lv, _ := c.ReadLevel(ctx); lv != 10 {
		t.Errorf("level = %d after WriteMultipleProperties, want 10", lv)
	}
	if err := c.WriteMultipleProperties(ctx, all, "temperature"); !wot.IsBadRequest(err) {
		t.Errorf("writing the read-only temperature: %v, want a 400", err)
	}
	if err := c.WriteAllProperties(ctx, &lampwot.LampProperties{Level: 101}); !wot.IsBadRequest(err) || !strings.Contains(err.Error(), "level: 101 is above the maximum 100") {
		t.Errorf("WriteAllProperties with level 101: %v, want a 400 naming level", err)
	}

	type change struct {
		name string
		v    *lampwot.LampProperties
		err  error
	}
	props := make(chan change, 64)
	psub, err := c.ObserveAllProperties(ctx, func(name string, v *lampwot.LampProperties, err error) { props <- change{name, v, err} })
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan wot.Notification, 8)
	esub, err := c.SubscribeAllEvents(ctx, func(n wot.Notification) { events <- n })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteLevel(ctx, 100); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for len(got) < 2 {
		ch := recv(t, props, "property notification")
		if ch.err != nil {
			t.Fatalf("observeallproperties: %s: %v", ch.name, ch.err)
		}
		switch ch.name {
		case "level":
			got[ch.name] = ch.v.Level == 100
		case "temperature":
			got[ch.name] = ch.v.Temperature == 70
		}
	}
	if !got["level"] || !got["temperature"] {
		t.Errorf("observeallproperties did not see level 100 and temperature 70: %v", got)
	}
	if n := recv(t, events, "overheated"); n.Name != "overheated" || string(n.Value) != "70" {
		t.Errorf("subscribeallevents: %s = %s, want overheated = 70", n.Name, n.Value)
	}
	if err := psub.Stop(ctx); err != nil {
		t.Error(err)
	}
	if err := esub.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func TestOverlappingFades(t *testing.T) {
	c, ctx := dial(t, startLamp(t, device.Options{}))
	slow, err := c.Fade(ctx, lampwot.FadeInput{Level: 90, Duration: 1500})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	fast, err := c.Fade(ctx, lampwot.FadeInput{Level: 10, Duration: 200})
	if err != nil {
		t.Fatal(err)
	}
	if slow.ID() == "" || slow.ID() == fast.ID() {
		t.Fatalf("action IDs %q and %q: want two instances", slow.ID(), fast.ID())
	}
	all, err := c.QueryAllActions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all["fade"]) < 2 {
		t.Fatalf("queryallactions = %v, want both fades", all)
	}
	if ok, err := fast.Wait(ctx); err != nil || !ok {
		t.Fatalf("newest fade: %v, %v; want true", ok, err)
	}
	if lv, _ := c.ReadLevel(ctx); lv != 10 {
		t.Errorf("level = %d after the newest fade, want 10 (it drives the level)", lv)
	}
	if ok, err := slow.Wait(ctx); err != nil || ok {
		t.Errorf("superseded fade: %v, %v; want false (it did not reach its target)", ok, err)
	}
	if lv, _ := c.ReadLevel(ctx); lv != 10 {
		t.Errorf("level = %d after the superseded fade ended, want still 10", lv)
	}
}

func TestTypedErrors(t *testing.T) {
	c, ctx := dial(t, startLamp(t, device.Options{}))
	if _, err := c.Thing().ReadProperty(ctx, "brightness"); !wot.IsNotFound(err) {
		t.Errorf("reading an unknown property: %v, want 404", err)
	}
	if _, err := c.Fade(ctx, lampwot.FadeInput{Level: -1, Duration: 10}); !wot.IsBadRequest(err) || !strings.Contains(err.Error(), "input.level") {
		t.Errorf("fade to -1: %v, want a 400 naming input.level", err)
	}
	if _, err := c.Thing().InvokeAction(ctx, "fade", map[string]any{"level": 10}); !wot.IsBadRequest(err) {
		t.Errorf("fade without duration: %v, want 400 from the Thing", err)
	}
	a, err := c.Fade(ctx, lampwot.FadeInput{Level: 0, Duration: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Cancel(ctx); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := a.Wait(ctx); err == nil {
		t.Errorf("waiting for a cancelled fade succeeded")
	}
}

// countingHandler implements only Fade, counting calls; the rest answers 501.
type countingHandler struct {
	lampwot.UnimplementedHandler
	calls atomic.Int32
}

func (h *countingHandler) Fade(context.Context, lampwot.FadeInput) (bool, error) {
	h.calls.Add(1)
	return true, nil
}

// TestServerValidatesBeforeHandler turns the runtime's schema validation off so that only the
// generated decoding and Validate stand between the wire and the handler.
func TestServerValidatesBeforeHandler(t *testing.T) {
	h := &countingHandler{}
	thing, err := lampwot.NewThing(h, wot.WithValidation(false), wot.WithTDPath("/"))
	if err != nil {
		t.Fatal(err)
	}
	srv := wot.NewServer()
	if err := srv.AddThing(thing.Exposed()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	c, ctx := dial(t, hs.URL+"/")
	cases := []struct {
		input any
		want  string
	}{
		{map[string]any{"level": 120, "duration": 1}, "input.level: 120 is above the maximum 100"},
		{map[string]any{"level": 10}, `"duration" is missing`},
		{map[string]any{"level": "high", "duration": 1}, "input:"},
		{json.RawMessage(`[1]`), "input:"},
	}
	for _, tc := range cases {
		// fade is asynchronous: without the runtime's schema check the Thing accepts the invocation and
		// the generated wrapper fails the instance with the 400 (the handler never runs).
		inv, err := c.Thing().InvokeAction(ctx, "fade", tc.input)
		if err == nil {
			_, err = wot.NewAction[bool](c.Thing(), inv).Wait(ctx)
		}
		if !wot.IsBadRequest(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fade(%v): %v; want a 400 containing %q", tc.input, err, tc.want)
		}
	}
	if _, err := c.Thing().WriteProperty(ctx, "level", -5); !wot.IsBadRequest(err) || !strings.Contains(err.Error(), "level: -5 is below the minimum 0") {
		t.Errorf("write level -5: %v; want a 400 with the path", err)
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("the handler was called %d times with invalid input", n)
	}
	a, err := c.Fade(ctx, lampwot.FadeInput{Level: 5, Duration: 0})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Wait(ctx); err != nil || !ok || h.calls.Load() != 1 {
		t.Errorf("valid fade: %v, %v, %d calls", ok, err, h.calls.Load())
	}
	if _, err := c.ReadOn(ctx); wot.StatusOf(err) != http.StatusNotImplemented {
		t.Errorf("ReadOn on UnimplementedHandler: %v, want 501", err)
	}
}

func TestBearerAuth(t *testing.T) {
	url := startLamp(t, device.Options{Token: "s3cret"})
	// The handshake without the token is refused with 401 before any upgrade.
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(url, "/")+"/wtp", nil)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "webthingprotocol"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("handshake without token: HTTP %d, want 401", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := lampwot.Dial(ctx, url, wot.WithBearerToken("wrong")); err == nil {
		c.Close()
		t.Errorf("Dial with a wrong token succeeded")
	}
	// The TD declares the bearer scheme.
	desc, err := wot.RequestThingDescription(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if s := desc.SecurityDefinitions["bearer_sc"]; s == nil || s.Scheme != "bearer" || len(desc.Security) != 1 || desc.Security[0] != "bearer_sc" {
		t.Errorf("served TD security = %v / %v, want bearer_sc", desc.Security, desc.SecurityDefinitions)
	}
	// The ws:// endpoint works too: the generated Dial supplies the TD's id.
	ws := "ws" + strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http") + "/wtp"
	c, ctx2 := dial(t, ws, wot.WithBearerToken("s3cret"))
	if on, err := c.ReadOn(ctx2); err != nil || on {
		t.Errorf("ReadOn over %s: %v, %v", ws, on, err)
	}
}

// TestObserveFromManyConsumers checks that every consumer gets every fade step.
func TestObserveFromManyConsumers(t *testing.T) {
	url := startLamp(t, device.Options{})
	var wg sync.WaitGroup
	chans := make([]chan lampwot.Level, 3)
	for i := range chans {
		c, ctx := dial(t, url)
		chans[i] = make(chan lampwot.Level, 256)
		ch := chans[i]
		if _, err := c.ObserveLevel(ctx, func(v lampwot.Level, err error) {
			if err == nil {
				ch <- v
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	c, ctx := dial(t, url)
	a, err := c.Fade(ctx, lampwot.FadeInput{Level: 0, Duration: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Wait(ctx); err != nil || !ok {
		t.Fatalf("fade: %v %v", ok, err)
	}
	for i, ch := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case v := <-ch:
					if v == 0 {
						return
					}
				case <-time.After(3 * time.Second):
					t.Errorf("consumer %d never saw level 0", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}
