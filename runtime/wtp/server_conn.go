package wtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// conn is one WebSocket connection.
//
// Goroutines: the reader (started by serverBinding.serveWTP, so that the HTTP handler returns and
// net/http frees its per-request state) decodes and dispatches; a writer exists only while there
// is something to send; a ping runs from a timer. Requests that call user handlers run on the
// reader too; one still running after handoffAfter keeps its goroutine, and a new reader takes
// over the connection (see run). An idle connection therefore costs one goroutine.
//
// Everything sent goes through a queue bounded in bytes (WithSendBuffer), so producers (above
// all the Thing's notifications, queued under its lock) never block; a consumer that stops
// taking what is written is found by the write deadline (WithWriteTimeout). Either way it is
// closed with 1013 and its queue dropped, while one that keeps reading is never dropped. Responses to requests handled inline
// are written by the reader itself once the request is done, saving a goroutine hand-off
// on the request/response path.
type conn struct {
	b         *serverBinding
	path      string // the endpoint's URL path
	ws        *websocket.Conn
	log       *slog.Logger
	principal string

	ctx    context.Context // cancelled when the connection starts closing
	cancel context.CancelFunc
	hctx   context.Context // ctx + the caller (principal, this connection), for the Thing's operations

	// nc is the hijacked TCP connection under ws. Reads and writes pass ws a context that is
	// never done (a cancellable one costs the library an AfterFunc registration, three
	// allocations, per frame); write timeouts are deadlines on nc, and cutting the connection
	// closes nc. nil only in tests that build a conn by hand.
	nc net.Conn
	// cork lets the writer send a batch of queued messages in one system call; nil when
	// the connection's writes are not ours to buffer.
	cork *corkWriter
	// br is the library's read buffer (ours, see hijackWriter): a request already waiting
	// in it lets the reader answer it before flushing, so pipelined responses go out in
	// batches. Read only by the reader goroutine; nil when unknown.
	br *bufio.Reader
	// inWrite is set while a write runs; writeAborted once a stalled consumer is dropped:
	// a write in progress is then cut, later writes fail at once.
	inWrite      atomic.Bool
	writeAborted atomic.Bool

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

	pingMu      sync.Mutex
	pingTimer   *time.Timer
	pingStopped bool
	pingWG      sync.WaitGroup

	w writer // owned by whoever holds writing

	wg       sync.WaitGroup // writer goroutines, the close handshake, handed-off handler calls
	inflight chan struct{}  // handler-call semaphore
	done     func()         // called once the connection is closed and its goroutines ended

	// Handler calls run inline on the reader; the watchdog hands reading over to a new
	// goroutine when one runs longer than handoffAfter (see run). Guarded by hmu.
	hmu       sync.Mutex
	watchdog  *time.Timer
	inHandler *readerTurn // the reader's turn while it runs a handler; nil otherwise

	// subMu orders notifications against the responses of subscribe requests: a
	// subscription's notifications (its catch-up replay above all) are held until its
	// response is queued.
	subMu sync.Mutex

	// reader-only state
	rbuf      bytes.Buffer
	things    map[*wot.Thing]struct{} // Things this connection subscribed to
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

func newConn(b *serverBinding, path string, ws *websocket.Conn, principal, remote string) *conn {
	c := &conn{
		b: b, path: path, ws: ws, principal: principal,
		log:      b.srv.Logger().With("remote", remote),
		inflight: make(chan struct{}, b.cfg.maxInFlight),
		things:   map[*wot.Thing]struct{}{},
		limiter:  newTokenBucket(b.cfg.rate, b.cfg.burst, b.cfg.rateGrace, time.Now()),
	}
	c.idle.L = &c.qmu
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// The connection is the session: anonymous consumers see the async actions they
	// started on it.
	c.hctx = wot.WithCaller(c.ctx, wot.Caller{Principal: principal, Session: c})
	return c
}

// serve runs the connection until it is closed and all its goroutines have ended, then
// calls done. It returns early when a handler call keeps this goroutine (see run).
func (c *conn) serve(done func()) {
	c.log.Debug("wtp: connection open")
	c.done = done
	c.schedulePing()
	c.readOn(&readerTurn{})
}

// readerTurn is one goroutine's turn as the connection's reader.
type readerTurn struct {
	handedOff bool // set (under hmu) when a new reader took over during a handler call
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
	c.stopPing()
	c.wg.Wait()
	c.w.stop()
	c.abortWrite()
	c.cancelRead()
	for t := range c.things {
		t.Forget(c)
	}
	c.log.Debug("wtp: connection closed", "code", c.closeCode, "reason", c.closeReason)
}

// closeWith starts closing the connection with the given close code; only the first call
// counts and it reports whether it was first. abort also interrupts a write in progress
// (for stalled consumers). It never blocks, so it is safe under Thing.mu.
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
		c.abortWrite()
		// A stalled peer may never take the close frame: give the handshake a moment,
		// then cut the connection rather than hold it for the library's 10 s of timeouts.
		time.AfterFunc(abortedCloseGrace, c.cancelRead)
	}
	return first
}

