package tm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/wotgen/wotgen/runtime/td"
)

// ErrOffline is returned (wrapped in a *LoadError) when a Loader with Offline set is asked for an
// http(s) document that is not in its Mirrors.
var ErrOffline = errors.New("network access is disabled")

// Document is one loaded JSON document.
type Document struct {
	URL   *url.URL // absolute, without fragment (after redirects); file: URLs for local files
	Data  []byte   // the bytes as read
	Value any      // decoded JSON (numbers as json.Number); callers must not modify it
}

// LoadError reports a document that could not be fetched or parsed.
type LoadError struct {
	URL string
	Err error
}

func (e *LoadError) Error() string { return fmt.Sprintf("%s: %v", redactURL(e.URL), e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// Loader fetches Thing Models and referenced documents from files and http(s) URLs. It caches every
// document for its lifetime, so use one Loader per run. The zero value is ready to use (default
// bounds: 8 MiB per document, 30 s per fetch, 5 redirects to http(s) only). A Loader is safe for
// concurrent use.
type Loader struct {
	// Fetch bounds every document (MaxSize applies to files too); see td.FetchOptions.
	Fetch td.FetchOptions
	// Offline refuses http(s) fetches (except Mirrors), e.g. for tests and hermetic builds.
	Offline bool
	// Mirrors maps an absolute document URL (without fragment) to the file path or URL to read
	// instead, for offline copies of published models. The document keeps its original URL, so
	// relative references inside it still resolve against where it is published.
	Mirrors map[string]string

	mu    sync.Mutex
	cache map[string]*cacheEntry
}

type cacheEntry struct {
	done chan struct{} // closed when doc/err are set
	doc  *Document
	err  error
}

// NewLoader returns a Loader with the default bounds.
func NewLoader() *Loader { return &Loader{} }

// ParseRef turns a command-line reference (a file path or an http/https/file URL) into an absolute
// URL without fragment handling.
func ParseRef(ref string) (*url.URL, error) {
	if ref == "" {
		return nil, errors.New("empty model reference: give a file path or an http(s) URL")
	}
	if isWindowsPath(ref) || !strings.Contains(ref, ":") {
		return fileURL(ref)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a file path nor a valid URL: %v", ref, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("%q has no host", ref)
		}
		return u, nil
	case "file":
		return u, nil
	case "":
		return fileURL(ref)
	}
	// Something like "dir:name/x.json" is most likely a path.
	if _, err := os.Stat(ref); err == nil {
		return fileURL(ref)
	}
	return nil, fmt.Errorf("unsupported URL scheme %q in %q: models load from files, http and https only", u.Scheme, ref)
}

func isWindowsPath(s string) bool {
	return runtime.GOOS == "windows" && len(s) >= 2 && s[1] == ':'
}

func fileURL(path string) (*url.URL, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
}

// resolveRef resolves ref (a URI reference, fragment allowed) against base and checks the scheme.
// A document fetched over the network may not reference local files.
func resolveRef(base *url.URL, ref string) (*url.URL, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference %q: %v", ref, err)
	}
	var u *url.URL
	if base != nil {
		u = base.ResolveReference(r)
	} else {
		u = r
	}
	switch u.Scheme {
	case "http", "https":
	case "file":
		if base != nil && base.Scheme != "file" {
			return nil, fmt.Errorf("reference %q from the remote document %s points to a local file; remote models may only reference http(s) documents", ref, base.Redacted())
		}
	case "":
		return nil, fmt.Errorf("reference %q is relative but the referring document has no URL to resolve it against", ref)
	default:
		return nil, fmt.Errorf("reference %q uses the unsupported scheme %q: only http, https and file are allowed", ref, u.Scheme)
	}
	return u, nil
}

func docKey(u *url.URL) string {
	c := *u
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}

// Load returns the document at u (its fragment is ignored), from the cache when already loaded.
func (l *Loader) Load(ctx context.Context, u *url.URL) (*Document, error) {
	key := docKey(u)
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[string]*cacheEntry{}
	}
	e, loading := l.cache[key]
	if !loading {
		e = &cacheEntry{done: make(chan struct{})}
		l.cache[key] = e
	}
	l.mu.Unlock()
	if !loading {
		e.doc, e.err = l.load(ctx, key)
		if e.err != nil && ctx.Err() != nil {
			// The caller gave up; do not cache that for other callers.
			l.mu.Lock()
			delete(l.cache, key)
			l.mu.Unlock()
		}
		close(e.done)
		return e.doc, e.err
	}
	select {
	case <-e.done:
		return e.doc, e.err
	case <-ctx.Done():
		return nil, &LoadError{URL: key, Err: ctx.Err()}
	}
}

func (l *Loader) load(ctx context.Context, key string) (*Document, error) {
	u, err := url.Parse(key)
	if err != nil {
		return nil, &LoadError{URL: key, Err: err}
	}
	src := key
	if m, ok := l.Mirrors[key]; ok {
		src = m
	}
	data, final, err := l.read(ctx, src)
	if err != nil {
		return nil, &LoadError{URL: key, Err: err}
	}
	if src == key && final != nil && (final.Scheme == "http" || final.Scheme == "https") {
		u = final // relative references resolve against where a redirect led
	}
	v, err := decodeJSON(data)
	if err != nil {
		return nil, &LoadError{URL: key, Err: err}
	}
	return &Document{URL: u, Data: data, Value: v}, nil
}

func (l *Loader) read(ctx context.Context, src string) ([]byte, *url.URL, error) {
	u, err := ParseRef(src)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme == "file" {
		path := filepath.FromSlash(u.Path)
		if runtime.GOOS == "windows" {
			path = strings.TrimPrefix(path, `\`)
		}
		data, _, err := td.ReadSource(ctx, path, l.Fetch)
		return data, nil, err
	}
	if l.Offline {
		return nil, nil, fmt.Errorf("%w: cannot fetch it; provide a local copy (a file path, or Loader.Mirrors) or allow network access", ErrOffline)
	}
	data, final, err := td.Fetch(ctx, u.String(), l.Fetch)
	if err != nil {
		return nil, nil, err
	}
	return data, final, nil
}

// redactURL renders a document URL for messages: file URLs as paths; credentials and the query
// (which may carry an API key) dropped from others.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	if u.Scheme == "file" {
		frag := ""
		if u.Fragment != "" {
			frag = "#" + u.Fragment
		}
		return filepath.FromSlash(u.Path) + frag
	}
	return td.RedactURL(u)
}

// Documents returns the documents loaded so far (successfully), sorted by URL: after Resolve, the
// model and everything it links to, e.g. to validate each of them.
func (l *Loader) Documents() []*Document {
	l.mu.Lock()
	entries := make([]*cacheEntry, 0, len(l.cache))
	for _, e := range l.cache {
		entries = append(entries, e)
	}
	l.mu.Unlock()
	var out []*Document
	for _, e := range entries {
		select {
		case <-e.done:
			if e.err == nil && e.doc != nil {
				out = append(out, e.doc)
			}
		default: // still loading
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL.String() < out[j].URL.String() })
	return out
}
