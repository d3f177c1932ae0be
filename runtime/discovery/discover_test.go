package discovery

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/netnstest"
	"github.com/wotgen/wotgen/runtime/td"
)

func tdJSON(id, title string) string {
	idm := ""
	if id != "" {
		idm = fmt.Sprintf(`"id": %q, `, id)
	}
	return fmt.Sprintf(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", %s"title": %q, "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
 "properties": {"on": {"type": "boolean", "forms": [{"href": "/on"}]}}}`, idm, title)
}

// noLeak fails the test if a goroutine running this package's code outlives it (a hand-written
// goleak): it polls until they are gone or a deadline passes.
func noLeak(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			leaked := leakedGoroutines()
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutine(s) of package discovery still running:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "wotgen/runtime/discovery.") && !strings.Contains(g, "testing.tRunner") &&
			!strings.Contains(g, "discovery.Test") && !strings.Contains(g, "discovery.noLeak") {
			out = append(out, g)
		}
	}
	return out
}

// collect runs Discover to its end.
func collect(t *testing.T, ctx context.Context, f Filter) ([]Result, []error) {
	t.Helper()
	var res []Result
	var errs []error
	for r, err := range Discover(ctx, f) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res = append(res, r)
	}
	return res, errs
}

func TestDiscoverWellKnown(t *testing.T) {
	noLeak(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/wot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/td+json")
		fmt.Fprint(w, tdJSON("urn:dev:lamp", "Lamp"))
	})
	mux.HandleFunc("/many", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "[%s, %s, 42, {\"x\": 1}]", tdJSON("urn:dev:a", "A"), tdJSON("", "Anonymous"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, errs := collect(t, context.Background(), Filter{URLs: []string{srv.URL, srv.URL + "/many"}})
	byTitle := map[string]Result{}
	for _, r := range res {
		byTitle[r.Thing.Title] = r
	}
	if len(res) != 3 || byTitle["Lamp"].URL != srv.URL+"/.well-known/wot" || byTitle["Lamp"].Source != SourceURL ||
		byTitle["A"].URL != srv.URL+"/many" || byTitle["Anonymous"].Thing == nil {
		t.Errorf("results = %+v", res)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "element 2: a JSON number, not a TD object") ||
		!strings.Contains(errs[0].Error(), "element 3: a JSON object with neither @context nor title") {
		t.Errorf("errors = %v", errs)
	}
	var de *Error
	if len(errs) == 1 && (!errors.As(errs[0], &de) || de.Source != SourceURL || de.Via != srv.URL+"/many") {
		t.Errorf("error is not a *Error naming the URL: %#v", errs[0])
	}
}

// fakeDirectory is a fake Thing Description Directory with paginated listing and JSONPath search.
type fakeDirectory struct {
	tds      []string
	pageSize int
	joined   bool // one comma-joined Link header instead of several
	queries  []string
}

func (d *fakeDirectory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/things":
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		end := min(off+d.pageSize, len(d.tds))
		w.Header().Set("Content-Type", "application/ld+json")
		if end < len(d.tds) {
			next := fmt.Sprintf(`</things?offset=%d&limit=%d>; rel="next"`, end, d.pageSize)
			if d.joined {
				w.Header().Set("Link", `</things>; rel="canonical"; etag="v1", `+next)
			} else {
				w.Header().Add("Link", `</things>; rel="canonical"`)
				w.Header().Add("Link", next)
			}
		}
		fmt.Fprintf(w, "[%s]", strings.Join(d.tds[off:end], ","))
	case "/search/jsonpath":
		d.queries = append(d.queries, r.URL.Query().Get("query"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[%s, "just a title"]`, d.tds[0])
	default:
		http.NotFound(w, r)
	}
}

