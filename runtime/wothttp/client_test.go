package wothttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func TestProfileOperations(t *testing.T) {
	leakCheck(t)
	ps := newProfileServer()
	srv := newServer(t, ps.handler())
	ct := consume(t, srv.URL, profileTD)
	ctx := ctxT(t)

	v, err := ct.ReadProperty(ctx, "brightness")
	if err != nil || string(v) != "50" {
		t.Fatalf("read = %s, %v", v, err)
	}
	if confirmed, err := ct.WriteProperty(ctx, "brightness", 70); err != nil || confirmed != nil {
		t.Fatalf("write = %s, %v; want 204 → nil", confirmed, err)
	}
	if v, _ := ct.ReadProperty(ctx, "brightness"); string(v) != "70" {
		t.Fatalf("read after write = %s", v)
	}

	// A problem-details answer is a *wot.Error with every member.
	_, err = ct.WriteProperty(ctx, "brightness", 500)
	var we *wot.Error
	if !errors.As(err, &we) || we.Status != 400 || we.Type != "https://example.org/errors/400" || !strings.Contains(we.Detail, "between 0 and 100") {
		t.Fatalf("invalid write: %#v (%v)", we, err)
	}

	// URI variables reach the server expanded (the core expands; the binding sends r.URL).
	v, err = ct.ReadProperty(ctx, "forecast", wot.WithURIVariables(map[string]any{"days": 3, "unit": "°C"}))
	if err != nil || string(v) != `{"days":"3","unit":"°C"}` {
		t.Fatalf("forecast = %s, %v", v, err)
	}
	ps.mu.Lock()
	q := ps.lastQuery
	ps.mu.Unlock()
	if q != "days=3&unit=%C2%B0C" {
		t.Errorf("query = %q", q)
	}

	all, err := ct.ReadAllProperties(ctx)
	if err != nil || string(all["brightness"]) != "70" || string(all["status"]) != `"on"` {
		t.Fatalf("readall = %v, %v", all, err)
	}
	if _, err := ct.WriteMultipleProperties(ctx, map[string]any{"brightness": 10}); err != nil {
		t.Fatalf("writemultiple: %v", err)
	}
	if v, _ := ct.ReadProperty(ctx, "brightness"); string(v) != "10" {
		t.Fatalf("read after writemultiple = %s", v)
	}

	// invokeaction without input: no body, no Content-Type (HTTP Basic Profile).
	inv, err := ct.InvokeAction(ctx, "toggle", nil)
	if err != nil || inv.Output != nil || inv.Status != nil {
		t.Fatalf("toggle = %+v, %v", inv, err)
	}
	ps.mu.Lock()
	seen := ps.toggleSeen
	ps.mu.Unlock()
	if seen != `ct="" body="" accept="application/json"` {
		t.Errorf("toggle request: %s", seen)
	}
	inv, err = ct.InvokeAction(ctx, "add", map[string]int{"a": 2, "b": 3})
	if err != nil || string(inv.Output) != "5" {
		t.Fatalf("add = %+v, %v", inv, err)
	}
}

func TestProfileAsyncAction(t *testing.T) {
	leakCheck(t)
	ps := newProfileServer()
	srv := newServer(t, ps.handler())
	ct := consume(t, srv.URL, profileTD)
	ctx := ctxT(t)

	inv, err := ct.InvokeAction(ctx, "fade", 300)
	if err != nil || inv.Status == nil {
		t.Fatalf("fade = %+v, %v", inv, err)
	}
	st := inv.Status
	id := st.ActionID
	if st.Href != srv.URL+"/actions/fade/"+id || id == "" || st.State != wot.ActionPending || st.Name != "fade" || !st.TimeRequested.Equal(sseEpoch) {
		t.Fatalf("status = %+v", st)
	}
	got, err := ct.QueryAction(ctx, st)
	if err != nil || got.State != wot.ActionRunning || got.ActionID != id {
		t.Fatalf("query = %+v, %v", got, err)
	}
	ps.complete(id, "done")
	got, err = ct.QueryAction(ctx, st)
	if err != nil || got.State != wot.ActionCompleted || string(got.Output) != `"done"` || got.TimeEnded.IsZero() {
		t.Fatalf("query after completion = %+v, %v", got, err)
	}

	inv2, err := ct.InvokeAction(ctx, "fade", 10)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ct.QueryAllActions(ctx)
	if err != nil || len(all["fade"]) != 2 || all["fade"][0].ActionID != inv2.Status.ActionID || all["fade"][1].State != wot.ActionCompleted {
		t.Fatalf("queryall = %+v, %v", all, err)
	}
	if all["fade"][0].Href != inv2.Status.Href {
		t.Errorf("queryall href %q, want %q", all["fade"][0].Href, inv2.Status.Href)
	}
	if err := ct.CancelAction(ctx, inv2.Status); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := ct.QueryAction(ctx, inv2.Status); !wot.IsNotFound(err) {
		t.Fatalf("query after cancel: %v, want 404", err)
	}

	// Action[Out] on top: Wait polls queryaction until completion.
	inv3, _ := ct.InvokeAction(ctx, "fade", 1)
	ps.complete(inv3.Status.ActionID, "third")
	a := wot.NewAction[string](ct, inv3)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := a.Wait(wctx)
	if err != nil || out != "third" {
		t.Fatalf("Action.Wait = %q, %v", out, err)
	}
}

