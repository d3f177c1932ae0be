package wtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Server serves Things over HTTP: each Thing's TD (at its TD path and /.well-known/wot) and
// the Web Thing Protocol endpoints named by the TDs' forms. Several Things may share one
// endpoint; requests are routed by thingID.
//
// Handshake: a WebSocket upgrade must offer the sub-protocol "webthingprotocol" (else HTTP
// 400), pass the Authenticator (else 401 with WWW-Authenticate), find the server open and
// under WithMaxConnections (else 503) and pass the origin policy (else 403), all before
// the upgrade.
//
// Requests are answered in order, except those that call user handlers (reads and writes of
// handler-backed properties, synchronous actions), which run concurrently (at most
// WithMaxInFlight per connection) and may be answered out of order; consumers match
// responses by correlationID. Notifications of one Thing reach each connection in the order
// they happened, after the response to the request that subscribed.
//
// Connections are closed with:
//   - 1001 (CloseShutdown) on Shutdown/Close;
//   - 1003 (CloseBinary) after a binary frame;
//   - 1007 (CloseMalformed) after WithMalformedLimit consecutive frames that are not JSON
//     objects (each one is answered with a 400 first);
//   - 1008 (CloseRateLimited) when still over the rate limit after 5 s of 503 answers;
//   - 1008 when a ping goes unanswered for the ping interval;
//   - 1009 (CloseTooBig) for a message over the read limit;
//   - 1013 (CloseSlowConsumer) when the send queue is full: the consumer reads too slowly.
//     It never delays the Thing or other consumers; it may reconnect and catch up with
//     lastNotificationID.
type Server struct {
	cfg    serverConfig
	cfgErr error

	mu        sync.RWMutex
	things    map[string]*Thing // by thingID
	order     []*Thing          // in AddThing order
	tdPaths   map[string]*Thing
	endpoints map[string]*endpoint // by URL path
	conns     map[*conn]struct{}
	upgrading int // handshakes past the connection-limit check, not yet in conns
	closed    bool

	wg    sync.WaitGroup // one per WebSocket connection being served
	stats counters
}

// endpoint is one WTP URL path and the Things reachable through it.
type endpoint struct {
	path   string
	things map[string]*Thing // guarded by Server.mu
}

// ServerOption configures a Server.
type ServerOption func(*serverConfig)

type serverConfig struct {
	log          *slog.Logger
	readLimit    int64
	rate         float64
	burst        int
	rateGrace    time.Duration
	sendQueue    int
	auth         Authenticator
	origins      []string
	ping         time.Duration
	external     string
	malformed    int
	writeTimeout time.Duration
	maxInFlight  int
	maxConns     int
	authorize    Authorizer
}

// Authorizer decides whether the connection's principal (PrincipalFrom(ctx)) may perform
// op on the named affordance of a Thing. name is "" for Thing-level operations and for
// queryaction/cancelaction, whose requests carry no name. A non-nil error refuses the
// request: an *Error is sent as is, any other error as a 403 with its text. It runs on
// the connection's reader for every request, so it must be fast.
type Authorizer func(ctx context.Context, thingID, op, name string) error

// WithAuthorizer checks every request with a (default: everything authenticated is
// allowed). queryallactions lists only the actions the principal may query.
func WithAuthorizer(a Authorizer) ServerOption { return func(c *serverConfig) { c.authorize = a } }

// WithLogger sets the logger (default: discard everything). Connection events log at Debug,
// dropped consumers at Warn, handler panics and encoding failures at Error.
func WithLogger(l *slog.Logger) ServerOption { return func(c *serverConfig) { c.log = l } }

// WithReadLimit sets the largest message accepted, in bytes (default DefaultReadLimit).
// A larger message closes the connection with 1009.
func WithReadLimit(n int64) ServerOption { return func(c *serverConfig) { c.readLimit = n } }

// WithRateLimit sets the per-connection token bucket (default DefaultRateLimit messages/s,
// burst DefaultRateBurst; perSec 0 disables it). Messages over the limit get 503; a
// connection still over it after 5 s is closed with 1008.
func WithRateLimit(perSec float64, burst int) ServerOption {
	return func(c *serverConfig) { c.rate, c.burst = perSec, burst }
}