// abortWrite interrupts a write in progress (its peer may never take it) by cutting the
// connection, and makes later writes fail at once.
func (c *conn) abortWrite() {
	c.writeAborted.Store(true)
	if c.inWrite.Load() {
		c.cancelRead()
	}
}

// cancelRead cuts the connection without a close handshake.
func (c *conn) cancelRead() {
	if c.nc != nil {
		c.nc.Close()
	} else {
		c.ws.CloseNow()
	}
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
	c.ws.Close(c.closeCode, c.closeReason)
}

// stopWriting gives up the write side; qmu must be held.
func (c *conn) stopWriting() {
	c.writing = false
	c.idle.Broadcast()
}

// hardClose cuts the connection without a close handshake.
func (c *conn) hardClose() {
	c.closeWith(CloseShutdown, "server closed", true)
	c.cancelRead()
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
		data, text, err := c.read()
		if err != nil {
			var ce websocket.CloseError
			switch {
			case errors.Is(err, websocket.ErrMessageTooBig):
				c.closeWith(CloseTooBig, "message too big", false)
				c.log.Debug("wtp: message over the read limit", "limit", c.b.cfg.readLimit)
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

// requestBuffered reports whether a whole client frame is already in the read buffer.
func (c *conn) requestBuffered() bool {
	if c.br == nil {
		return false
	}
	// Once closing, the close handshake (closeSocket) reads the buffer too; it starts only
	// after closed is set under qmu, so holding qmu with closed unset excludes it.
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closed {
		return false
	}
	n := c.br.Buffered()
	if n < 2 {
		return false
	}
	h, _ := c.br.Peek(2)
	// Only a final text frame is a request the reader returns to at once. A control frame
	// (ping, pong, close) is handled inside the library, after which the reader would block
	// for the next request with these responses still held back.
	if h[0] != 0x80|byte(websocket.MessageText) {
		return false
	}
	size, hdr := int(h[1]&0x7f), 2
	switch size {
	case 126:
		hdr = 4
	case 127:
		return false // a huge frame: no point waiting for it with responses held
	}
	if h[1]&0x80 != 0 {
		hdr += 4 // the client's mask key
	}
	if size == 126 {
		if n < 4 {
			return false
		}
		l, _ := c.br.Peek(4)
		size = int(l[2])<<8 | int(l[3])
	}
	return n >= hdr+size
}

// read returns the next message in a buffer reused across messages (decoding copies what
// it keeps); text is false for a binary message.
func (c *conn) read() (data []byte, text bool, err error) {
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		return nil, false, err
	}
	if typ != websocket.MessageText {
		_, err := io.Copy(io.Discard, r)
		return nil, false, err
	}
	if c.rbuf.Cap() > 64<<10 {
		c.rbuf = bytes.Buffer{} // do not keep one huge message's buffer for the connection's life
	}
	c.rbuf.Reset()
	if _, err := c.rbuf.ReadFrom(r); err != nil {
		return nil, false, err
	}
	return c.rbuf.Bytes(), true, nil
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

// pending reports whether messages wait to be written; qmu must be held.
func (c *conn) pending() bool { return c.head < len(c.items) }

// queue adds a message to the send queue without blocking. A queue over the send buffer
// means the consumer does not keep up: it is dropped (CloseSlowConsumer) so it cannot delay
// anyone else or hold more memory. One message always fits, however large.
func (c *conn) queue(it outItem) {
	it.size = it.estimate()
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return
	}
	if c.queued > 0 && c.queued+it.size > c.b.cfg.sendBuffer {
		queued := c.queued
		c.qmu.Unlock()
		c.dropSlow("send buffer full: the consumer reads too slowly", "queued", queued)
		return
	}
	c.items = append(c.items, it)
	c.queued += it.size
	start := !c.writing && !c.readerBusy
	if start {
		c.writing = true
		c.wg.Add(1) // under qmu and before closed is set, so never after serve's Wait
	}
	c.qmu.Unlock()
	if start {
		go func() {
			defer c.wg.Done()
			c.drain(false)
		}()
	}
}

// dropSlow closes a consumer that does not keep up with 1013 and drops its queue.
func (c *conn) dropSlow(reason string, args ...any) {
	if c.closeWith(CloseSlowConsumer, reason, true) {
		c.b.stats.dropped.Add(1)
		c.log.Warn("wtp: dropping a slow consumer: "+reason, args...)
	}
}

// maxBatchBytes bounds one batch of queued messages written together: each write then
// completes soon for a consumer that reads, however much is queued, so the write deadline
// measures progress, and the cork buffer stays small enough to pool.
const maxBatchBytes = 64 << 10

// drain writes queued messages until the queue is empty. Only the owner of c.writing calls
// it. The reader (inline) writes one batch at most and hands the rest to a writer
// goroutine, so a stream of notifications cannot keep it from reading requests.
func (c *conn) drain(inline bool) {
	// c.w belongs to the owner of c.writing: release the buffer before giving that up.
	w := &c.w
	w.buf = encodeBufs.Get().(*[]byte)
	for first := true; ; first = false {
		c.qmu.Lock()
		if c.aborted || !c.pending() {
			w.releaseBuf()
			c.clearDeadline(w)
			c.stopWriting()
			c.qmu.Unlock()
			return
		}
		if inline && !first {
			w.releaseBuf()
			c.clearDeadline(w)
			c.wg.Add(1) // inline means we are serve's own goroutine: it has not reached Wait
			c.qmu.Unlock()
			go func() {
				defer c.wg.Done()
				c.drain(false)
			}()
			return
		}
		end, size := c.head, 0
		for end < len(c.items) && (end == c.head || size < maxBatchBytes) {
			size += c.items[end].size
			end++
		}
		// Capped, so producers appending to items never write into the batch.
		batch := c.items[c.head:end:end]
		c.head = end
		c.qmu.Unlock()

		corked := len(batch) > 1 && c.cork != nil
		if corked {
			c.cork.hold()
		}
		ok := true
		for i := range batch {
			if ok = c.write(w, &batch[i]); !ok {
				break
			}
		}
		if corked {
			c.inWrite.Store(true)
			err := c.cork.release()
			c.inWrite.Store(false)
			if err != nil && ok {
				ok = false
				c.writeFailed(err)
			}
		}
		c.qmu.Lock()
		if !c.aborted {
			clear(batch) // drop references to what was sent
			c.queued -= size
			c.compact()
		}
		if !ok {
			w.releaseBuf()
			c.clearDeadline(w)
			c.stopWriting()
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
	}
}

// compact reuses the queue's space once the writer is done with a batch; qmu must be held.
func (c *conn) compact() {
	switch {
	case c.head == len(c.items):
		c.items, c.head = c.items[:0], 0
		if cap(c.items) > 1024 { // do not keep a burst's queue for the connection's life
			c.items = nil
		}
	case c.head > cap(c.items)/2:
		n := copy(c.items, c.items[c.head:])
		clear(c.items[n:])
		c.items, c.head = c.items[:n], 0
	}
}

// writeFailed closes the connection after a failed write. A write cut by the deadline means
// the consumer took nothing for the write timeout: a slow consumer.
func (c *conn) writeFailed(err error) {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.dropSlow("no progress: the consumer took nothing within the write timeout", "timeout", c.b.cfg.writeTimeout)
		return
	}
	if c.closeWith(websocket.StatusAbnormalClosure, "write failed", true) {
		c.log.Debug("wtp: write failed", "err", err)
	}
}

// estimate returns roughly how many bytes the item takes encoded: what the send buffer
// counts. Members are counted, the envelope's fixed part (keys, messageID, timestamp) is a
// constant.
func (it *outItem) estimate() int {
	const envelope = 200
	if it.msg == nil {
		return envelope + len(it.sub.thingID) + len(it.sub.op) + len(it.sub.corr) + len(it.note.Name) + len(it.note.Value)
	}
	m := it.msg
	n := envelope + len(m.ThingID) + len(m.Operation) + len(m.CorrelationID) + len(m.Name) + len(m.ActionID) +
		len(m.Value) + len(m.Input) + len(m.Output) + len(m.Data)
	for k, v := range m.Values {
		n += len(k) + len(v) + 6
	}
	for _, k := range m.Names {
		n += len(k) + 3
	}
	if m.Error != nil {
		n += len(m.Error.Title) + len(m.Error.Detail) + 100
	}
	if m.Status != nil {
		n += 200 + len(m.Status.Output)
	}
	for _, sts := range m.Statuses {
		for _, st := range sts {
			n += 200 + len(st.Output)
		}
	}
	return n
}

// writer is the write side's state, used by whoever owns c.writing: an encode buffer
// (pooled, since an idle connection needs none), a reused notification, and the time the
// write deadline on the connection must be renewed, so writes cost one deadline update per
// half timeout rather than one each. Every write still gets at least half the write timeout;
// the deadline is cleared when the writer stops, so the library's own writes (pongs, the
// close frame) are not cut by a deadline long past.
type writer struct {
	buf     *[]byte // from encodeBufs
	note    Message
	renewAt time.Time
}

// deadline renews the write deadline on nc when it runs low.
func (c *conn) deadline(w *writer) {
	if c.nc == nil {
		return
	}
	if now := time.Now(); w.renewAt.IsZero() || now.After(w.renewAt) {
		c.nc.SetWriteDeadline(now.Add(c.b.cfg.writeTimeout))
		w.renewAt = now.Add(c.b.cfg.writeTimeout / 2)
	}
}

// clearDeadline removes the write deadline when the writer stops.
func (c *conn) clearDeadline(w *writer) {
	if c.nc != nil && !w.renewAt.IsZero() && !c.writeAborted.Load() {
		c.nc.SetWriteDeadline(time.Time{})
	}
	w.renewAt = time.Time{}
}

func (w *writer) releaseBuf() {
	if w.buf != nil {
		encodeBufs.Put(w.buf)
		w.buf = nil
	}
}

func (w *writer) stop() {
	w.releaseBuf()
}

var errWriteAborted = errors.New("write aborted: the consumer was dropped")

// encodeBufs recycles encode buffers between drains: a writer goroutine lives only as long
// as its queue is non-empty, so it cannot keep one itself.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write encodes and sends one message; false means the connection is unusable.
func (c *conn) write(w *writer, it *outItem) bool {
	m := it.msg
	if m == nil {
		it.fillNotification(&w.note)
		m = &w.note
	}
	buf, err := AppendMessage((*w.buf)[:0], m)
	if err != nil {
		// Only a value the Thing produced can get here; the request still deserves an answer.
		c.log.Error("wtp: cannot encode a message", "err", err)
		if m.MessageType != MessageTypeResponse || m.Error != nil {
			return true
		}
		m = &Message{ThingID: m.ThingID, MessageID: NewUUID(), MessageType: MessageTypeResponse,
			Operation: m.Operation, Name: m.Name, CorrelationID: m.CorrelationID,
			Error: wot.Internal("the Thing produced a value that cannot be encoded as JSON"), Timestamp: time.Now()}
		if buf, err = AppendMessage(buf[:0], m); err != nil {
			return true
		}
		c.b.stats.countError(500)
	}
	if cap(buf) <= 64<<10 {
		*w.buf = buf // reuse, but do not keep one huge message's buffer around
	}
	c.deadline(w)
	c.inWrite.Store(true)
	if c.writeAborted.Load() {
		c.inWrite.Store(false)
		err = errWriteAborted
	} else {
		err = c.ws.Write(context.Background(), websocket.MessageText, buf)
		c.inWrite.Store(false)
	}
	if err != nil {
		// The library has closed the connection; the reader will see it end.
		c.writeFailed(err)
		return false
	}
	c.b.stats.messagesOut.Add(1)
	return true
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

// handoffAfter is how long a handler call may hold the reader before a new goroutine takes
// over reading: long enough for a handler that reads a variable or a device register, short
// enough that a slow one delays the requests behind it on its connection only this much.
const handoffAfter = time.Millisecond

// run calls f with the connection's context. When f calls user code (usesHandlers), it takes
// one of the connection's WithMaxInFlight slots and runs on the reader, so the common quick
// handler costs no goroutine hand-off; if it is still running after handoffAfter, the
// watchdog starts a new reader and this goroutine stays with the handler (turn.handedOff),
// so a slow handler never holds up other requests, its connection's or anyone else's.
func (c *conn) run(turn *readerTurn, usesHandlers bool, f func(ctx context.Context)) {
	if !usesHandlers {
		f(c.hctx)
		return
	}
	select {
	case c.inflight <- struct{}{}:
	default:
		// About to wait for a slot: let queued messages go out meanwhile.
		c.setReaderBusy(false)
		select {
		case c.inflight <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
	}
	c.hmu.Lock()
	c.inHandler = turn
	if c.watchdog == nil {
		c.watchdog = time.AfterFunc(handoffAfter, c.handOff)
	} else {
		c.watchdog.Reset(handoffAfter)
	}
	c.hmu.Unlock()

	f(c.hctx)

	c.hmu.Lock()
	handed := turn.handedOff
	if !handed {
		c.inHandler = nil
		c.watchdog.Stop()
	}
	c.hmu.Unlock()
	<-c.inflight
	if handed {
		c.wg.Done() // added by handOff
	}
}

// handOff runs from the watchdog: if a handler call still holds the reader, a new goroutine
// takes over reading and the caller's goroutine ends once the call is answered.
func (c *conn) handOff() {
	c.hmu.Lock()
	turn := c.inHandler
	if turn == nil { // the call ended as the timer fired
		c.hmu.Unlock()
		return
	}
	turn.handedOff = true
	c.inHandler = nil
	c.wg.Add(1) // the handler's goroutine, until run returns; the new reader has not reached finish
	c.hmu.Unlock()
	go func() {
		// The old reader no longer flushes: whatever it held back goes out now.
		c.setReaderBusy(false)
		c.readOn(&readerTurn{})
	}()
}

// schedulePing arms the keep-alive timer. Pings run from a timer rather than a goroutine of
// their own, so idle connections stay cheap.
func (c *conn) schedulePing() {
	every := c.b.cfg.ping
	if every <= 0 {
		return
	}
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if !c.pingStopped {
		c.pingTimer = time.AfterFunc(every, c.ping)
	}
}

func (c *conn) ping() {
	c.pingMu.Lock()
	if c.pingStopped {
		c.pingMu.Unlock()
		return
	}
	c.pingWG.Add(1) // under pingMu, so never after stopPing's Wait began
	c.pingMu.Unlock()
	defer c.pingWG.Done()

	// Not derived from c.ctx: cancelling a Ping cuts the connection, which would pre-empt a
	// graceful close.
	ctx, cancel := context.WithTimeout(context.Background(), c.b.cfg.ping)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil {
		if c.closeWith(websocket.StatusPolicyViolation, "ping timeout", true) {
			c.log.Debug("wtp: ping failed", "err", err)
		}
		return
	}
	c.schedulePing()
}

func (c *conn) stopPing() {
	c.pingMu.Lock()
	c.pingStopped = true
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.pingMu.Unlock()
	c.pingWG.Wait()
}

// hijackWriter records the connection websocket.Accept hijacks, so the conn can set write
// deadlines on it and cut it.
type hijackWriter struct {
	http.ResponseWriter
	nc   net.Conn
	cork *corkWriter
	br   *bufio.Reader
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nc, rw, err
	}
	h.nc = nc
	// net/http hands over its 4 KiB read and write buffers, which the library keeps for the
	// connection's life: smaller ones save idle memory. Messages are small (a response or
	// notification is a few hundred bytes) and bigger reads and writes bypass the buffers.
	if rw.Reader.Buffered() == 0 && rw.Writer.Buffered() == 0 {
		h.cork = &corkWriter{nc: nc}
		h.br = bufio.NewReaderSize(nc, connReadBuffer)
		rw = bufio.NewReadWriter(h.br, bufio.NewWriterSize(h.cork, connWriteBuffer))
	}
	return nc, rw, nil
}

// Per-connection buffer sizes (see hijackWriter.Hijack).
const (
	connReadBuffer  = 2048
	connWriteBuffer = 1024
)

// canHijack reports whether w, or a ResponseWriter it wraps, supports hijacking.
func canHijack(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

// corkWriter sits under the library's write buffer. The library flushes every message; while
// held, the flushed bytes collect here instead, and release sends them in one write. The
// writer holds it around a batch of queued messages, so a burst of notifications costs one
// system call rather than one each. Frames the library writes meanwhile (a pong) keep their
// order in the stream.
type corkWriter struct {
	mu   sync.Mutex
	nc   net.Conn
	held bool
	buf  *[]byte // from corkBufs while held
}

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (w *corkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held {
		*w.buf = append(*w.buf, p...)
		return len(p), nil
	}
	return w.nc.Write(p)
}

func (w *corkWriter) hold() {
	w.mu.Lock()
	w.held = true
	w.buf = corkBufs.Get().(*[]byte)
	w.mu.Unlock()
}

// release sends what collected while held.
func (w *corkWriter) release() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = false
	var err error
	if len(*w.buf) > 0 {
		_, err = w.nc.Write(*w.buf)
	}
	if cap(*w.buf) <= 256<<10 { // do not pool one huge burst's buffer
		*w.buf = (*w.buf)[:0]
		corkBufs.Put(w.buf)
	}
	w.buf = nil
	return err
}
