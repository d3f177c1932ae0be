package wtp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp/internal/wsconn"
)

func init() {
	wot.RegisterServer(func() wot.ServerBinding { return &serverBinding{} })
}

// serverBinding serves a wot.Server's Things over the Web Thing Protocol at the endpoints
// named by their TDs' WTP forms. Several Things may share one endpoint; requests are routed
// by thingID.
//
// Handshake (after the Server's authentication): a WebSocket upgrade must offer the
// sub-protocol "webthingprotocol" (else HTTP 400), find the server open and under
// WithMaxConnections (else 503) and pass the origin policy (else 403), all before the
// upgrade. A plain request to an endpoint gets 426 Upgrade Required.
//
// Requests are answered in order, except those that call user handlers (reads and writes of
// handler-backed properties, synchronous actions), which run concurrently (at most
// WithMaxInFlight per connection) and may be answered out of order; consumers match
// responses by correlationID. Notifications of one Thing reach each connection in the order
// they happened, after the response to the request that subscribed.
//
// Connections are closed with:
//   - 1001 (CloseShutdown) on the Server's Shutdown/Close;
//   - 1003 (CloseBinary) after a binary frame;
//   - 1007 (CloseMalformed) after WithMalformedLimit consecutive frames that are not JSON
//     objects (each one is answered with a 400 first);
//   - 1008 (CloseRateLimited) when still over the rate limit after 5 s of 503 answers;
//   - 1008 when a ping goes unanswered for the ping interval;
//   - 1009 (CloseTooBig) for a message over the read limit;
//   - 1013 (CloseSlowConsumer) when the consumer does not keep up: what waits to be sent to
//     it exceeds WithSendBuffer, or it has taken nothing for WithWriteTimeout while messages
//     waited. A consumer that keeps reading is never dropped for a burst it is behind on;
//     one that stops reading never delays the Thing or other consumers. It may reconnect
//     and catch up with lastNotificationID.
type serverBinding struct {
	srv *wot.Server
	cfg serverConfig

	mu        sync.Mutex
	infos     map[*wot.Thing]*thingInfo
	endpoints map[string][]*wot.Thing // by URL path, of the Things in infos
	conns     map[*conn]struct{}
	upgrading int // handshakes past the connection-limit check, not yet in conns
	closed    bool

	wg    sync.WaitGroup // one per WebSocket connection being served
	wd    watchdog       // of handler calls running on connections' readers
	stats counters
}

type serverConfig struct {
	readLimit    int64
	rate         float64
	burst        int
	rateGrace    time.Duration
	sendBuffer   int
	ping         time.Duration
	malformed    int
	writeTimeout time.Duration
	maxInFlight  int
	maxConns     int
}

// Keys of the binding's settings in wot.ServerSetting.
type (
	readLimitKey    struct{}
	rateLimitKey    struct{}
	sendBufferKey   struct{}
	pingKey         struct{}
	malformedKey    struct{}
	writeTimeoutKey struct{}
	maxInFlightKey  struct{}
	maxConnsKey     struct{}
	rateGraceKey    struct{} // tests only: how long a connection may stay over its rate limit
)

type rateSetting struct {
	perSec float64
	burst  int
}

// WithReadLimit sets the largest message accepted, in bytes (default DefaultReadLimit).
// A larger message closes the connection with 1009.
func WithReadLimit(n int64) wot.ServerOption { return wot.ServerSetting(readLimitKey{}, n) }

// WithRateLimit sets the per-connection token bucket (default DefaultRateLimit messages/s,
// burst DefaultRateBurst; perSec 0 disables it). Messages over the limit get 503; a
// connection still over it after 5 s is closed with 1008.
func WithRateLimit(perSec float64, burst int) wot.ServerOption {
	return wot.ServerSetting(rateLimitKey{}, rateSetting{perSec, burst})
}

