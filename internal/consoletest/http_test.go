package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wotgen/wotgen/runtime/console"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// httpLamp is the example lamp's behaviour behind HTTP forms as the WoT HTTP Basic and SSE
// Profiles describe them (https://w3c.github.io/wot-profile/): GET/PUT property resources,
// POST to invoke, 201 + Location for the asynchronous fade with GET/DELETE on that URL, and
// text/event-stream resources with messages named after the affordance. It is served from another
// origin than the console, with CORS, so the console reaches it through ?td=URL.
type httpLamp struct {
	token string

	mu      sync.Mutex
	level   int
	on      bool
	streams map[chan [2]string]bool // name, data
	fades   map[string]*fade
	nextID  int
}

type fade struct {
	state  string
	output *bool
	cancel context.CancelFunc
}

func newHTTPLamp(token string) *httptest.Server {
	l := &httpLamp{token: token, level: 50, streams: map[chan [2]string]bool{}, fades: map[string]*fade{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /td", l.td)
	mux.HandleFunc("GET /td-longpoll", l.td)
	mux.HandleFunc("GET /properties/level/observable", l.poll("level"))
	mux.HandleFunc("GET /events/overheated/longpoll", l.poll("overheated"))
	mux.HandleFunc("GET /properties/level", func(w http.ResponseWriter, r *http.Request) { l.get(w, func() any { return l.level }) })
	mux.HandleFunc("GET /properties/on", func(w http.ResponseWriter, r *http.Request) { l.get(w, func() any { return l.on }) })
	mux.HandleFunc("PUT /properties/level", l.putLevel)
	mux.HandleFunc("PUT /properties/on", l.putOn)
	mux.HandleFunc("GET /properties/level/sse", l.stream("level"))
	mux.HandleFunc("GET /events/overheated", l.stream("overheated"))
	mux.HandleFunc("POST /actions/fade", l.invokeFade)
	mux.HandleFunc("GET /actions/fade/{id}", l.queryFade)
	mux.HandleFunc("DELETE /actions/fade/{id}", l.cancelFade)
	return httptest.NewServer(l.cors(l.auth(mux)))
}

func (l *httpLamp) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Expose-Headers", "Location")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// auth wants the bearer token in the Authorization header, or, for event streams (EventSource
// cannot set headers), in the access_token query parameter. The TD itself is public.
func (l *httpLamp) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.token != "" && r.URL.Path != "/td" && r.URL.Path != "/td-longpoll" {
			if r.Header.Get("Authorization") != "Bearer "+l.token && r.URL.Query().Get("access_token") != l.token {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lamp"`)
				problem(w, http.StatusUnauthorized, "a bearer token is required")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

func (l *httpLamp) td(w http.ResponseWriter, r *http.Request) {
	sec := `"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc"`
	if l.token != "" {
		sec = `"securityDefinitions": {"bearer_sc": {"scheme": "bearer", "in": "header", "name": "Authorization"}}, "security": "bearer_sc"`
	}
	// /td-longpoll offers observation by long polling only, as node-wot does.
	levelObserve, overheated := `{"href": "properties/level/sse", "subprotocol": "sse", "op": ["observeproperty", "unobserveproperty"]}`, `{"href": "events/overheated", "subprotocol": "sse"}`
	if r.URL.Path == "/td-longpoll" {
		levelObserve, overheated = `{"href": "properties/level/observable", "subprotocol": "longpoll", "op": ["observeproperty", "unobserveproperty"]}`, `{"href": "events/overheated/longpoll", "subprotocol": "longpoll"}`
	}
	fmt.Fprintf(w, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:uuid:5b0c3a0e-9d1f-4e59-8c0a-1f2e3d4c5b6a",
		"title": "HTTP Lamp", "base": "http://%s/", %s,
		"properties": {
			"level": {"title": "Brightness", "type": "integer", "minimum": 0, "maximum": 100, "unit": "percent", "observable": true,
				"forms": [{"href": "properties/level"}, %s]},
			"on": {"title": "On/Off", "type": "boolean", "forms": [{"href": "properties/on", "contentType": "application/json"}]}
		},
		"actions": {"fade": {"title": "Fade", "synchronous": false,
			"input": {"type": "object", "properties": {"level": {"type": "integer", "minimum": 0, "maximum": 100}, "duration": {"type": "integer", "minimum": 0}}, "required": ["level", "duration"]},
			"output": {"type": "boolean"},
			"forms": [{"href": "actions/fade", "op": ["invokeaction", "queryaction", "cancelaction"]}]}},
		"events": {"overheated": {"title": "Overheated", "data": {"type": "number"}, "forms": [%s]}}
	}`, r.Host, sec, levelObserve, overheated)
}

func (l *httpLamp) get(w http.ResponseWriter, v func() any) {
	l.mu.Lock()
	b, _ := json.Marshal(v())
	l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (l *httpLamp) publish(name string, v any) {
	b, _ := json.Marshal(v)
	for ch := range l.streams {
		select {
		case ch <- [2]string{name, string(b)}:
		default: // a slow stream loses this message
		}
	}
}

// setLevel stores v (l.mu held) and notifies it.
func (l *httpLamp) setLevel(v int) {
	if v == l.level {
		return
	}
	l.level = v
	l.publish("level", v)
}

func (l *httpLamp) putLevel(w http.ResponseWriter, r *http.Request) {
	var v int
	if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
		problem(w, http.StatusBadRequest, "the level must be an integer")
		return
	}
	if v < 0 || v > 100 {
		problem(w, http.StatusBadRequest, fmt.Sprintf("level must be between 0 and 100, not %d", v))
		return
	}
	l.mu.Lock()
	l.setLevel(v)
	if v == 100 {
		l.publish("overheated", 70)
	}
	l.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (l *httpLamp) putOn(w http.ResponseWriter, r *http.Request) {
	var v bool
	if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
		problem(w, http.StatusBadRequest, "on must be a boolean")
		return
	}
	l.mu.Lock()
	l.on = v
	l.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// stream serves the messages named name as text/event-stream until the client goes away.
func (l *httpLamp) stream(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan [2]string, 64)
		l.mu.Lock()
		l.streams[ch] = true
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			delete(l.streams, ch)
			l.mu.Unlock()
		}()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		fmt.Fprint(w, ": stream open\n\n")
		fl.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case m := <-ch:
				if m[0] != name {
					continue
				}
				fmt.Fprintf(w, "event: %s\ndata: %s\nid: %s\n\n", m[0], m[1], time.Now().UTC().Format(time.RFC3339Nano))
				fl.Flush()
			}
		}
	}
}

// poll answers with the next message named name, as a long-poll resource does.
func (l *httpLamp) poll(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan [2]string, 64)
		l.mu.Lock()
		l.streams[ch] = true
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			delete(l.streams, ch)
			l.mu.Unlock()
		}()
		for {
			select {
			case <-r.Context().Done():
				return
			case m := <-ch:
				if m[0] == name {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, m[1])
					return
				}
			}
		}
	}
}

func (l *httpLamp) invokeFade(w http.ResponseWriter, r *http.Request) {
	var in struct{ Level, Duration *int }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Level == nil || in.Duration == nil || *in.Level < 0 || *in.Level > 100 || *in.Duration < 0 {
		problem(w, http.StatusBadRequest, "fade needs level (0..100) and duration (ms, >= 0)")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.nextID++
	id := fmt.Sprintf("f%d", l.nextID)
	f := &fade{state: "running", cancel: cancel}
	l.fades[id] = f
	start := l.level
	l.mu.Unlock()
	go func() {
		begin, total := time.Now(), time.Duration(*in.Duration)*time.Millisecond
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			frac := 1.0
			if total > 0 {
				frac = min(float64(time.Since(begin))/float64(total), 1)
			}
			l.mu.Lock()
			if ctx.Err() == nil {
				l.setLevel(start + int(float64(*in.Level-start)*frac))
			}
			if frac >= 1 && ctx.Err() == nil {
				ok := l.level == *in.Level
				f.state, f.output = "completed", &ok
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	href := "/actions/fade/" + id
	w.Header().Set("Location", href)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"status": "running", "href": %q, "timeRequested": %q}`, href, time.Now().UTC().Format(time.RFC3339))
}

func (l *httpLamp) queryFade(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	f := l.fades[r.PathValue("id")]
	var st map[string]any
	if f != nil {
		st = map[string]any{"status": f.state}
		if f.output != nil {
			st["output"] = *f.output
		}
	}
	l.mu.Unlock()
	if f == nil {
		problem(w, http.StatusNotFound, "no such fade")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func (l *httpLamp) cancelFade(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	f := l.fades[r.PathValue("id")]
	delete(l.fades, r.PathValue("id"))
	l.mu.Unlock()
	if f == nil {
		problem(w, http.StatusNotFound, "no such fade")
		return
	}
	f.cancel()
	w.WriteHeader(http.StatusNoContent)
}

// TestHTTPBinding runs the lamp scenario against a Thing that has only HTTP forms, served from
// another origin and reached through ?td=URL, with and without a bearer token.
func TestHTTPBinding(t *testing.T) {
	page := http.NewServeMux()
	console.Mount(page, "/ui/")
	pageSrv := httptest.NewServer(page)
	t.Cleanup(pageSrv.Close)
	for _, token := range []string{"", "h77p-t0ken"} {
		t.Run(map[bool]string{true: "bearer", false: "nosec"}[token != ""], func(t *testing.T) {
			thing := newHTTPLamp(token)
			t.Cleanup(thing.Close)
			ctx := newTab(t)
			run(t, ctx, chromedp.Navigate(pageSrv.URL+"/ui/?td="+thing.URL+"/td"))
			if token != "" {
				waitJS(t, ctx, `!document.querySelector('#auth').hidden`, "the console to ask for a token")
				run(t, ctx, setField("#token", token), chromedp.Click(chromedp.CSS(`#auth button[type=submit]`)))
			}
			waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected")
			waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '50'`, "level 50 (GET)")
			if got := text(t, ctx, "#title"); got != "HTTP Lamp" {
				t.Errorf("title %q", got)
			}
			if got := text(t, ctx, "[data-prop=on] .status"); !strings.Contains(got, "Refresh") {
				t.Errorf("on (no sse form) status %q, want the hint to refresh", got)
			}

			run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "80"),
				chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
			waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '80'`, "level 80 after PUT")
			run(t, ctx, chromedp.Click(chromedp.CSS(`[data-prop=on] input[role=switch]`)))
			waitJS(t, ctx, `document.querySelector('[data-prop=on] .value').textContent === 'true'`, "on = true after PUT and read-back")

			// An asynchronous fade (201 + Location), observed through the SSE stream.
			run(t, ctx, setField(`[data-action=fade] input[name=level]`, "20"), setField(`[data-action=fade] input[name=duration]`, "600"),
				chromedp.Click(chromedp.CSS(`[data-action=fade] form.invoke button[type=submit]`)))
			if seen := levelsUntil(t, ctx, "20"); len(seen) < 3 {
				t.Errorf("saw only %v during the fade, want the level to move through several values (SSE)", seen)
			}
			waitJS(t, ctx, `document.querySelector('[data-action=fade] .run').dataset.state === 'completed'`, "the fade to complete (GET on Location)")
			run(t, ctx, setField(`[data-action=fade] input[name=level]`, "90"), setField(`[data-action=fade] input[name=duration]`, "20000"),
				chromedp.Click(chromedp.CSS(`[data-action=fade] form.invoke button[type=submit]`)))
			waitJS(t, ctx, `document.querySelector('[data-action=fade] .run button.cancel')`, "a cancel button")
			run(t, ctx, chromedp.Click(chromedp.CSS(`[data-action=fade] .run button.cancel`)))
			waitJS(t, ctx, `document.querySelector('[data-action=fade] .run').dataset.state === 'cancelled'`, "the fade to be cancelled (DELETE)")

			run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "100"),
				chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
			waitJS(t, ctx, `document.querySelector('#log li[data-event=overheated]')`, "overheated over SSE")
			run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "120"),
				chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
			waitJS(t, ctx, `document.querySelector('[data-prop=level] .status').textContent.startsWith('Refused')`, "the refusal of 120")
			if got := text(t, ctx, "[data-prop=level] .status"); !strings.Contains(got, "between 0 and 100") || !strings.Contains(got, "400") {
				t.Errorf("refusal %q, want the problem detail and status", got)
			}
		})
	}
}

// levelsUntil samples the level the page shows until it reads want (failing after 10 s) and
// returns every value it saw.
func levelsUntil(t *testing.T, ctx context.Context, want string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); ; {
		v := text(t, ctx, "[data-prop=level] .value")
		seen[v] = true
		if v == want {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("the level never reached %s; saw %v", want, seen)
		}
		time.Sleep(15 * time.Millisecond) // sampling interval
	}
}

// TestHTTPLongPoll: a Thing that offers observation by long polling only (as node-wot does) is
// observed live, not left to Refresh: the level moves through a fade and the event arrives.
func TestHTTPLongPoll(t *testing.T) {
	page := http.NewServeMux()
	console.Mount(page, "/ui/")
	pageSrv := httptest.NewServer(page)
	t.Cleanup(pageSrv.Close)
	thing := newHTTPLamp("")
	t.Cleanup(thing.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(pageSrv.URL+"/ui/?td="+thing.URL+"/td-longpoll"))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected")
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '50'`, "level 50 (GET)")
	if got := text(t, ctx, "[data-prop=level] .status"); strings.Contains(got, "Refresh") {
		t.Errorf("level status %q: a long-poll form is observable", got)
	}
	run(t, ctx, setField(`[data-action=fade] input[name=level]`, "20"), setField(`[data-action=fade] input[name=duration]`, "600"),
		chromedp.Click(chromedp.CSS(`[data-action=fade] form.invoke button[type=submit]`)))
	if seen := levelsUntil(t, ctx, "20"); len(seen) < 3 {
		t.Errorf("saw only %v during the fade, want the level to move through several values (long poll)", seen)
	}
	run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "100"),
		chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
	waitJS(t, ctx, `document.querySelector('#log li[data-event=overheated]')`, "overheated over long poll")
}

// TestCrossOriginWTP points the console at a WTP Thing on another origin (?td=URL): the Thing must
// allow the page's origin for the TD (CORS) and for the WebSocket handshake (WithOriginPatterns).
func TestCrossOriginWTP(t *testing.T) {
	page := http.NewServeMux()
	console.Mount(page, "/console/")
	pageSrv := httptest.NewServer(page)
	t.Cleanup(pageSrv.Close)
	thing, err := wot.NewThing(lampLikeTD(t), wot.WithTDPath("/"))
	if err != nil {
		t.Fatal(err)
	}
	thing.SetProperty("count", 3)
	srv := wot.NewServer(wot.WithOriginPatterns(strings.TrimPrefix(pageSrv.URL, "http://")))
	if err := srv.AddThing(thing); err != nil {
		t.Fatal(err)
	}
	cors := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", pageSrv.URL)
		srv.ServeHTTP(w, r)
	})
	thingSrv := httptest.NewServer(cors)
	t.Cleanup(thingSrv.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(pageSrv.URL+"/console/?td="+thingSrv.URL+"/"))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected across origins")
	waitJS(t, ctx, `document.querySelector('[data-prop=count] .value').textContent === '3'`, "the value")
	if err := thing.SetProperty("count", 4); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelector('[data-prop=count] .value').textContent === '4'`, "the observed change")
	var shown string
	eval(t, ctx, `document.querySelector('#tdurl').value`, &shown)
	if shown != thingSrv.URL+"/" {
		t.Errorf("the TD URL field shows %q, want %q", shown, thingSrv.URL+"/")
	}
}

// lampLikeTD is a small Thing with one observable property and no forms (the server adds WTP ones).
func lampLikeTD(t *testing.T) *td.Thing {
	t.Helper()
	d, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:uuid:9d3c1e2a-4b5f-4a6e-8c7d-0e1f2a3b4c5d",
		"title": "Counter", "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
		"properties": {"count": {"type": "integer", "observable": true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
