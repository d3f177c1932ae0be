package wothttp

import (
	"context"
	"errors"
	"github.com/wotgen/wotgen/runtime/td"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

const oneTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:one", "title": "one",
  "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
  "properties": {"p": {"type": "integer", "forms": [{"href": "%s/p"}]}},
  "actions": {"a": {"forms": [{"href": "%s/a"}]}}}`

func TestServerNeverAnswers(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hold(r) }))

	ct := consume(t, srv.URL, oneTD)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ct.ReadProperty(ctx, "p")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer before the deadline") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	// WithRequestTimeout bounds a call whose context has no deadline.
	ct2 := consume(t, srv.URL, oneTD, wot.WithRequestTimeout(150*time.Millisecond))
	if _, err := ct2.InvokeAction(context.Background(), "a", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadBodies(t *testing.T) {
	leakCheck(t)
	cases := []struct {
		name string
		h    http.HandlerFunc
		opts []wot.DialOption
		want string
	}{
		{"garbage JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{\"a\": nope"))
		}, nil, "not valid JSON"},
		{"wrong content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html>hello</html>"))
		}, nil, `Content-Type "text/html; charset=utf-8", not JSON`},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`"` + strings.Repeat("x", 4096) + `"`))
		}, []wot.DialOption{WithMaxBodySize(1024)}, "exceeds 1024 bytes"},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }, nil, "without a value"},
		{"binary error body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			w.Write([]byte("\x00\x01bad\xffgate\nway" + strings.Repeat("!", 5000)))
		}, nil, "502 Bad Gateway: bad?gate way!!!"},
		{"problem without status", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(409)
			w.Write([]byte(`{"title": "Busy", "detail": "try later", "retry-after": 3}`))
		}, nil, "409 Busy: try later"},
		{"malformed problem", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(400)
			w.Write([]byte(`{"title": 7`))
		}, nil, `400 Bad Request: {"title": 7`},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(304)
		}, nil, "304"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.h)
			ct := consume(t, srv.URL, oneTD, tc.opts...)
			_, err := ct.ReadProperty(ctxT(t), "p")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if len(err.Error()) > 1200 {
				t.Errorf("error message of %d bytes: unbounded", len(err.Error()))
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	leakCheck(t)
	loop := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/p" {
			http.Redirect(w, r, "/q", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/p", http.StatusFound)
	}))
	_, err := consume(t, loop.URL, oneTD).ReadProperty(ctxT(t), "p")
	if err == nil || !strings.Contains(err.Error(), "redirect loop") {
		t.Fatalf("loop: %v", err)
	}

	chain := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		http.Redirect(w, r, "/p?n="+strconv.Itoa(n+1), http.StatusTemporaryRedirect)
	}))
	_, err = consume(t, chain.URL, oneTD).ReadProperty(ctxT(t), "p")
	if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("chain: %v", err)
	}
}

// TestCrossOriginRedirect: credentials go along a same-origin redirect and never to
// another origin.
func TestCrossOriginRedirect(t *testing.T) {
	leakCheck(t)
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(who string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[who] = r.Header.Get("Authorization") + "|" + r.Header.Get("X-Api-Key") + "|" + r.Header.Get("Cookie") + "|" + r.Header.Get("X-Dial")
			mu.Unlock()
			writeJSON(w, 200, 1)
		}
	}
	other := newServer(t, record("other"))
	mux := http.NewServeMux()
	mux.HandleFunc("/p", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/same", http.StatusFound) })
	mux.HandleFunc("/same", record("same"))
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
	})
	home := newServer(t, mux)
	const tdj = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:r", "title": "r",
	  "securityDefinitions": {"b": {"scheme": "bearer"}, "k": {"scheme": "apikey", "in": "header", "name": "X-Api-Key"},
	    "c": {"scheme": "apikey", "in": "cookie", "name": "session"}, "all": {"scheme": "combo", "allOf": ["b", "k", "c"]}},
	  "security": "all",
	  "properties": {"p": {"type": "integer", "forms": [{"href": "%s/p"}]}},
	  "actions": {"a": {"forms": [{"href": "%s/a"}]}}}`
	ct := consume(t, home.URL, tdj, wot.WithCredentials(func(s *td.SecurityScheme) (wot.Credentials, error) {
		return wot.Credentials{Token: "tok", APIKey: "key"}, nil
	}), wot.WithHeader("X-Dial", "secret"))
	ctx := ctxT(t)
	if _, err := ct.ReadProperty(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.InvokeAction(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["same"] != "Bearer tok|key|session=key|secret" {
		t.Errorf("same-origin redirect lost credentials: %q", seen["same"])
	}
	if seen["other"] != "|||" {
		t.Errorf("cross-origin redirect leaked credentials: %q", seen["other"])
	}
}

// TestSecuritySchemes: each scheme's credentials land where the TD says.
func TestSecuritySchemes(t *testing.T) {
	leakCheck(t)
	var mu sync.Mutex
	var got *http.Request
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
		writeJSON(w, 200, 1)
	}))
	cases := []struct {
		name   string
		scheme string
		opt    wot.DialOption
		check  func(r *http.Request) bool
	}{
		{"nosec", `{"scheme": "nosec"}`, nil, func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }},
		{"basic", `{"scheme": "basic"}`, wot.WithBasicAuth("ann", "pw"), func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "ann" && p == "pw"
		}},
		{"bearer", `{"scheme": "bearer"}`, wot.WithBearerToken("t0k"), func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer t0k" }},
		{"oauth2", `{"scheme": "oauth2", "flow": "client", "token": "https://as.example/token"}`, wot.WithBearerToken("t0k"), func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer t0k"
		}},
		{"apikey header", `{"scheme": "apikey", "in": "header", "name": "X-Key"}`, wot.WithAPIKey("k1"), func(r *http.Request) bool { return r.Header.Get("X-Key") == "k1" }},
		{"apikey query (default)", `{"scheme": "apikey", "name": "key"}`, wot.WithAPIKey("k2"), func(r *http.Request) bool { return r.URL.Query().Get("key") == "k2" }},
		{"apikey cookie", `{"scheme": "apikey", "in": "cookie", "name": "sid"}`, wot.WithAPIKey("k3"), func(r *http.Request) bool {
			c, err := r.Cookie("sid")
			return err == nil && c.Value == "k3"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tdj := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:s", "title": "s",
			  "securityDefinitions": {"s": ` + tc.scheme + `}, "security": "s",
			  "properties": {"p": {"type": "integer", "forms": [{"href": "%s/p"}]}}}`
			var opts []wot.DialOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			ct := consume(t, srv.URL, tdj, opts...)
			if _, err := ct.ReadProperty(ctxT(t), "p"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !tc.check(got) {
				t.Errorf("request: header %v, query %q", got.Header, got.URL.RawQuery)
			}
		})
	}
	// combo oneOf: the first alternative with credentials.
	tdj := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:t:s", "title": "s",
	  "securityDefinitions": {"b": {"scheme": "basic"}, "t": {"scheme": "bearer"}, "any": {"scheme": "combo", "oneOf": ["b", "t"]}},
	  "security": "any", "properties": {"p": {"type": "integer", "forms": [{"href": "%s/p"}]}}}`
	ct := consume(t, srv.URL, tdj, wot.WithBearerToken("only"))
	if _, err := ct.ReadProperty(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if got.Header.Get("Authorization") != "Bearer only" {
		t.Errorf("combo oneOf: %v", got.Header)
	}
	mu.Unlock()
	// Missing credentials: a clear error before anything is sent.
	ct = consume(t, srv.URL, strings.Replace(tdj, `"security": "any"`, `"security": "b"`, 1))
	if _, err := ct.ReadProperty(ctxT(t), "p"); err == nil || !strings.Contains(err.Error(), "WithBasicAuth") {
		t.Errorf("missing credentials: %v", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ann" || p != "right" {
			w.Header().Set("WWW-Authenticate", `Basic realm="lamp", charset="UTF-8"`)
			problem(w, 401, "wrong user or password")
			return
		}
		writeJSON(w, 200, 1)
	}))
	tdj := strings.Replace(oneTD, `{"n": {"scheme": "nosec"}}, "security": "n"`, `{"b": {"scheme": "basic"}}, "security": "b"`, 1)
	ct := consume(t, srv.URL, tdj, wot.WithBasicAuth("ann", "wrong"))
	_, err := ct.ReadProperty(ctxT(t), "p")
	var we *wot.Error
	if !errors.As(err, &we) || we.Status != 401 || !strings.Contains(we.Detail, "wrong user or password") || !strings.Contains(we.Detail, `WWW-Authenticate: Basic realm="lamp"`) {
		t.Fatalf("err = %#v (%v)", we, err)
	}
	ct = consume(t, srv.URL, tdj, wot.WithBasicAuth("ann", "right"))
	if _, err := ct.ReadProperty(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
}

// TestTLS: https forms through WithHTTPClient's and WithTLSConfig's clients; closing the
// consumer releases the connections of a transport of its own.
func TestTLS(t *testing.T) {
	leakCheck(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, 9) }))
	t.Cleanup(srv.Close)
	ct := consume(t, srv.URL, oneTD, wot.WithHTTPClient(srv.Client()))
	if v, err := ct.ReadProperty(ctxT(t), "p"); err != nil || string(v) != "9" {
		t.Fatalf("read over TLS = %s, %v", v, err)
	}
	ct.Close()
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	ct = consume(t, srv.URL, oneTD, wot.WithTLSConfig(tlsCfg))
	if v, err := ct.ReadProperty(ctxT(t), "p"); err != nil || string(v) != "9" {
		t.Fatalf("read over TLS = %s, %v", v, err)
	}
	ct.Close()
	// Without the server's CA: a clear certificate error.
	ct = consume(t, srv.URL, oneTD)
	if _, err := ct.ReadProperty(ctxT(t), "p"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unknown CA: %v", err)
	}
}
