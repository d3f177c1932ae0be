package wot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wotgen/wotgen/runtime/td"
)

// Server serves Things over HTTP on one http.Handler: each Thing's TD (at its TD path, see
// Thing.TDPath, and at /.well-known/wot) with every binding's forms, and every other request
// through the server bindings, in order, after authentication.
//
// Authentication (WithAuthenticator) runs before any binding code: a request it refuses
// gets 401 with the Authenticator's WWW-Authenticate challenge (or the status of the *Error
// it returned, e.g. 403). The principal it returns travels in the request's context
// (CallerFrom). CORS preflight requests (OPTIONS with Origin and
// Access-Control-Request-Method) carry no credentials by design and reach the bindings
// unauthenticated. TDs are served without authentication: they say how to authenticate.
type Server struct {
	cfg      serverConfig
	cfgErr   error
	bindings []ServerBinding

	mu      sync.RWMutex
	things  map[string]*Thing // by id
	order   []*Thing          // in AddThing order
	tdPaths map[string]*Thing
	closed  bool

	authFailures atomic.Uint64
}

// ServerBinding is the server side of a protocol binding.
type ServerBinding interface {
	// Name is the binding's short name ("wtp", "http").
	Name() string
	// Start is called once when the Server is created (before any request), with the server
	// to look Things up in and its configuration (ServerSetting values, logger).
	Start(s *Server) error
	// AddForms adds the binding's forms for t to d, the TD being served (a copy, its hrefs
	// already absolute); base is the server's external URL (http or https, no trailing
	// slash). The binding points the forms of its own protocol that d already has (the TD's
	// author placed them) at its endpoints, or drops them for forms of its own, and appends
	// forms for what else it serves; it leaves other protocols' forms alone. Hrefs it writes
	// are absolute or relative to base + "/"; the Server makes every href absolute afterwards.
	AddForms(d *td.Thing, t *Thing, base *url.URL)
	// Serve handles r if it is the binding's (returns false, having written nothing, when it
	// is not). r's context carries the authenticated principal (CallerFrom); the binding
	// adds its session, if it has one, with WithCaller.
	Serve(w http.ResponseWriter, r *http.Request) bool
	// Shutdown ends the binding's sessions (going away) and waits for them, or for ctx.
	Shutdown(ctx context.Context) error
}

// Authorizer decides whether the caller (CallerFrom(ctx), CallerFrom(ctx).Principal) may perform
// op on the named affordance of a Thing. name is "" for Thing-level operations. A non-nil
// error refuses the request: an *Error is sent as is, any other error as a 403 with its
// text. It runs for every operation, so it must be fast.
type Authorizer func(ctx context.Context, thingID, op, name string) error

// ServerOption configures a Server.
type ServerOption func(*serverConfig)

type serverConfig struct {
	log         *slog.Logger
	auth        Authenticator
	authorize   Authorizer
	origins     []string
	external    string
	bindings    []ServerBinding
	bindingsSet bool
	without     []string
	settings    map[any]any
}

// WithAuthenticator requires every request routed to a binding to pass a (default: no
// authentication).
func WithAuthenticator(a Authenticator) ServerOption { return func(c *serverConfig) { c.auth = a } }

// WithAuthorizer checks every operation with a (default: everything authenticated is
// allowed). queryallactions lists only the actions the principal may query.
func WithAuthorizer(a Authorizer) ServerOption { return func(c *serverConfig) { c.authorize = a } }

// WithLogger sets the logger of the Server, its bindings and its Things (default: discard
// everything). Session events log at Debug, dropped consumers at Warn, handler panics and
// encoding failures at Error.
func WithLogger(l *slog.Logger) ServerOption { return func(c *serverConfig) { c.log = l } }

// WithOriginPatterns allows browser pages from these origins (host patterns, path.Match
// syntax) to use the Server's bindings. By default only same-origin browser requests are
// accepted; clients that send no Origin header (non-browsers) are always accepted.
func WithOriginPatterns(patterns ...string) ServerOption {
	return func(c *serverConfig) { c.origins = append(c.origins, patterns...) }
}

// WithExternalURL sets the URL the server is reachable at from consumers (for example
// "https://things.example.org/farm" behind a reverse proxy that strips "/farm"). Served TDs
// use it for base and form hrefs. By default they use the request's Host and scheme.
func WithExternalURL(u string) ServerOption { return func(c *serverConfig) { c.external = u } }