func TestDiscoverDirectoryPagination(t *testing.T) {
	noLeak(t)
	for _, joined := range []bool{false, true} {
		d := &fakeDirectory{pageSize: 3, joined: joined}
		for i := range 10 {
			d.tds = append(d.tds, tdJSON(fmt.Sprintf("urn:dev:%d", i), fmt.Sprintf("Thing %d", i)))
		}
		srv := httptest.NewServer(d)
		res, errs := collect(t, context.Background(), Filter{Directories: []string{srv.URL}})
		srv.Close()
		if len(errs) > 0 || len(res) != 10 {
			t.Fatalf("joined=%v: %d results, errors %v", joined, len(res), errs)
		}
		for i, r := range res {
			if want := fmt.Sprintf("%s/things/urn:dev:%d", srv.URL, i); r.URL != want || r.Source != SourceDirectory {
				t.Errorf("result %d: %s from %s, want %s", i, r.URL, r.Source, want)
			}
		}
	}
}

func TestDiscoverDirectoryQuery(t *testing.T) {
	noLeak(t)
	d := &fakeDirectory{tds: []string{tdJSON("urn:dev:lamp", "Lamp")}, pageSize: 10}
	srv := httptest.NewServer(d)
	defer srv.Close()
	q := "$[?(@.title=='Lamp')]"
	res, errs := collect(t, context.Background(), Filter{Directories: []string{srv.URL + "/things"}, Query: q})
	if len(res) != 1 || res[0].Thing.ID != "urn:dev:lamp" || len(d.queries) != 1 || d.queries[0] != q {
		t.Errorf("results %+v, queries %v", res, d.queries)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "a JSON string, not a TD object; query for whole TDs") {
		t.Errorf("errors = %v", errs)
	}
}

// TestDiscoverMergesSources finds one Thing through a URL, a directory given by URL and a
// directory found through its own TD (expanded), and yields it once; Fragment filters.
func TestDiscoverMergesSources(t *testing.T) {
	noLeak(t)
	lamp := tdJSON("urn:dev:lamp", "Lamp")
	d := &fakeDirectory{tds: []string{lamp, tdJSON("urn:dev:fan", "Fan")}, pageSize: 1}
	mux := http.NewServeMux()
	mux.Handle("/things", d)
	mux.HandleFunc("/.well-known/wot", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"@context": ["https://www.w3.org/2022/wot/td/v1.1", "https://www.w3.org/2022/wot/discovery"],
		 "@type": "ThingDirectory", "title": "TDD", "id": "urn:dev:tdd", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
		 "properties": {"things": {"type": "array", "readOnly": true, "forms": [{"href": "/things{?offset,limit,format}"}]}}}`)
	})
	mux.HandleFunc("/lamp", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, lamp) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, errs := collect(t, context.Background(), Filter{URLs: []string{srv.URL + "/lamp", srv.URL}, Directories: []string{srv.URL}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ids := map[string]int{}
	for _, r := range res {
		ids[r.Thing.ID]++
	}
	if len(res) != 3 || ids["urn:dev:lamp"] != 1 || ids["urn:dev:fan"] != 1 || ids["urn:dev:tdd"] != 1 {
		t.Errorf("results: %v", ids)
	}

	res, _ = collect(t, context.Background(), Filter{URLs: []string{srv.URL}, Fragment: map[string]any{"title": "Fan"}})
	if len(res) != 1 || res[0].Thing.ID != "urn:dev:fan" {
		t.Errorf("fragment filter: %+v", res)
	}
	res, _ = collect(t, context.Background(), Filter{URLs: []string{srv.URL}, NoExpand: true})
	if len(res) != 1 || !IsDirectory(res[0].Thing) {
		t.Errorf("NoExpand: %+v", res)
	}
}

func TestDiscoverBadInput(t *testing.T) {
	noLeak(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "\x00\x01not json") })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html><body>hello</body></html>") })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat(" ", 1<<20)
		fmt.Fprint(w, "[")
		for range 10 {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/loop/things", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ld+json")
		w.Header().Set("Link", `</loop/things?x=1>; rel="next"`)
		fmt.Fprint(w, "[]")
	})
	mux.HandleFunc("/away/things", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ld+json")
		w.Header().Set("Link", `<http://198.51.100.7/things?page=2>; rel="next"`)
		fmt.Fprint(w, "[]")
	})
	mux.HandleFunc("/notjson/things", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "[]")
	})
	mux.HandleFunc("/problem/things", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"title": "Bad Request", "status": 400, "detail": "limit must be positive"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	start := time.Now()
	cases := []struct {
		f    Filter
		want string
	}{
		{Filter{URLs: []string{srv.URL + "/garbage"}}, `not JSON: starts with "\x00\x01not json"`},
		{Filter{URLs: []string{srv.URL + "/html"}}, "got HTML or XML, not JSON"},
		{Filter{URLs: []string{srv.URL + "/huge"}}, "document too large: more than 8388608 bytes"},
		{Filter{URLs: []string{srv.URL + "/missing"}}, "HTTP 404 Not Found"},
		{Filter{URLs: []string{"ftp://example.com/td"}}, "want an http:// or https:// URL"},
		{Filter{Directories: []string{srv.URL + "/loop"}}, "the next link loops back"},
		{Filter{Directories: []string{srv.URL + "/away"}}, "leads to another origin"},
		{Filter{Directories: []string{srv.URL + "/notjson"}}, "Content-Type text/plain, want JSON"},
		{Filter{Directories: []string{srv.URL + "/problem"}}, "400 Bad Request: limit must be positive"},
		{Filter{Directories: []string{srv.URL + "/missing"}, Query: "$"}, "offers no JSONPath search"},
		{Filter{}, "no source"},
	}
	for _, c := range cases {
		res, errs := collect(t, context.Background(), c.f)
		if len(res) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%+v: results %v, errors %v; want one error containing %q", c.f, res, errs, c.want)
		}
	}
	t.Logf("%d bad inputs rejected in %v", len(cases), time.Since(start))
}