// WithSendQueue sets how many outgoing messages may wait per connection (default
// DefaultSendQueue). A consumer that lets its queue fill up is closed with
// CloseSlowConsumer (1013), so it never delays the Thing or other consumers.
func WithSendQueue(n int) ServerOption { return func(c *serverConfig) { c.sendQueue = n } }

// WithAuthenticator requires every handshake to pass a (default: no authentication).
func WithAuthenticator(a Authenticator) ServerOption { return func(c *serverConfig) { c.auth = a } }

// WithOriginPatterns allows browser pages from these origins (host patterns, path.Match
// syntax) to connect. By default only same-origin browser requests are accepted; clients
// that send no Origin header (non-browsers) are always accepted.
func WithOriginPatterns(patterns ...string) ServerOption {
	return func(c *serverConfig) { c.origins = append(c.origins, patterns...) }
}

// WithPingInterval sets how often idle connections are pinged (default
// DefaultPingInterval; 0 disables pings). A connection that does not answer a ping within
// the interval is closed.
func WithPingInterval(d time.Duration) ServerOption { return func(c *serverConfig) { c.ping = d } }

// WithExternalURL sets the URL the server is reachable at from consumers (for example
// "https://things.example.org/farm" behind a reverse proxy that strips "/farm"). Served TDs
// use it for base and form hrefs. By default they use the request's Host and scheme.
func WithExternalURL(u string) ServerOption { return func(c *serverConfig) { c.external = u } }

// WithMalformedLimit sets how many consecutive malformed frames (not JSON, not an object)
// close a connection with 1007 (default DefaultMalformedLimit; 0 never closes).
func WithMalformedLimit(n int) ServerOption { return func(c *serverConfig) { c.malformed = n } }

// WithWriteTimeout bounds each write to a connection (default DefaultWriteTimeout); a
// consumer that does not take a message within it is disconnected.
func WithWriteTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) { c.writeTimeout = d }
}

// WithMaxInFlight bounds how many handler calls (reads, writes, synchronous actions) one
// connection may have running at once (default DefaultMaxInFlight); further requests wait.
func WithMaxInFlight(n int) ServerOption { return func(c *serverConfig) { c.maxInFlight = n } }

// WithMaxConnections bounds the number of open WebSocket connections (default 0: no
// bound); further upgrades get HTTP 503 before any upgrade.
func WithMaxConnections(n int) ServerOption { return func(c *serverConfig) { c.maxConns = n } }

// NewServer returns a Server with safe defaults; add Things with AddThing.
func NewServer(opts ...ServerOption) *Server {
	cfg := serverConfig{
		readLimit: DefaultReadLimit, rate: DefaultRateLimit, burst: DefaultRateBurst, rateGrace: DefaultRateLimitGrace,
		sendQueue: DefaultSendQueue, ping: DefaultPingInterval, malformed: DefaultMalformedLimit,
		writeTimeout: DefaultWriteTimeout, maxInFlight: DefaultMaxInFlight,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	cfg.sendQueue = max(cfg.sendQueue, 1)
	cfg.maxInFlight = max(cfg.maxInFlight, 1)
	if cfg.writeTimeout <= 0 {
		cfg.writeTimeout = DefaultWriteTimeout
	}
	s := &Server{cfg: cfg, things: map[string]*Thing{}, tdPaths: map[string]*Thing{},
		endpoints: map[string]*endpoint{}, conns: map[*conn]struct{}{}}
	s.stats.errors = map[int]uint64{}
	if cfg.external != "" {
		if _, err := parseExternalURL(cfg.external); err != nil {
			s.cfgErr = err
		}
	}
	return s
}

// AddThing serves t. A Thing can be served by one Server only; thingIDs and TD paths must
// be unique within the Server.
func (s *Server) AddThing(t *Thing) error {
	if t == nil {
		return errors.New("wtp: AddThing(nil); build the Thing with NewThing")
	}
	if s.cfgErr != nil {
		return s.cfgErr
	}
	tdPath := t.tdPath()
	paths := t.wtpPaths()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("wtp: the server has been shut down; create a new one")
	}
	if s.things[t.id] != nil {
		return fmt.Errorf("wtp: a Thing with id %q is already served; thingIDs must be unique", t.id)
	}
	if o := s.tdPaths[tdPath]; o != nil {
		return fmt.Errorf("wtp: Things %q and %q would both serve their TD at %s; give one another path with WithTDPath", o.id, t.id, tdPath)
	}
	t.mu.Lock()
	if t.srv != nil {
		t.mu.Unlock()
		return fmt.Errorf("wtp: Thing %q is already served by another Server", t.id)
	}
	t.srv = s
	t.mu.Unlock()

	s.things[t.id] = t
	s.order = append(s.order, t)
	s.tdPaths[tdPath] = t
	for _, p := range paths {
		ep := s.endpoints[p]
		if ep == nil {
			ep = &endpoint{path: p, things: map[string]*Thing{}}
			s.endpoints[p] = ep
		}
		ep.things[t.id] = t
	}
	s.cfg.log.Debug("wtp: serving Thing", "thing", t.id, "td", tdPath, "endpoints", paths)
	return nil
}

