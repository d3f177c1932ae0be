package wothttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func methodOf(f *td.Form) string {
	var m string
	if raw, ok := f.Extra["htv:methodName"]; ok {
		json.Unmarshal(raw, &m)
	}
	return m
}

// TestServedTDForms checks the forms the binding adds, and that every property form's href,
// followed as a consumer would, reaches that property, whatever its name.
func TestServerServedTDForms(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	d := h.servedTD()

	for name, p := range d.Properties {
		val, next := "7", "8"
		switch p.Type {
		case "boolean":
			val, next = "true", "false"
		case "string":
			val, next = `"7"`, `"8"`
		}
		if name != "secret" {
			if err := h.thing.SetProperty(name, json.RawMessage(val)); err != nil {
				t.Fatal(err)
			}
		}
		ro, wo := p.IsReadOnly(), p.IsWriteOnly()
		f := &p.Forms[0]
		if f.ContentType != "application/json" {
			t.Errorf("%q: first form contentType %q", name, f.ContentType)
		}
		switch {
		case ro:
			if !slicesEqual(f.Op, "readproperty") || methodOf(f) != "GET" {
				t.Errorf("%q readOnly: form %+v", name, f)
			}
		case wo:
			if !slicesEqual(f.Op, "writeproperty") || methodOf(f) != "PUT" {
				t.Errorf("%q writeOnly: form %+v", name, f)
			}
		default:
			if !slicesEqual(f.Op, "readproperty", "writeproperty") || methodOf(f) != "" {
				t.Errorf("%q: form %+v", name, f)
			}
		}
		if p.IsObservable() {
			lp, sse := p.Forms[1], p.Forms[2]
			if lp.Subprotocol != "longpoll" || sse.Subprotocol != "sse" || !slicesEqual(lp.Op, "observeproperty", "unobserveproperty") ||
				methodOf(&lp) != "" || methodOf(&sse) != "" {
				t.Errorf("%q: observe forms %+v %+v", name, lp, sse)
			}
		} else if len(p.Forms) != 1 {
			t.Errorf("%q: %d forms, want 1", name, len(p.Forms))
		}
		if !strings.HasPrefix(f.Href, h.url+"/things/urn:test:lamp/properties/") {
			t.Errorf("%q: href %s", name, f.Href)
		}
		if wo {
			h.expect(204, "PUT", f.Href, `"x"`)
			continue
		}
		_, b := h.expect(200, "GET", f.Href, "")
		if string(b) != val {
			t.Errorf("GET %s (property %q) = %s, want %s", f.Href, name, b, val)
		}
		if !ro {
			h.expect(204, "PUT", f.Href, next)
			if v, _ := h.thing.ReadProperty(context.Background(), name); string(v) != next {
				t.Errorf("PUT %s did not write property %q: %s", f.Href, name, v)
			}
		}
	}
	for name, a := range d.Actions {
		f := &a.Forms[0]
		if !slicesEqual(f.Op, "invokeaction") || methodOf(f) != "POST" || len(a.Forms) != 1 {
			t.Errorf("action %q: forms %+v", name, a.Forms)
		}
	}
	h.thing.HandleAction("a/../b", func(ctx context.Context, in json.RawMessage) (any, error) { return "dots", nil })
	if _, b := h.expect(200, "POST", d.Actions["a/../b"].Forms[0].Href, ""); string(b) != `"dots"` {
		t.Errorf("action a/../b: %s", b)
	}
	for name, e := range d.Events {
		if len(e.Forms) != 2 || e.Forms[0].Subprotocol != "longpoll" || e.Forms[1].Subprotocol != "sse" ||
			!slicesEqual(e.Forms[0].Op, "subscribeevent", "unsubscribeevent") {
			t.Errorf("event %q: forms %+v", name, e.Forms)
		}
	}
	for _, c := range []struct {
		op, sub, method string
		ops             []string
	}{
		{"readallproperties", "", "", []string{"readallproperties", "writemultipleproperties"}},
		{"queryallactions", "", "GET", []string{"queryallactions"}},
		{"observeallproperties", "sse", "", []string{"observeallproperties", "unobserveallproperties"}},
		{"subscribeallevents", "sse", "", []string{"subscribeallevents", "unsubscribeallevents"}},
	} {
		f := formFor(t, d, td.KindThing, "", c.op, c.sub)
		if !slicesEqual(f.Op, c.ops...) || methodOf(f) != c.method {
			t.Errorf("Thing-level %s: form %+v", c.op, f)
		}
	}
}