// TestDiscoverCancel: a source that never answers does not keep Discover alive past its timeout,
// a cancelled context or a break, and nothing is left running.
func TestDiscoverCancel(t *testing.T) {
	noLeak(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, tdJSON("urn:dev:quick", "Quick"))
	}))
	defer quick.Close()
	f := Filter{URLs: []string{hang.URL + "/td", quick.URL + "/td"}, Directories: []string{hang.URL}}

	start := time.Now()
	f.Timeout = 300 * time.Millisecond
	res, errs := collect(t, context.Background(), f)
	if d := time.Since(start); d > 3*time.Second || len(res) != 1 || len(errs) != 0 {
		t.Errorf("timeout: took %v, results %v, errors %v", d, res, errs)
	}
	t.Logf("timeout of 300ms ended Discover after %v", time.Since(start))

	f.Timeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	start = time.Now()
	for r, err := range Discover(ctx, f) {
		if err != nil {
			t.Errorf("error before cancel: %v", err)
		}
		if r.Thing != nil {
			cancel()
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel: took %v", d)
	}

	start = time.Now()
	for range Discover(context.Background(), f) {
		break
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("break: took %v", d)
	}
	cancel()
}

func TestWellKnownURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8080":                   "http://h:8080/.well-known/wot",
		"http://h:8080/":                  "http://h:8080/.well-known/wot",
		"https://h/things/lamp":           "https://h/things/lamp",
		"http://h/.well-known/wot?x=1":    "http://h/.well-known/wot?x=1",
		"coap://h/.well-known/core":       "",
		"h:8080":                          "",
		"http:///nohost/.well-known/wot":  "",
		"javascript:alert(1)":             "",
		"http://[::1]:8080":               "http://[::1]:8080/.well-known/wot",
		"http://user:pw@h:1/":             "http://user:pw@h:1/.well-known/wot",
		"https://h/a%2Fb/.well-known/wot": "https://h/a%2Fb/.well-known/wot",
	} {
		got, err := WellKnownURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("WellKnownURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestTDURL(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.7")}
	for _, c := range []struct{ td, want, err string }{
		{"/.well-known/wot", "http://192.0.2.7:80/.well-known/wot", ""},
		{"/td?format=json#frag", "http://192.0.2.7:80/td?format=json", ""},
		{"/a/../../etc/passwd", "http://192.0.2.7:80/etc/passwd", ""},
		{"/caf%C3%A9", "http://192.0.2.7:80/caf%C3%A9", ""},
		{"http://192.0.2.7:8080/td", "http://192.0.2.7:8080/td", ""},
		{"http://Host.local./td", "http://192.0.2.7:80/td", ""},
		{"", "", "no td key"},
		{"//evil.example/td", "", "points away"},
		{"http://evil.example/td", "", "points away"},
		{"https://host.local/td", "", "points away"}, // scheme differs from the announced one
		{"http://u:p@host.local/td", "", "points away"},
		{"/a b", "", "control character"},
		{"/a\\b", "", "backslash"},
		{"td", "", "not an absolute path"},
		{"/%zz", "", "not a URL path"},
	} {
		got, err := tdURL("http", "192.0.2.7:80", c.td, "host.local.", addrs)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("tdURL(%q) = %q, %v; want error containing %q", c.td, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("tdURL(%q) = %q, %v; want %q", c.td, got, err, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, s := range []string{"Lamp", "Farm TDD.v2 (main)", `a\b"c;d@e$f`, "Lämpe ☀", "tab\there"} {
		if got := unescapeLabel(escapeLabel(s)); got != s {
			t.Errorf("round trip %q → %q → %q", s, escapeLabel(s), got)
		}
	}
	if got := cutUTF8(strings.Repeat("ä", 40), 63); len(got) != 62 {
		t.Errorf("cutUTF8 = %d bytes, want 62 (no split character)", len(got))
	}
	if got := hostLabel("My_Host.example.com"); got != "my-host" {
		t.Errorf("hostLabel = %q", got)
	}
}

// TestDiscoverMDNSNetns is the headline in one package: a Thing and a directory, each
// served over HTTP on 127.0.0.1 and announced over DNS-SD, are found by Discover with no URL given;
// the directory is listed, and a Thing both announced and listed is yielded once.
func TestDiscoverMDNSNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	noLeak(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lamp := tdJSON("urn:dev:lamp", "Lamp")
	thingSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != WellKnownPath {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, lamp)
	}))
	defer thingSrv.Close()
	d := &fakeDirectory{tds: []string{lamp, tdJSON("urn:dev:fan", "Fan")}, pageSize: 1}
	mux := http.NewServeMux()
	mux.Handle("/things", d)
	mux.HandleFunc("/tdd", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "ThingDirectory", "title": "TDD", "id": "urn:dev:tdd",
		 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n", "properties": {}}`)
	})
	dirSrv := httptest.NewServer(mux)
	defer dirSrv.Close()

	actx, stop := context.WithCancel(ctx)
	defer stop()
	for _, a := range []Announcement{
		{Instance: "Lamp", Port: port(t, thingSrv.URL), TDPath: WellKnownPath, Addrs: loopback},
		{Instance: "TDD", Port: port(t, dirSrv.URL), TDPath: "/tdd", Type: TypeDirectory, Addrs: loopback},
	} {
		if _, err := Announce(actx, a); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	found := map[string]Result{}
	for r, err := range Discover(ctx, Filter{MDNS: true, Timeout: 20 * time.Second}) {
		if err != nil {
			t.Errorf("discover: %v", err)
			continue
		}
		if _, dup := found[r.Thing.ID]; dup {
			t.Errorf("%s yielded twice", r.Thing.ID)
		}
		found[r.Thing.ID] = r
		if len(found) == 3 {
			break
		}
	}
	t.Logf("Discover over mDNS found %d TDs in %v", len(found), time.Since(start))
	if r := found["urn:dev:tdd"]; r.URL != dirSrv.URL+"/tdd" || r.Source != SourceMDNS || r.Via != "TDD" {
		t.Errorf("directory: %+v", r)
	}
	if r := found["urn:dev:fan"]; r.URL != dirSrv.URL+"/things/urn:dev:fan" || r.Source != SourceDirectory {
		t.Errorf("fan: %+v", r)
	}
	if _, ok := found["urn:dev:lamp"]; !ok {
		t.Errorf("lamp not found: %v", found)
	}
	stop()
}