// WithSendBuffer sets how many bytes of outgoing messages (as encoded, estimated) may wait
// per connection (default DefaultSendBuffer, 16 MiB). A consumer whose queue would exceed
// it is closed with CloseSlowConsumer (1013) and its queue freed, so it never delays the
// Thing or other consumers nor holds more memory than this. Size it for the largest burst
// a healthy consumer may fall behind on; WithWriteTimeout catches consumers that stop
// reading long before a generous buffer fills. One message is always accepted, however
// large.
func WithSendBuffer(bytes int) wot.ServerOption { return wot.ServerSetting(sendBufferKey{}, bytes) }

// WithPingInterval sets how often idle connections are pinged (default
// DefaultPingInterval; 0 disables pings). A connection that does not answer a ping within
// the interval is closed.
func WithPingInterval(d time.Duration) wot.ServerOption { return wot.ServerSetting(pingKey{}, d) }

// WithMalformedLimit sets how many consecutive malformed frames (not JSON, not an object)
// close a connection with 1007 (default DefaultMalformedLimit; 0 never closes).
func WithMalformedLimit(n int) wot.ServerOption { return wot.ServerSetting(malformedKey{}, n) }

// WithWriteTimeout bounds how long a connection may go without taking any of the messages
// written to it (default DefaultWriteTimeout): a consumer that reads nothing for that long
// while messages wait (between half of it and all of it: the deadline is renewed once half is
// left) is closed with CloseSlowConsumer (1013). It measures progress, not
// speed: writes are batches of at most 64 KiB, so a consumer that keeps reading, however
// far behind, completes one well within it.
func WithWriteTimeout(d time.Duration) wot.ServerOption {
	return wot.ServerSetting(writeTimeoutKey{}, d)
}

// WithMaxInFlight bounds how many handler calls (reads, writes, synchronous actions) one
// connection may have running at once (default DefaultMaxInFlight); further requests wait.
func WithMaxInFlight(n int) wot.ServerOption { return wot.ServerSetting(maxInFlightKey{}, n) }

// WithMaxConnections bounds the number of open WebSocket connections (default 0: no
// bound); further upgrades get HTTP 503 before any upgrade.
func WithMaxConnections(n int) wot.ServerOption { return wot.ServerSetting(maxConnsKey{}, n) }

func (b *serverBinding) Name() string { return "wtp" }

// Start reads the binding's settings, with safe defaults.
func (b *serverBinding) Start(s *wot.Server) error {
	if b.srv != nil {
		return fmt.Errorf("wtp: this binding instance already serves another Server; give each Server its own")
	}
	cfg := serverConfig{
		readLimit: DefaultReadLimit, rate: DefaultRateLimit, burst: DefaultRateBurst, rateGrace: DefaultRateLimitGrace,
		sendBuffer: DefaultSendBuffer, ping: DefaultPingInterval, malformed: DefaultMalformedLimit,
		writeTimeout: DefaultWriteTimeout, maxInFlight: DefaultMaxInFlight,
	}
	setting(s, readLimitKey{}, &cfg.readLimit)
	var rs rateSetting
	if setting(s, rateLimitKey{}, &rs) {
		cfg.rate, cfg.burst = rs.perSec, rs.burst
	}
	setting(s, sendBufferKey{}, &cfg.sendBuffer)
	setting(s, pingKey{}, &cfg.ping)
	setting(s, malformedKey{}, &cfg.malformed)
	setting(s, writeTimeoutKey{}, &cfg.writeTimeout)
	setting(s, maxInFlightKey{}, &cfg.maxInFlight)
	setting(s, maxConnsKey{}, &cfg.maxConns)
	setting(s, rateGraceKey{}, &cfg.rateGrace)
	cfg.sendBuffer = max(cfg.sendBuffer, 1)
	cfg.maxInFlight = max(cfg.maxInFlight, 1)
	if cfg.writeTimeout <= 0 {
		cfg.writeTimeout = DefaultWriteTimeout
	}
	b.srv, b.cfg = s, cfg
	b.infos = map[*wot.Thing]*thingInfo{}
	b.endpoints = map[string][]*wot.Thing{}
	b.conns = map[*conn]struct{}{}
	b.stats.errors = map[int]uint64{}
	return nil
}

