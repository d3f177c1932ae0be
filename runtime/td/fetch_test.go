package td

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/td", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/td+json")
		w.Write([]byte(`{"title":"x"}`))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat(" ", 2048)))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/tofile", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/td", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	body, final, err := Fetch(ctx, srv.URL+"/moved", FetchOptions{})
	if err != nil || string(body) != `{"title":"x"}` || final.Path != "/td" {
		t.Fatalf("fetch after redirect: %q %v %v", body, final, err)
	}
	if _, _, err := Fetch(ctx, srv.URL+"/private", FetchOptions{Header: http.Header{"Authorization": {"Bearer t"}}}); err != nil {
		t.Errorf("fetch with header: %v", err)
	}
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/td", http.StatusFound)
	}))
	defer tls.Close()
	if _, _, err := Fetch(ctx, tls.URL, FetchOptions{Client: tls.Client()}); err == nil || !strings.Contains(err.Error(), "https to http") {
		t.Errorf("downgrade redirect: %v", err)
	}
	cases := []struct {
		url  string
		o    FetchOptions
		want string
	}{
		{srv.URL + "/big", FetchOptions{MaxSize: 1024}, "too large"},
		{srv.URL + "/loop", FetchOptions{}, "redirects"},
		{srv.URL + "/tofile", FetchOptions{}, "only http and https"},
		{srv.URL + "/slow", FetchOptions{Timeout: 100 * time.Millisecond}, "deadline"},
		{srv.URL + "/missing?apikey=secret", FetchOptions{}, "404"},
		{"ftp://example.org/td", FetchOptions{}, "want an http"},
		{srv.URL + "/private", FetchOptions{}, "needs credentials"},
	}
	for _, c := range cases {
		_, _, err := Fetch(ctx, c.url, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Fetch(%s) = %v, want error containing %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the query: %v", err)
		}
	}
}

func TestReadSource(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.td.json")
	os.WriteFile(p, []byte(`{"title":"x"}`), 0o644)
	body, u, err := ReadSource(context.Background(), p, FetchOptions{})
	if err != nil || string(body) != `{"title":"x"}` || u.Scheme != "file" {
		t.Fatalf("%q %v %v", body, u, err)
	}
	if _, _, err := ReadSource(context.Background(), p, FetchOptions{MaxSize: 4}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	if _, _, err := ReadSource(context.Background(), dir, FetchOptions{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://user:pw@thing.example/td?api_key=s3cret#frag", "https://thing.example/td?REDACTED#frag"},
		{"ws://thing.example:8080/things/lamp?", "ws://thing.example:8080/things/lamp"},
		{"http://thing.example/td", "http://thing.example/td"},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := RedactURL(nil); got != "<no URL>" {
		t.Errorf("RedactURL(nil) = %q", got)
	}
}
