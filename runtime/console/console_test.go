package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesEmbeddedFiles(t *testing.T) {
	thing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "thing:"+r.URL.Path) })
	h := With(thing)
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/console/", "text/html; charset=utf-8", `<script src="console.js" defer></script>`},
		{"/console/console.js", "text/javascript; charset=utf-8", "webthingprotocol"},
		{"/console/console.css", "text/css; charset=utf-8", "prefers-color-scheme"},
	} {
		res := get(t, h, "GET", tc.path, nil)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %s", tc.path, res.Status)
		}
		if got := res.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v, want nosniff and an ETag", tc.path, res.Header)
		}
		if b := body(t, res); !strings.Contains(b, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
	}
	res := get(t, h, "GET", "/console/", nil)
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("page CSP = %q, want scripts from the page's origin only", csp)
	}

	// Everything else goes to the Thing server; unknown console paths are 404.
	if b := body(t, get(t, h, "GET", "/.well-known/wot", nil)); b != "thing:/.well-known/wot" {
		t.Errorf("/.well-known/wot reached %q, want the Thing server", b)
	}
	if b := body(t, get(t, h, "GET", "/", nil)); b != "thing:/" {
		t.Errorf("/ reached %q, want the Thing server", b)
	}
	// Paths a ServeMux would clean or redirect reach the Thing server as they are.
	for _, p := range []string{"//wtp", "/things/urn:a%2Fb", "/a/../wtp", "/consoles"} {
		r := httptest.NewRequest("GET", "http://h"+p, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "thing:") {
			t.Errorf("GET %s: %d %q, want it passed to the Thing server", p, w.Code, w.Body.String())
		}
	}
	for _, p := range []string{"/console/nope.js", "/console/index.html/x", "/console/static/console.js"} {
		if res := get(t, h, "GET", p, nil); res.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", p, res.Status)
		}
	}
	if res := get(t, h, "GET", "/console?td=x", nil); res.StatusCode/100 != 3 || res.Header.Get("Location") != "/console/?td=x" {
		t.Errorf("GET /console: %s → %q, want a redirect to /console/", res.Status, res.Header.Get("Location"))
	}
	if res := get(t, h, "POST", "/console/", nil); res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /console/: %s, want 405 with Allow", res.Status)
	}
	if res := get(t, h, "HEAD", "/console/console.js", nil); res.StatusCode != 200 || body(t, res) != "" {
		t.Errorf("HEAD: %s, want 200 without a body", res.Status)
	}
}

func TestGzipAndETag(t *testing.T) {
	h := Handler("/ui/")
	plain := body(t, get(t, h, "GET", "/ui/console.js", nil))
	res := get(t, h, "GET", "/ui/console.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("headers %v, want gzip and Vary", res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, []byte(plain)) {
		t.Fatalf("gzip body does not decode to the file (%v)", err)
	}
	if res := get(t, h, "GET", "/ui/console.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent although the client refused it (q=0)")
	}
	etag := res.Header.Get("ETag")
	if res := get(t, h, "GET", "/ui/console.js", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %s, want 304", res.Status)
	}
}

// TestDefaultTDFollowsPrefix: the page looks for /.well-known/wot relative to itself, so it finds
// the TD under any prefix and behind a proxy that adds a path.
func TestDefaultTDFollowsPrefix(t *testing.T) {
	if !strings.Contains(string(assets["index.html"].body), defaultTD) {
		t.Fatal("index.html lacks the default TD meta element that pageFor rewrites")
	}
	for prefix, want := range map[string]string{
		"/":               `content=".well-known/wot"`,
		"/console/":       `content="../.well-known/wot"`,
		"/admin/console/": `content="../../.well-known/wot"`,
	} {
		if b := body(t, get(t, Handler(prefix), "GET", prefix, nil)); !strings.Contains(b, want) {
			t.Errorf("page under %s lacks %s", prefix, want)
		}
	}
}

func TestBadPrefixPanics(t *testing.T) {
	for _, p := range []string{"console", "/console", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handler(%q) accepted a prefix that does not start and end with /", p)
				}
			}()
			Handler(p)
		}()
	}
}

// TestSize keeps the console small enough for a device: it is in every Thing binary.
func TestSize(t *testing.T) {
	raw, gz := Size()
	t.Logf("embedded console: %d bytes, %d gzip-compressed", raw, gz)
	if raw > 64<<10 || gz > 20<<10 {
		t.Errorf("the console grew to %d bytes (%d gzipped); keep it under 64 KiB (20 KiB gzipped)", raw, gz)
	}
}

// TestNoMarkupFromData guards the rule that TD text only reaches the page as text: the script
// never parses strings as HTML, never evaluates strings as code, and sets no handler attributes.
func TestNoMarkupFromData(t *testing.T) {
	js := string(assets["console.js"].body)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`\.innerHTML\b`), regexp.MustCompile(`\.outerHTML\b`),
		regexp.MustCompile(`insertAdjacentHTML`), regexp.MustCompile(`document\.write`),
		regexp.MustCompile(`createContextualFragment`), regexp.MustCompile(`DOMParser`),
		regexp.MustCompile(`\beval\(`), regexp.MustCompile(`new Function\(`),
		regexp.MustCompile(`setTimeout\(\s*['"` + "`" + `]`),
		regexp.MustCompile(`\.setAttribute\(\s*['"]on`), regexp.MustCompile(`localStorage|sessionStorage|document\.cookie`),
		regexp.MustCompile(`console\.(log|info|debug|warn|error)\(`),
	} {
		if loc := bad.FindStringIndex(js); loc != nil {
			line := strings.Count(js[:loc[0]], "\n") + 1
			t.Errorf("console.js:%d uses %q: TD text must go through textContent/createElement, credentials stay in memory and out of logs", line, js[loc[0]:loc[1]])
		}
	}
	html := string(assets["index.html"].body)
	if regexp.MustCompile(`(?i)<script>|\son[a-z]+=`).MatchString(html) {
		t.Error("index.html has inline script or handler attributes, which the CSP forbids")
	}
	for name, a := range assets {
		if regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//`).Match(a.body) {
			t.Errorf("%s loads something from another origin: the console must work offline", name)
		}
	}
}

// TestScriptParses runs the script through node --check when node is installed (a syntax error
// would otherwise only show in the browser tests).
func TestScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the browser tests (internal/consoletest) load the script instead")
	}
	cmd := exec.Command(node, "--check", "-")
	cmd.Stdin = bytes.NewReader(assets["console.js"].body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("console.js does not parse: %v\n%s", err, out)
	}
}