func port(t *testing.T, raw string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(raw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// listerFunc adapts a function to Lister, as a full directory client would satisfy it.
type listerFunc func(ctx context.Context, pageSize int) iter.Seq2[*td.Thing, error]

func (f listerFunc) List(ctx context.Context, pageSize int) iter.Seq2[*td.Thing, error] {
	return f(ctx, pageSize)
}

func TestDiscoverDirectoryClient(t *testing.T) {
	noLeak(t)
	client := listerFunc(func(ctx context.Context, pageSize int) iter.Seq2[*td.Thing, error] {
		return func(yield func(*td.Thing, error) bool) {
			for _, raw := range []string{tdJSON("urn:dev:a", "A"), tdJSON("urn:dev:a", "A again"), tdJSON("urn:dev:b", "B")} {
				th, err := td.Parse([]byte(raw))
				if !yield(th, err) {
					return
				}
			}
			yield(nil, errors.New("page 2: HTTP 503"))
		}
	})
	res, errs := collect(t, context.Background(), Filter{DirectoryClients: []Lister{client}})
	if len(res) != 2 || res[0].Thing.Title != "A" || res[1].Thing.ID != "urn:dev:b" || res[0].Source != SourceDirectory {
		t.Errorf("results %+v", res)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "directory client 0: page 2: HTTP 503") {
		t.Errorf("errors %v", errs)
	}

	// The directory client asks for pageSize when given one.
	var limits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limits = append(limits, r.URL.Query().Get("limit"))
		w.Header().Set("Content-Type", "application/ld+json")
		fmt.Fprint(w, "[]")
	}))
	defer srv.Close()
	l, err := NewDirectory(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range l.List(context.Background(), 7) {
	}
	if len(limits) != 1 || limits[0] != "7" {
		t.Errorf("limits sent: %v", limits)
	}
}

