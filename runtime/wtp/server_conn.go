package wtp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp/internal/wsconn"
)

// conn is one WebSocket connection; the transport under it is wsconn's.
//
// Goroutines: the reader (started by serverBinding.serveWTP, so that the HTTP handler returns
// and net/http frees its per-request state) decodes and dispatches; a writer exists only while
// there is something to send; pings run from a timer. Requests that call user handlers run on
// the reader too; one still running at the watchdog's second tick keeps its goroutine, and a
// new reader takes over the connection (see run). An idle connection therefore costs one goroutine.
//
// Everything sent goes through a queue bounded in bytes (WithSendBuffer), so producers (above
// all the Thing's notifications, queued under its lock) never block; a consumer that stops
// taking what is written is found by the write deadline (WithWriteTimeout). Either way it is
// closed with 1013 and its queue dropped, while one that keeps reading is never dropped.
// Responses to requests handled on the reader are written by the reader itself once the
// request is done, saving a goroutine hand-off on the request/response path.
type conn struct {
	b         *serverBinding
	path      string // the endpoint's URL path
	wc        *wsconn.Conn
	remote    string // the peer's address, for logs
	principal string

	ctx    context.Context // cancelled when the connection starts closing
	cancel context.CancelFunc
	hctx   context.Context // ctx + the caller (principal, this connection), for the Thing's operations

	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string

	qmu        sync.Mutex
	items      []outItem // queued, oldest first, from items[head]
	head       int       // items before head are written or being written
	queued     int       // estimated encoded bytes of the items not yet written (batch included)
	writing    bool      // a writer (goroutine or the reader) owns the write side
	readerBusy bool      // the reader is handling a request and will flush after it
	closed     bool      // no more queuing: the connection is closing
	aborted    bool      // drop what is queued instead of flushing it before the close
	idle       sync.Cond // signalled (L = qmu) when writing becomes false

	wg       sync.WaitGroup // writer goroutines, the close handshake, handed-off handler calls
	inflight chan struct{}  // handler-call semaphore, made by the first call
	done     func()         // called once the connection is closed and its goroutines ended

	// Handler calls run on the reader; the binding's watchdog hands reading over to a new
	// goroutine when one runs long (see run). Guarded by hmu.
	hmu       sync.Mutex
	inHandler *readerTurn // the reader's turn while it runs a handler; nil otherwise
	callTick  uint64      // the watchdog's tick when the latest call started
	watched   bool        // in the watchdog's list

	// subMu orders notifications against the responses of subscribe requests: a
	// subscription's notifications (its catch-up replay above all) are held until its
	// response is queued.
	subMu sync.Mutex

	// reader-only state
	things    map[*wot.Thing]struct{} // Things this connection subscribed to; nil until one
	limiter   tokenBucket
	malformed int
}

// outItem is a queued message: a response, or a notification to build from a Thing's
// notification and the subscription it matched.
type outItem struct {
	msg *Message

	note *wot.Notification
	sub  *subTag

	size int // estimated encoded bytes (see estimate)
}

// subTag is the tag of a subscription in the Thing's table: what its notifications carry.
type subTag struct {
	thingID  string
	op, corr string
	pending  bool                // the subscribe response is not queued yet (guarded by conn.subMu)
	held     []*wot.Notification // notifications waiting for that response
}

func newConn(b *serverBinding, path string, wc *wsconn.Conn, principal, remote string) *conn {
	c := &conn{
		b: b, path: path, wc: wc, principal: principal,
		remote:  remote,
		limiter: newTokenBucket(b.cfg.rate, b.cfg.burst, b.cfg.rateGrace, time.Now()),
	}
	c.idle.L = &c.qmu
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// The connection is the session: anonymous consumers see the async actions they
	// started on it.
	c.hctx = wot.WithCaller(c.ctx, wot.Caller{Principal: principal, Session: c})
	return c
}

// logAt logs with the connection's remote address; a logger made once per connection with
// With would cost every connection its memory for life.
func (c *conn) logAt(level slog.Level, msg string, args ...any) {
	l := c.b.srv.Logger()
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.Log(context.Background(), level, msg, append([]any{"remote", c.remote}, args...)...)
}

// serve runs the connection until it is closed and all its goroutines have ended, then
// calls done. It returns early when a handler call keeps this goroutine (see run).
func (c *conn) serve(done func()) {
	c.logAt(slog.LevelDebug, "wtp: connection open")
	c.done = done
	c.wc.KeepAlive(c.b.cfg.ping, func(err error) {
		if c.closeWith(websocket.StatusPolicyViolation, "ping timeout", true) {
			c.logAt(slog.LevelDebug, "wtp: ping failed", "err", err)
		}
	})
	c.readOn(&readerTurn{})
}

// readOn reads until the connection ends, then cleans up; or returns as soon as another
// goroutine took over reading.
func (c *conn) readOn(turn *readerTurn) {
	if c.readLoop(turn) {
		return
	}
	c.finish()
}

// finish closes the connection once reading ended and waits for its goroutines.
func (c *conn) finish() {
	defer c.done()
	c.closeWith(websocket.StatusNormalClosure, "", false)
	c.wc.StopKeepAlive()
	c.wg.Wait()
	c.wc.Abort()
	c.wc.Cut()
	for t := range c.things {
		t.Forget(c)
	}
	c.logAt(slog.LevelDebug, "wtp: connection closed", "code", c.closeCode, "reason", c.closeReason)
}