// WithServerBindings sets the server bindings, in the order they are offered requests
// (default: one instance of every registered server binding, in registration order). A
// binding instance serves one Server only.
func WithServerBindings(bs ...ServerBinding) ServerOption {
	return func(c *serverConfig) { c.bindings, c.bindingsSet = bs, true }
}

// WithoutBinding leaves out the server binding with that name ("wtp", "http").
func WithoutBinding(name string) ServerOption {
	return func(c *serverConfig) { c.without = append(c.without, name) }
}

// ServerSetting sets a binding-specific option; bindings define constructors that call it
// (wtp.WithReadLimit, …) and read the value back with Server.Setting.
func ServerSetting(key, value any) ServerOption {
	return func(c *serverConfig) {
		if c.settings == nil {
			c.settings = map[any]any{}
		}
		c.settings[key] = value
	}
}

// NewServer returns a Server with its bindings started; add Things with AddThing. A
// configuration error (a bad external URL, a binding refusing its settings) is returned by
// AddThing and answered with 500.
func NewServer(opts ...ServerOption) *Server {
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = discardLogger
	}
	s := &Server{cfg: cfg, things: map[string]*Thing{}, tdPaths: map[string]*Thing{}}
	if cfg.external != "" {
		if _, err := parseExternalURL(cfg.external); err != nil {
			s.cfgErr = err
		}
	}
	bs := cfg.bindings
	if !cfg.bindingsSet {
		bs = newRegisteredServerBindings()
	}
	for _, b := range bs {
		if b != nil && !slices.Contains(cfg.without, b.Name()) {
			s.bindings = append(s.bindings, b)
		}
	}
	for _, b := range s.bindings {
		if err := b.Start(s); err != nil && s.cfgErr == nil {
			s.cfgErr = fmt.Errorf("wot: server binding %q: %w", b.Name(), err)
		}
	}
	return s
}

// AddThing serves t. A Thing can be served by one Server only; ids and TD paths must be
// unique within the Server.
func (s *Server) AddThing(t *Thing) error {
	if t == nil {
		return errors.New("wot: AddThing(nil); build the Thing with NewThing")
	}
	if s.cfgErr != nil {
		return s.cfgErr
	}
	tdPath := t.TDPath()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("wot: the server has been shut down; create a new one")
	}
	if s.things[t.id] != nil {
		return fmt.Errorf("wot: a Thing with id %q is already served; Thing ids must be unique", t.id)
	}
	if o := s.tdPaths[tdPath]; o != nil {
		return fmt.Errorf("wot: Things %q and %q would both serve their TD at %s; give one another path with WithTDPath", o.id, t.id, tdPath)
	}
	if !t.srv.CompareAndSwap(nil, s) {
		return fmt.Errorf("wot: Thing %q is already served by another Server", t.id)
	}
	s.things[t.id] = t
	s.order = append(s.order, t)
	s.tdPaths[tdPath] = t
	s.cfg.log.Debug("wot: serving Thing", "thing", t.id, "td", tdPath)
	for _, b := range s.bindings {
		if ta, ok := b.(thingAdder); ok {
			ta.ThingAdded(t)
		}
	}
	return nil
}

// thingAdder is implemented by bindings that prepare per-Thing state (routes, the
// operations a TD offers) when a Thing is added rather than on its first request. It is
// called under the Server's lock: it must not call back into the Server.
type thingAdder interface {
	ThingAdded(t *Thing)
}

// Things returns the served Things in AddThing order.
func (s *Server) Things() []*Thing {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.order)
}

// Thing returns the served Thing with that id, or nil.
func (s *Server) Thing(id string) *Thing {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.things[id]
}

// ThingAt returns the served Thing whose TD is at path (unescaped), or nil.
func (s *Server) ThingAt(path string) *Thing {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tdPaths[path]
}

// Setting returns the value of a binding-specific option set with ServerSetting, or nil.
func (s *Server) Setting(key any) any { return s.cfg.settings[key] }

// Logger returns the Server's logger (never nil).
func (s *Server) Logger() *slog.Logger { return s.cfg.log }

// OriginPatterns returns the origins allowed with WithOriginPatterns, for bindings that
// check browser origins.
func (s *Server) OriginPatterns() []string { return slices.Clone(s.cfg.origins) }

