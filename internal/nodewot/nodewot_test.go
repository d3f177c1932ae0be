package nodewot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

func fetchTD(t *testing.T, url string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/td+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, td.DefaultMaxSize))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/td+json" {
		t.Errorf("TD Content-Type = %q, want application/td+json", ct)
	}
	return body
}

// The Thing node-wot serves parses with runtime/td and has the shape the interop tests rely on.
func TestThingTD(t *testing.T) {
	env := Require(t)
	thing := env.StartThing(t)
	if !LoopbackURL(thing.TD) || !strings.HasSuffix(thing.TD, "/testthing") {
		t.Fatalf("TD URL %q, want http://127.0.0.1:PORT/testthing", thing.TD)
	}
	doc, err := td.Parse(fetchTD(t, thing.TD))
	if err != nil {
		t.Fatalf("runtime/td cannot parse node-wot's TD: %v", err)
	}
	if doc.Title != "TestThing" || doc.ID != "urn:wotgen:interop:testthing" {
		t.Errorf("title %q id %q", doc.Title, doc.ID)
	}
	if len(doc.Context) == 0 || doc.Context[0].URI != td.ContextV10 {
		t.Errorf("@context %v: node-wot puts the TD 1.0 URI first", doc.Context)
	}
	want := map[string][]string{
		"properties": {"config", "count", "enabled", "label", "lastSecretLength", "level", "secret"},
		"actions":    {"add", "bump", "fire", "setLevel"},
		"events":     {"alarm"},
	}
	got := map[string][]string{"properties": doc.PropertyNames(), "actions": doc.ActionNames(), "events": doc.EventNames()}
	for kind, names := range want {
		if strings.Join(got[kind], ",") != strings.Join(names, ",") {
			t.Errorf("%s = %v, want %v", kind, got[kind], names)
		}
	}
	if p := doc.Properties["count"]; p == nil || p.Minimum == nil || *p.Minimum != 0 || p.Maximum == nil || *p.Maximum != 100 {
		t.Errorf("count must be an integer in 0..100: %+v", doc.Properties["count"])
	}
	if p := doc.Properties["secret"]; p == nil || !p.IsWriteOnly() {
		t.Errorf("secret must be writeOnly")
	}
	if p := doc.Properties["level"]; p == nil || !p.IsReadOnly() || !p.IsObservable() {
		t.Errorf("level must be readOnly and observable")
	}

	// Every form is absolute on 127.0.0.1, and for each op the first form is JSON: node-wot's
	// consumer picks the first form per op, and so will its consumer of this Thing.
	for _, name := range doc.PropertyNames() {
		for _, op := range []string{td.OpReadProperty, td.OpWriteProperty, td.OpObserveProperty} {
			checkFirstForm(t, doc, op, name)
		}
	}
	for _, name := range doc.ActionNames() {
		checkFirstForm(t, doc, td.OpInvokeAction, name)
	}
	for _, name := range doc.EventNames() {
		checkFirstForm(t, doc, td.OpSubscribeEvent, name)
	}
}

func checkFirstForm(t *testing.T, doc *td.Thing, op, name string) {
	t.Helper()
	forms := doc.AffordanceForms(op, name)
	if len(forms) == 0 {
		return // e.g. no writeproperty form on a readOnly property
	}
	for _, f := range forms {
		if !LoopbackURL(f.Href) {
			t.Errorf("%s %s: href %q is not an absolute http URL on 127.0.0.1", op, name, f.Href)
		}
	}
	if ct := forms[0].ContentType; ct != "application/json" {
		t.Errorf("%s %s: first form has contentType %q", op, name, ct)
	}
	if op == td.OpObserveProperty || op == td.OpSubscribeEvent {
		if forms[0].Subprotocol != "longpoll" {
			t.Errorf("%s %s: subprotocol %q, want longpoll", op, name, forms[0].Subprotocol)
		}
	}
}