func TestNodeWotOperations(t *testing.T) {
	leakCheck(t)
	nw := &nodeWotServer{}
	srv := newServer(t, nw.handler())
	ct := consume(t, srv.URL, nodeWotTD)
	ctx := ctxT(t)

	if _, err := ct.WriteProperty(ctx, "count", 4); err != nil {
		t.Fatal(err)
	}
	if v, err := ct.ReadProperty(ctx, "count"); err != nil || string(v) != "4" {
		t.Fatalf("read = %s, %v", v, err)
	}
	if v, err := ct.ReadProperty(ctx, "ro"); err != nil || string(v) != "7" {
		t.Fatalf("read ro = %s, %v", v, err)
	}
	// No synchronous flag: 200 is the output.
	inv, err := ct.InvokeAction(ctx, "increment", 3)
	if err != nil || string(inv.Output) != "7" || inv.Status != nil {
		t.Fatalf("increment = %+v, %v", inv, err)
	}
	if inv, err := ct.InvokeAction(ctx, "reset", nil); err != nil || inv.Output != nil {
		t.Fatalf("reset = %+v, %v", inv, err)
	}
	all, err := ct.ReadAllProperties(ctx)
	if err != nil || string(all["count"]) != "0" {
		t.Fatalf("readall = %v, %v", all, err)
	}
	// A plain-text 500 (node-wot's schema violation) is a *wot.Error with the text.
	_, err = ct.WriteProperty(ctx, "count", "nope")
	var we *wot.Error
	if !errors.As(err, &we) || we.Status != 500 || we.Detail != "Invalid value according to DataSchema" {
		t.Fatalf("invalid write = %#v (%v)", we, err)
	}
}

