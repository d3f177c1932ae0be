// Package console serves the Thing console: a browser page, embedded in the binary (no build step,
// no CDN, works offline), that loads a Thing Description and operates the Thing over the Web Thing
// Protocol: live property values, writes through inputs generated from the data schemas, actions
// with their status and cancel, an event log, and the connection state with reconnect.
//
// By default the page loads the TD of the server it is served from (/.well-known/wot; a JSON array
// of TDs lets the user pick a Thing); /console/?td=URL loads another Thing's TD (that server must
// allow the page's origin for CORS and for its WebSocket handshake).
//
// Put it in front of a Thing server with one call:
//
//	err := wot.ListenAndServe(ctx, addr, console.With(srv)) // /console/ → console, the rest → srv
//
// or add it to your own mux with Mount. The package is a plain http.Handler over embedded files
// and depends on no protocol package.
package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path the console is served under by With.
const Prefix = "/console/"

//go:embed static
var static embed.FS

// csp keeps the page to its own script and style (TD text can never run as code, even if a bug
// let it reach the DOM as markup) and lets it connect anywhere: the TD names the endpoints.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' http: https: ws: wss:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

type asset struct {
	name        string
	contentType string
	body, gz    []byte
	etag        string
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
	}
	m := map[string]*asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		m[name] = newAsset(name, types[path.Ext(p)], body)
		return nil
	})
	if err != nil {
		panic("console: embedded files unreadable: " + err.Error()) // a broken build, not input
	}
	return m
}

func newAsset(name, contentType string, body []byte) *asset {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	return &asset{name: name, contentType: contentType, body: body, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// defaultTD is the page's default TD location as the embedded page has it: relative, so that it
// also holds behind a reverse proxy that serves everything under a path.
const defaultTD = `<meta name="wot-td" content="../.well-known/wot">`

// pageFor returns the page with the default TD location made relative to prefix: /.well-known/wot
// of the server the page comes from.
func pageFor(prefix string) *asset {
	up := strings.Repeat("../", strings.Count(prefix, "/")-1)
	page := assets["index.html"]
	meta := `<meta name="wot-td" content="` + up + `.well-known/wot">`
	if meta == defaultTD {
		return page
	}
	return newAsset(page.name, page.contentType, bytes.Replace(page.body, []byte(defaultTD), []byte(meta), 1))
}

// Handler serves the console's files under prefix (for example "/console/"; it must start and end
// with "/"): prefix itself is the page, the rest are its script and style. It answers GET and HEAD
// only, and serves gzip to clients that accept it.
func Handler(prefix string) http.Handler {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		panic(`console: the prefix must start and end with "/", e.g. "/console/"`)
	}
	page := pageFor(prefix)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" {
			name = "index.html"
		}
		a := assets[name]
		if name == "index.html" {
			a = page
		}
		if a == nil || name == "index.html" && r.URL.Path != prefix {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the console only answers GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache") // revalidate (ETag), so an upgraded binary shows at once
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		if name == "index.html" {
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
		}
		body := a.body
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gz
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// Mount registers the console on mux under prefix (e.g. "/console/"); ServeMux redirects the path
// without the trailing slash to it.
func Mount(mux *http.ServeMux, prefix string) {
	mux.Handle(prefix, Handler(prefix))
}

// With returns a handler that serves the console under Prefix ("/console/", and redirects
// "/console" there) and passes every other request to next (a Thing server) untouched: no path
// cleaning or redirects of a ServeMux come between a client and the Thing server. When next has
// a Shutdown(context.Context) error method (a wot.Server does), the handler has one that calls
// it, so wot.ListenAndServe still shuts the Thing server down in order.
func With(next http.Handler) http.Handler {
	return &withConsole{next: next, page: Handler(Prefix)}
}

type withConsole struct{ next, page http.Handler }

func (h *withConsole) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, Prefix):
		h.page.ServeHTTP(w, r)
	case r.URL.Path == strings.TrimSuffix(Prefix, "/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		u := *r.URL
		u.Path = Prefix
		http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
	default:
		h.next.ServeHTTP(w, r)
	}
}

// Shutdown shuts next down when it can be.
func (h *withConsole) Shutdown(ctx context.Context) error {
	if s, ok := h.next.(interface{ Shutdown(context.Context) error }); ok {
		return s.Shutdown(ctx)
	}
	return nil
}

// Size reports the bytes of the embedded files, as stored and gzip-compressed.
func Size() (raw, gzipped int) {
	for _, a := range assets {
		raw += len(a.body)
		gzipped += len(a.gz)
	}
	return raw, gzipped
}