// closeWith starts closing the connection with the given close code; only the first call
// counts and it reports whether it was first. abort also drops what is queued and interrupts
// a write in progress (for stalled consumers). It never blocks, so it is safe under Thing.mu.
func (c *conn) closeWith(code websocket.StatusCode, reason string, abort bool) bool {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closeCode, c.closeReason = code, reason
		c.qmu.Lock()
		c.closed = true
		c.qmu.Unlock()
		c.cancel()
		c.wg.Add(1)
		go c.closeSocket()
	})
	if abort {
		c.qmu.Lock()
		c.aborted = true
		c.items, c.head, c.queued = nil, 0, 0
		c.qmu.Unlock()
		c.wc.Abort()
		// A stalled peer may never take the close frame: give the handshake a moment,
		// then cut the connection rather than hold it for the library's 10 s of timeouts.
		time.AfterFunc(abortedCloseGrace, c.wc.Cut)
	}
	return first
}

// abortedCloseGrace bounds the close handshake of an aborted connection.
const abortedCloseGrace = time.Second

// closeSocket sends what is still queued (say the 400 that preceded a 1007), unless the
// close aborts, then performs the close handshake, which waits for the peer within the
// library's timeouts.
func (c *conn) closeSocket() {
	defer c.wg.Done()
	c.qmu.Lock()
	for c.writing {
		c.idle.Wait()
	}
	flush := !c.aborted && c.pending()
	if flush {
		c.writing = true
	}
	c.qmu.Unlock()
	if flush {
		c.drain(false)
	}
	c.wc.Close(c.closeCode, c.closeReason)
}

// hardClose cuts the connection without a close handshake.
func (c *conn) hardClose() {
	c.closeWith(CloseShutdown, "server closed", true)
	c.wc.Cut()
}

func (c *conn) isClosing() bool { return c.ctx.Err() != nil }

// readLoop reads and handles requests until the connection ends (false) or, during a
// handler call, another goroutine took over reading (true).
func (c *conn) readLoop(turn *readerTurn) (handedOff bool) {
	deferred := 0
	defer func() {
		if deferred > 0 && !handedOff {
			c.setReaderBusy(false)
		}
	}()
	for {
		data, text, err := c.wc.Read() // decoding copies what it keeps
		if err != nil {
			var ce websocket.CloseError
			switch {
			case errors.Is(err, websocket.ErrMessageTooBig):
				c.closeWith(CloseTooBig, "message too big", false)
				c.logAt(slog.LevelDebug, "wtp: message over the read limit", "limit", c.b.cfg.readLimit)
			case errors.As(err, &ce):
				c.closeWith(ce.Code, "", false) // the peer closed
			}
			return false
		}
		c.b.stats.messagesIn.Add(1)
		if c.isClosing() {
			continue // draining until the close handshake ends the read
		}
		if !text {
			c.closeWith(CloseBinary, "binary frames are not supported; send JSON text frames", false)
			continue
		}
		c.setReaderBusy(true)
		c.handle(data, turn)
		if turn.handedOff { // read under hmu by run, which returned
			return true
		}
		// Flush now unless another whole request is already buffered (pipelining): then its
		// response joins the same write, up to a bound so a long stream of requests cannot
		// hold responses back or fill the queue.
		if deferred++; deferred >= maxDeferredFlush || !c.requestBuffered() {
			deferred = 0
			c.setReaderBusy(false)
		}
	}
}

// maxDeferredFlush bounds how many requests the reader answers before it flushes.
const maxDeferredFlush = 32

// requestBuffered reports whether a whole request is already in the read buffer.
func (c *conn) requestBuffered() bool {
	// Once closing, the close handshake (closeSocket) reads the buffer too; it starts only
	// after closed is set under qmu, so holding qmu with closed unset excludes it.
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return !c.closed && c.wc.RequestBuffered()
}

// setReaderBusy marks the reader as handling a request. While busy, queued messages wait
// for the reader to write them itself when the request is done; when it becomes idle it
// writes (or hands to a writer goroutine) whatever is queued.
func (c *conn) setReaderBusy(busy bool) {
	c.qmu.Lock()
	c.readerBusy = busy
	claim := !busy && !c.writing && !c.aborted && c.pending()
	if claim {
		c.writing = true
	}
	c.qmu.Unlock()
	if claim {
		c.drain(true)
	}
}

// Notify queues a notification of one of the connection's subscriptions (tag is its
// *subTag). The Thing calls it under its lock, in history order; it never blocks.
func (c *conn) Notify(n *wot.Notification, tag any) {
	st, ok := tag.(*subTag)
	if !ok {
		return
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if st.pending {
		st.held = append(st.held, n)
		return
	}
	c.queueNote(n, st)
}

// subscribed queues the response to a subscribe request, then the notifications held for
// its subscription, and lets later ones through.
func (c *conn) subscribed(st *subTag, resp outItem) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.queue(resp)
	for _, n := range st.held {
		c.queueNote(n, st)
	}
	st.held, st.pending = nil, false
}

func (c *conn) queueNote(n *wot.Notification, st *subTag) {
	c.b.stats.notifications.Add(1)
	c.queue(outItem{note: n, sub: st})
}

// fillNotification sets m to the notification for a queued one: the Thing's notification
// ID (the messageID every connection and the history share) and timestamp, the
// subscription's operation and correlationID.
func (it *outItem) fillNotification(m *Message) {
	n := it.note
	*m = Message{ThingID: it.sub.thingID, MessageID: n.ID, MessageType: MessageTypeNotification,
		Operation: it.sub.op, Name: n.Name, Timestamp: n.Time, CorrelationID: it.sub.corr}
	if n.Kind == td.KindEvent {
		m.Data = n.Value
	} else {
		m.Value = n.Value
	}
}
