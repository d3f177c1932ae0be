package wothttp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// profileTD is a TD in the shape of the WoT HTTP Basic and SSE Profiles; %s is the server URL.
const profileTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "urn:test:lamp", "title": "Lamp", "base": "%s/",
  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
  "properties": {
    "brightness": {"type": "integer", "observable": true, "forms": [
      {"href": "props/brightness"},
      {"href": "props/brightness/sse", "op": ["observeproperty", "unobserveproperty"], "subprotocol": "sse"}]},
    "status": {"type": "string", "readOnly": true, "forms": [{"href": "props/status"}]},
    "forecast": {"type": "object", "readOnly": true, "uriVariables": {"days": {"type": "integer"}, "unit": {"type": "string"}},
      "forms": [{"href": "props/forecast{?days,unit}"}]}
  },
  "actions": {
    "toggle": {"synchronous": true, "forms": [{"href": "actions/toggle"}]},
    "add": {"input": {"type": "object"}, "output": {"type": "integer"}, "synchronous": true, "forms": [{"href": "actions/add"}]},
    "fade": {"input": {"type": "integer"}, "output": {"type": "string"}, "synchronous": false, "forms": [{"href": "actions/fade"}]}
  },
  "events": {
    "overheat": {"data": {"type": "number"}, "forms": [{"href": "events/overheat", "subprotocol": "sse"}]}
  },
  "forms": [
    {"href": "props", "op": ["readallproperties", "writemultipleproperties"]},
    {"href": "actions", "op": "queryallactions"},
    {"href": "props/sse", "op": "observeallproperties", "subprotocol": "sse"},
    {"href": "events/sse", "op": "subscribeallevents", "subprotocol": "sse"}
  ]
}`

// profileServer answers profileTD as the HTTP Basic and SSE Profiles say: problem details,
// 201 + Location for the asynchronous action, named SSE events with RFC 3339 ids and replay
// after Last-Event-ID.
type profileServer struct {
	mu         sync.Mutex
	brightness int
	actions    map[string]*profileAction
	order      []string // action ids, oldest first
	seq        int
	history    []sseMsg
	changed    chan struct{} // closed and replaced at every new history entry
	lastQuery  string        // the query string of the last forecast read
	toggleSeen string        // what the last toggle request carried
}

type profileAction struct {
	ID        string
	Status    string
	Output    any
	Requested time.Time
}

type sseMsg struct {
	id, event, data string
	property        bool
}

var sseEpoch = time.Date(2025, 11, 3, 9, 0, 0, 0, time.UTC)

func newProfileServer() *profileServer {
	return &profileServer{brightness: 50, actions: map[string]*profileAction{}, changed: make(chan struct{})}
}

// emit appends a notification to the history and wakes the streams.
func (p *profileServer) emit(event string, data string, property bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	id := sseEpoch.Add(time.Duration(p.seq)).Format(time.RFC3339Nano)
	p.history = append(p.history, sseMsg{id: id, event: event, data: data, property: property})
	close(p.changed)
	p.changed = make(chan struct{})
}

// complete finishes an asynchronous action instance.
func (p *profileServer) complete(id string, output any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.actions[id]; a != nil {
		a.Status, a.Output = "completed", output
	}
}

func (p *profileServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /props/brightness", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		v := p.brightness
		p.mu.Unlock()
		writeJSON(w, 200, v)
	})
	mux.HandleFunc("PUT /props/brightness", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			problem(w, 415, "send application/json")
			return
		}
		var v int
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil || v < 0 || v > 100 {
			problem(w, 400, "brightness must be an integer between 0 and 100")
			return
		}
		p.mu.Lock()
		p.brightness = v
		p.mu.Unlock()
		p.emit("brightness", strconv.Itoa(v), true)
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /props/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, "on") })
	mux.HandleFunc("PUT /props/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET")
		problem(w, 405, "status is read-only")
	})
	mux.HandleFunc("GET /props/forecast", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.lastQuery = r.URL.RawQuery
		p.mu.Unlock()
		writeJSON(w, 200, map[string]string{"days": r.URL.Query().Get("days"), "unit": r.URL.Query().Get("unit")})
	})
	mux.HandleFunc("GET /props", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		v := p.brightness
		p.mu.Unlock()
		writeJSON(w, 200, map[string]any{"brightness": v, "status": "on"})
	})
	mux.HandleFunc("PUT /props", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			problem(w, 400, "send an object")
			return
		}
		if b, ok := m["brightness"]; ok {
			var v int
			if json.Unmarshal(b, &v) != nil {
				problem(w, 400, "brightness must be an integer")
				return
			}
			p.mu.Lock()
			p.brightness = v
			p.mu.Unlock()
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /actions/toggle", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.toggleSeen = fmt.Sprintf("ct=%q body=%q accept=%q", r.Header.Get("Content-Type"), b, r.Header.Get("Accept"))
		p.mu.Unlock()
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /actions/add", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ A, B int }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			problem(w, 400, "input must be {a, b}")
			return
		}
		writeJSON(w, 200, in.A+in.B)
	})
	mux.HandleFunc("POST /actions/fade", func(w http.ResponseWriter, r *http.Request) {
		var ms int
		if err := json.NewDecoder(r.Body).Decode(&ms); err != nil {
			problem(w, 400, "input must be an integer")
			return
		}
		p.mu.Lock()
		p.seq++
		id := fmt.Sprintf("a%04d", p.seq)
		a := &profileAction{ID: id, Status: "running", Requested: sseEpoch}
		p.actions[id] = a
		p.order = append(p.order, id)
		p.mu.Unlock()
		w.Header().Set("Location", "fade/"+id) // relative: resolves against /actions/fade
		writeJSON(w, 201, map[string]any{"status": "pending", "href": "/actions/fade/" + id, "timeRequested": a.Requested.Format(time.RFC3339Nano)})
	})
	status := func(a *profileAction) map[string]any {
		m := map[string]any{"status": a.Status, "href": "/actions/fade/" + a.ID, "timeRequested": a.Requested.Format(time.RFC3339Nano)}
		if a.Status == "completed" {
			m["output"] = a.Output
			m["timeEnded"] = a.Requested.Add(time.Second).Format(time.RFC3339Nano)
		}
		return m
	}
	mux.HandleFunc("GET /actions/fade/{id}", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		a := p.actions[r.PathValue("id")]
		var m map[string]any
		if a != nil {
			m = status(a)
		}
		p.mu.Unlock()
		if a == nil {
			problem(w, 404, "no such action instance")
			return
		}
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("DELETE /actions/fade/{id}", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		_, ok := p.actions[r.PathValue("id")]
		delete(p.actions, r.PathValue("id"))
		p.mu.Unlock()
		if !ok {
			problem(w, 404, "no such action instance")
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /actions", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		list := []map[string]any{}
		for i := len(p.order) - 1; i >= 0; i-- {
			if a := p.actions[p.order[i]]; a != nil {
				list = append(list, status(a))
			}
		}
		p.mu.Unlock()
		writeJSON(w, 200, map[string]any{"fade": list})
	})
	mux.HandleFunc("GET /props/brightness/sse", p.sse(func(m sseMsg) bool { return m.property && m.event == "brightness" }))
	mux.HandleFunc("GET /props/sse", p.sse(func(m sseMsg) bool { return m.property }))
	mux.HandleFunc("GET /events/overheat", p.sse(func(m sseMsg) bool { return !m.property && m.event == "overheat" }))
	mux.HandleFunc("GET /events/sse", p.sse(func(m sseMsg) bool { return !m.property }))
	return mux
}

// sse serves the history entries that match, after Last-Event-ID, then new ones.
func (p *profileServer) sse(match func(sseMsg) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "text/event-stream" {
			problem(w, 406, "ask for text/event-stream")
			return
		}
		// Where the stream starts is fixed before the headers go out: once the client has
		// them it may write, and those changes must reach this stream.
		p.mu.Lock()
		next := len(p.history) // a new stream gets what comes next
		if last := r.Header.Get("Last-Event-ID"); last != "" {
			next = 0
			for i, m := range p.history {
				if m.id == last {
					next = i + 1
				}
			}
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		rc := http.NewResponseController(w)
		rc.Flush()
		for {
			p.mu.Lock()
			pending := p.history[next:]
			next = len(p.history)
			ch := p.changed
			p.mu.Unlock()
			for _, m := range pending {
				if match(m) {
					fmt.Fprintf(w, "event: %s\ndata: %s\nid: %s\n\n", m.event, m.data, m.id)
				}
			}
			rc.Flush()
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
	}
}

// nodeWotTD is a TD in the shape node-wot 0.9.2 serves: op arrays, htv:methodName on
// single-op forms, long-poll observation, no synchronous flag, no Thing-level async ops.
const nodeWotTD = `{
  "@context": ["https://www.w3.org/2019/wot/td/v1", "https://www.w3.org/2022/wot/td/v1.1", {"@language": "en"}],
  "@type": "Thing", "id": "urn:uuid:0e7f2c1a-nw", "title": "probe-thing",
  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": ["nosec"],
  "properties": {
    "count": {"type": "integer", "readOnly": false, "writeOnly": false, "observable": true, "forms": [
      {"href": "%s/probe-thing/properties/count", "contentType": "application/json", "op": ["readproperty", "writeproperty"]},
      {"href": "%s/probe-thing/properties/count", "contentType": "application/cbor", "op": ["readproperty", "writeproperty"]},
      {"href": "%s/probe-thing/properties/count/observable", "contentType": "application/json", "op": ["observeproperty", "unobserveproperty"], "subprotocol": "longpoll"}]},
    "ro": {"type": "integer", "readOnly": true, "writeOnly": false, "observable": false, "forms": [
      {"href": "%s/probe-thing/properties/ro", "contentType": "application/json", "op": ["readproperty"], "htv:methodName": "GET"}]}
  },
  "actions": {
    "increment": {"safe": false, "idempotent": false, "input": {"type": "integer"}, "output": {"type": "integer"}, "forms": [
      {"href": "%s/probe-thing/actions/increment", "contentType": "application/json", "op": ["invokeaction"], "htv:methodName": "POST"}]},
    "reset": {"safe": false, "idempotent": false, "forms": [
      {"href": "%s/probe-thing/actions/reset", "contentType": "application/json", "op": ["invokeaction"], "htv:methodName": "POST"}]}
  },
  "events": {
    "ping": {"data": {"type": "string"}, "forms": [
      {"href": "%s/probe-thing/events/ping", "contentType": "application/json", "op": ["subscribeevent", "unsubscribeevent"], "subprotocol": "longpoll"}]}
  },
  "forms": [
    {"href": "%s/probe-thing/properties", "contentType": "application/json", "op": ["readallproperties", "readmultipleproperties", "writeallproperties", "writemultipleproperties"]}
  ]
}`

// nodeWotServer behaves as node-wot 0.9.2's HTTP server does: 200/204 only, plain-text
// errors without problem details, 500 for a schema violation, long-poll routes answering
// one value per request, HEAD → 202.
type nodeWotServer struct {
	mu      sync.Mutex
	count   int
	waiters []chan []byte // long polls on count
	events  []chan []byte // long polls on ping
	polls   int
}

func (n *nodeWotServer) set(v int) {
	n.mu.Lock()
	n.count = v
	ws := n.waiters
	n.waiters = nil
	n.mu.Unlock()
	for _, w := range ws {
		w <- []byte(strconv.Itoa(v))
	}
}

func (n *nodeWotServer) ping(s string) int {
	b, _ := json.Marshal(s)
	n.mu.Lock()
	ws := n.events
	n.events = nil
	n.mu.Unlock()
	for _, w := range ws {
		w <- b
	}
	return len(ws)
}

func (n *nodeWotServer) waiting() (props, events int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.waiters), len(n.events)
}

func (n *nodeWotServer) handler() http.Handler {
	mux := http.NewServeMux()
	text := func(w http.ResponseWriter, code int, msg string) {
		w.WriteHeader(code)
		io.WriteString(w, msg)
	}
	mux.HandleFunc("/probe-thing/properties/count", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			n.mu.Lock()
			v := n.count
			n.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, v)
		case http.MethodPut:
			var v int
			if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
				text(w, 500, "Invalid value according to DataSchema")
				return
			}
			n.set(v)
			w.WriteHeader(204)
		default:
			text(w, 404, "Not Found")
		}
	})
	mux.HandleFunc("/probe-thing/properties/ro", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET, PUT, OPTIONS")
			w.WriteHeader(405)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "7")
	})
	longPoll := func(list *[]chan []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.WriteHeader(202)
				return
			}
			ch := make(chan []byte, 1)
			n.mu.Lock()
			n.polls++
			*list = append(*list, ch)
			n.mu.Unlock()
			select {
			case v := <-ch:
				w.Header().Set("Content-Type", "application/json")
				w.Write(v)
			case <-r.Context().Done():
				n.mu.Lock()
				for i, c := range *list {
					if c == ch {
						*list = append((*list)[:i], (*list)[i+1:]...)
						break
					}
				}
				n.mu.Unlock()
			}
		}
	}
	mux.HandleFunc("/probe-thing/properties/count/observable", longPoll(&n.waiters))
	mux.HandleFunc("/probe-thing/events/ping", longPoll(&n.events))
	mux.HandleFunc("/probe-thing/actions/increment", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			text(w, 404, "Not Found")
			return
		}
		var by int
		if err := json.NewDecoder(r.Body).Decode(&by); err != nil {
			text(w, 500, "Invalid value according to DataSchema")
			return
		}
		n.mu.Lock()
		n.count += by
		v := n.count
		n.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, v)
	})
	mux.HandleFunc("/probe-thing/actions/reset", func(w http.ResponseWriter, r *http.Request) {
		n.set(0)
		w.WriteHeader(204)
	})
	mux.HandleFunc("/probe-thing/properties", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			text(w, 404, "Not Found")
			return
		}
		n.mu.Lock()
		v := n.count
		n.mu.Unlock()
		writeJSON(w, 200, map[string]int{"count": v, "ro": 7})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	return mux
}
