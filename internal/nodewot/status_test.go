package nodewot

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeTD is a TD for a Go server whose every affordance answers with one fixed HTTP status, to pin
// which answers node-wot's consumer accepts. BASE is replaced with the server's URL.
const fakeTD = `{
  "@context": ["https://www.w3.org/2019/wot/td/v1", "https://www.w3.org/2022/wot/td/v1.1"],
  "title": "Fake", "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": ["nosec"],
  "properties": {
    "read200":   {"type": "integer", "forms": [{"href": "BASE/read200"}]},
    "read204":   {"type": "integer", "forms": [{"href": "BASE/read204"}]},
    "read307":   {"type": "integer", "forms": [{"href": "BASE/read307"}]},
    "readText":  {"type": "string", "forms": [{"href": "BASE/readText"}]},
    "write200":  {"type": "integer", "forms": [{"href": "BASE/write200"}]},
    "write400":  {"type": "integer", "forms": [{"href": "BASE/write400"}]},
    "obs204":    {"type": "integer", "observable": true, "forms": [{"href": "BASE/obs204", "op": ["observeproperty", "unobserveproperty"], "subprotocol": "longpoll"}]},
    "obsHead405": {"type": "integer", "observable": true, "forms": [{"href": "BASE/obsHead405", "op": ["observeproperty"], "subprotocol": "longpoll"}]},
    "obsNoSub":  {"type": "integer", "observable": true, "forms": [{"href": "BASE/obsNoSub", "op": ["observeproperty"]}]}
  },
  "actions": {
    "act201": {"output": {"type": "number"}, "forms": [{"href": "BASE/act201"}]},
    "act204": {"output": {"type": "number"}, "forms": [{"href": "BASE/act204"}]},
    "act503": {"forms": [{"href": "BASE/act503"}]}
  },
  "events": {
    "ev200": {"data": {"type": "string"}, "forms": [{"href": "BASE/ev200", "subprotocol": "longpoll"}]}
  }
}`

func fakeThing(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json200 := func(body string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
		switch r.URL.Path {
		case "/td":
			w.Header().Set("Content-Type", "application/td+json")
			_, _ = w.Write([]byte(strings.ReplaceAll(fakeTD, "BASE", srv.URL)))
		case "/read200":
			json200("5")
		case "/read204":
			w.WriteHeader(http.StatusNoContent)
		case "/read307":
			http.Redirect(w, r, "/read200", http.StatusTemporaryRedirect)
		case "/readText":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("plain words"))
		case "/write200":
			json200(`"stored"`)
		case "/write400":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"title":"Value out of range","status":400}`))
		case "/obs204", "/obsNoSub":
			if r.Method == http.MethodHead {
				return // 200
			}
			if r.URL.Path == "/obsNoSub" {
				json200("9")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case "/obsHead405":
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			json200("1")
		case "/act201":
			w.Header().Set("Location", "/act201/1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"status":"pending","href":"/act201/1"}`))
		case "/act204":
			w.WriteHeader(http.StatusNoContent)
		case "/act503":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case "/ev200":
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			json200(`"boom"`)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Start() // after the assignment: the handler reads srv.URL
	t.Cleanup(srv.Close)
	return srv
}

// Which answers node-wot's consumer accepts, as the HTTP binding must know them: any 2xx passes
// (a 201 ActionStatus becomes the "output"), redirects are followed, 4xx/5xx become errors naming
// the status text, an empty 2xx body fails schema validation, and observation starts with a HEAD
// that must answer 2xx. A form without subprotocol is long-polled.
func TestConsumerStatusHandling(t *testing.T) {
	env := Require(t)
	srv := fakeThing(t)
	rec := NewRecorder(t, srv.URL)
	rs := env.Consume(t, rec.URL(srv.URL+"/td"), Plan{StepTimeoutMs: 2000, Steps: []Step{
		{Op: "readproperty", Name: "read200", Expect: 5},
		{Op: "readproperty", Name: "read204", ExpectError: true},
		{Op: "readproperty", Name: "read307", Expect: 5},
		{Op: "readproperty", Name: "readText", Expect: "plain words"},
		{Op: "writeproperty", Name: "write200", Value: 1},
		{Op: "writeproperty", Name: "write400", Value: 1, ExpectError: true},
		{Op: "observeproperty", Name: "obs204"},
		{Op: "observeproperty", Name: "obsHead405"},
		{Op: "observeproperty", Name: "obsNoSub", Expect: 9},
		{Op: "invokeaction", Name: "act201", Expect: map[string]any{"status": "pending", "href": "/act201/1"}},
		{Op: "invokeaction", Name: "act204"},
		{Op: "invokeaction", Name: "act503", ExpectError: true},
		{Op: "subscribeevent", Name: "ev200", Count: 2, Expect: "boom"},
	}})
	want := map[string]string{ // step -> "" for ok, else a substring of its error
		"readproperty read204":       "Invalid value according to DataSchema", // ok: expected error
		"writeproperty write400":     "Client error: Bad Request",             // ok: expected error
		"invokeaction act503":        "Server error: Service Unavailable",     // ok: expected error
		"observeproperty obs204":     "notification 1: Invalid value according to DataSchema",
		"observeproperty obsHead405": "Client error: Method Not Allowed",
	}
	failing := map[string]bool{"observeproperty obs204": true, "observeproperty obsHead405": true, "done": true}
	for _, r := range rs {
		if r.OK == failing[r.Step] || !strings.Contains(r.Error, want[r.Step]) {
			t.Errorf("step %q: ok=%v error=%q, want ok=%v error containing %q", r.Step, r.OK, r.Error, !failing[r.Step], want[r.Step])
		}
	}
	if len(rs) != 19 {
		t.Errorf("got %d steps, want 19:%s", len(rs), rs)
	}

	ex := rec.Exchanges()
	seq := make([]string, len(ex))
	for i, e := range ex {
		seq[i] = e.Method + " " + e.RequestURI
	}
	got := strings.Join(seq, ", ")
	for _, sub := range []string{
		"GET /read307, GET /read200",               // redirect followed
		"HEAD /obs204, GET /obs204",                // handshake, then poll
		"HEAD /obsHead405, HEAD /obsNoSub",         // a failed HEAD ends the subscription
		"HEAD /obsNoSub, GET /obsNoSub",            // no subprotocol: long-poll
		"HEAD /ev200, GET /ev200, GET /ev200",      // one GET per event, at once
		"POST /act201, POST /act204, POST /act503", // Location of the 201 never fetched
	} {
		if !strings.Contains(got, sub) {
			t.Errorf("exchanges lack %q:\n%s", sub, got)
		}
	}
	if t.Failed() {
		t.Log(Transcript(ex))
	}
}
