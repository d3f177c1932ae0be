package nodewot

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// What node-wot's consumer puts on the wire for each operation, recorded through a proxy against
// node-wot's own Thing. An HTTP server binding must accept exactly this. Run with -v for the
// transcript.
func TestConsumerExchanges(t *testing.T) {
	env := Require(t)
	thing := env.StartThing(t)
	rec := NewRecorder(t, "http://127.0.0.1:"+strconv.Itoa(thing.Port))
	env.Consume(t, rec.URL(thing.TD), fullPlan()).RequireOK(t)
	ex := rec.Exchanges()
	t.Log(Transcript(ex))

	find := func(method, path string) []Exchange {
		var out []Exchange
		for _, e := range ex {
			if e.Method == method && e.RequestURI == path {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			t.Fatalf("no %s %s recorded", method, path)
		}
		return out
	}
	check := func(e Exchange, field, want string) {
		t.Helper()
		if got := strings.Join(e.Header.Values(field), ", "); got != want {
			t.Errorf("%s %s: %s = %q, want %q", e.Method, e.RequestURI, field, got, want)
		}
	}
	chunked := func(e Exchange) {
		t.Helper()
		if !slices.Equal(e.TransferEncoding, []string{"chunked"}) {
			t.Errorf("%s %s: body framing %v (length %d), want chunked", e.Method, e.RequestURI, e.TransferEncoding, e.ContentLength)
		}
	}

	for _, e := range ex {
		check(e, "Connection", "close") // node-fetch without keep-alive: one request per connection
	}
	// The TD request ignores its own Accept: application/td+json and sends node-fetch's default.
	check(find("GET", "/testthing")[0], "Accept", "*/*")

	read := find("GET", "/testthing/properties/count")[0]
	check(read, "Accept", "application/json")
	check(read, "Content-Type", "")

	write := find("PUT", "/testthing/properties/count")[0]
	check(write, "Accept", "*/*")
	check(write, "Content-Type", "application/json")
	chunked(write)
	if string(write.Body) != "42" {
		t.Errorf("writeproperty body %q, want 42", write.Body)
	}

	withInput := find("POST", "/testthing/actions/add")[0]
	check(withInput, "Accept", "application/json")
	check(withInput, "Content-Type", "application/json")
	chunked(withInput)
	if string(withInput.Body) != `{"a":1,"b":2.5}` {
		t.Errorf("invokeaction add body %q", withInput.Body)
	}
	noInput := find("POST", "/testthing/actions/bump")[0]
	check(noInput, "Accept", "application/json")
	check(noInput, "Content-Type", "")
	if noInput.ContentLength != 0 || len(noInput.TransferEncoding) != 0 || len(noInput.Body) != 0 {
		t.Errorf("invokeaction bump: length %d framing %v body %q, want Content-Length: 0", noInput.ContentLength, noInput.TransferEncoding, noInput.Body)
	}

	// Observation and events: a HEAD handshake, then GETs with Accept */*, one value per GET.
	for _, path := range []string{"/testthing/properties/level/observable", "/testthing/properties/count/observable", "/testthing/events/alarm"} {
		head := find("HEAD", path)
		gets := find("GET", path)
		check(head[0], "Accept", "*/*")
		check(gets[0], "Accept", "*/*")
		if slices.IndexFunc(ex, func(e Exchange) bool { return e.Method == "HEAD" && e.RequestURI == path }) >
			slices.IndexFunc(ex, func(e Exchange) bool { return e.Method == "GET" && e.RequestURI == path }) {
			t.Errorf("%s: GET before HEAD", path)
		}
		if len(head) != 1 || head[0].Status != 202 {
			t.Errorf("%s: %d HEADs, first answered %d; want one, 202 from node-wot", path, len(head), head[0].Status)
		}
	}
	if n := len(find("GET", "/testthing/events/alarm")); n < 2 {
		t.Errorf("two alarms came over %d GETs, want one GET per event", n)
	}
}