func slicesEqual(l td.StringList, want ...string) bool {
	if len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

// TestForeignHTTPFormsReplaced serves a TD that already has node-wot style HTTP forms (and a
// form of another protocol): the HTTP ones give way to the binding's, the other stays.
func TestServerForeignHTTPFormsReplaced(t *testing.T) {
	d, err := td.Parse([]byte(`{
	  "@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:test:foreign", "title": "F",
	  "base": "http://192.0.2.1:8080/",
	  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
	  "forms": [{"href": "http://192.0.2.1:8080/f/properties", "op": ["readallproperties"]}],
	  "properties": {"temp": {"type": "number", "readOnly": true, "observable": true, "forms": [
	    {"href": "f/properties/temp", "contentType": "application/json", "op": ["readproperty"], "htv:methodName": "GET"},
	    {"href": "http://192.0.2.1:8080/f/properties/temp", "contentType": "application/cbor", "op": ["readproperty"]},
	    {"href": "https://192.0.2.1:8443/f/properties/temp/observable", "op": ["observeproperty"], "subprotocol": "longpoll"},
	    {"href": "coap://192.0.2.1/temp", "op": ["readproperty"]}
	  ]}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessTD(t, d, ServerLimits{}, nil)
	served := h.servedTD()
	forms := served.Properties["temp"].Forms
	if len(forms) != 4 || forms[0].Href != "coap://192.0.2.1/temp" {
		t.Fatalf("forms: %+v", forms)
	}
	for _, f := range forms[1:] {
		if !strings.HasPrefix(f.Href, h.url+"/") {
			t.Errorf("form %s does not point here", f.Href)
		}
	}
	for _, f := range served.Forms {
		if strings.Contains(f.Href, "192.0.2.1") {
			t.Errorf("foreign Thing-level form kept: %s", f.Href)
		}
	}
	h.thing.SetProperty("temp", 21.5)
	if _, b := h.expect(200, "GET", forms[1].Href, ""); string(b) != "21.5" {
		t.Errorf("read: %s", b)
	}
}

func TestServerPropertyStatuses(t *testing.T) {
	h := newHarness(t, ServerLimits{MaxBodySize: 64})
	p := h.root() + "/properties/"
	h.expect(204, "PUT", p+"level", "42", "Content-Type", "application/json")
	h.expect(204, "PUT", p+"level", "43")                                                       // no Content-Type: JSON
	h.expect(204, "PUT", p+"level", "44", "Content-Type", "application/td+json; charset=UTF-8") // a JSON type
	resp, b := h.expect(200, "GET", p+"level", "", "Accept", "application/json")
	if string(b) != "44" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("read: %s %s", resp.Header.Get("Content-Type"), b)
	}
	h.expect(400, "PUT", p+"level", "101")
	h.expect(400, "PUT", p+"level", `"high"`)
	h.expect(400, "PUT", p+"level", "{")
	h.expect(400, "PUT", p+"level", "")
	h.expect(413, "PUT", p+"level", strings.Repeat(" ", 100)+"1")
	h.expect(415, "PUT", p+"level", "1", "Content-Type", "text/plain")
	h.expect(415, "PUT", p+"level", "1", "Content-Type", "application/json; charset=latin1")
	h.expect(406, "GET", p+"level", "", "Accept", "text/html")
	h.expect(406, "GET", p+"level", "", "Accept", "application/json;q=0")
	h.expect(200, "GET", p+"level", "", "Accept", "text/html, application/*;q=0.5")

	resp, _ = h.expect(405, "PUT", p+"status", `"x"`)
	if a := resp.Header.Get("Allow"); a != "GET, HEAD, OPTIONS" {
		t.Errorf("readOnly Allow: %q", a)
	}
	resp, _ = h.expect(405, "GET", p+"secret", "")
	if a := resp.Header.Get("Allow"); a != "PUT, OPTIONS" {
		t.Errorf("writeOnly Allow: %q", a)
	}
	resp, _ = h.expect(405, "POST", p+"level", "1")
	if a := resp.Header.Get("Allow"); a != "GET, HEAD, PUT, OPTIONS" {
		t.Errorf("Allow: %q", a)
	}
	h.expect(405, "DELETE", p+"level", "")
	h.expect(404, "GET", p+"nope", "")
	h.expect(404, "GET", p+"status/observable", "") // not observable
	h.expect(404, "GET", p+"nope/sse", "", "Accept", "text/event-stream")
	// Not the binding's: the Server answers.
	if resp := h.do("GET", h.url+"/things/urn:test:other/properties/level", ""); resp.StatusCode != 404 {
		t.Errorf("unknown Thing: %d", resp.StatusCode)
	}
	if resp := h.do("GET", h.root()+"/nothing/here", ""); resp.StatusCode != 404 {
		t.Errorf("no route: %d", resp.StatusCode)
	}
	h.expect(404, "POST", h.root()+"/actions/nope", "")
	h.expect(404, "GET", h.root()+"/events/nope", "")

	// readallproperties: readable ones only; writemultipleproperties.
	_, b = h.expect(200, "GET", h.root()+"/properties", "")
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	if _, ok := all["secret"]; ok || string(all["level"]) != "44" {
		t.Errorf("readall: %s", b)
	}
	h.expect(204, "PUT", h.root()+"/properties", `{"level": 5, "on": true}`)
	if v, _ := h.thing.ReadProperty(context.Background(), "on"); string(v) != "true" {
		t.Errorf("writemultiple: on = %s", v)
	}
	h.expect(400, "PUT", h.root()+"/properties", `[1]`)
	h.expect(400, "PUT", h.root()+"/properties", `{"level": -1}`)
	h.expect(405, "POST", h.root()+"/properties", `{}`)

	// The TD path itself stays the Server's.
	resp, _ = h.expect(200, "GET", h.root(), "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/td+json" {
		t.Errorf("TD Content-Type %q", ct)
	}
}

func TestServerHandlerFailureIs500(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	h.thing.HandleRead("level", func(ctx context.Context) (any, error) { return nil, fmt.Errorf("sensor unplugged") })
	_, b := h.expect(500, "GET", h.root()+"/properties/level", "")
	if !strings.Contains(string(b), "sensor unplugged") {
		t.Errorf("problem: %s", b)
	}
	h.thing.HandleRead("on", func(ctx context.Context) (any, error) { return nil, wot.Unavailable("warming up") })
	resp, _ := h.expect(503, "GET", h.root()+"/properties/on", "")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestServerCORS(t *testing.T) {
	h := newHarness(t, ServerLimits{}, wot.WithID("urn:test:lamp"))
	resp, _ := h.expect(204, "OPTIONS", h.root()+"/properties/level", "",
		"Origin", "https://app.example", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization, content-type")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Methods") != "GET, HEAD, PUT, OPTIONS" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "authorization, content-type" {
		t.Errorf("preflight headers: %v", resp.Header)
	}
	resp, _ = h.expect(200, "GET", h.root()+"/properties/level", "", "Origin", "https://app.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("no CORS header: %v", resp.Header)
	}
}

func TestServerPreflightNeedsNoCredentials(t *testing.T) {
	d, _ := td.Parse([]byte(testTD))
	h := newHarnessTD(t, d, ServerLimits{}, []wot.ServerOption{wot.WithAuthenticator(wot.BearerAuth("s3cret"))})
	if resp := h.do("GET", h.root()+"/properties/level", ""); resp.StatusCode != 401 {
		t.Fatalf("no credentials: %d", resp.StatusCode)
	}
	h.expect(204, "OPTIONS", h.root()+"/properties/level", "", "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
	h.expect(200, "GET", h.root()+"/properties/level", "", "Authorization", "Bearer s3cret")
}

func TestServerActions(t *testing.T) {
	// Anonymous HTTP consumers have no session: queryallactions shows them the instances
	// only when the Thing shares them.
	h := newHarness(t, ServerLimits{}, wot.WithSharedActions(true))
	a := h.root() + "/actions/"
	h.thing.HandleAction("toggle", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	h.thing.HandleAction("fade", func(ctx context.Context, in json.RawMessage) (any, error) {
		var n int
		json.Unmarshal(in, &n)
		return n * 2, nil
	})
	release := make(chan struct{})
	h.thing.HandleAction("slow", func(ctx context.Context, in json.RawMessage) (any, error) {
		if string(in) == "2" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		select {
		case <-release:
			return 99, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})

	resp, b := h.expect(204, "POST", a+"toggle", "")
	if len(b) != 0 || resp.Header.Get("Content-Type") != "" {
		t.Errorf("204 with body %q / Content-Type %q", b, resp.Header.Get("Content-Type"))
	}
	if _, b := h.expect(200, "POST", a+"fade", "21"); string(b) != "42" {
		t.Errorf("fade: %s", b)
	}
	h.expect(400, "POST", a+"fade", `"x"`)
	h.expect(405, "GET", a+"fade", "")
	h.expect(406, "POST", a+"fade", "1", "Accept", "text/plain")

	// Asynchronous: 201 + Location + ActionStatus.
	resp, b = h.expect(201, "POST", a+"slow", "1")
	loc := resp.Header.Get("Location")
	var st struct {
		Status, Href, TimeRequested, TimeEnded string
		Output                                 json.RawMessage
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, h.root()+"/actions/slow/") || st.Href != loc || st.Status != "pending" && st.Status != "running" || st.TimeRequested == "" {
		t.Fatalf("201: Location %q body %s", loc, b)
	}
	if _, err := time.Parse(time.RFC3339Nano, st.TimeRequested); err != nil {
		t.Errorf("timeRequested: %v", err)
	}
	_, b = h.expect(200, "GET", loc, "")
	json.Unmarshal(b, &st)
	if st.Status != "pending" && st.Status != "running" {
		t.Errorf("queryaction while running: %s", b)
	}
	// The instance is not reachable under another action's name.
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	h.expect(404, "GET", a+"fade/"+id, "")
	h.expect(405, "PUT", loc, "1")

	// queryallactions lists it.
	_, b = h.expect(200, "GET", h.root()+"/actions", "")
	var all map[string][]struct{ Status, Href string }
	if err := json.Unmarshal(b, &all); err != nil || len(all["slow"]) != 1 || all["slow"][0].Href != loc {
		t.Errorf("queryallactions: %s (%v)", b, err)
	}

	close(release)
	eventually(t, "the action to complete", func() bool {
		_, b := h.expect(200, "GET", loc, "")
		json.Unmarshal(b, &st)
		return st.Status == "completed"
	})
	if string(st.Output) != "99" || st.TimeEnded == "" {
		t.Errorf("completed status: %+v", st)
	}

	// cancelaction: 204, then 404.
	resp, _ = h.expect(201, "POST", a+"slow", "2")
	loc2 := resp.Header.Get("Location")
	h.expect(204, "DELETE", loc2, "")
	h.expect(404, "GET", loc2, "")
	h.expect(404, "DELETE", loc2, "")
	h.expect(404, "GET", a+"slow/not-an-id", "")
}

// TestLongPoll: HEAD answers at once, GET is held past the server's write timeout and
// answers one value; values between two polls of the same connection are not lost.
func TestServerLongPoll(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	u := h.root() + "/properties/level/observable"

	start := time.Now()
	h.expect(200, "HEAD", u, "")
	if time.Since(start) > time.Second {
		t.Fatal("HEAD was held")
	}

	type result struct {
		body, id string
		err      error
	}
	poll := func(hdr ...string) chan result {
		c := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest("GET", u, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := pollClient.Do(req)
			if err != nil {
				c <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
			}
			c <- result{body: string(b), id: resp.Header.Get("Last-Event-ID"), err: err}
		}()
		return c
	}
	c := poll()
	eventually(t, "the poll to be held", func() bool { return h.bind.activeStreams() == 1 })
	time.Sleep(testWriteTimeout + 200*time.Millisecond) // outlive the server's WriteTimeout on purpose
	h.thing.SetProperty("level", 1)
	r := <-c
	if r.err != nil || r.body != "1" || r.id == "" {
		t.Fatalf("first poll: %+v", r)
	}
	// Two changes while no poll is pending: the next polls get both, in order.
	h.thing.SetProperty("level", 2)
	h.thing.SetProperty("level", 3)
	if r := <-poll(); r.err != nil || r.body != "2" {
		t.Fatalf("second poll: %+v", r)
	}
	r3 := <-poll()
	if r3.err != nil || r3.body != "3" {
		t.Fatalf("third poll: %+v", r3)
	}
	// Explicit resumption with Last-Event-ID, on any connection.
	h.thing.SetProperty("level", 4)
	h.thing.SetProperty("level", 5)
	if r := <-poll("Last-Event-ID", r3.id, "Connection", "close"); r.err != nil || r.body != "4" {
		t.Fatalf("resumed poll: %+v", r)
	}

	// Events: one value per response, an event without data is an empty 200.
	eventually(t, "no poll to be held", func() bool { return h.bind.activeStreams() == 0 })
	ev := h.root() + "/events/ping"
	c2 := make(chan *http.Response, 1)
	go func() {
		resp, err := pollClient.Get(ev)
		if err == nil {
			c2 <- resp
		}
		close(c2)
	}()
	eventually(t, "the event poll to be held", func() bool { return h.bind.activeStreams() == 1 })
	h.thing.EmitEvent("ping", nil)
	resp := <-c2
	if resp == nil {
		t.Fatal("event poll failed")
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 || resp.Header.Get("Last-Event-ID") == "" {
		t.Errorf("dataless event: %d %q %v", resp.StatusCode, b, resp.Header)
	}
}

// TestLongPollDisconnect: a consumer that goes away while its poll is held leaves nothing
// behind.
func TestServerLongPollDisconnect(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	http.DefaultClient.CloseIdleConnections()
	base := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequestWithContext(ctx, "GET", h.root()+"/events/alarm", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		eventually(t, "the poll to be held", func() bool { return h.bind.activeStreams() == 1 })
		cancel()
		<-done
		eventually(t, "the poll to be released", func() bool { return h.bind.activeStreams() == 0 })
	}
	// The same for SSE streams, per affordance and Thing-level.
	for i := 0; i < 10; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		for _, u := range []string{h.root() + "/events/alarm/sse", h.root() + "/sse/properties"} {
			h.openSSE(ctx, u, "")
		}
		eventually(t, "the streams to open", func() bool { return h.bind.activeStreams() == 2 })
		h.thing.EmitEvent("alarm", "x")
		cancel()
		eventually(t, "the streams to be released", func() bool { return h.bind.activeStreams() == 0 })
	}
	http.DefaultClient.CloseIdleConnections()
	noLeak(t, base)
}

func TestServerStreamLimitAndShutdown(t *testing.T) {
	h := newHarness(t, ServerLimits{MaxStreams: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := h.openSSE(ctx, h.root()+"/sse/events", "")
	defer s.close()
	resp, _ := h.expect(503, "GET", h.root()+"/events/alarm", "")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := h.bind.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.next(); err == nil {
		t.Error("stream still open after Shutdown")
	}
}

func TestServerRouteParsing(t *testing.T) {
	for _, name := range []string{"", ".", "..", "...", "~", "~x", "a/b", "a b", "ü", "%2F", "x/properties/y", "?#"} {
		seg := encodeName(name)
		if strings.ContainsAny(seg, "/?#") || seg == "." || seg == ".." || seg == "" {
			t.Errorf("encodeName(%q) = %q", name, seg)
		}
		s := newServerBinding(ServerLimits{})
		e := &entry{path: "/t", props: map[string]propInfo{name: {}}}
		s.byPath["/t"] = e
		_, rt, ok, known := s.match("/t/properties/" + seg)
		if !ok || !known || rt.kind != rProp || rt.name != name {
			t.Errorf("%q → %q → %+v %v %v", name, seg, rt, ok, known)
		}
	}
	s := newServerBinding(ServerLimits{})
	s.byPath["/a"] = &entry{path: "/a", props: map[string]propInfo{"x": {}}}
	s.byPath["/a/properties"] = &entry{path: "/a/properties", props: map[string]propInfo{}}
	if e, rt, ok, _ := s.match("/a/properties/x"); !ok || e.path != "/a" || rt.name != "x" {
		t.Errorf("nested TD paths: %v %+v", ok, rt)
	}
	for _, p := range []string{"/wtp", "/", "/a", "/a/other", "/a/properties/x/y/z", "/a/%zz/properties"} {
		if _, _, ok, _ := s.match(p); ok {
			t.Errorf("%s routed", p)
		}
	}
}

// TestServerThingAtRoot serves a Thing whose TD is at "/": its routes start at the root.
func TestServerThingAtRoot(t *testing.T) {
	d, _ := td.Parse([]byte(testTD))
	h := newHarnessTD(t, d, ServerLimits{}, nil, wot.WithTDPath("/"))
	served := h.servedTD()
	f := formFor(t, served, td.KindProperty, "level", td.OpReadProperty, "")
	if f.Href != h.url+"/properties/level" {
		t.Fatalf("href %s", f.Href)
	}
	h.thing.SetProperty("level", 3)
	if _, b := h.expect(200, "GET", f.Href, ""); string(b) != "3" {
		t.Errorf("read: %s", b)
	}
	if resp := h.do("GET", h.url+"/wtp", ""); resp.StatusCode != 404 {
		t.Errorf("/wtp: %d", resp.StatusCode)
	}
}

// FuzzServerRoute: any affordance name survives encodeName and routing, and no request
// path makes the router panic.
func FuzzServerRoute(f *testing.F) {
	for _, s := range []string{"", ".", "..", "~", "a/b", "%2F", "x/properties/y", "ü", "\x00", "a%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := newServerBinding(ServerLimits{})
		s.byPath["/t"] = &entry{path: "/t", props: map[string]propInfo{name: {observable: true}}, events: map[string]bool{name: true}}
		for _, suffix := range []string{"", "/observable", "/sse"} {
			_, rt, ok, known := s.match("/t/properties/" + encodeName(name) + suffix)
			if !ok || !known || rt.name != name {
				t.Fatalf("%q%s: %+v %v %v", name, suffix, rt, ok, known)
			}
		}
		s.match(name)
		s.match("/" + name)
		s.match("/t/" + name)
		s.match("/t/actions/" + name + "/" + name)
	})
}