// FullPlan exercises every affordance of thing.js; the wotgen-side tests use the same shapes.
func fullPlan() Plan {
	return Plan{Steps: []Step{
		{Op: "readproperty", Name: "count", Expect: 0},
		{Op: "readproperty", Name: "label", Expect: "hello"},
		{Op: "readproperty", Name: "enabled", Expect: false},
		{Op: "readproperty", Name: "config", Expect: map[string]any{"name": "initial", "count": 1}},
		{Op: "readproperty", Name: "level", Expect: 0},
		{Op: "writeproperty", Name: "count", Value: 42, ReadBack: true},
		{Op: "writeproperty", Name: "label", Value: "wotgen", ReadBack: true},
		{Op: "writeproperty", Name: "enabled", Value: true, ReadBack: true},
		{Op: "writeproperty", Name: "config", Value: map[string]any{"name": "n", "count": 7}, ReadBack: true},
		{Op: "writeproperty", Name: "secret", Value: "abcd"},
		{Op: "readproperty", Name: "lastSecretLength", Expect: 4},
		{ID: "invalid write", Op: "writeproperty", Name: "count", Value: 1000, ExpectError: true},
		{ID: "count unchanged", Op: "readproperty", Name: "count", Expect: 42},
		{Op: "invokeaction", Name: "add", Input: map[string]any{"a": 1, "b": 2.5}, Expect: 3.5},
		{Op: "invokeaction", Name: "bump", Expect: 1.5},
		{Op: "invokeaction", Name: "setLevel", Input: 10},
		{Op: "invokeaction", Name: "fire"},
		{Op: "readallproperties", Names: []string{"count", "label", "enabled", "config", "level", "lastSecretLength"}},
		{Op: "observeproperty", Name: "level", Trigger: &Trigger{Op: "invokeaction", Name: "bump"}},
		{Op: "observeproperty", Name: "count", Trigger: &Trigger{Op: "writeproperty", Name: "count", Values: []any{5, 6}}},
		{Op: "subscribeevent", Name: "alarm", Count: 2, Trigger: &Trigger{Op: "invokeaction", Name: "fire"}},
	}}
}

// node-wot consuming node-wot: every step of the full plan passes, with the values thing.js holds.
func TestConsumeThing(t *testing.T) {
	env := Require(t)
	thing := env.StartThing(t)
	rs := env.Consume(t, thing.TD, fullPlan())
	rs.RequireOK(t)
	if t.Failed() {
		return
	}
	// 2 setup steps + 21 plan steps + 3 un* steps + done.
	if len(rs) != 27 {
		t.Errorf("got %d results, want 27:%s", len(rs), rs)
	}
	if r := rs.Get(t, "invalid write"); !strings.Contains(r.Error, "Server error") {
		t.Errorf("invalid write: node-wot's consumer saw %q, want a server error (node-wot answers 500)", r.Error)
	}
	var all map[string]any
	if err := json.Unmarshal(rs.Get(t, "readallproperties").Value, &all); err != nil {
		t.Fatal(err)
	}
	if all["count"] != 42.0 || all["level"] != 10.0 || all["label"] != "wotgen" {
		t.Errorf("readallproperties = %v", all)
	}
	var level []float64
	if err := json.Unmarshal(rs.Get(t, "observeproperty level").Value, &level); err != nil || len(level) != 1 || level[0] < 11.5 {
		t.Errorf("observeproperty level = %s (%v), want one value >= 11.5", rs.Get(t, "observeproperty level").Value, err)
	}
	var alarms []struct {
		Seq     int
		Message string
	}
	if err := json.Unmarshal(rs.Get(t, "subscribeevent alarm").Value, &alarms); err != nil || len(alarms) != 2 || alarms[1].Seq <= alarms[0].Seq {
		t.Errorf("subscribeevent alarm = %s (%v), want two alarms in order", rs.Get(t, "subscribeevent alarm").Value, err)
	}
}

