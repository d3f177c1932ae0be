package wtp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// conn is one WebSocket connection. Its goroutines: the reader (the HTTP handler's own
// goroutine, which decodes and dispatches), one writer that owns all writes, an optional
// pinger, and one per running handler call. Everything a connection sends goes through its
// bounded queue, so producers (the Thing's notifications above all) never block on it.
type conn struct {
	srv       *Server
	ep        *endpoint
	ws        *websocket.Conn
	log       *slog.Logger
	principal string

	out chan outItem

	ctx    context.Context // cancelled when the connection starts closing
	cancel context.CancelFunc
	hctx   context.Context // ctx + principal, for handlers

	// writeCtx aborts a write in progress: used when dropping a stalled consumer, whose
	// pending write may never finish on its own.
	writeCtx   context.Context
	abortWrite context.CancelFunc

	// readCtx is cancelled only to cut the connection without a close handshake.
	readCtx    context.Context
	cancelRead context.CancelFunc

	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string
	closing     atomic.Bool

	wg       sync.WaitGroup // writer, pinger, handler calls
	inflight chan struct{}  // handler-call semaphore

	// reader-only state
	things    map[*Thing]struct{} // Things holding a binding for this connection
	limiter   tokenBucket
	malformed int
}

// outItem is a queued message: a response, or a notification to build from a history note.
type outItem struct {
	msg *Message

	note     *note
	thingID  string
	op, corr string
}

func newConn(s *Server, ep *endpoint, ws *websocket.Conn, principal, remote string) *conn {
	c := &conn{
		srv: s, ep: ep, ws: ws, principal: principal,
		log:      s.cfg.log.With("remote", remote),
		out:      make(chan outItem, s.cfg.sendQueue),
		inflight: make(chan struct{}, s.cfg.maxInFlight),
		things:   map[*Thing]struct{}{},
		limiter:  newTokenBucket(s.cfg.rate, s.cfg.burst, time.Now()),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.hctx = withPrincipal(c.ctx, principal)
	c.writeCtx, c.abortWrite = context.WithCancel(context.Background())
	c.readCtx, c.cancelRead = context.WithCancel(context.Background())
	return c
}

// serve runs the connection until it is closed and all its goroutines have ended.
func (c *conn) serve() {
	c.log.Debug("wtp: connection open")
	c.wg.Add(1)
	go c.writeLoop()
	if c.srv.cfg.ping > 0 {
		c.wg.Add(1)
		go c.pingLoop(c.srv.cfg.ping)
	}
	c.readLoop()
	c.closeWith(websocket.StatusNormalClosure, "", false)
	c.wg.Wait()
	c.abortWrite()
	c.cancelRead()
	for t := range c.things {
		t.forget(c)
	}
	c.log.Debug("wtp: connection closed", "code", c.closeCode, "reason", c.closeReason)
}

// closeWith starts closing the connection with the given close code; only the first call
// counts. abort also interrupts a write in progress (for stalled consumers). It never
// blocks, so it is safe under Thing.mu.
func (c *conn) closeWith(code websocket.StatusCode, reason string, abort bool) bool {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closeCode, c.closeReason = code, reason
		c.closing.Store(true)
		c.cancel()
	})
	if abort {
		c.abortWrite()
	}
	return first
}

// hardClose cuts the connection without a close handshake.
func (c *conn) hardClose() {
	c.closeWith(CloseShutdown, "server closed", true)
	c.cancelRead()
}

func (c *conn) readLoop() {
	for {
		typ, data, err := c.ws.Read(c.readCtx)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.closeWith(CloseTooBig, "message too big", false)
				c.log.Debug("wtp: message over the read limit", "limit", c.srv.cfg.readLimit)
			}
			return
		}
		c.srv.stats.messagesIn.Add(1)
		if c.closing.Load() {
			continue // draining until the close handshake ends the read
		}
		if typ != websocket.MessageText {
			c.closeWith(CloseBinary, "binary frames are not supported; send JSON text frames", false)
			continue
		}
		c.handle(data)
	}
}