// linkJSON is a Thing Link pointing at href.
func linkJSON(id, href string) string {
	return fmt.Sprintf(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "ThingLink", "id": %q, "title": "link",
 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
 "links": [{"rel": "describedby", "type": "application/td+json", "href": %q}]}`, id, href)
}

// Thing Links are followed to the TD they point at, once per target; loops, long chains and
// hostile targets end with an error, and NoExpand leaves links alone.
func TestDiscoverFollowsThingLinks(t *testing.T) {
	noLeak(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/wot", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, linkJSON("urn:link:1", "/tds/lamp")) })
	mux.HandleFunc("/tds/lamp", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tdJSON("urn:dev:lamp", "Lamp")) })
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, linkJSON("urn:link:a", "b")) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, linkJSON("urn:link:b", "a")) })
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		fmt.Fprint(w, linkJSON("urn:link:chain"+strconv.Itoa(n), strconv.Itoa(n+1)))
	})
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, linkJSON("urn:link:bad", "file:///etc/passwd"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	res, errs := collect(t, ctx, Filter{URLs: []string{srv.URL}})
	ids := map[string]string{}
	for _, r := range res {
		ids[r.Thing.ID] = r.URL
	}
	if len(errs) != 0 || len(res) != 2 || ids["urn:link:1"] != srv.URL+"/.well-known/wot" || ids["urn:dev:lamp"] != srv.URL+"/tds/lamp" {
		t.Errorf("link: results %+v, errors %v", res, errs)
	}
	if res, _ := collect(t, ctx, Filter{URLs: []string{srv.URL}, NoExpand: true}); len(res) != 1 {
		t.Errorf("NoExpand followed the link: %+v", res)
	}
	// A loop ends: each link is fetched and yielded, then the chain stops at a target already
	// fetched. A chain longer than maxLinkHops and a link to a file: URL end with an error.
	res, errs = collect(t, ctx, Filter{URLs: []string{srv.URL + "/loop/a"}})
	if len(res) != 2 || len(errs) != 0 {
		t.Errorf("loop: results %d, errors %v", len(res), errs)
	}
	res, errs = collect(t, ctx, Filter{URLs: []string{srv.URL + "/chain/0"}})
	if len(res) != maxLinkHops+1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "links in a row") {
		t.Errorf("chain: %d results, errors %v", len(res), errs)
	}
	_, errs = collect(t, ctx, Filter{URLs: []string{srv.URL + "/bad"}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "not an http(s) URL") {
		t.Errorf("file: link: errors %v", errs)
	}
}