// The harness reports exactly which step failed and why, and keeps going after a failure.
func TestConsumeReportsFailures(t *testing.T) {
	env := Require(t)
	thing := env.StartThing(t)
	rs := env.Consume(t, thing.TD, Plan{StepTimeoutMs: 2000, Steps: []Step{
		{ID: "wrong value", Op: "readproperty", Name: "count", Expect: 7},
		{ID: "no such property", Op: "readproperty", Name: "nope"},
		{ID: "valid write refused?", Op: "writeproperty", Name: "count", Value: 3, ExpectError: true},
		{ID: "readOnly write", Op: "writeproperty", Name: "level", Value: 3, ExpectError: true},
		{ID: "bad action input", Op: "invokeaction", Name: "add", Input: map[string]any{"a": "x"}, ExpectError: true},
		{ID: "no notification", Op: "observeproperty", Name: "label", TimeoutMs: 800},
		{ID: "still fine", Op: "readproperty", Name: "count", Expect: 3},
	}})
	want := map[string]string{
		"requestThingDescription": "",
		"consume":                 "",
		"wrong value":             "got 0, want 7",
		"no such property":        "does not have property nope",
		"valid write refused?":    "succeeded",
		"readOnly write":          "",
		"bad action input":        "",
		"no notification":         "no answer within 800 ms",
		"unobserveproperty label": "",
		"still fine":              "",
		"done":                    "",
	}
	for _, r := range rs {
		substr, ok := want[r.Step]
		if !ok {
			t.Errorf("unexpected step %q", r.Step)
			continue
		}
		delete(want, r.Step)
		if wantOK := substr == "" && r.Step != "done"; r.OK != wantOK || !strings.Contains(r.Error, substr) {
			t.Errorf("step %q: ok=%v error=%q, want ok=%v error containing %q", r.Step, r.OK, r.Error, wantOK, substr)
		}
	}
	for step := range want {
		t.Errorf("step %q not reported", step)
	}
}

// requestThingDescription applies the TD JSON Schema that npm resolves for node-wot 0.9.2: the TD
// 1.0 context URI must come first. This is the check a wotgen-served TD has to pass.
func TestRequestThingDescriptionContext(t *testing.T) {
	env := Require(t)
	thing := env.StartThing(t)
	var doc map[string]any
	if err := json.Unmarshal(fetchTD(t, thing.TD), &doc); err != nil {
		t.Fatal(err)
	}
	const v10, v11 = "https://www.w3.org/2019/wot/td/v1", "https://www.w3.org/2022/wot/td/v1.1"
	htv := map[string]any{"htv": "http://www.w3.org/2011/http#"}
	cases := []struct {
		name    string
		context any
		edit    func(map[string]any)
		ok      bool
	}{
		{name: "1.0 first with htv", context: []any{v10, v11, htv}, ok: true},
		{name: "1.0 alone", context: v10, ok: true},
		{name: "string security", context: []any{v10, v11}, edit: func(d map[string]any) { d["security"] = "nosec" }, ok: true},
		{name: "1.1 alone", context: v11},
		{name: "1.1 first", context: []any{v11, v10}},
		{name: "auto scheme", context: []any{v10, v11}, edit: func(d map[string]any) {
			d["securityDefinitions"] = map[string]any{"a": map[string]any{"scheme": "auto"}}
			d["security"] = []any{"a"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := map[string]any{}
			for k, v := range doc {
				d[k] = v
			}
			d["@context"] = tc.context
			if tc.edit != nil {
				tc.edit(d)
			}
			body, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/td+json")
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			rs := env.Consume(t, srv.URL+"/td", Plan{Steps: []Step{{Op: "readproperty", Name: "count", Expect: 0}}})
			r := rs.Get(t, "requestThingDescription")
			if r.OK != tc.ok {
				t.Fatalf("requestThingDescription ok=%v (%s), want ok=%v", r.OK, r.Error, tc.ok)
			}
			if tc.ok {
				rs.RequireOK(t)
			}
		})
	}
}
