// Package directory is a W3C WoT Thing Description Directory (TDD): the HTTP API of WoT Discovery
// §7.3.2 (https://www.w3.org/TR/wot-discovery/#exploration-directory-api) over a SQLite file or a
// PostgreSQL database.
//
// It offers create (PUT /things/{id}, POST /things), retrieve, replace, partial update (JSON Merge
// Patch), delete, paged listing, JSONPath search (RFC 9535) at /search/jsonpath, Server-Sent Events
// at /events{/type} with replay after Last-Event-ID, and its own TD at /.well-known/wot. Every
// submitted TD is checked with the rules of `wotgen validate`; errors are RFC 9457 problem details
// with the spec's validationErrors member.
//
// All state is in the database, so several instances may serve one PostgreSQL database behind a
// load balancer: writes are serialised by a row lock that also numbers events, and events are a
// table that feeds each instance's SSE subscribers. Writes on the same instance wake its
// subscribers at once; on PostgreSQL, writes on other instances do too (LISTEN/NOTIFY), and each
// instance also polls the table (Config.PollInterval) in case a notification is lost.
package directory

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/gen/validate"
)

// Defaults for Config.
const (
	DefaultMaxBodyBytes   = 4 << 20
	DefaultMaxPageSize    = 500
	DefaultPurgeInterval  = 10 * time.Second
	DefaultPollInterval   = time.Second
	DefaultEventRetention = 24 * time.Hour
	DefaultMaxEvents      = 100_000
	DefaultKeepAlive      = 15 * time.Second
	DefaultMaxQueryLength = 4096
)

// Config configures a Server. Only Store is required.
type Config struct {
	Store *Store
	// Token, when set, is the bearer token that create, update and delete require. Reads are open.
	Token string
	// BaseURL is the directory's public URL for its own TD (e.g. "https://tdd.example.com/"). Empty:
	// derived from each request's Host.
	BaseURL string
	// MaxBodyBytes bounds request bodies (413 above).
	MaxBodyBytes int64
	// MaxPageSize bounds a listing page; larger limits are clamped.
	MaxPageSize int
	// MaxTTL, when set, is the longest registration lifetime accepted (400 above).
	MaxTTL time.Duration
	// PurgeInterval is how often expired TDs and old events are deleted.
	PurgeInterval time.Duration
	// PollInterval is how often the event table is checked for events written by other instances.
	PollInterval time.Duration
	// EventRetention and MaxEvents bound the event history replayed after Last-Event-ID.
	EventRetention time.Duration
	MaxEvents      int64
	// KeepAlive is the interval of SSE comment lines that keep idle streams open through proxies.
	KeepAlive time.Duration
	// MaxQueryLength bounds a JSONPath query (400 above).
	MaxQueryLength int
	// Logger receives background errors (purge, poll). Nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil: time.Now. Tests move it to expire entries.
	Now func() time.Time
}

// Server is the directory's HTTP handler. Create it with New and stop it with Close.
type Server struct {
	cfg    Config
	store  *Store
	v      *validate.Validator
	hub    hub
	search searchCache
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks cfg, fills defaults and starts the background purge and event poll loops.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("directory: Config.Store is required")
	}
	def := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = DefaultMaxPageSize
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.MaxQueryLength <= 0 {
		cfg.MaxQueryLength = DefaultMaxQueryLength
	}
	def(&cfg.PurgeInterval, DefaultPurgeInterval)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.EventRetention, DefaultEventRetention)
	def(&cfg.KeepAlive, DefaultKeepAlive)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v, err := validate.New(validate.Options{Kind: validate.KindTD})
	if err != nil {
		return nil, fmt.Errorf("directory: TD validator: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, store: cfg.Store, v: v, cancel: cancel}
	s.hub.init()
	s.wg.Add(3)
	go s.purgeLoop(ctx)
	go s.pollLoop(ctx)
	go s.listenLoop(ctx)
	return s, nil
}

// Close stops the background loops. It does not close the store, nor end open SSE streams (shut the
// http.Server down for that).
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// now is truncated to the stored precision, so event payloads and reads agree on times.
func (s *Server) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

func (s *Server) purgeLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.PurgeNow(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("directory: purge expired TDs", "err", err)
		}
	}
}

// PurgeNow deletes expired TDs (with thing_deleted events) and events past retention, as the purge
// loop does every PurgeInterval. It returns the number of TDs deleted.
func (s *Server) PurgeNow(ctx context.Context) (int, error) {
	n, err := s.store.Purge(ctx, s.now(), s.cfg.EventRetention, s.cfg.MaxEvents)
	if n > 0 {
		s.hub.poke()
	}
	return n, err
}

func (s *Server) pollLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	var last int64 = -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.hub.hasSubscribers() {
			continue
		}
		seq, err := s.store.LastSeq(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Warn("directory: poll events", "err", err)
			}
			continue
		}
		if seq != last {
			last = seq
			s.hub.poke()
		}
	}
}