func TestNodeWotErrorsBelowCore(t *testing.T) {
	leakCheck(t)
	nw := &nodeWotServer{}
	srv := newServer(t, nw.handler())
	cl, n := openClient(t, srv.URL, nodeWotTD)
	ctx := ctxT(t)
	// A PUT on the read-only property: 405 with an empty body.
	r := request(t, n, td.OpReadProperty, "ro")
	r.Op, r.Value = td.OpWriteProperty, json.RawMessage("1")
	r.Form.Form = &td.Form{Href: r.Form.Href, Op: td.StringList{"writeproperty"}, ContentType: "application/json"}
	_, err := cl.Do(ctx, r)
	if wot.StatusOf(err) != 405 {
		t.Fatalf("PUT read-only: %v", err)
	}
	// An unknown resource: 404, empty body.
	u, _ := url.Parse(srv.URL + "/probe-thing/properties/nothing")
	r = request(t, n, td.OpReadProperty, "count")
	r.URL = u
	if _, err := cl.Do(ctx, r); !wot.IsNotFound(err) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestAccepts(t *testing.T) {
	h := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	hdr := json.RawMessage(`[{"htv:fieldName": "X-A", "htv:fieldValue": "1"}]`)
	cases := []struct {
		name string
		f    td.Form
		u    string
		op   string
		want bool
	}{
		{"json read", td.Form{ContentType: "application/json"}, "http://h/p", "readproperty", true},
		{"https", td.Form{ContentType: "application/json"}, "https://h/p", "readproperty", true},
		{"ws", td.Form{ContentType: "application/json"}, "ws://h/p", "readproperty", false},
		{"coap", td.Form{ContentType: "application/json"}, "coap://h/p", "readproperty", false},
		{"json with charset", td.Form{ContentType: "application/json; charset=utf-8"}, "http://h/p", "writeproperty", true},
		{"+json", td.Form{ContentType: "application/td+json"}, "http://h/p", "readproperty", true},
		{"cbor", td.Form{ContentType: "application/cbor"}, "http://h/p", "readproperty", false},
		{"cbor read with json response", td.Form{ContentType: "application/cbor", Response: &td.ExpectedResponse{ContentType: "application/json"}}, "http://h/p", "readproperty", true},
		{"cbor write with json response", td.Form{ContentType: "application/cbor", Response: &td.ExpectedResponse{ContentType: "application/json"}}, "http://h/p", "writeproperty", false},
		{"json invoke, text response", td.Form{ContentType: "application/json", Response: &td.ExpectedResponse{ContentType: "text/plain"}}, "http://h/p", "invokeaction", true},
		{"text read", td.Form{ContentType: "text/plain; charset=utf-8"}, "http://h/p", "readproperty", true},
		{"text write", td.Form{ContentType: "text/plain"}, "http://h/p", "writeproperty", true},
		{"text readall", td.Form{ContentType: "text/plain"}, "http://h/p", "readallproperties", false},
		{"text writemultiple", td.Form{ContentType: "text/plain"}, "http://h/p", "writemultipleproperties", false},
		{"text queryaction", td.Form{ContentType: "text/plain"}, "http://h/p", "queryaction", false},
		{"image invoke", td.Form{ContentType: "image/jpeg"}, "http://h/p", "invokeaction", true},
		{"json invoke, audio response", td.Form{ContentType: "application/json", Response: &td.ExpectedResponse{ContentType: "audio/wav"}}, "http://h/p", "invokeaction", true},
		{"bytes write", td.Form{ContentType: "application/octet-stream"}, "http://h/p", "writeproperty", true},
		{"image readall", td.Form{ContentType: "image/png"}, "http://h/p", "readallproperties", false},
		{"multipart invoke", td.Form{ContentType: "multipart/form-data; boundary=x"}, "http://h/p", "invokeaction", false},
		{"cbor invoke", td.Form{ContentType: "application/cbor"}, "http://h/p", "invokeaction", false},
		{"garbage media type", td.Form{ContentType: "json;;"}, "http://h/p", "readproperty", false},
		{"sse observe", td.Form{ContentType: "application/json", Subprotocol: "sse"}, "http://h/p", "observeproperty", true},
		{"longpoll event", td.Form{ContentType: "application/json", Subprotocol: "longpoll"}, "http://h/p", "subscribeevent", true},
		{"plain observe (longpoll)", td.Form{ContentType: "application/json"}, "http://h/p", "observeproperty", true},
		{"sse on a read", td.Form{ContentType: "application/json", Subprotocol: "sse"}, "http://h/p", "readproperty", false},
		{"webhook", td.Form{ContentType: "application/json", Subprotocol: "webhook"}, "http://h/p", "subscribeevent", false},
		{"websub", td.Form{ContentType: "application/json", Subprotocol: "websub"}, "http://h/p", "observeproperty", false},
		{"method", td.Form{ContentType: "application/json", Extra: map[string]json.RawMessage{"htv:methodName": json.RawMessage(`"PATCH"`)}}, "http://h/p", "writeproperty", true},
		{"bad method", td.Form{ContentType: "application/json", Extra: map[string]json.RawMessage{"htv:methodName": json.RawMessage(`"GE T"`)}}, "http://h/p", "readproperty", false},
		{"headers", td.Form{ContentType: "application/json", Extra: map[string]json.RawMessage{"htv:headers": hdr}}, "http://h/p", "readproperty", true},
		{"bad headers", td.Form{ContentType: "application/json", Extra: map[string]json.RawMessage{"htv:headers": json.RawMessage(`[{"htv:fieldValue": "1"}]`)}}, "http://h/p", "readproperty", false},
		{"sse typed as the stream", td.Form{ContentType: "text/event-stream", Subprotocol: "sse"}, "http://h/p", "observeproperty", true},
		{"sse with cbor data", td.Form{ContentType: "application/cbor", Subprotocol: "sse"}, "http://h/p", "subscribeevent", false},
		{"sse observeall", td.Form{ContentType: "application/json", Subprotocol: "sse"}, "http://h/p", "observeallproperties", true},
		{"longpoll observeall", td.Form{ContentType: "application/json", Subprotocol: "longpoll"}, "http://h/p", "observeallproperties", false},
		{"plain subscribeall", td.Form{ContentType: "application/json"}, "http://h/p", "subscribeallevents", false},
		{"no host", td.Form{ContentType: "application/json"}, "http:///p", "readproperty", false},
	}
	for _, tc := range cases {
		if got := (Binding{}).Accepts(&tc.f, h(tc.u), tc.op); got != tc.want {
			t.Errorf("%s: Accepts = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFormHeadersAndMethod checks htv:methodName and htv:headers on the wire, and that
// WithHeader headers go out too.
func TestFormHeadersAndMethod(t *testing.T) {
	leakCheck(t)
	var got string
	mux := newMux(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.Header.Get("X-Form") + " " + r.Header.Get("Accept") + " " + r.Header.Get("X-Dial")
		writeJSON(w, 200, 1)
	})
	srv := newServer(t, mux)
	const tdj = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "h", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
	  "properties": {"p": {"type": "integer", "readOnly": true, "forms": [{"href": "%s/p", "htv:methodName": "POST",
	    "htv:headers": [{"htv:fieldName": "X-Form", "htv:fieldValue": "yes"}, {"htv:fieldName": "Accept", "htv:fieldValue": "application/json; q=1"}]}]}}}`
	ct := consume(t, srv.URL, tdj, wot.WithHeader("X-Dial", "d"))
	if _, err := ct.ReadProperty(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	if got != "POST yes application/json; q=1 d" {
		t.Errorf("request: %q", got)
	}
}

// TestInvokeAnswers: whatever the TD's synchronous flag says, 200, 201 (+ Location) and 204
// are understood.
func TestInvokeAnswers(t *testing.T) {
	leakCheck(t)
	cases := []struct {
		name, sync string
		h          http.HandlerFunc
		output     string
		href       string // "" = synchronous result expected
	}{
		{"sync true, 201", `"synchronous": true,`, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/q/1")
			writeJSON(w, 201, map[string]any{"status": "running"})
		}, "", "/q/1"},
		{"absent, 201 with href only in the body", "", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 201, map[string]any{"status": "pending", "href": "q/2"})
		}, "", "/q/2"}, // relative to the request URL /a
		{"absent, 201 with an absolute Location and no body", "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://"+r.Host+"/elsewhere/3")
			w.WriteHeader(201)
		}, "", "/elsewhere/3"},
		{"absent, 201 used for plain output", "", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 201, 12) }, "12", ""},
		{"absent, 200", "", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, "out") }, `"out"`, ""},
		{"sync false, 200", `"synchronous": false,`, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, 1) }, "1", ""},
		{"absent, 204", "", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.h)
			tdj := strings.Replace(oneTD, `"a": {"forms"`, `"a": {`+tc.sync+` "forms"`, 1)
			ct := consume(t, srv.URL, tdj)
			inv, err := ct.InvokeAction(ctxT(t), "a", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.href == "" {
				if inv.Status != nil || string(inv.Output) != tc.output {
					t.Errorf("invocation %+v, want output %s", inv, tc.output)
				}
				return
			}
			if inv.Status == nil || inv.Status.Href != srv.URL+tc.href || inv.Status.ActionID != tc.href[strings.LastIndex(tc.href, "/")+1:] {
				t.Errorf("invocation %+v, want status at %s", inv.Status, tc.href)
			}
		})
	}
	// A Location that is not http(s) is refused.
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "javascript:alert(1)")
		writeJSON(w, 201, map[string]any{"status": "pending"})
	}))
	if _, err := consume(t, srv.URL, oneTD).InvokeAction(ctxT(t), "a", nil); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("bad Location: %v", err)
	}
}