// lookup returns the Thing with the given id reachable through ep.
func (s *Server) lookup(ep *endpoint, id string) *Thing {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return ep.things[id]
}

// soleThingID returns the id of the endpoint's only Thing, or "" when it serves several;
// it fills thingID in answers to unreadable requests (spec §7).
func (s *Server) soleThingID(ep *endpoint) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(ep.things) != 1 {
		return ""
	}
	for id := range ep.things {
		return id
	}
	return ""
}

// ServeHTTP routes WebSocket upgrades on WTP endpoint paths to the protocol, and GET on TD
// paths and /.well-known/wot to the TDs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	ep := s.endpoints[r.URL.Path]
	thing := s.tdPaths[r.URL.Path]
	s.mu.RUnlock()

	switch {
	case ep != nil && isUpgrade(r):
		s.serveWTP(w, r, ep)
	case r.URL.Path == "/.well-known/wot" || thing != nil:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD are allowed on a Thing Description", http.StatusMethodNotAllowed)
			return
		}
		s.serveTD(w, r, thing)
	case ep != nil:
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this is a Web Thing Protocol endpoint: open a WebSocket (ws:// or wss://) offering the sub-protocol \""+Subprotocol+"\"", http.StatusUpgradeRequired)
	default:
		http.NotFound(w, r)
	}
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serveWTP checks the handshake (sub-protocol, credentials) before upgrading, then serves
// the connection until it closes.
func (s *Server) serveWTP(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	if !headerHasToken(r.Header, "Sec-WebSocket-Protocol", Subprotocol) {
		http.Error(w, "this Web Thing Protocol endpoint requires the WebSocket sub-protocol \""+Subprotocol+
			"\": send the header \"Sec-WebSocket-Protocol: "+Subprotocol+"\"", http.StatusBadRequest)
		return
	}
	var principal string
	if s.cfg.auth != nil {
		p, err := s.cfg.auth.Authenticate(r)
		if err != nil {
			s.stats.authFailures.Add(1)
			status := http.StatusUnauthorized
			var pe *Error
			if errors.As(err, &pe) && pe.Status == http.StatusForbidden {
				status = http.StatusForbidden
			} else if c, ok := s.cfg.auth.(Challenger); ok {
				w.Header().Set("WWW-Authenticate", c.Challenge())
			}
			s.cfg.log.Debug("wtp: handshake refused", "remote", r.RemoteAddr, "status", status, "err", err)
			http.Error(w, "authentication failed: send the credentials the Thing Description's security scheme asks for", status)
			return
		}
		principal = p
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "the server is shutting down; retry later", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.maxConns > 0 && s.upgrading+len(s.conns) >= s.cfg.maxConns {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many connections; retry later", http.StatusServiceUnavailable)
		return
	}
	s.upgrading++
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	upgraded := false
	defer func() {
		if !upgraded {
			s.mu.Lock()
			s.upgrading--
			s.mu.Unlock()
		}
	}()

	hw := &hijackWriter{ResponseWriter: w}
	var rw http.ResponseWriter = hw
	if !canHijack(w) {
		rw = w // let Accept report it as before
	}
	ws, err := websocket.Accept(rw, r, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: s.cfg.origins,
	})
	if err != nil {
		s.cfg.log.Debug("wtp: WebSocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return // Accept has written the HTTP error
	}
	ws.SetReadLimit(s.cfg.readLimit)
	c := newConn(s, ep, ws, principal, r.RemoteAddr)
	c.nc, c.cork, c.br = hw.nc, hw.cork, hw.br
	upgraded = true
	if !s.addConn(c) {
		ws.Close(CloseShutdown, "server shutting down")
		return
	}
	// Serve on a fresh goroutine and let the HTTP handler return: net/http then drops what it
	// holds for the request (its write buffers, the parsed request, the handler's grown
	// stack), which an idle connection would otherwise keep for life.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.removeConn(c)
		c.serve()
	}()
}

