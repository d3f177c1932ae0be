package wot

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// The first form in document order that a binding accepts wins, whatever the bindings'
// order; forms no binding accepts are skipped.
func TestFormSelectionOrder(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	b := &fakeBinding{name: "b", scheme: "fb"}
	th := parseTD(t, `{`+tdHead+`, "base": "fa://base.example/",
	 "properties": {
	  "p": {"type": "string", "forms": [{"href": "coap://x/p"}, {"href": "p"}, {"href": "fb://other/p"}]},
	  "q": {"type": "string", "forms": [{"href": "fb://other/q"}, {"href": "fa://base.example/q"}]},
	  "ro": {"type": "string", "readOnly": true, "forms": [{"href": "fb://other/ro", "op": "writeproperty"}, {"href": "ro"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(b, a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []string{"p", "q", "ro"} {
		if _, err := c.ReadProperty(testCtx(t), n); err != nil {
			t.Fatalf("ReadProperty %s: %v", n, err)
		}
	}
	if got, want := a.summary(), "readproperty p fa://base.example/p\nreadproperty ro fa://base.example/ro"; got != want {
		t.Errorf("binding a got\n%s\nwant\n%s", got, want)
	}
	if got, want := b.summary(), "readproperty q fb://other/q"; got != want {
		t.Errorf("binding b got\n%s\nwant\n%s", got, want)
	}
	// Each binding is opened once, with the forms selected for it.
	if len(a.opened) != 1 || len(b.opened) != 1 {
		t.Fatalf("opened a %d times, b %d times; want once each", len(a.opened), len(b.opened))
	}
	var fa []string
	for _, f := range a.opened[0].Forms {
		fa = append(fa, f.URL.String())
	}
	if strings.Join(fa, " ") != "fa://base.example/p fa://base.example/p fa://base.example/ro" {
		t.Errorf("forms given to a: %v (want p for read and write, ro for read)", fa)
	}
	if a.opened[0].ThingID != "urn:test" || a.opened[0].TD.Properties["p"].Forms[1].ContentType != "application/json" {
		t.Error("the target lacks the id or the normalised TD")
	}
	// The read-only property's writeproperty form is there, but the core refuses first.
	if _, err := c.WriteProperty(testCtx(t), "ro", "x"); !IsBadRequest(err) {
		t.Errorf("write to a read-only property: %v, want 400", err)
	}
	if _, err := c.ReadProperty(testCtx(t), "nope"); !IsNotFound(err) {
		t.Errorf("unknown property: %v, want 404", err)
	}
}

func TestNoUsableFormSaysWhy(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	th := parseTD(t, `{`+tdHead+`, "properties": {
	  "c": {"type": "string", "forms": [{"href": "coap://dev/c"}, {"href": "coaps://dev/c"}]},
	  "ok": {"type": "string", "forms": [{"href": "fa://dev/ok"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ReadProperty(testCtx(t), "c")
	for _, want := range []string{`no usable form for readproperty of property "c"`, "coap://", "coaps://", "bindings: a"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
	if _, err := c.QueryAllActions(testCtx(t)); err == nil || !strings.Contains(err.Error(), "no usable form for queryallactions") {
		t.Errorf("queryallactions without a form: %v", err)
	}
	// A TD none of whose forms is usable fails at Consume, naming the protocols.
	th = parseTD(t, `{`+tdHead+`, "properties": {"c": {"type": "string", "forms": [{"href": "coap://dev/c"}]}}}`)
	if _, err := Consume(testCtx(t), th, "", WithBindings(a)); err == nil || !strings.Contains(err.Error(), "coap://") {
		t.Errorf("Consume = %v, want the coap forms named", err)
	}
	if _, err := Consume(testCtx(t), th, "", WithBindings()); err == nil || !strings.Contains(err.Error(), "no protocol binding") {
		t.Errorf("Consume without bindings = %v", err)
	}
}

// Without a Thing-level form the read and write meta operations become one request per
// property; queryallactions has no such fallback.
func TestMetaOperationsFallBackToPerPropertyRequests(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	props := `"properties": {
	  "a": {"type": "string", "readOnly": true, "forms": [{"href": "fa://h/a"}]},
	  "b": {"type": "integer", "forms": [{"href": "fa://h/b"}]},
	  "w": {"type": "integer", "writeOnly": true, "forms": [{"href": "fa://h/w"}]}}`
	c, err := Consume(testCtx(t), parseTD(t, `{`+tdHead+`, `+props+`}`), "", WithBindings(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	all, err := c.ReadAllProperties(ctx)
	if err != nil || len(all) != 2 || string(all["a"]) != `"a"` || string(all["b"]) != `"b"` {
		t.Fatalf("ReadAllProperties = %v, %v", all, err)
	}
	multi, err := c.ReadMultipleProperties(ctx, []string{"b"})
	if err != nil || len(multi) != 1 {
		t.Fatalf("ReadMultipleProperties = %v, %v", multi, err)
	}
	w, err := c.WriteMultipleProperties(ctx, map[string]any{"w": 2, "b": 1})
	if err != nil || string(w["b"]) != "1" || string(w["w"]) != "2" {
		t.Fatalf("WriteMultipleProperties = %v, %v", w, err)
	}
	if _, err := c.WriteAllProperties(ctx, map[string]any{"b": 3, "w": 4}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"readproperty a fa://h/a", "readproperty b fa://h/b",
		"readproperty b fa://h/b",
		"writeproperty b fa://h/b", "writeproperty w fa://h/w",
		"writeproperty b fa://h/b", "writeproperty w fa://h/w",
	}, "\n")
	if got := a.summary(); got != want {
		t.Errorf("requests\n%s\nwant\n%s", got, want)
	}
	if _, err := c.WriteMultipleProperties(ctx, map[string]any{"a": 1}); !IsBadRequest(err) {
		t.Errorf("writing a read-only property in a batch: %v, want 400", err)
	}
	if _, err := c.ReadMultipleProperties(ctx, []string{"zz"}); !IsBadRequest(err) {
		t.Errorf("reading an unknown property in a batch: %v, want 400", err)
	}
	// A failing property: the others are still read and returned with the error.
	a.handle = func(r *Request) (*Response, error) {
		if r.Name == "a" {
			return nil, Unavailable("sensor a is off")
		}
		return echo(r)
	}
	all, err = c.ReadAllProperties(ctx)
	if StatusOf(err) != 503 || len(all) != 1 || all["b"] == nil {
		t.Errorf("partial ReadAllProperties = %v, %v; want b and a 503", all, err)
	}
	a.handle = nil

	// With a Thing-level form: one request.
	b := &fakeBinding{name: "b", scheme: "fa"}
	c2, err := Consume(testCtx(t), parseTD(t, `{`+tdHead+`, `+props+`,
	  "forms": [{"href": "fa://h/all", "op": ["readallproperties", "readmultipleproperties", "writemultipleproperties"]}]}`), "", WithBindings(b))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if all, err := c2.ReadAllProperties(ctx); err != nil || string(all["all"]) != "1" {
		t.Fatalf("ReadAllProperties = %v, %v", all, err)
	}
	if _, err := c2.WriteMultipleProperties(ctx, map[string]any{"b": 5}); err != nil {
		t.Fatal(err)
	}
	reqs := b.requests()
	if len(reqs) != 2 || reqs[0].Op != td.OpReadAllProperties || reqs[1].Op != td.OpWriteMultipleProperties || string(reqs[1].Value) != `{"b":5}` {
		t.Fatalf("requests %s", b.summary())
	}
}

func TestURIVariables(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	th := parseTD(t, `{`+tdHead+`, "base": "fa://h/api/",
	 "properties": {
	  "weather": {"type": "object", "readOnly": true,
	    "uriVariables": {"lat": {"type": "number", "minimum": -90, "maximum": 90}, "long": {"type": "number"}},
	    "forms": [{"href": "weather{?lat,long}"}]},
	  "forecast": {"type": "object", "readOnly": true,
	    "uriVariables": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}, "days": {"type": "integer"}},
	    "forms": [{"href": "forecast/{city}/{?unit,days}"}]},
	  "plain": {"type": "string", "forms": [{"href": "fa://h/plain"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	read := func(name string, vars map[string]any) (string, error) {
		t.Helper()
		n := len(a.requests())
		if _, err := c.ReadProperty(ctx, name, WithURIVariables(vars)); err != nil {
			return "", err
		}
		r := a.requests()[n]
		if r.Form.URL.Host != "h" {
			t.Errorf("Form.URL = %v", r.Form.URL)
		}
		return r.URL.String(), nil
	}
	cases := []struct {
		name string
		vars map[string]any
		want string
	}{
		{"weather", map[string]any{"lat": 52.5, "long": 13}, "fa://h/api/weather?lat=52.5&long=13"},
		{"weather", map[string]any{"lat": 1}, "fa://h/api/weather?lat=1"},
		{"weather", nil, "fa://h/api/weather"},
		{"forecast", map[string]any{"city": "São Paulo", "unit": "C"}, "fa://h/api/forecast/S%C3%A3o%20Paulo/?unit=C"},
		{"forecast", map[string]any{"city": "Oslo", "days": 3}, "fa://h/api/forecast/Oslo/?days=3"},
	}
	for _, tc := range cases {
		if got, err := read(tc.name, tc.vars); err != nil || got != tc.want {
			t.Errorf("%s %v: URL %q, %v; want %q", tc.name, tc.vars, got, err, tc.want)
		}
	}
	// Generated clients pass their …URIVariables structs: members left out are not expanded.
	type weatherVars struct {
		Lat  *float64 `json:"lat,omitzero"`
		Long *float64 `json:"long,omitzero"`
	}
	lat := 52.5
	if _, err := c.ReadProperty(ctx, "weather", WithURIVariables(weatherVars{Lat: &lat})); err != nil {
		t.Fatal(err)
	} else if got := a.requests()[len(a.requests())-1].URL.String(); got != "fa://h/api/weather?lat=52.5" {
		t.Errorf("struct URI variables: URL %q", got)
	}
	if _, err := c.ReadProperty(ctx, "weather", WithURIVariables(5)); !IsBadRequest(err) || !strings.Contains(err.Error(), "JSON object") {
		t.Errorf("URI variables 5: %v; want a 400", err)
	}
	bad := []struct {
		name string
		vars map[string]any
		want string
	}{
		{"weather", map[string]any{"lat": "north"}, `"lat"`},
		{"weather", map[string]any{"lat": 91}, "schema"},
		{"weather", map[string]any{"alt": 1}, "not one of the uriVariables"},
		{"weather", map[string]any{"lat": []float64{1, 2}}, "string, number or boolean"},
		{"forecast", map[string]any{"city": "Oslo", "unit": "K"}, `"unit"`},
		{"forecast", map[string]any{"city": "Oslo", "days": 1.5}, `"days"`},
		{"plain", map[string]any{"x": 1}, "declares none"},
	}
	for _, tc := range bad {
		_, err := read(tc.name, tc.vars)
		if !IsBadRequest(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err = %v, want a 400 mentioning %s", tc.name, tc.vars, err, tc.want)
		}
	}
}

// A binding that claims a non-TD URL: the synthesised TD's Thing-level forms serve every
// affordance name.
type dialingBinding struct{ fakeBinding }

func (b *dialingBinding) DialURL(_ context.Context, u *url.URL, cfg *Config) (*td.Thing, error) {
	if u.Scheme != b.scheme {
		return nil, nil
	}
	return &td.Thing{ID: cfg.ThingID, Forms: []td.Form{{Href: u.String(), Op: td.StringList(td.AllOps())}}}, nil
}

func TestDialURLClaimedByABinding(t *testing.T) {
	b := &dialingBinding{fakeBinding{name: "d", scheme: "fd"}}
	c, err := Dial(testCtx(t), "fd://thing.example/ep", WithBindings(b), WithThingID("urn:d"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.ReadProperty(testCtx(t), "anything"); err != nil || string(v) != `"anything"` {
		t.Fatalf("ReadProperty = %s, %v", v, err)
	}
	if _, err := c.InvokeAction(testCtx(t), "go", 1); err != nil {
		t.Fatal(err)
	}
	if got := b.summary(); got != "readproperty anything fd://thing.example/ep\ninvokeaction go fd://thing.example/ep" {
		t.Fatalf("requests:\n%s", got)
	}
	if c.ThingID() != "urn:d" {
		t.Fatalf("ThingID %q", c.ThingID())
	}
	if _, err := Dial(testCtx(t), "mqtt://broker/x", WithBindings(b)); err == nil || !strings.Contains(err.Error(), "registered: d") {
		t.Fatalf("unclaimed URL: %v", err)
	}
}

// An asynchronous action known by its status URL (HTTP) is queried and cancelled there,
// through the binding that accepts that URL, opened on first use if needed.
func TestActionWithStatusHref(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	a := &fakeBinding{name: "a", scheme: "fa"}
	a.handle = func(r *Request) (*Response, error) {
		switch r.Op {
		case td.OpInvokeAction:
			return &Response{Status: &ActionStatus{Href: "/actions/1", State: ActionPending}}, nil
		case td.OpQueryAction:
			mu.Lock()
			defer mu.Unlock()
			if r.Action == nil || r.Action.Href != "fa://h/actions/1" {
				return nil, BadRequest("no href")
			}
			if polls++; polls < 3 {
				return &Response{Status: &ActionStatus{State: ActionRunning}}, nil
			}
			return &Response{Status: &ActionStatus{State: ActionCompleted, Output: json.RawMessage(`{"n": 7}`)}}, nil
		case td.OpCancelAction:
			return &Response{}, nil
		}
		return nil, NotFound("?")
	}
	th := parseTD(t, `{`+tdHead+`, "actions": {"fade": {"forms": [{"href": "fa://h/actions/fade"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inv, err := c.InvokeAction(testCtx(t), "fade", map[string]int{"to": 1})
	if err != nil || !inv.Async() || inv.Status.Name != "fade" {
		t.Fatalf("InvokeAction = %+v, %v", inv, err)
	}
	act := NewAction[struct{ N int }](c, inv)
	if act.ID() != "fa://h/actions/1" {
		t.Errorf("ID = %q", act.ID())
	}
	out, err := act.Wait(testCtx(t))
	if err != nil || out.N != 7 {
		t.Fatalf("Wait = %+v, %v", out, err)
	}
	if err := act.Cancel(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	reqs := a.requests()
	last := reqs[len(reqs)-1]
	if last.Op != td.OpCancelAction || last.URL.String() != "fa://h/actions/1" || last.Form.Op[0] != td.OpCancelAction {
		t.Fatalf("cancel went to %s %v", last.Op, last.URL)
	}
	if reqs[1].URL.String() != "fa://h/actions/1" {
		t.Fatalf("queryaction went to %v", reqs[1].URL)
	}

	// A status URL only another binding accepts: that binding is opened for it.
	b := &fakeBinding{name: "b", scheme: "fb"}
	a.handle = func(r *Request) (*Response, error) {
		return &Response{Status: &ActionStatus{Href: "fb://status/9", State: ActionPending}}, nil
	}
	c2, err := Consume(testCtx(t), th, "", WithBindings(a, b))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	inv, err = c2.InvokeAction(testCtx(t), "fade", nil)
	if err != nil {
		t.Fatal(err)
	}
	b.handle = func(r *Request) (*Response, error) {
		return &Response{Status: &ActionStatus{State: ActionFailed, Error: Internal("fade broke")}}, nil
	}
	if _, err := NewAction[json.RawMessage](c2, inv).Wait(testCtx(t)); StatusOf(err) != 500 || !strings.Contains(err.Error(), "fade broke") {
		t.Fatalf("Wait = %v, want the action's 500", err)
	}
	if len(b.opened) != 1 || b.summary() != "queryaction fade fb://status/9" {
		t.Fatalf("binding b opened %d times, requests %q", len(b.opened), b.summary())
	}
}

// An instance known by its actionID only (WTP) goes through the action's queryaction form,
// else the form it was invoked through.
func TestActionWithActionID(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	a.handle = func(r *Request) (*Response, error) {
		if r.Op == td.OpInvokeAction {
			return &Response{Status: &ActionStatus{ActionID: "id-1", State: ActionRunning}}, nil
		}
		return &Response{Status: &ActionStatus{State: ActionCompleted}}, nil
	}
	th := parseTD(t, `{`+tdHead+`, "actions": {
	  "x": {"forms": [{"href": "fa://h/x"}]},
	  "y": {"forms": [{"href": "fa://h/y"}, {"href": "fa://h/y/status", "op": ["queryaction", "cancelaction"]}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []string{"x", "y"} {
		inv, err := c.InvokeAction(testCtx(t), n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewAction[any](c, inv).Wait(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	want := "invokeaction x fa://h/x\nqueryaction x fa://h/x\ninvokeaction y fa://h/y\nqueryaction y fa://h/y/status"
	if got := a.summary(); got != want {
		t.Fatalf("requests\n%s\nwant\n%s", got, want)
	}
	if _, err := c.QueryAction(testCtx(t), &ActionStatus{}); !IsBadRequest(err) {
		t.Fatalf("QueryAction without id: %v", err)
	}
}

func TestSubscriptionsThroughTheCore(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	th := parseTD(t, `{`+tdHead+`, "properties": {"p": {"type": "integer", "observable": true,
	  "forms": [{"href": "fa://h/p", "op": ["readproperty", "observeproperty", "unobserveproperty"]}]}},
	  "events": {"e": {"forms": [{"href": "fa://h/e"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a), WithSubscriptionQueue(4))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s, err := c.ObserveProperty(testCtx(t), "p", func(n Notification) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		mu.Lock()
		got = append(got, string(n.Value))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := a.sinks[0]
	note := func(i int) Notification {
		return Notification{ID: string(rune('a' + i)), Kind: td.KindProperty, Name: "p", Value: json.RawMessage{byte('0' + i)}}
	}
	// The first one is taken by the (stuck) callback; four more fit in the queue and the
	// next one ends the subscription, after which nothing is accepted.
	if !sink.Deliver(note(0)) {
		t.Fatal("Deliver 0 refused")
	}
	<-started
	for i := 1; i <= 5; i++ {
		if ok := sink.Deliver(note(i)); ok != (i < 5) {
			t.Fatalf("Deliver %d = %v", i, ok)
		}
	}
	if sink.Deliver(Notification{Value: json.RawMessage(`9`)}) {
		t.Fatal("Deliver after overflow accepted")
	}
	if !errors.Is(s.Err(), ErrSlowConsumer) || !strings.Contains(s.Err().Error(), `property "p"`) {
		t.Fatalf("Err = %v", s.Err())
	}
	if sink.LastID() != "e" {
		t.Errorf("LastID = %q, want the last queued notification's", sink.LastID())
	}
	close(release)
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	if strings.Join(got, ",") != "0,1,2,3,4" {
		t.Fatalf("delivered %v, want the running one and the four queued, in order", got)
	}
	waitFor(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.stopped == 1 })

	// Fail: what is queued is delivered, then Err says why.
	var n2 []string
	s2, err := c.SubscribeEvent(testCtx(t), "e", func(n Notification) { n2 = append(n2, string(n.Value)) })
	if err != nil {
		t.Fatal(err)
	}
	a.sinks[1].Deliver(Notification{Value: json.RawMessage(`1`)})
	a.sinks[1].Fail(ErrConnectionLost)
	<-s2.Done()
	if len(n2) != 1 || !errors.Is(s2.Err(), ErrConnectionLost) {
		t.Fatalf("after Fail: %v, %v", n2, s2.Err())
	}
	if err := s2.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}

	// Close stops what is still active, on the wire too.
	s3, err := c.SubscribeAllEvents(testCtx(t), func(Notification) {})
	if err == nil {
		t.Fatalf("subscribeallevents without a Thing-level form: %v", s3)
	}
	if _, err := c.SubscribeEvent(testCtx(t), "e", func(Notification) {}); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	before := a.stopped
	a.mu.Unlock()
	c.Close()
	if a.stopped != before+1 || a.closed != 1 {
		t.Fatalf("Close: %d stops (want %d), %d client closes", a.stopped, before+1, a.closed)
	}
	if _, err := c.ReadProperty(testCtx(t), "p"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOutgoingValidation(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	th := parseTD(t, `{`+tdHead+`, "properties": {"p": {"type": "integer", "maximum": 10, "forms": [{"href": "fa://h/p"}]}},
	  "actions": {"go": {"input": {"type": "string"}, "forms": [{"href": "fa://h/go"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a), WithOutgoingValidation(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteProperty(testCtx(t), "p", 11); !IsBadRequest(err) {
		t.Errorf("out of range: %v", err)
	}
	if _, err := c.InvokeAction(testCtx(t), "go", 1); !IsBadRequest(err) {
		t.Errorf("wrong input type: %v", err)
	}
	if _, err := c.WriteProperty(testCtx(t), "p", json.RawMessage(`{`)); !IsBadRequest(err) {
		t.Errorf("invalid raw JSON: %v", err)
	}
	if len(a.requests()) != 0 {
		t.Fatalf("invalid values were sent: %s", a.summary())
	}
	if _, err := c.WriteProperty(testCtx(t), "p", 10); err != nil {
		t.Fatal(err)
	}
}

// The per-property fallback gives each property only the URI variables that apply to it.
func TestMetaFallbackURIVariables(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	th := parseTD(t, `{`+tdHead+`, "properties": {
	  "x": {"type": "number", "uriVariables": {"unit": {"type": "string"}}, "forms": [{"href": "fa://h/x{?unit}"}]},
	  "y": {"type": "number", "forms": [{"href": "fa://h/y"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadAllProperties(testCtx(t), WithURIVariables(map[string]any{"unit": "K"})); err != nil {
		t.Fatal(err)
	}
	if got := a.summary(); got != "readproperty x fa://h/x?unit=K\nreadproperty y fa://h/y" {
		t.Fatalf("requests\n%s", got)
	}
}

// A TD without id whose URL is unknown is consumed anonymously: bindings that need no id (HTTP)
// work with it; one that addresses Things by id refuses to open.
func TestConsumeAnonymousTD(t *testing.T) {
	a := &fakeBinding{name: "a", scheme: "fa"}
	th := parseTD(t, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "T",
	 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
	 "properties": {"p": {"type": "integer", "forms": [{"href": "fa://dev/p"}]}}}`)
	c, err := Consume(testCtx(t), th, "", WithBindings(a))
	if err != nil {
		t.Fatalf("Consume of an id-less TD: %v", err)
	}
	defer c.Close()
	if c.ThingID() != "" {
		t.Errorf("ThingID %q, want none", c.ThingID())
	}
	if _, err := c.ReadProperty(testCtx(t), "p"); err != nil {
		t.Errorf("read: %v", err)
	}
}
