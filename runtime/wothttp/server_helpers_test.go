package wothttp

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// testTD has hostile affordance names next to ordinary ones.
const testTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "urn:test:lamp",
  "title": "Lamp",
  "securityDefinitions": {"nosec": {"scheme": "nosec"}},
  "security": "nosec",
  "properties": {
    "on": {"type": "boolean", "observable": true},
    "level": {"type": "integer", "minimum": 0, "maximum": 100, "observable": true},
    "status": {"type": "string", "readOnly": true},
    "secret": {"type": "string", "writeOnly": true},
    "a/b c": {"type": "number", "observable": true},
    "..": {"type": "integer"},
    ".": {"type": "integer"},
    "": {"type": "integer"},
    "ünï code": {"type": "string"},
    "~t": {"type": "integer"},
    "x/properties/y": {"type": "integer"},
    "q?x=1#f": {"type": "integer"},
    "%2F": {"type": "integer"}
  },
  "actions": {
    "toggle": {"synchronous": true},
    "fade": {"input": {"type": "integer"}, "output": {"type": "integer"}, "synchronous": true},
    "slow": {"input": {"type": "integer"}, "output": {"type": "integer"}, "synchronous": false},
    "a/../b": {"synchronous": true, "output": {"type": "string"}}
  },
  "events": {
    "alarm": {"data": {"type": "string"}},
    "ping": {},
    "x/../y": {"data": {"type": "integer"}}
  }
}`

type harness struct {
	t     *testing.T
	thing *wot.Thing
	srv   *wot.Server
	bind  *server
	url   string // http://127.0.0.1:port
	ln    net.Listener
	hs    *http.Server
}

// timeouts of the test HTTP server: short, so tests prove held requests outlive them.
const (
	testReadTimeout  = 400 * time.Millisecond
	testWriteTimeout = 400 * time.Millisecond
)

func newHarness(t *testing.T, lim ServerLimits, topts ...wot.ThingOption) *harness {
	t.Helper()
	d, err := td.Parse([]byte(testTD))
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessTD(t, d, lim, nil, topts...)
}

func newHarnessTD(t *testing.T, d *td.Thing, lim ServerLimits, sopts []wot.ServerOption, topts ...wot.ThingOption) *harness {
	t.Helper()
	th, err := wot.NewThing(d, topts...)
	if err != nil {
		t.Fatal(err)
	}
	sopts = append([]wot.ServerOption{WithServerLimits(lim), wot.WithServerBindings(newServerBinding(ServerLimits{}))}, sopts...)
	srv := wot.NewServer(sopts...)
	if err := srv.AddThing(th); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: time.Second, ReadTimeout: testReadTimeout, WriteTimeout: testWriteTimeout}
	go hs.Serve(ln)
	h := &harness{t: t, thing: th, srv: srv, bind: srv.Binding("http").(*server), url: "http://" + ln.Addr().String(), ln: ln, hs: hs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Shutdown(ctx)
		hs.Close()
	})
	return h
}

// root is the escaped URL of the Thing's TD.
func (h *harness) root() string { return h.url + (&url.URL{Path: h.thing.TDPath()}).EscapedPath() }

func (h *harness) do(method, u string, body string, hdr ...string) *http.Response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp
}

// expect performs a request and checks the status; it returns the body.
func (h *harness) expect(status int, method, u, body string, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	resp := h.do(method, u, body, hdr...)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		h.t.Fatalf("%s %s: status %d, want %d; body %s", method, u, resp.StatusCode, status, b)
	}
	if status >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			h.t.Fatalf("%s %s: error Content-Type %q, want application/problem+json", method, u, ct)
		}
		var p wot.Error
		if err := json.Unmarshal(b, &p); err != nil || p.Status != status {
			h.t.Fatalf("%s %s: problem %s does not decode with status %d: %v", method, u, b, status, err)
		}
	}
	return resp, b
}

// servedTD fetches the TD as a consumer would.
func (h *harness) servedTD() *td.Thing {
	h.t.Helper()
	_, b := h.expect(200, "GET", h.root(), "")
	d, err := td.Parse(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// formFor returns the first form of an affordance (or the Thing, kind KindThing) listing op
// with the given subprotocol.
func formFor(t *testing.T, d *td.Thing, kind td.Kind, name, op, subprotocol string) *td.Form {
	t.Helper()
	var forms []td.Form
	switch kind {
	case td.KindProperty:
		forms = d.Properties[name].Forms
	case td.KindAction:
		forms = d.Actions[name].Forms
	case td.KindEvent:
		forms = d.Events[name].Forms
	default:
		forms = d.Forms
	}
	for i := range forms {
		if forms[i].Op.Contains(op) && forms[i].Subprotocol == subprotocol {
			return &forms[i]
		}
	}
	t.Fatalf("no %s form for %s %q with subprotocol %q", op, kind, name, subprotocol)
	return nil
}

// testSSEEvent is one dispatched SSE message.
type testSSEEvent struct{ event, data, id string }

// testSSEReader is a minimal WHATWG event-stream parser for the tests.
type testSSEReader struct {
	resp   *http.Response
	br     *bufio.Reader
	cancel context.CancelFunc
}

func (h *harness) openSSE(ctx context.Context, u, lastID string) *testSSEReader {
	h.t.Helper()
	// Bounded, so that a missing event fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		h.t.Fatalf("SSE %s: %d %s %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return &testSSEReader{resp: resp, br: bufio.NewReader(resp.Body), cancel: cancel}
}

func (r *testSSEReader) next() (testSSEEvent, error) {
	var ev testSSEEvent
	var data []string
	hasData := false
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if !hasData {
				ev = testSSEEvent{}
				continue
			}
			ev.data = strings.Join(data, "\n")
			return ev, nil
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "event":
			ev.event = v
		case "data":
			data, hasData = append(data, v), true
		case "id":
			ev.id = v
		}
	}
}

func (r *testSSEReader) close() {
	r.resp.Body.Close()
	if r.cancel != nil {
		r.cancel()
	}
}

// pollClient bounds the tests' long polls, so that a missing notification fails the test
// instead of hanging it.
var pollClient = &http.Client{Timeout: 15 * time.Second}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noLeak checks that the goroutine count returns to base.
func noLeak(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d, want at most %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