func (s *Server) addConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upgrading--
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.stats.connections.Add(1)
	s.stats.connectionsTotal.Add(1)
	return true
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.stats.connections.Add(-1)
}

// Shutdown stops accepting connections, closes every connection with 1001 (going away)
// after sending what was already queued, cancels the contexts of running handlers and
// waits until all of the server's goroutines have ended. If ctx is done first, it cuts the
// remaining connections without a close handshake and returns ctx's error; handlers that
// ignore their context may then still be running. The HTTP server itself is the caller's
// to shut down (http.Server does not track hijacked connections).
func (s *Server) Shutdown(ctx context.Context) error {
	conns, things := s.beginClose()
	for _, c := range conns {
		c.closeWith(CloseShutdown, "server shutting down", false)
	}
	return s.finishClose(ctx, conns, things)
}

// Close cuts every connection at once, without close handshakes, cancels the contexts of
// running handlers and waits for the server's goroutines to end (so a handler that ignores
// its context delays it).
func (s *Server) Close() error {
	conns, things := s.beginClose()
	for _, c := range conns {
		c.closeWith(CloseShutdown, "server closed", true)
		c.hardClose()
	}
	return s.finishClose(context.Background(), conns, things)
}

func (s *Server) beginClose() ([]*conn, []*Thing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns, append([]*Thing(nil), s.order...)
}

func (s *Server) finishClose(ctx context.Context, conns []*conn, things []*Thing) error {
	var err error
	for _, t := range things {
		if e := t.stop(ctx); e != nil && err == nil {
			err = e
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		for _, c := range conns {
			c.hardClose() // their goroutines end promptly, except handlers ignoring ctx
		}
		return ctx.Err()
	}
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections          int64          // open now
	ConnectionsTotal     uint64         // accepted since start
	MessagesIn           uint64         // frames received
	MessagesOut          uint64         // messages written
	Notifications        uint64         // notifications queued (one per connection per change)
	Errors               map[int]uint64 // error responses sent, by problem status
	DroppedSlowConsumers uint64         // connections closed because their send queue was full
	RateLimited          uint64         // requests refused with 503 by the rate limiter
	AuthFailures         uint64         // handshakes refused for missing or wrong credentials
}

type counters struct {
	connections      atomic.Int64
	connectionsTotal atomic.Uint64
	messagesIn       atomic.Uint64
	messagesOut      atomic.Uint64
	notifications    atomic.Uint64
	dropped          atomic.Uint64
	rateLimited      atomic.Uint64
	authFailures     atomic.Uint64

	mu     sync.Mutex
	errors map[int]uint64
}

func (c *counters) countError(status int) {
	c.mu.Lock()
	c.errors[status]++
	c.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Connections:          s.stats.connections.Load(),
		ConnectionsTotal:     s.stats.connectionsTotal.Load(),
		MessagesIn:           s.stats.messagesIn.Load(),
		MessagesOut:          s.stats.messagesOut.Load(),
		Notifications:        s.stats.notifications.Load(),
		DroppedSlowConsumers: s.stats.dropped.Load(),
		RateLimited:          s.stats.rateLimited.Load(),
		AuthFailures:         s.stats.authFailures.Load(),
		Errors:               map[int]uint64{},
	}
	s.stats.mu.Lock()
	for k, v := range s.stats.errors {
		st.Errors[k] = v
	}
	s.stats.mu.Unlock()
	return st
}

// NewHTTPServer returns an http.Server for h with every timeout set, so slow or idle
// clients cannot hold connections forever. WebSocket connections are exempt once upgraded
// (net/http clears deadlines on hijack); the WTP server's own limits apply to them.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

func parseExternalURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("wtp: external URL %q must be absolute, like https://things.example.org/prefix", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("wtp: external URL %q must use http, https, ws or wss", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}
