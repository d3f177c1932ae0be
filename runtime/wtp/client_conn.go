package wtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// maxBadFrames consecutive undecodable messages close the connection (status 1007): past
// that point the peer is not speaking WTP and waiting longer only hides the problem.
const maxBadFrames = 100

// topicKey is one server-side subscription entry: a property or event of one Thing, or
// all of them (name == "").
type topicKey struct {
	thingID string
	kind    td.Kind // td.KindProperty (observations) or td.KindEvent (subscriptions)
	name    string
}

// topic groups the local subscriptions sharing one server-side entry. lastID is the
// messageID of the last notification routed to it: the lastNotificationID to send when
// subscribing again after a reconnect.
type topic struct {
	key    topicKey
	subs   map[*wsub]struct{}
	lastID string
}

type callResult struct {
	msg *Message
	err error
}

// session is one WebSocket of a clientConn; a reconnect makes a new one.
type session struct {
	ws     *websocket.Conn
	ctx    context.Context // cancelled when this WebSocket is finished with
	cancel context.CancelFunc
}

// protocolError makes the read loop close the WebSocket with a specific status.
type protocolError struct {
	code websocket.StatusCode
	msg  string
}

func (e *protocolError) Error() string { return e.msg }

// clientConn is one logical connection to an endpoint: it survives reconnects, owns the
// pending-request table and the subscription routing table, and has exactly one reader
// goroutine per WebSocket (coder/websocket allows only one concurrent reader).
type clientConn struct {
	pool *pool
	key  poolKey
	spec *connSpec
	log  *slog.Logger
	refs int // guarded by pool.mu

	ctx    context.Context // lifetime; cancelled by close or a permanent failure
	cancel context.CancelFunc
	wg     sync.WaitGroup // run, keep-alive and resubscribe goroutines
	// subCtl serialises subscription changes (subscribe, unsubscribe, resubscribe): the
	// server keeps one entry per affordance ("last subscription wins"), so the order in
	// which they reach it must be the order we decided them in.
	subCtl chan struct{}

	mu        sync.Mutex
	sess      *session      // nil while disconnected
	ready     chan struct{} // closed while sess != nil
	closing   bool
	dead      bool
	deadErr   error
	pending   map[string]chan callResult
	topics    map[topicKey]*topic
	listeners map[*stateListener]struct{}
	seen      idRing
	badFrames int       // consecutive undecodable frames
	lastBad   error     // last decode error, quoted when a request times out
	lastBadAt time.Time // when it arrived (only recent garbage explains a timeout)
	strayAt   time.Time // when a response matching no request last arrived
}

