package discovery

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The directory server's own tests (internal/directory) run this client against the real server;
// these cover what other directories send: joined Link headers, bare-URN Locations, SSE details.

func TestNextLink(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{`</things?offset=10&limit=10>; rel="next"`, `</things>; rel="canonical"; etag="v1"`}, "/things?offset=10&limit=10"},
		{[]string{`</things>; rel="canonical"; etag="a,b", </things?offset=2&limit=2>; rel=next`}, "/things?offset=2&limit=2"},
		{[]string{`<http://x/things?a=1,2>; rel="prev next"`}, "http://x/things?a=1,2"},
		{[]string{`</things>; rel="canonical"`}, ""},
		{[]string{`garbage`}, ""},
		{[]string{`garbage; rel=next`}, ""},
		{[]string{`</a,b>; rel="next"`}, "/a,b"},
		{[]string{`</things>; rel="canonical"; etag="v1"`, `</things?offset=2>; rel=next`}, "/things?offset=2"},
	} {
		if got := nextLink(c.in); got != c.want {
			t.Errorf("nextLink(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRegisterLocation(t *testing.T) {
	for _, c := range []struct{ loc, want string }{
		{"/things/urn:uuid:1234", "urn:uuid:1234"},
		{"urn:uuid:5678", "urn:uuid:5678"},                // TinyIoT and Domus send the bare id
		{"things/https%3A%2F%2Fx%2Fy", "https://x/y"},     // relative, escaped
		{"http://HOST/things/urn:a", "urn:a"},             // absolute
		{"http://elsewhere.example/other/urn:a", "error"}, // not under /things/
	} {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", strings.ReplaceAll(c.loc, "http://HOST", srv.URL))
			w.WriteHeader(http.StatusCreated)
		}))
		d, _ := NewDirectory(srv.URL)
		id, err := d.RegisterJSON(context.Background(), []byte(`{}`))
		srv.Close()
		if c.want == "error" {
			if err == nil {
				t.Errorf("Location %q: got id %q, want an error", c.loc, id)
			}
			continue
		}
		if err != nil || id != c.want {
			t.Errorf("Location %q: id %q, err %v; want %q", c.loc, id, err, c.want)
		}
	}
}

func TestDirectoryErrorProblem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"title": "Bad Request", "status": 400, "detail": "invalid", "validationErrors": [{"field": "(root)", "description": "security is required"}]}`)
	}))
	defer srv.Close()
	d, _ := NewDirectory(srv.URL + "/tdd")
	_, err := d.CreateJSON(context.Background(), "urn:x", []byte(`{}`))
	de, ok := err.(*DirectoryError)
	if !ok || de.StatusCode != 400 || len(de.ValidationErrors) != 1 || !strings.Contains(err.Error(), "security is required") {
		t.Fatalf("error %#v", err)
	}
	if !IsDirectoryStatus(err, 400) || IsDirectoryStatus(err, 404) {
		t.Fatal("IsDirectoryStatus")
	}
}

// TestEventsReconnect: multi-line data, comments and retry are parsed; after a drop the client sends
// the last id it saw; a 4xx on reconnection ends the stream with that error.
func TestEventsReconnect(t *testing.T) {
	var mu sync.Mutex
	var seen []string // Last-Event-ID of each connection
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Last-Event-ID"))
		n := len(seen)
		mu.Unlock()
		if r.URL.Path != "/events/thing_created" || r.URL.Query().Get("diff") != "true" {
			http.Error(w, "wrong URL "+r.URL.String(), 500)
			return
		}
		switch n {
		case 1:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "retry: 10\n: comment\n\nid: 7\nevent: thing_created\ndata: {\"id\":\ndata:  \"urn:a\"}\n\n")
		case 2:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "event: thing_created\nid: 8\ndata: {\"id\": \"urn:b\"}\n\n")
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"title": "Forbidden", "status": 403}`)
		}
	}))
	defer srv.Close()
	d, _ := NewDirectory(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Events(ctx, DirectoryEventsOptions{Type: EventThingCreated, Diff: true, MaxRetry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, err := s.Next(ctx)
	if err != nil || ev.ID != "7" || ev.ThingID != "urn:a" || ev.Type != EventThingCreated || string(ev.Data) != "{\"id\":\n \"urn:a\"}" {
		t.Fatalf("first event %+v %v", ev, err)
	}
	ev, err = s.Next(ctx)
	if err != nil || ev.ID != "8" || ev.ThingID != "urn:b" {
		t.Fatalf("second event %+v %v", ev, err)
	}
	if _, err = s.Next(ctx); !IsDirectoryStatus(err, 403) {
		t.Fatalf("after a refused reconnection: %v, want the 403", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != ",7,8" {
		t.Fatalf("Last-Event-ID per connection %q, want \"\", 7, 8", seen)
	}
	if _, err := d.Events(ctx, DirectoryEventsOptions{Type: "thing_renamed"}); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestStripEnrichment(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"@context": ["https://www.w3.org/2022/wot/td/v1.1", "https://www.w3.org/2022/wot/discovery"], "title": "A", "registration": {"created": "2030-01-01T00:00:00Z"}}`,
			`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"A"}`},
		{`{"@context": ["https://www.w3.org/2022/wot/td/v1.1", {"saref": "https://saref.etsi.org/core/"}, "https://www.w3.org/2022/wot/discovery"], "registration": {}}`,
			`{"@context":["https://www.w3.org/2022/wot/td/v1.1",{"saref":"https://saref.etsi.org/core/"}]}`},
		// Without a registration member nothing is the directory's: the discovery context stays.
		{`{"@context": ["https://www.w3.org/2022/wot/td/v1.1", "https://www.w3.org/2022/wot/discovery"], "@type": "ThingDirectory"}`, ""},
		{`not json`, ""},
		{`[1, 2]`, ""},
	} {
		want := c.want
		if want == "" {
			want = c.in
		}
		if got := string(StripEnrichment([]byte(c.in))); got != want {
			t.Errorf("StripEnrichment(%s) = %s, want %s", c.in, got, want)
		}
	}
}