// setting copies the Server's setting for key into dst when it is set (with dst's type).
func setting[T any](s *wot.Server, key any, dst *T) bool {
	v, ok := s.Setting(key).(T)
	if ok {
		*dst = v
	}
	return ok
}

// ThingAdded derives the binding's view of t (endpoints, offered operations) when the
// Server adds it, so the first request does not pay for it.
func (b *serverBinding) ThingAdded(t *wot.Thing) { b.info(t) }

// info returns what the binding derived from t's TD, computing it on first use.
func (b *serverBinding) info(t *wot.Thing) *thingInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.infos[t]
	if i == nil {
		i = newThingInfo(t)
		b.infos[t] = i
		for _, p := range i.paths {
			b.endpoints[p] = append(b.endpoints[p], t)
		}
	}
	return i
}

// lookup returns the Thing with the given id reachable through the endpoint at path.
func (b *serverBinding) lookup(path, id string) (*wot.Thing, *thingInfo) {
	t := b.srv.Thing(id)
	if t == nil {
		return nil, nil
	}
	if i := b.info(t); i.servesAt(path) {
		return t, i
	}
	return nil, nil
}

// endpointThings returns the Things served at the endpoint path.
func (b *serverBinding) endpointThings(path string) []*wot.Thing {
	b.mu.Lock()
	ts, indexed := b.endpoints[path], len(b.infos)
	b.mu.Unlock()
	if all := b.srv.Things(); len(all) > indexed { // added while we were not told
		for _, t := range all {
			b.info(t)
		}
		b.mu.Lock()
		ts = b.endpoints[path]
		b.mu.Unlock()
	}
	return ts
}

// soleThingID returns the id of the endpoint's only Thing, or "" when it serves several;
// it fills thingID in answers to unreadable requests.
func (b *serverBinding) soleThingID(path string) string {
	if ts := b.endpointThings(path); len(ts) == 1 {
		return ts[0].ID()
	}
	return ""
}

// Serve claims requests to WTP endpoint paths: WebSocket upgrades become connections,
// anything else gets 426 Upgrade Required.
func (b *serverBinding) Serve(w http.ResponseWriter, r *http.Request) bool {
	if len(b.endpointThings(r.URL.Path)) == 0 {
		return false
	}
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this is a Web Thing Protocol endpoint: open a WebSocket (ws:// or wss://) offering the sub-protocol \""+Subprotocol+"\"", http.StatusUpgradeRequired)
		return true
	}
	b.serveWTP(w, r, r.URL.Path)
	return true
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

// serveWTP checks the handshake (sub-protocol, connection limit, origin) before upgrading,
// then serves the connection until it closes.
func (b *serverBinding) serveWTP(w http.ResponseWriter, r *http.Request, path string) {
	if !headerHasToken(r.Header, "Sec-WebSocket-Protocol", Subprotocol) {
		http.Error(w, "this Web Thing Protocol endpoint requires the WebSocket sub-protocol \""+Subprotocol+
			"\": send the header \"Sec-WebSocket-Protocol: "+Subprotocol+"\"", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		http.Error(w, "the server is shutting down; retry later", http.StatusServiceUnavailable)
		return
	}
	if b.cfg.maxConns > 0 && b.upgrading+len(b.conns) >= b.cfg.maxConns {
		b.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many connections; retry later", http.StatusServiceUnavailable)
		return
	}
	b.upgrading++
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	upgraded := false
	defer func() {
		if !upgraded {
			b.mu.Lock()
			b.upgrading--
			b.mu.Unlock()
		}
	}()

	wc, err := wsconn.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: b.srv.OriginPatterns(),
	}, b.cfg.writeTimeout)
	if err != nil {
		b.srv.Logger().Debug("wtp: WebSocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return // Accept has written the HTTP error
	}
	wc.SetReadLimit(b.cfg.readLimit)
	c := newConn(b, path, wc, wot.CallerFrom(r.Context()).Principal, r.RemoteAddr)
	upgraded = true
	if !b.addConn(c) {
		wc.Close(CloseShutdown, "server shutting down")
		return
	}
	// Serve on a fresh goroutine and let the HTTP handler return: net/http then drops what it
	// holds for the request (its write buffers, the parsed request, the handler's grown
	// stack), which an idle connection would otherwise keep for life.
	b.wg.Add(1)
	go c.serve(func() {
		b.removeConn(c)
		b.wg.Done()
	})
}

func (b *serverBinding) addConn(c *conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.upgrading--
	if b.closed {
		return false
	}
	b.conns[c] = struct{}{}
	b.stats.connections.Add(1)
	b.stats.connectionsTotal.Add(1)
	return true
}

func (b *serverBinding) removeConn(c *conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
	b.stats.connections.Add(-1)
}

// Shutdown closes every connection with 1001 (going away) after sending what was already
// queued, and waits for the connections' goroutines (handler calls included: their
// contexts are cancelled). If ctx is done first, it cuts the remaining connections
// without a close handshake and returns ctx's error.
func (b *serverBinding) Shutdown(ctx context.Context) error {
	conns := b.beginClose()
	for _, c := range conns {
		c.closeWith(CloseShutdown, "server shutting down", false)
	}
	return b.wait(ctx, conns)
}

// Close cuts every connection at once, without close handshakes, and waits for the
// connections' goroutines.
func (b *serverBinding) Close() error {
	conns := b.beginClose()
	for _, c := range conns {
		c.closeWith(CloseShutdown, "server closed", true)
		c.hardClose()
	}
	return b.wait(context.Background(), conns)
}

func (b *serverBinding) beginClose() []*conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	conns := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	return conns
}