func dialConn(ctx context.Context, p *pool, key poolKey, spec *connSpec, a *handshake) (*clientConn, error) {
	ws, err := spec.dialWS(ctx, a)
	if err != nil {
		return nil, err
	}
	c := &clientConn{
		pool:      p,
		key:       key,
		spec:      spec,
		log:       spec.cfg.Logger.With("endpoint", spec.display),
		subCtl:    make(chan struct{}, 1),
		ready:     make(chan struct{}),
		pending:   map[string]chan callResult{},
		topics:    map[topicKey]*topic{},
		listeners: map[*stateListener]struct{}{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	s := c.install(ws)
	c.wg.Add(1)
	go c.run(s)
	return c, nil
}

// install makes ws the current session and starts its keep-alive.
func (c *clientConn) install(ws *websocket.Conn) *session {
	sctx, scancel := context.WithCancel(c.ctx)
	s := &session{ws: ws, ctx: sctx, cancel: scancel}
	c.mu.Lock()
	c.sess = s
	close(c.ready)
	c.badFrames = 0
	c.mu.Unlock()
	if iv := c.spec.opts.pingInterval; iv > 0 {
		c.wg.Add(1)
		go c.keepAlive(s, iv)
	}
	return s
}

// run supervises the connection: read until the WebSocket breaks, then reconnect (or
// give up) and start over.
func (c *clientConn) run(s *session) {
	defer c.wg.Done()
	for {
		err := c.readLoop(s)
		cause := c.drop(s, err)
		if c.isClosing() {
			c.finish(nil)
			return
		}
		policy := c.spec.opts.reconnect
		if policy.Disabled {
			c.finish(fmt.Errorf("%w: %s: %v (reconnecting is disabled)", wot.ErrConnectionLost, c.spec.display, cause))
			return
		}
		c.log.Warn("wtp: connection lost; reconnecting", "cause", cause)
		c.setState(ConnReconnecting)
		ws, err := c.redial(policy)
		if err != nil {
			c.finish(err)
			return
		}
		s = c.install(ws)
		c.log.Info("wtp: reconnected")
		c.setState(ConnConnected)
		c.wg.Add(1)
		go c.resubscribe(s)
	}
}

func (c *clientConn) readLoop(s *session) error {
	for {
		typ, data, err := s.ws.Read(s.ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			return &protocolError{websocket.StatusUnsupportedData, "the Thing sent a binary frame; WTP messages are JSON text frames"}
		}
		if err := c.handle(data); err != nil {
			return err
		}
	}
}

// drop ends session s: closes its WebSocket and fails every request waiting on it. It
// returns a readable cause.
func (c *clientConn) drop(s *session, err error) error {
	var pe *protocolError
	if errors.As(err, &pe) {
		closeBounded(s.ws, pe.code, pe.msg)
	} else {
		s.ws.CloseNow()
	}
	s.cancel()
	cause := err
	if st := websocket.CloseStatus(err); st != -1 {
		cause = fmt.Errorf("closed by the Thing with status %d (%s)", int(st), st)
	}
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
		c.ready = make(chan struct{})
	}
	pend := c.pending
	c.pending = map[string]chan callResult{}
	c.mu.Unlock()
	for _, ch := range pend {
		ch <- callResult{err: fmt.Errorf("%w: %s: %v; the request may or may not have been carried out", wot.ErrConnectionLost, c.spec.display, cause)}
	}
	return cause
}

// closeBounded closes ws with a close handshake, but never waits long for a peer that
// does not answer it.
func closeBounded(ws *websocket.Conn, code websocket.StatusCode, reason string) {
	if len(reason) > 120 { // a close reason must fit in a control frame
		reason = reason[:120]
	}
	done := make(chan struct{})
	go func() {
		ws.Close(code, reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeHandshakeTimeout):
		ws.CloseNow()
		<-done
	}
}

// redial tries to connect again with backoff until it succeeds, the connection is closed,
// or the policy gives up.
func (c *clientConn) redial(p ReconnectPolicy) (*websocket.Conn, error) {
	var last error
	for attempt := 0; p.MaxAttempts == 0 || attempt < p.MaxAttempts; attempt++ {
		t := time.NewTimer(p.delay(attempt))
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil, wot.ErrClosed
		case <-t.C:
		}
		a, err := c.spec.auth()
		if err == nil {
			var ws *websocket.Conn
			if ws, err = c.spec.dialWS(c.ctx, a); err == nil {
				if c.isClosing() {
					ws.CloseNow()
					return nil, wot.ErrClosed
				}
				return ws, nil
			}
		}
		last = err
		c.log.Debug("wtp: reconnect attempt failed", "attempt", attempt+1, "err", err)
	}
	return nil, fmt.Errorf("%w: %s: gave up after %d reconnect attempts: %v", wot.ErrConnectionLost, c.spec.display, p.MaxAttempts, last)
}

// keepAlive pings so that a connection whose peer vanished (no FIN, e.g. a NAT timeout or
// a pulled cable) is noticed and redialled instead of hanging forever.
func (c *clientConn) keepAlive(s *session, every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, min(every, defaultClientWriteTimeout))
		err := s.ws.Ping(ctx)
		cancel()
		if err != nil && s.ctx.Err() == nil {
			c.log.Warn("wtp: keep-alive ping failed; dropping the connection", "err", err)
			s.ws.CloseNow() // the read loop sees it and reconnects
			return
		}
	}
}

// handle decodes and dispatches one frame. It never blocks on application code.
func (c *clientConn) handle(data []byte) error {
	m, err := DecodeMessage(data)
	if err != nil {
		c.mu.Lock()
		c.badFrames++
		c.lastBad, c.lastBadAt = err, time.Now()
		n := c.badFrames
		var ch chan callResult
		if m != nil && m.CorrelationID != "" && m.MessageType != MessageTypeNotification {
			ch = c.pending[m.CorrelationID]
			delete(c.pending, m.CorrelationID)
		}
		c.mu.Unlock()
		if ch != nil {
			ch <- callResult{err: fmt.Errorf("wtp: the Thing at %s sent a malformed response: %w", c.spec.display, err)}
		} else {
			c.log.Warn("wtp: dropped a malformed message", "err", err)
		}
		if n >= maxBadFrames {
			return &protocolError{websocket.StatusInvalidFramePayloadData, fmt.Sprintf("%d malformed messages in a row", n)}
		}
		return nil
	}
	c.mu.Lock()
	c.badFrames = 0
	c.mu.Unlock()
	switch m.MessageType {
	case MessageTypeResponse:
		c.complete(m)
	case MessageTypeNotification:
		c.route(m)
	default: // the draft does not say what a Consumer does with these: log and drop, never answer a Thing
		c.log.Warn("wtp: dropped a message with an unexpected messageType", "messageType", m.MessageType, "operation", m.Operation)
	}
	return nil
}

