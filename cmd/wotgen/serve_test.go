package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/wotgen/wotgen/internal/sample"
	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// lampTD is the lamp of the Web Thing Protocol draft, with forms for another protocol, as a device
// vendor would publish it.
const lampTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "Lamp",
 "securityDefinitions": {"basic_sc": {"scheme": "basic"}}, "security": "basic_sc",
 "base": "https://lamp.example.com/",
 "links": [{"href": "manual.pdf", "rel": "service-doc"}],
 "properties": {
  "on": {"type": "boolean", "observable": true, "forms": [{"href": "props/on"}]},
  "level": {"type": "integer", "minimum": 0, "maximum": 100, "forms": [{"href": "props/level"}]},
  "temperature": {"type": "number", "readOnly": true, "forms": [{"href": "props/t"}]},
  "pin": {"type": "string", "writeOnly": true, "minLength": 4, "forms": [{"href": "props/pin"}]}},
 "actions": {"fade": {"synchronous": false,
   "input": {"type": "object", "properties": {"level": {"type": "integer", "minimum": 0, "maximum": 100}, "duration": {"type": "integer", "minimum": 0}}, "required": ["level"]},
   "output": {"type": "boolean"}, "forms": [{"href": "actions/fade"}]},
  "selfTest": {"output": {"type": "object", "properties": {"ok": {"type": "boolean"}, "code": {"type": "integer", "minimum": 100, "maximum": 999}}, "required": ["ok", "code"]}, "forms": [{"href": "actions/selfTest"}]}},
 "events": {"overheated": {"data": {"type": "number", "minimum": 80}, "forms": [{"href": "events/overheated"}]}}}`

// wtpClient is a minimal Web Thing Protocol consumer for tests: it sends requests and routes
// responses by correlationID and notifications to a channel.
type wtpClient struct {
	t       *testing.T
	c       *websocket.Conn
	thingID string
	notes   chan *wtp.Message

	mu      sync.Mutex
	pending map[string]chan *wtp.Message
}

func dialWTP(t *testing.T, endpoint, thingID string, header http.Header) *wtpClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, endpoint, &websocket.DialOptions{Subprotocols: []string{wtp.Subprotocol}, HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", endpoint, err)
	}
	c.SetReadLimit(8 << 20)
	w := &wtpClient{t: t, c: c, thingID: thingID, notes: make(chan *wtp.Message, 100), pending: map[string]chan *wtp.Message{}}
	go w.read()
	t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	return w
}

func (w *wtpClient) read() {
	for {
		_, b, err := w.c.Read(context.Background())
		if err != nil {
			return
		}
		m, err := wtp.DecodeMessage(b)
		if err != nil {
			w.t.Errorf("undecodable message from the simulator: %v: %s", err, b)
			continue
		}
		if m.MessageType == wtp.MessageTypeNotification {
			select {
			case w.notes <- m:
			default:
			}
			continue
		}
		w.mu.Lock()
		ch := w.pending[m.CorrelationID]
		delete(w.pending, m.CorrelationID)
		w.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// do sends a request and returns the response (which may carry an error).
func (w *wtpClient) do(m *wtp.Message) *wtp.Message {
	w.t.Helper()
	m.ThingID, m.MessageID, m.MessageType, m.CorrelationID = w.thingID, wtp.NewUUID(), wtp.MessageTypeRequest, wtp.NewUUID()
	ch := make(chan *wtp.Message, 1)
	w.mu.Lock()
	w.pending[m.CorrelationID] = ch
	w.mu.Unlock()
	b, err := wtp.AppendMessage(nil, m)
	if err != nil {
		w.t.Fatalf("encode %s: %v", m.Operation, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("send %s: %v", m.Operation, err)
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		w.t.Fatalf("no response to %s %s within 10s", m.Operation, m.Name)
		return nil
	}
}

// ok is do that fails the test on an error response.
func (w *wtpClient) ok(m *wtp.Message) *wtp.Message {
	w.t.Helper()
	r := w.do(m)
	if r.Error != nil {
		w.t.Fatalf("%s %s: %v", m.Operation, m.Name, r.Error)
	}
	return r
}

func (w *wtpClient) note(what string) *wtp.Message {
	w.t.Helper()
	select {
	case n := <-w.notes:
		return n
	case <-time.After(5 * time.Second):
		w.t.Fatalf("no notification for %s within 5s", what)
		return nil
	}
}

// validator compiles TD data schemas with jsonschema/v5 (draft-07 semantics, formats asserted).
func validator(t *testing.T, s *td.DataSchema) *jsonschema.Schema {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	c.AssertFormat = true
	if err := c.AddResource("s.json", bytes.NewReader(b)); err != nil {
		return nil
	}
	sch, err := c.Compile("s.json")
	if err != nil {
		return nil
	}
	return sch
}

func validJSON(sch *jsonschema.Schema, v json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return err
	}
	return sch.Validate(x)
}

// startSim serves a simulator for the TD on an httptest server and returns it with the served TD.
func startSim(t *testing.T, raw []byte, o simOptions) (*simulator, *httptest.Server, *td.Thing) {
	t.Helper()
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	sim, _, err := newSimulator(thing, raw, o)
	if err != nil {
		t.Fatalf("newSimulator: %v", err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sim.srv.Shutdown(ctx)
		hs.Close()
	})
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET TD: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET TD: %s: %s", resp.Status, b)
	}
	served, err := td.Parse(b)
	if err != nil {
		t.Fatalf("served TD does not parse: %v\n%s", err, b)
	}
	return sim, hs, served
}

// checkServedTD: every form of the served TD points at the simulator: a WTP form at its endpoint,
// an HTTP form at one of its resources; every affordance has a form of each; the TD has an id.
func checkServedTD(t *testing.T, served *td.Thing, hs *httptest.Server) string {
	t.Helper()
	if served.ID == "" {
		t.Fatal("served TD has no id")
	}
	want := "ws" + strings.TrimPrefix(hs.URL, "http") + simEndpoint
	check := func(where string, forms []td.Form) {
		var wtp, http bool
		for _, f := range forms {
			u, err := served.ResolveHref(f.Href, nil)
			switch {
			case err != nil:
				t.Errorf("%s: form %q does not resolve: %v", where, f.Href, err)
			case f.IsWTP():
				wtp = true
				if u.String() != want {
					t.Errorf("%s: WTP form %q does not point at the simulator's endpoint %s", where, f.Href, want)
				}
			default:
				http = true
				if !strings.HasPrefix(u.String(), hs.URL+"/") {
					t.Errorf("%s: form %q (subprotocol %q) does not point at the simulator %s", where, f.Href, f.Subprotocol, hs.URL)
				}
			}
		}
		if !wtp || !http {
			t.Errorf("%s: WTP forms %v, HTTP forms %v; want both", where, wtp, http)
		}
	}
	for n, p := range served.Properties {
		check("property "+n, p.Forms)
	}
	for n, a := range served.Actions {
		check("action "+n, a.Forms)
	}
	for n, e := range served.Events {
		check("event "+n, e.Forms)
	}
	if len(served.Properties)+len(served.Actions)+len(served.Events) > 0 {
		check("the Thing", served.Forms)
	}
	return want
}

// exercise reads every readable property and validates it, writes every writable one and reads it
// back, and returns the client.
func exercise(t *testing.T, served *td.Thing, endpoint string) *wtpClient {
	t.Helper()
	cl := dialWTP(t, endpoint, served.ID, nil)
	gen := sample.New(99)
	for _, n := range served.PropertyNames() {
		p := served.Properties[n]
		sch := validator(t, &p.DataSchema)
		if !p.IsWriteOnly() {
			r := cl.ok(&wtp.Message{Operation: td.OpReadProperty, Name: n})
			if sch != nil {
				if err := validJSON(sch, r.Value); err != nil {
					t.Errorf("property %q: read value %s does not validate: %v", n, r.Value, err)
				}
			}
		}
		if p.IsReadOnly() {
			continue
		}
		v, err := gen.Sample(&p.DataSchema)
		if err != nil {
			continue // no valid value to write
		}
		cl.ok(&wtp.Message{Operation: td.OpWriteProperty, Name: n, Value: v})
		if !p.IsWriteOnly() {
			r := cl.ok(&wtp.Message{Operation: td.OpReadProperty, Name: n})
			if sample.Check(&p.DataSchema, r.Value) != nil || !jsonEqual(r.Value, v) {
				t.Errorf("property %q: wrote %s, read back %s", n, v, r.Value)
			}
		}
	}
	return cl
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func TestServeLamp(t *testing.T) {
	_, hs, served := startSim(t, []byte(lampTD), simOptions{delay: 20 * time.Millisecond, seed: 1})
	endpoint := checkServedTD(t, served, hs)
	if served.Base == "" || !strings.HasPrefix(served.Base, hs.URL) {
		t.Errorf("base = %q, want the simulator's URL", served.Base)
	}
	if len(served.Links) != 1 || served.Links[0].Href != "https://lamp.example.com/manual.pdf" {
		t.Errorf("links lost their meaning: %+v", served.Links)
	}
	if sd := served.SecurityDefinitions[served.Security[0]]; sd == nil || sd.Scheme != td.SchemeNoSec {
		t.Errorf("security = %v %v, want nosec", served.Security, served.SecurityDefinitions)
	}
	cl := exercise(t, served, endpoint)

	// Invalid writes are refused with 400.
	for _, bad := range []struct{ name, value string }{{"level", "101"}, {"level", `"x"`}, {"on", "1"}, {"pin", `"abc"`}} {
		r := cl.do(&wtp.Message{Operation: td.OpWriteProperty, Name: bad.name, Value: json.RawMessage(bad.value)})
		if r.Error == nil || r.Error.Status != http.StatusBadRequest {
			t.Errorf("write %s=%s: %+v, want a 400", bad.name, bad.value, r.Error)
		}
	}
	// A read-only property cannot be written.
	if r := cl.do(&wtp.Message{Operation: td.OpWriteProperty, Name: "temperature", Value: json.RawMessage("1")}); r.Error == nil {
		t.Error("writing a readOnly property succeeded")
	}

	// Observation: a write is notified.
	cl.ok(&wtp.Message{Operation: td.OpObserveProperty, Name: "level"})
	cl.ok(&wtp.Message{Operation: td.OpWriteProperty, Name: "level", Value: json.RawMessage("42")})
	if n := cl.note("level"); n.Name != "level" || string(n.Value) != "42" {
		t.Errorf("notification = %s %s, want level 42", n.Name, n.Value)
	}
	// A device-side change through the control endpoint is notified too, read-only or not.
	cl.ok(&wtp.Message{Operation: td.OpObserveProperty, Name: "temperature"})
	post(t, hs.URL+"/simulator/properties/temperature", "21.5", "", http.StatusNoContent)
	if n := cl.note("temperature"); n.Name != "temperature" || string(n.Value) != "21.5" {
		t.Errorf("notification = %s %s, want temperature 21.5", n.Name, n.Value)
	}
	post(t, hs.URL+"/simulator/properties/level", `"high"`, "", http.StatusBadRequest)
	post(t, hs.URL+"/simulator/properties/nope", ``, "", http.StatusBadRequest)

	// Synchronous action: the output validates.
	r := cl.ok(&wtp.Message{Operation: td.OpInvokeAction, Name: "selfTest"})
	if err := validJSON(validator(t, served.Actions["selfTest"].Output), r.Output); err != nil {
		t.Errorf("selfTest output %s: %v", r.Output, err)
	}
	// Asynchronous action: answered at once, completes with a valid output.
	r = cl.ok(&wtp.Message{Operation: td.OpInvokeAction, Name: "fade", Input: json.RawMessage(`{"level":50}`)})
	if r.Status == nil || r.Status.ActionID == "" {
		t.Fatalf("fade: no action status in %+v", r)
	}
	id := r.Status.ActionID
	deadline := time.Now().Add(5 * time.Second)
	for {
		q := cl.ok(&wtp.Message{Operation: td.OpQueryAction, ActionID: id})
		if q.Status.State == wot.ActionCompleted {
			if string(q.Status.Output) != "true" && string(q.Status.Output) != "false" {
				t.Errorf("fade output %s is not a boolean", q.Status.Output)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fade did not complete: %+v", q.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Invalid action input is refused.
	if r := cl.do(&wtp.Message{Operation: td.OpInvokeAction, Name: "fade", Input: json.RawMessage(`{"level":500}`)}); r.Error == nil || r.Error.Status != http.StatusBadRequest {
		t.Errorf("fade with level 500: %+v, want a 400", r.Error)
	}

	// Events on demand: sample data, and given data (checked against the schema).
	cl.ok(&wtp.Message{Operation: td.OpSubscribeEvent, Name: "overheated"})
	post(t, hs.URL+"/simulator/events/overheated", "", "", http.StatusNoContent)
	n := cl.note("overheated")
	if err := validJSON(validator(t, served.Events["overheated"].Data), n.Data); n.Name != "overheated" || err != nil {
		t.Errorf("event notification %s %s: %v", n.Name, n.Data, err)
	}
	post(t, hs.URL+"/simulator/events/overheated", "95", "", http.StatusNoContent)
	if n := cl.note("overheated"); string(n.Data) != "95" {
		t.Errorf("event data = %s, want 95", n.Data)
	}
	post(t, hs.URL+"/simulator/events/overheated", "5", "", http.StatusBadRequest) // below minimum
	post(t, hs.URL+"/simulator/events/overheated", "{", "", http.StatusBadRequest)
	post(t, hs.URL+"/simulator/events/nope", "", "", http.StatusBadRequest)
}

func post(t *testing.T, url, body, token string, want int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("POST %s %s: %s %s, want %d", url, body, resp.Status, b, want)
	}
}

// TestServeAsyncCancel: with -async, an action without "synchronous" is answered at once, can be
// queried while it runs and cancelled.
func TestServeAsyncCancel(t *testing.T) {
	_, hs, served := startSim(t, []byte(lampTD), simOptions{delay: time.Minute, async: true, seed: 2})
	cl := dialWTP(t, checkServedTD(t, served, hs), served.ID, nil)
	for _, name := range []string{"fade", "selfTest"} {
		r := cl.ok(&wtp.Message{Operation: td.OpInvokeAction, Name: name, Input: json.RawMessage(`{"level":1}`)})
		if name == "selfTest" {
			r = cl.ok(&wtp.Message{Operation: td.OpInvokeAction, Name: name})
		}
		if r.Status == nil {
			t.Fatalf("%s: not answered with an action status: %+v", name, r)
		}
		q := cl.ok(&wtp.Message{Operation: td.OpQueryAction, ActionID: r.Status.ActionID})
		if q.Status.State != wot.ActionPending && q.Status.State != wot.ActionRunning {
			t.Errorf("%s: state %s while running", name, q.Status.State)
		}
		all := cl.ok(&wtp.Message{Operation: td.OpQueryAllActions})
		if len(all.Statuses[name]) == 0 {
			t.Errorf("queryallactions does not list the running %s: %+v", name, all.Statuses)
		}
		cl.ok(&wtp.Message{Operation: td.OpCancelAction, ActionID: r.Status.ActionID})
		q = cl.do(&wtp.Message{Operation: td.OpQueryAction, ActionID: r.Status.ActionID})
		if q.Error == nil && q.Status.State != wot.ActionFailed {
			t.Errorf("%s: after cancelaction the instance is %+v", name, q.Status)
		}
	}
}

// TestServeToken: the handshake and the control endpoints need the token; the TD declares bearer.
func TestServeToken(t *testing.T) {
	_, hs, served := startSim(t, []byte(lampTD), simOptions{token: "s3cret", seed: 1})
	if sd := served.SecurityDefinitions[served.Security[0]]; sd == nil || sd.Scheme != td.SchemeBearer {
		t.Errorf("security = %v, want a bearer scheme", served.Security)
	}
	endpoint := checkServedTD(t, served, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, endpoint, &websocket.DialOptions{Subprotocols: []string{wtp.Subprotocol}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("handshake without token: %v, want 401", err)
	}
	cl := dialWTP(t, endpoint, served.ID, http.Header{"Authorization": {"Bearer s3cret"}})
	cl.ok(&wtp.Message{Operation: td.OpReadProperty, Name: "on"})
	post(t, hs.URL+"/simulator/events/overheated", "", "", http.StatusUnauthorized)
	post(t, hs.URL+"/simulator/events/overheated", "", "wrong", http.StatusUnauthorized)
	post(t, hs.URL+"/simulator/events/overheated", "", "s3cret", http.StatusNoContent)
}

// serveCorpus lists corpus TDs of different shapes exercised in depth.
var serveCorpus = []string{
	"playground__basic-td.td.json",
	"wot-testing__HueColorLight1.td.json",
	"wot-testing__e-paper-image-converter.td.json",
	"playground__MinimalThing.json",
	"playground__mqtt-experimental.json",
	"playground__constOneOf.json",
}

// TestServeCorpus: for selected corpus TDs, every readable property validates, writes round-trip,
// every action completes with valid output and events arrive with valid data.
func TestServeCorpus(t *testing.T) {
	dir := filepath.Join(testcorpus.Dir(t), "td", "valid")
	for _, name := range serveCorpus {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			sim, hs, served := startSim(t, raw, simOptions{delay: time.Millisecond, seed: 3})
			cl := exercise(t, served, checkServedTD(t, served, hs))
			gen := sample.New(5)
			for _, an := range served.ActionNames() {
				a := served.Actions[an]
				m := &wtp.Message{Operation: td.OpInvokeAction, Name: an}
				if a.Input != nil {
					m.Input, _ = gen.Sample(a.Input)
				}
				r := cl.ok(m)
				out := r.Output
				if r.Status != nil { // asynchronous
					out = waitAction(t, cl, r.Status.ActionID)
				}
				if a.Output != nil {
					if sch := validator(t, a.Output); sch != nil {
						if err := validJSON(sch, out); err != nil {
							t.Errorf("action %q: output %s does not validate: %v", an, out, err)
						}
					}
				}
			}
			if len(served.Events) > 0 {
				cl.ok(&wtp.Message{Operation: td.OpSubscribeAllEvents})
				for _, en := range served.EventNames() {
					if err := sim.emit(en, nil); err != nil {
						t.Fatalf("emit %s: %v", en, err)
					}
					n := cl.note(en)
					if d := served.Events[en].Data; d != nil && n.Data != nil {
						if sch := validator(t, d); sch != nil {
							if err := validJSON(sch, n.Data); err != nil {
								t.Errorf("event %q: data %s does not validate: %v", en, n.Data, err)
							}
						}
					}
				}
			}
		})
	}
}

func waitAction(t *testing.T, cl *wtpClient, id string) json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		q := cl.ok(&wtp.Message{Operation: td.OpQueryAction, ActionID: id})
		switch q.Status.State {
		case wot.ActionCompleted:
			return q.Status.Output
		case wot.ActionFailed:
			t.Fatalf("action %s failed: %v", id, q.Status.Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("action %s did not complete", id)
	return nil
}

// TestServeAllCorpusTDs: every valid corpus TD can be simulated, and readallproperties returns values
// that validate against their schemas.
func TestServeAllCorpusTDs(t *testing.T) {
	files := testcorpus.Files(t, "td/valid")
	var served int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		thing, err := td.Parse(raw)
		if err != nil {
			continue
		}
		if thing.IsTM() {
			continue
		}
		sim, notes, err := newSimulator(thing, raw, simOptions{delay: time.Millisecond, seed: 1})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		_ = notes
		func() {
			hs := httptest.NewServer(sim)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				sim.srv.Shutdown(ctx)
				hs.Close()
			}()
			if len(sim.desc.Properties) == 0 {
				return
			}
			readable := false
			for _, p := range sim.desc.Properties {
				readable = readable || !p.IsWriteOnly()
			}
			if !readable {
				return
			}
			cl := dialWTP(t, "ws"+strings.TrimPrefix(hs.URL, "http")+simEndpoint, sim.desc.ID, nil)
			r := cl.ok(&wtp.Message{Operation: td.OpReadAllProperties})
			for n, v := range r.Values {
				if _, err := sample.Initial(&sim.desc.Properties[n].DataSchema); err != nil {
					continue // no valid value exists (the simulator notes it at start)
				}
				if sch := validator(t, &sim.desc.Properties[n].DataSchema); sch != nil {
					if err := validJSON(sch, v); err != nil {
						t.Errorf("%s: property %q = %s: %v", filepath.Base(f), n, v, err)
					}
				}
			}
			served++
		}()
	}
	t.Logf("%d corpus TDs simulated and read", served)
	if served < 100 {
		t.Errorf("only %d corpus TDs were served and read", served)
	}
}

func TestSimulatedTDIDs(t *testing.T) {
	th, _ := td.Parse([]byte(`{"title":"x","@context":"https://www.w3.org/2022/wot/td/v1.1"}`))
	d1, notes := simulatedTD(th, []byte("doc"), "")
	d2, _ := simulatedTD(th, []byte("doc"), "")
	if d1.ID == "" || d1.ID != d2.ID || !strings.HasPrefix(d1.ID, "urn:uuid:") || len(notes) == 0 {
		t.Errorf("id %q/%q, notes %v: want a stable urn:uuid and a note", d1.ID, d2.ID, notes)
	}
	if len(d1.Forms) != 0 {
		t.Errorf("a Thing without affordances got meta forms: %+v", d1.Forms)
	}
	th.ID = "relative/id"
	if d, _ := simulatedTD(th, []byte("doc"), ""); !strings.HasPrefix(d.ID, "urn:uuid:") {
		t.Errorf("relative id kept: %q", d.ID)
	}
}

func TestServeCommands(t *testing.T) {
	sim, hs, served := startSim(t, []byte(lampTD), simOptions{seed: 1})
	cl := dialWTP(t, checkServedTD(t, served, hs), served.ID, nil)
	cl.ok(&wtp.Message{Operation: td.OpSubscribeEvent, Name: "overheated"})
	cl.ok(&wtp.Message{Operation: td.OpObserveProperty, Name: "on"})
	for _, c := range []struct{ line, err string }{
		{"emit overheated 99", ""},
		{"set on true", ""},
		{"", ""},
		{"# comment", ""},
		{"emit", "usage: emit EVENT"},
		{"emit nope", `no event "nope"`},
		{"set on maybe", "not JSON"},
		{"set level 1000", "does not match"},
		{"dance", `unknown command "dance"`},
	} {
		err := sim.command(c.line)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v, want %q", c.line, err, c.err)
		}
	}
	got := map[string]string{}
	for range 2 {
		n := cl.note("commands")
		got[n.Name] = string(n.Data) + string(n.Value)
	}
	if got["overheated"] != "99" || got["on"] != "true" {
		t.Errorf("notifications %v", got)
	}
}

// TestServeCommandLine runs the whole subcommand: it prints where it serves, answers, and stops
// cleanly when its context ends (as on SIGINT/SIGTERM).
func TestServeCommandLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lamp.td.json")
	if err := os.WriteFile(path, []byte(lampTD), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	errOut := &syncBuffer{}
	stdinR, stdinW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-events", "50ms", path}, stdio{in: stdinR, out: out, err: errOut})
	}()
	var base string
	deadline := time.Now().Add(10 * time.Second)
	for base == "" && time.Now().Before(deadline) {
		for _, l := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "TD:" {
				base = strings.TrimSuffix(f[1], "/")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if base == "" {
		cancel()
		t.Fatalf("serve did not print its address; stdout %q stderr %q", out.String(), errOut.String())
	}
	resp, err := http.Get(base + "/.well-known/wot")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /.well-known/wot: %s", resp.Status)
	}
	fmt.Fprintln(stdinW, "set level 7")
	time.Sleep(150 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d; stderr %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	stdinW.Close()
	logs := errOut.String()
	for _, want := range []string{"event emitted", "property set", "shutting down"} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
}

func TestServeUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"serve"}, exitUsage, "want exactly one INPUT"},
		{[]string{"serve", "-delay", "-1s", "x"}, exitUsage, "must not be negative"},
		{[]string{"serve", "-bindings", "mqtt", "x"}, exitUsage, "unknown binding"},
		{[]string{"serve", "/does/not/exist.json"}, exitUsage, "no such file"},
		{[]string{"serve", "-h"}, exitOK, "/simulator/events/NAME"},
	} {
		var out, errOut bytes.Buffer
		code := runContext(context.Background(), c.args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		if code != c.code || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", c.args, code, errOut.String(), c.code, c.msg)
		}
	}
	dir := t.TempDir()
	tm := filepath.Join(dir, "m.tm.json")
	os.WriteFile(tm, []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","@type":"tm:ThingModel","title":"M"}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"title": 5`), 0o644)
	for _, c := range []struct{ path, msg string }{{tm, "Thing Model"}, {bad, "bad.json"}} {
		var errOut bytes.Buffer
		if code := runContext(context.Background(), []string{"serve", c.path}, stdio{in: strings.NewReader(""), out: io.Discard, err: &errOut}); code != exitUsage || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%s: code %d, stderr %q", c.path, code, errOut.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a running command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeFromURL: INPUT may be an http(s) URL (fetched with size and time bounds).
func TestServeFromURL(t *testing.T) {
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/td+json")
		io.WriteString(w, lampTD)
	}))
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"serve", "-addr", "127.0.0.1:0", src.URL + "/lamp"}, stdio{in: strings.NewReader(""), out: out, err: errOut})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `simulating "Lamp"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK || !strings.Contains(out.String(), `simulating "Lamp"`) {
		t.Errorf("exit %d; stdout %q; stderr %q", code, out.String(), errOut.String())
	}
}

// TestServeWithConsumer drives the simulator with the runtime's consumer (wot.Dial on the served TD
// URL), as a team developing a consumer would: for the lamp and corpus TDs of different shapes it
// reads every readable property (each value validates against its schema), writes every writable one
// and reads it back, and queries and cancels an asynchronous action.
func TestServeWithConsumer(t *testing.T) {
	dir := filepath.Join(testcorpus.Dir(t), "td", "valid")
	docs := map[string][]byte{"lamp": []byte(lampTD)}
	for _, n := range serveCorpus {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		docs[n] = b
	}
	for name, raw := range docs {
		t.Run(name, func(t *testing.T) {
			_, hs, served := startSim(t, raw, simOptions{delay: time.Minute, async: true, seed: 4})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := wot.Dial(ctx, hs.URL+"/")
			if err != nil {
				t.Fatalf("wot.Dial: %v", err)
			}
			defer c.Close()
			gen := sample.New(8)
			for _, n := range served.PropertyNames() {
				p := served.Properties[n]
				if _, err := sample.Initial(&p.DataSchema); err != nil {
					continue // no valid value exists
				}
				sch := validator(t, &p.DataSchema)
				if !p.IsWriteOnly() {
					v, err := c.ReadProperty(ctx, n)
					if err != nil {
						t.Errorf("read %q: %v", n, err)
					} else if sch != nil {
						if err := validJSON(sch, v); err != nil {
							t.Errorf("read %q = %s: %v", n, v, err)
						}
					}
				}
				if p.IsReadOnly() {
					continue
				}
				v, _ := gen.Sample(&p.DataSchema)
				if _, err := c.WriteProperty(ctx, n, v); err != nil {
					t.Errorf("write %q = %s: %v", n, v, err)
					continue
				}
				if !p.IsWriteOnly() {
					got, err := c.ReadProperty(ctx, n)
					if err != nil || !jsonEqual(got, v) {
						t.Errorf("write %q = %s, read back %s (%v)", n, v, got, err)
					}
				}
			}
			for _, an := range served.ActionNames() {
				a := served.Actions[an]
				var in any
				if a.Input != nil {
					raw, err := gen.Sample(a.Input)
					if err != nil {
						continue
					}
					in = raw
				}
				inv, err := c.InvokeAction(ctx, an, in)
				if err != nil {
					t.Errorf("invoke %q: %v", an, err)
					continue
				}
				if !inv.Async() {
					t.Errorf("invoke %q: answered synchronously with -async", an)
					continue
				}
				st, err := c.QueryAction(ctx, inv.Status)
				if err != nil || (st.State != wot.ActionPending && st.State != wot.ActionRunning) {
					t.Errorf("query %q: %+v, %v", an, st, err)
				}
				if err := c.CancelAction(ctx, inv.Status); err != nil {
					t.Errorf("cancel %q: %v", an, err)
				}
				if st, err := c.QueryAction(ctx, inv.Status); err == nil && st.State != wot.ActionFailed {
					t.Errorf("query %q after cancel: %+v", an, st)
				}
			}
		})
	}
}

// TestServeInvalidCorpusNeverPanics: invalid TDs and Thing Models are refused or served, never a panic.
func TestServeInvalidCorpusNeverPanics(t *testing.T) {
	var served, refused int
	for _, sub := range []string{"td/invalid", "tm"} {
		for _, f := range testcorpus.Files(t, sub) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			thing, err := td.Parse(raw)
			if err != nil {
				continue
			}
			sim, _, err := newSimulator(thing, raw, simOptions{delay: time.Millisecond, seed: 1})
			if err != nil {
				refused++
				continue
			}
			served++
			sim.srv.Close()
		}
	}
	t.Logf("%d served, %d refused", served, refused)
}

// TestServeTimers: -update gives read-only properties new values (notified) and -events emits every
// event on a timer.
func TestServeTimers(t *testing.T) {
	sim, hs, served := startSim(t, []byte(lampTD), simOptions{update: 20 * time.Millisecond, events: 20 * time.Millisecond, seed: 6})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	cl := dialWTP(t, checkServedTD(t, served, hs), served.ID, nil)
	cl.ok(&wtp.Message{Operation: td.OpObserveProperty, Name: "temperature"})
	cl.ok(&wtp.Message{Operation: td.OpSubscribeEvent, Name: "overheated"})
	seen := map[string]bool{}
	for len(seen) < 2 {
		n := cl.note("timers")
		seen[n.Name] = true
		if n.Name == "overheated" {
			if err := validJSON(validator(t, served.Events["overheated"].Data), n.Data); err != nil {
				t.Errorf("timer event data %s: %v", n.Data, err)
			}
		}
	}
	if !seen["temperature"] || !seen["overheated"] {
		t.Errorf("notifications: %v", seen)
	}
}

// TestServeOneBinding: -bindings leaves a binding out; the served TD then has only the other's
// forms, and a consumer reads through them.
func TestServeOneBinding(t *testing.T) {
	for _, only := range []string{"wtp", "http"} {
		without, err := withoutBindings(only)
		if err != nil {
			t.Fatal(err)
		}
		_, hs, served := startSim(t, []byte(lampTD), simOptions{without: without})
		each := func(fn func(where string, f *td.Form)) {
			for n, p := range served.Properties {
				for i := range p.Forms {
					fn("property "+n, &p.Forms[i])
				}
			}
			for n, a := range served.Actions {
				for i := range a.Forms {
					fn("action "+n, &a.Forms[i])
				}
			}
		}
		forms := 0
		each(func(where string, f *td.Form) {
			forms++
			if f.IsWTP() != (only == "wtp") {
				t.Errorf("-bindings %s: %s has the form %q (subprotocol %q)", only, where, f.Href, f.Subprotocol)
			}
		})
		if forms == 0 {
			t.Fatalf("-bindings %s: the served TD has no forms", only)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := wot.Dial(ctx, hs.URL+"/")
		if err != nil {
			t.Fatalf("-bindings %s: dial: %v", only, err)
		}
		if _, err := c.ReadProperty(ctx, "level"); err != nil {
			t.Errorf("-bindings %s: read level: %v", only, err)
		}
		c.Close()
		cancel()
	}
	if _, err := withoutBindings("coap"); err == nil {
		t.Error("-bindings coap was accepted")
	}
}

// A device's opaque bytes (a camera frame) are simulated as base64 strings, and the served TD
// says so, as generated clients carry such values as []byte.
func TestServeBytesValues(t *testing.T) {
	raw := []byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:cam", "title": "Cam",
  "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n", "base": "http://cam.invalid/",
  "properties": {"frame": {"readOnly": true, "forms": [{"href": "frame", "contentType": "image/jpeg"}]},
                 "label": {"type": "string", "forms": [{"href": "label"}]}},
  "actions": {"crop": {"forms": [{"href": "crop", "response": {"contentType": "image/png"}}]}}}`)
	_, hs, served := startSim(t, raw, simOptions{delay: time.Millisecond, seed: 1})
	f := served.Properties["frame"]
	if f.Type != "string" || f.ContentEncoding != "base64" || f.ContentMediaType != "image/jpeg" {
		t.Errorf("served frame schema: %+v", f.DataSchema)
	}
	if o := served.Actions["crop"].Output; o == nil || o.ContentEncoding != "base64" || o.ContentMediaType != "image/png" {
		t.Errorf("served crop output: %+v", o)
	}
	if l := served.Properties["label"]; l.ContentEncoding != "" {
		t.Errorf("a JSON string property became bytes: %+v", l.DataSchema)
	}
	ct, err := wot.Consume(context.Background(), served, hs.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	img, err := wot.ReadProperty[[]byte](context.Background(), ct, "frame")
	if err != nil || len(img) == 0 {
		t.Errorf("frame read as bytes: %x, %v", img, err)
	}
	out, err := wot.CallAction[[]byte](context.Background(), ct, "crop", nil)
	if err != nil || len(out) == 0 {
		t.Errorf("crop output as bytes: %x, %v", out, err)
	}
}