func (b *serverBinding) wait(ctx context.Context, conns []*conn) error {
	done := make(chan struct{})
	// The watchdog stops within idle ticks of the last connection's last call.
	go func() { b.wg.Wait(); b.wd.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.hardClose() // their goroutines end promptly, except handlers ignoring ctx
		}
		return ctx.Err()
	}
}

// Stats is a snapshot of the WTP binding's counters on one Server.
type Stats struct {
	Connections          int64          // open now
	ConnectionsTotal     uint64         // accepted since start
	MessagesIn           uint64         // frames received
	MessagesOut          uint64         // messages written
	Notifications        uint64         // notifications queued (one per connection per change)
	Errors               map[int]uint64 // error responses sent, by problem status
	DroppedSlowConsumers uint64         // connections closed with 1013: over the send buffer, or no progress
	RateLimited          uint64         // requests refused with 503 by the rate limiter
	AuthFailures         uint64         // requests the Server's Authenticator refused (all bindings)
}

type counters struct {
	connections      atomic.Int64
	connectionsTotal atomic.Uint64
	messagesIn       atomic.Uint64
	messagesOut      atomic.Uint64
	notifications    atomic.Uint64
	dropped          atomic.Uint64
	rateLimited      atomic.Uint64

	mu     sync.Mutex
	errors map[int]uint64
}

func (c *counters) countError(status int) {
	c.mu.Lock()
	c.errors[status]++
	c.mu.Unlock()
}

// ServerStats returns a snapshot of the WTP counters of s (zero when s has no WTP binding).
func ServerStats(s *wot.Server) Stats {
	st := Stats{Errors: map[int]uint64{}, AuthFailures: s.AuthFailures()}
	b, ok := s.Binding("wtp").(*serverBinding)
	if !ok {
		return st
	}
	st.Connections = b.stats.connections.Load()
	st.ConnectionsTotal = b.stats.connectionsTotal.Load()
	st.MessagesIn = b.stats.messagesIn.Load()
	st.MessagesOut = b.stats.messagesOut.Load()
	st.Notifications = b.stats.notifications.Load()
	st.DroppedSlowConsumers = b.stats.dropped.Load()
	st.RateLimited = b.stats.rateLimited.Load()
	b.stats.mu.Lock()
	for k, v := range b.stats.errors {
		st.Errors[k] = v
	}
	b.stats.mu.Unlock()
	return st
}