func (c *clientConn) complete(m *Message) {
	c.mu.Lock()
	ch := c.pending[m.CorrelationID]
	delete(c.pending, m.CorrelationID)
	if ch == nil {
		c.strayAt = time.Now()
	}
	c.mu.Unlock()
	if ch == nil {
		// Usually the answer to a request whose context ended first.
		c.log.Debug("wtp: dropped a response nobody waits for", "operation", m.Operation, "correlationID", m.CorrelationID)
		return
	}
	ch <- callResult{msg: m}
}

// notificationKind is the kind a notification with operation op is for: KindProperty or
// KindEvent, KindUnknown for an op that does not notify.
func notificationKind(op string) td.Kind {
	switch op {
	case OpObserveProperty, OpObserveAllProperties:
		return td.KindProperty
	case OpSubscribeEvent, OpSubscribeAllEvents:
		return td.KindEvent
	}
	return td.KindUnknown
}

// route hands a notification to every subscription of its affordance, single or "all"
// (routing ignores which of the two ops the Thing names: one subscription of either kind
// replaces the other, https://w3c.github.io/web-thing-protocol/#observeallproperties and
// #subscribeallevents).
func (c *clientConn) route(m *Message) {
	kind := notificationKind(m.Operation)
	if kind == td.KindUnknown || m.Name == "" {
		c.log.Warn("wtp: dropped a notification without a known operation or a name", "operation", m.Operation, "name", m.Name)
		return
	}
	n := wot.Notification{ID: m.MessageID, Kind: kind, Name: m.Name, Value: m.Value, Time: m.Timestamp}
	if kind == td.KindEvent {
		n.Value = m.Data
	}
	var ended []*wsub
	c.mu.Lock()
	// Replays after a reconnect may repeat what we already have: drop by messageID.
	if m.MessageID != "" && c.seen.seenBefore(m.MessageID) {
		c.mu.Unlock()
		return
	}
	for _, k := range [2]topicKey{{m.ThingID, kind, m.Name}, {m.ThingID, kind, ""}} {
		t := c.topics[k]
		if t == nil {
			continue
		}
		if m.MessageID != "" {
			t.lastID = m.MessageID
		}
		for s := range t.subs {
			// Deliver never blocks; false: the subscription ended (stopped, or overflowed,
			// in which case the core ends it on the wire through its stop function).
			if !s.sink.Deliver(n) {
				ended = append(ended, s)
			}
		}
	}
	c.mu.Unlock()
	for _, s := range ended {
		c.detach(s)
	}
}

// roundTrip sends request m (filling in the envelope) and waits for its response. While
// the connection is down it waits for the reconnect, within ctx.
func (c *clientConn) roundTrip(ctx context.Context, m *Message) (*Message, error) {
	if _, ok := ctx.Deadline(); !ok && c.spec.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.spec.cfg.RequestTimeout)
		defer cancel()
	}
	start := time.Now()
	m.MessageType = MessageTypeRequest
	m.MessageID = NewUUID()
	m.CorrelationID = NewUUID()
	frame, err := AppendMessage(nil, m)
	if err != nil {
		return nil, err
	}
	ch := make(chan callResult, 1)
	var s *session
	for s == nil {
		c.mu.Lock()
		switch {
		case c.dead || c.closing:
			err := c.deadErr
			c.mu.Unlock()
			if err == nil {
				err = wot.ErrClosed
			}
			return nil, err
		case c.sess != nil:
			s = c.sess
			c.pending[m.CorrelationID] = ch
			c.mu.Unlock()
			continue
		}
		ready := c.ready
		c.mu.Unlock()
		select {
		case <-ready:
		case <-c.ctx.Done():
		case <-ctx.Done():
			return nil, c.ctxError(ctx, m, start, " (the connection was down and did not come back in time)")
		}
	}
	defer func() {
		c.mu.Lock()
		delete(c.pending, m.CorrelationID)
		c.mu.Unlock()
	}()
	// Write on another goroutine with its own deadline: coder/websocket closes the whole
	// connection when a write's context ends, and ctx belongs to one request only.
	werr := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(s.ctx, defaultClientWriteTimeout)
		defer cancel()
		werr <- s.ws.Write(wctx, websocket.MessageText, frame)
	}()
	select {
	case err := <-werr:
		if err != nil {
			return nil, fmt.Errorf("%w: %s: sending %s: %v", wot.ErrConnectionLost, c.spec.display, describe(m), err)
		}
	case r := <-ch: // the connection broke while writing
		return r.msg, r.err
	case <-ctx.Done():
		return nil, c.ctxError(ctx, m, start, "")
	}
	select {
	case r := <-ch:
		return r.msg, r.err
	case <-ctx.Done():
		return nil, c.ctxError(ctx, m, start, "")
	}
}