func (c *conn) writeLoop() {
	defer c.wg.Done()
	var buf []byte
	for {
		select {
		case <-c.ctx.Done():
			// Close performs the close handshake with bounded timeouts; a cut or aborted
			// connection makes it return at once.
			c.ws.Close(c.closeCode, c.closeReason)
			return
		case it := <-c.out:
			m := it.msg
			if m == nil {
				m = it.notification()
			}
			var err error
			buf, err = AppendMessage(buf[:0], m)
			if err != nil {
				// Only a broken handler value can get here; the request still deserves an answer.
				c.log.Error("wtp: cannot encode a message", "err", err)
				if m.MessageType != MessageTypeResponse || m.Error != nil {
					continue
				}
				m = &Message{ThingID: m.ThingID, MessageID: NewUUID(), MessageType: MessageTypeResponse,
					Operation: m.Operation, Name: m.Name, CorrelationID: m.CorrelationID,
					Error: Internal("the Thing produced a value that cannot be encoded as JSON"), Timestamp: time.Now()}
				if buf, err = AppendMessage(buf[:0], m); err != nil {
					continue
				}
				c.srv.stats.countError(500)
			}
			ctx, cancel := context.WithTimeout(c.writeCtx, c.srv.cfg.writeTimeout)
			err = c.ws.Write(ctx, websocket.MessageText, buf)
			cancel()
			if err != nil {
				// The library has closed the connection; the reader will see it.
				if c.closeWith(websocket.StatusAbnormalClosure, "write failed", true) {
					c.log.Debug("wtp: write failed", "err", err)
				}
				c.ws.CloseNow()
				return
			}
			c.srv.stats.messagesOut.Add(1)
			if cap(buf) > 64<<10 {
				buf = nil // do not keep one huge message's buffer for the connection's lifetime
			}
		}
	}
}

func (c *conn) pingLoop(every time.Duration) {
	defer c.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
			// Not derived from c.ctx: cancelling a Ping cuts the connection, which would
			// pre-empt a graceful close.
			ctx, cancel := context.WithTimeout(context.Background(), every)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				if c.closeWith(websocket.StatusPolicyViolation, "ping timeout", true) {
					c.log.Debug("wtp: ping failed", "err", err)
				}
				return
			}
		}
	}
}

// queue adds a message to the send queue without blocking. A full queue means the consumer
// does not keep up: it is dropped (CloseSlowConsumer) so it cannot delay anyone else.
func (c *conn) queue(it outItem) {
	if c.closing.Load() {
		return
	}
	select {
	case c.out <- it:
	default:
		if c.closeWith(CloseSlowConsumer, "send queue full: the consumer reads too slowly", true) {
			c.srv.stats.dropped.Add(1)
			c.log.Warn("wtp: dropping a slow consumer", "queue", cap(c.out))
		}
	}
}

// queueNote queues a notification (called under the Thing's mutex).
func (c *conn) queueNote(t *Thing, n *note, e subEntry) {
	c.srv.stats.notifications.Add(1)
	c.queue(outItem{note: n, thingID: t.id, op: e.op, corr: e.corr})
}

// notification builds the message for a queued note: the note's messageID and timestamp,
// the subscription's operation and correlationID.
func (it *outItem) notification() *Message {
	n := it.note
	m := &Message{ThingID: it.thingID, MessageID: n.id, MessageType: MessageTypeNotification,
		Operation: it.op, Name: n.name, Timestamp: n.timestamp, CorrelationID: it.corr}
	if n.kind == noteEvent {
		m.Data = n.payload
	} else {
		m.Value = n.payload
	}
	return m
}

// goHandle runs f (a request that calls user handlers) in its own goroutine, at most
// maxInFlight at once per connection, so a slow handler does not stall the reader.
func (c *conn) goHandle(f func(ctx context.Context)) {
	select {
	case c.inflight <- struct{}{}:
	case <-c.ctx.Done():
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.inflight }()
		f(c.hctx)
	}()
}