// listenLoop wakes the SSE subscribers as soon as any instance on the same PostgreSQL database
// commits events (LISTEN/NOTIFY), re-listening with backoff when the connection fails. pollLoop
// stays the safety net, and the only mechanism on SQLite.
func (s *Server) listenLoop(ctx context.Context) {
	defer s.wg.Done()
	if s.store.Dialect() != "postgres" {
		return
	}
	const first, most = 100 * time.Millisecond, 30 * time.Second
	wait := first
	for {
		started := time.Now()
		err := s.store.Listen(ctx, s.hub.poke)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			wait = first // it ran a while: a fresh failure, not a failing server
		}
		s.cfg.Logger.Warn("directory: listen for events of other instances; polling meanwhile", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, most)
	}
}

// hub wakes SSE subscribers: poke closes the current channel, which every waiter holds.
type hub struct {
	mu   sync.Mutex
	ch   chan struct{}
	subs int
}

func (h *hub) init() { h.ch = make(chan struct{}) }

func (h *hub) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ch
}

func (h *hub) poke() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.ch)
	h.ch = make(chan struct{})
}

func (h *hub) add(n int) {
	h.mu.Lock()
	h.subs += n
	h.mu.Unlock()
}

func (h *hub) hasSubscribers() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs > 0
}

// ServeHTTP routes on the escaped path, so an id that is itself a URL (percent-encoded, or with raw
// slashes) reaches the handler intact and is unescaped once
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/.well-known/wot":
		s.allow(w, r, map[string]http.HandlerFunc{"GET": s.handleOwnTD})
	case p == "/things" || p == "/things/":
		s.allow(w, r, map[string]http.HandlerFunc{"GET": s.handleList, "POST": s.handleCreateAnonymous})
	case strings.HasPrefix(p, "/things/"):
		s.allow(w, r, map[string]http.HandlerFunc{"GET": s.handleGet, "PUT": s.handlePut, "PATCH": s.handlePatch, "DELETE": s.handleDelete})
	case p == "/search/jsonpath":
		s.allow(w, r, map[string]http.HandlerFunc{"GET": s.handleSearch})
	case p == "/events" || strings.HasPrefix(p, "/events/"):
		s.allow(w, r, map[string]http.HandlerFunc{"GET": s.handleEvents})
	default:
		// Includes /search/xpath and /search/sparql: unsupported optional APIs are 404
		// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-search).
		s.problem(w, r, http.StatusNotFound, "no such resource: the directory serves /things, /search/jsonpath, /events and /.well-known/wot", nil)
	}
}

// allow dispatches on the method; GET handlers also answer HEAD (net/http drops the body).
func (s *Server) allow(w http.ResponseWriter, r *http.Request, hs map[string]http.HandlerFunc) {
	m := r.Method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	if h, ok := hs[m]; ok {
		if m != http.MethodGet && !s.authorized(w, r) {
			return
		}
		h(w, r)
		return
	}
	var allowed []string
	for _, k := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if _, ok := hs[k]; ok || (k == "HEAD" && hs["GET"] != nil) {
			allowed = append(allowed, k)
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.problem(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not supported here; use %s", r.Method, strings.Join(allowed, ", ")), nil)
}

// authorized checks the bearer token of a write (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things:
// a directory MUST enforce access control on writes when it restricts them).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.cfg.Token)) == 1 {
		return true
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wotgen directory"`)
		s.problem(w, r, http.StatusUnauthorized, "writes need a bearer token: send Authorization: Bearer <token>", nil)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wotgen directory", error="invalid_token"`)
		s.problem(w, r, http.StatusUnauthorized, "the bearer token is not the directory's write token", nil)
	}
	return false
}

// validationError is one entry of the problem's validationErrors member
// (https://www.w3.org/TR/wot-discovery/#validation): field and description as the spec shows, plus
// the JSON pointer and the wotgen rule code.
type validationError struct {
	Field       string `json:"field"`
	Description string `json:"description"`
	Pointer     string `json:"pointer"`
	Code        string `json:"code"`
}

// problemDetails is an RFC 9457 problem (https://www.rfc-editor.org/rfc/rfc9457#section-3).
type problemDetails struct {
	Type             string            `json:"type,omitempty"`
	Title            string            `json:"title"`
	Status           int               `json:"status"`
	Detail           string            `json:"detail,omitempty"`
	Instance         string            `json:"instance,omitempty"`
	ValidationErrors []validationError `json:"validationErrors,omitempty"`
}

func (s *Server) problem(w http.ResponseWriter, r *http.Request, status int, detail string, verrs []validationError) {
	body, _ := marshalJSON(problemDetails{
		Title:            http.StatusText(status),
		Status:           status,
		Detail:           detail,
		Instance:         r.URL.EscapedPath(),
		ValidationErrors: verrs,
	})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	h.Del("Location")
	w.WriteHeader(status)
	w.Write(body)
}

// internalError reports a storage failure without leaking its text to clients.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.cfg.Logger.Error("directory: request failed", "method", r.Method, "path", r.URL.EscapedPath(), "err", err)
	s.problem(w, r, http.StatusInternalServerError, "the directory could not complete the request; see its log", nil)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// jsonField renders a JSON pointer in the dotted style of the spec's example ("(root)",
// "properties.status.forms.0.href").
func jsonField(ptr string) string {
	if ptr == "" || ptr == "/" {
		return "(root)"
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return strings.Join(parts, ".")
}

// rawString decodes a JSON string value; ok is false for anything else.
func rawString(v json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}