func (c *clientConn) ctxError(ctx context.Context, m *Message, start time.Time, extra string) error {
	err := ctx.Err()
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("wtp: %s: %w", describe(m), err)
	}
	hint := ""
	c.mu.Lock()
	switch {
	case c.lastBad != nil && !c.lastBadAt.Before(start):
		hint = fmt.Sprintf("; the connection has received malformed messages (last: %v), so the peer may not be a WTP Thing", c.lastBad)
	case !c.strayAt.Before(start):
		hint = "; responses that match no request arrived meanwhile, so the Thing may not echo correlationID"
	}
	c.mu.Unlock()
	return fmt.Errorf("wtp: %s: no response from %s within %v%s; the Thing did not answer (is it hung or overloaded? raise the deadline or WithRequestTimeout if it is just slow)%s: %w",
		describe(m), c.spec.display, since(start), extra, hint, err)
}

func describe(m *Message) string {
	switch {
	case m.Name != "":
		return fmt.Sprintf("%s %q of %s", m.Operation, m.Name, m.ThingID)
	case m.ActionID != "":
		return fmt.Sprintf("%s %s of %s", m.Operation, m.ActionID, m.ThingID)
	}
	return fmt.Sprintf("%s of %s", m.Operation, m.ThingID)
}

func (c *clientConn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *clientConn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead || c.closing
}

// close shuts the connection down (normal closure) and waits for its goroutines.
func (c *clientConn) close() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		c.wg.Wait()
		return
	}
	c.closing = true
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		closeBounded(s.ws, websocket.StatusNormalClosure, "consumer closed")
	}
	c.cancel()
	c.wg.Wait()
}

// finish ends the connection for good: pending requests and subscriptions fail with err
// (nil: a deliberate close, subscriptions just end).
func (c *clientConn) finish(err error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	c.deadErr = err
	if err == nil {
		c.deadErr = wot.ErrClosed
	}
	topics := c.topics
	c.topics = map[topicKey]*topic{}
	pend := c.pending
	c.pending = map[string]chan callResult{}
	c.mu.Unlock()
	if err != nil {
		c.log.Error("wtp: connection closed for good", "err", err)
	}
	c.pool.forget(c)
	for _, ch := range pend {
		ch <- callResult{err: c.deadErr}
	}
	for _, t := range topics {
		for s := range t.subs {
			s.sink.Fail(c.deadErr)
		}
	}
	c.setState(ConnClosed)
	c.cancel()
}

func (c *clientConn) setState(st ConnState) {
	c.mu.Lock()
	ls := make([]*stateListener, 0, len(c.listeners))
	for l := range c.listeners {
		ls = append(ls, l)
	}
	c.mu.Unlock()
	for _, l := range ls {
		l.post(st)
	}
}

func (c *clientConn) addListener(l *stateListener) {
	c.mu.Lock()
	c.listeners[l] = struct{}{}
	c.mu.Unlock()
}

func (c *clientConn) removeListener(l *stateListener) {
	c.mu.Lock()
	delete(c.listeners, l)
	c.mu.Unlock()
}

// pendingCount is the number of requests waiting for a response (tests).
func (c *clientConn) pendingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// idRing remembers the last few notification messageIDs of a connection.
type idRing struct {
	ids  [1024]string
	next int
	set  map[string]struct{}
}

func (r *idRing) seenBefore(id string) bool {
	if r.set == nil {
		r.set = make(map[string]struct{}, len(r.ids))
	}
	if _, ok := r.set[id]; ok {
		return true
	}
	if old := r.ids[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ids[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ids)
	return false
}

// stateListener delivers ConnState changes to one application callback on its own
// goroutine, in order, so a slow callback never delays reconnecting.
type stateListener struct {
	fn   func(ConnState)
	mu   sync.Mutex
	q    []ConnState
	stop bool
	wake chan struct{}
	done chan struct{}
}

func newStateListener(fn func(ConnState)) *stateListener {
	l := &stateListener{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *stateListener) post(st ConnState) {
	l.mu.Lock()
	if !l.stop {
		if len(l.q) >= 64 { // a stuck callback: keep the newest states
			l.q = l.q[1:]
		}
		l.q = append(l.q, st)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// close delivers what is queued, then ends the goroutine.
func (l *stateListener) close() {
	l.mu.Lock()
	l.stop = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *stateListener) loop() {
	defer close(l.done)
	for range l.wake {
		for {
			l.mu.Lock()
			if len(l.q) == 0 {
				stop := l.stop
				l.mu.Unlock()
				if stop {
					return
				}
				break
			}
			st := l.q[0]
			l.q = l.q[1:]
			l.mu.Unlock()
			l.fn(st)
		}
	}
}