// Binding returns the Server's binding with that name, or nil.
func (s *Server) Binding(name string) ServerBinding {
	for _, b := range s.bindings {
		if b.Name() == name {
			return b
		}
	}
	return nil
}

// AuthFailures returns how many requests the Authenticator has refused.
func (s *Server) AuthFailures() uint64 { return s.authFailures.Load() }

// Closed reports whether Shutdown or Close has begun; bindings refuse new sessions then.
func (s *Server) Closed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// ServeHTTP serves GET and HEAD on TD paths and /.well-known/wot, and offers every other
// request, once authenticated, to the bindings in order.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	thing := s.ThingAt(r.URL.Path)
	if r.URL.Path == "/.well-known/wot" || thing != nil {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD are allowed on a Thing Description", http.StatusMethodNotAllowed)
			return
		}
		s.serveTD(w, r, thing)
		return
	}
	if s.cfgErr != nil {
		s.cfg.log.Error("wot: the server is misconfigured", "err", s.cfgErr)
		http.Error(w, "the server is misconfigured; see its log", http.StatusInternalServerError)
		return
	}
	if s.Closed() {
		w.Header().Set("Retry-After", "10")
		http.Error(w, "the server is shutting down; retry later", http.StatusServiceUnavailable)
		return
	}
	var principal string
	if s.cfg.auth != nil && !isPreflight(r) {
		p, err := s.cfg.auth.Authenticate(r)
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		principal = p
	}
	r = r.WithContext(WithCaller(r.Context(), Caller{Principal: principal}))
	for _, b := range s.bindings {
		if b.Serve(w, r) {
			return
		}
	}
	http.NotFound(w, r)
}

// refuse answers a request the Authenticator refused: 401 with its challenge, or the 403
// it asked for. The body never echoes what was offered.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.authFailures.Add(1)
	status := http.StatusUnauthorized
	var pe *Error
	if errors.As(err, &pe) && pe.Status == http.StatusForbidden {
		status = http.StatusForbidden
	} else if c, ok := s.cfg.auth.(challenger); ok {
		if ch := c.Challenge(); ch != "" {
			w.Header().Set("WWW-Authenticate", ch)
		}
	}
	s.cfg.log.Debug("wot: request refused", "remote", r.RemoteAddr, "path", r.URL.Path, "status", status, "err", err)
	http.Error(w, "authentication failed: send the credentials the Thing Description's security scheme asks for", status)
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// Shutdown stops accepting requests, ends every binding's sessions (a WTP connection is
// closed with 1001 going away after what was already queued), then cancels running
// asynchronous actions, and waits until all of them have ended. If ctx is done first, it
// cuts what remains and returns ctx's error; handlers that ignore their context may then
// still be running. The HTTP server itself is the caller's to shut down afterwards
// (ListenAndServe does both, in this order).
func (s *Server) Shutdown(ctx context.Context) error {
	things := s.beginClose()
	var err error
	for _, b := range s.bindings {
		if e := b.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	for _, t := range things {
		if e := t.stop(ctx); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Close cuts every session at once (bindings that implement Close() error are closed, the
// others shut down with a context already done), cancels running asynchronous actions and
// waits for them, so a handler that ignores its context delays it.
func (s *Server) Close() error {
	things := s.beginClose()
	var err error
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, b := range s.bindings {
		var e error
		if c, ok := b.(interface{ Close() error }); ok {
			e = c.Close()
		} else {
			e = b.Shutdown(done)
		}
		if e != nil && err == nil && !errors.Is(e, context.Canceled) {
			err = e
		}
	}
	for _, t := range things {
		if e := t.stop(context.Background()); e != nil && err == nil {
			err = e
		}
	}
	return err
}

func (s *Server) beginClose() []*Thing {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return slices.Clone(s.order)
}

// BaseURL returns the http(s) URL consumers reach the server at, without a trailing slash:
// WithExternalURL, or else the request's scheme and Host.
func (s *Server) BaseURL(r *http.Request) *url.URL {
	if s.cfg.external != "" {
		if u, err := parseExternalURL(s.cfg.external); err == nil {
			return u
		}
	}
	u := &url.URL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u
}

func parseExternalURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("wot: external URL %q must be absolute, like https://things.example.org/prefix", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("wot: external URL %q must use http, https, ws or wss", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}
