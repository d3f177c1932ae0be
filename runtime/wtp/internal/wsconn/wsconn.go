// Package wsconn is the transport under the Web Thing Protocol server's connections: a
// github.com/coder/websocket server connection whose TCP connection it keeps hold of, for what
// the library does not offer and a server with many connections needs:
//
//   - small per-connection buffers (the library keeps net/http's 4 KiB ones for life), also
//     when net/http already read the client's first bytes ahead of the hijack;
//   - no per-frame context registrations: reads and writes pass the library a context that is
//     never done, and write timeouts are deadlines on the TCP connection, renewed at most once
//     per half timeout and never cleared (moving a deadline moves a runtime timer, which wakes
//     the network poller: microseconds per request if done around every write);
//   - batched writes: a corked writer under the library's write buffer collects the frames of a
//     batch and sends them in one system call;
//   - peeking into the library's read buffer for a whole request frame already received, so a
//     server can answer pipelined requests before flushing;
//   - cutting a connection whose peer stopped reading, even in the middle of a write;
//   - pings from a timer, not a goroutine per connection.
//
// Only one goroutine at a time may read (Read, RequestBuffered) and one write (Write, Hold,
// Release, EndWrites); the other methods may be called from any goroutine.
package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Conn is one server-side WebSocket connection.
type Conn struct {
	ws *websocket.Conn
	// nc is the hijacked TCP connection under ws; nil when the ResponseWriter could not be
	// hijacked by us (the library then reports the error) or in tests.
	nc net.Conn
	// cork lets a batch of frames go out in one system call; nil when the connection's writes
	// are not ours to buffer.
	cork *corkWriter
	// br is the library's read buffer (ours); nil when unknown.
	br *bufio.Reader

	timeout time.Duration
	renewAt time.Time // without cork: when the write deadline must be renewed; writer only

	inWrite atomic.Bool // a write to nc may be in progress
	aborted atomic.Bool // Abort was called: writes fail at once

	rbuf bytes.Buffer // reader only
	ka   keepAlive
}

// ErrAborted is the error of writes after Abort.
var ErrAborted = errors.New("write aborted: the consumer was dropped")

// Per-connection buffer sizes, kept for the connection's life. Messages are small (a request,
// response or notification is a few hundred bytes) and bigger reads and writes bypass the
// buffers; the read buffer holds a few pipelined requests, the write buffer only passes frames
// on to the cork (which collects batches in a pooled buffer).
const (
	readBuffer  = 1024
	writeBuffer = 512
)

// Accept upgrades the request (websocket.Accept with opts) and returns the connection; writes
// that take no bytes for writeTimeout fail with a timeout (IsTimeout).
func Accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions, writeTimeout time.Duration) (*Conn, error) {
	hw := &hijackWriter{ResponseWriter: w}
	var rw http.ResponseWriter = hw
	if !canHijack(w) {
		rw = w // let Accept report it as before
	}
	ws, err := websocket.Accept(rw, r, opts)
	if err != nil {
		return nil, err
	}
	if hw.cork != nil {
		hw.cork.timeout = writeTimeout
	}
	return &Conn{ws: ws, nc: hw.nc, cork: hw.cork, br: hw.br, timeout: writeTimeout}, nil
}

// SetReadLimit sets the largest message Read accepts (websocket.Conn.SetReadLimit).
func (c *Conn) SetReadLimit(n int64) { c.ws.SetReadLimit(n) }

// Read returns the next message in a buffer reused across calls; text is false for a binary
// message, whose content is discarded.
func (c *Conn) Read() (data []byte, text bool, err error) {
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

// RequestBuffered reports whether a whole final text frame (a request) is already in the read
// buffer, so the next Read returns without waiting. The caller must exclude the library's own
// reads too: once the close handshake started, it reads the buffer.
func (c *Conn) RequestBuffered() bool {
	if c.br == nil {
		return false
	}
	return frameBuffered(c.br)
}

// frameBuffered implements RequestBuffered on a read buffer (RFC 6455 §5.2 framing).
func frameBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < 2 {
		return false
	}
	h, _ := br.Peek(2)
	// Only a final text frame is a request the reader returns to at once. A control frame
	// (ping, pong, close) is handled inside the library, after which the reader would block
	// for the next request while the caller holds its responses back.
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
		l, _ := br.Peek(4)
		size = int(l[2])<<8 | int(l[3])
	}
	return n >= hdr+size
}

// Write sends one text message. Within Hold and Release it only joins the batch.
func (c *Conn) Write(p []byte) error {
	c.deadline()
	c.inWrite.Store(true)
	defer c.inWrite.Store(false)
	if c.aborted.Load() {
		return ErrAborted
	}
	return c.ws.Write(context.Background(), websocket.MessageText, p)
}

// Hold starts a batch: the frames written until Release collect in memory. It reports false
// when batching is not available (then writes go out one by one).
func (c *Conn) Hold() bool {
	if c.cork == nil {
		return false
	}
	c.cork.hold()
	return true
}

// Release sends the batch started by Hold in one write. Without batching (Hold reported
// false) there is nothing to send.
func (c *Conn) Release() error {
	if c.cork == nil {
		return nil
	}
	c.deadline()
	c.inWrite.Store(true)
	defer c.inWrite.Store(false)
	return c.cork.release()
}

// deadline renews the write deadline on nc when it runs low, so writes cost one deadline
// update per half timeout rather than one each; every write still gets at least half the
// timeout. With the cork, which sees every write to nc (the library's pongs and close frame
// too), the cork does it and the deadline never needs clearing.
func (c *Conn) deadline() {
	if c.nc == nil || c.cork != nil {
		return
	}
	if now := time.Now(); c.renewAt.IsZero() || now.After(c.renewAt) {
		c.nc.SetWriteDeadline(now.Add(c.timeout))
		c.renewAt = now.Add(c.timeout / 2)
	}
}

// EndWrites is called when the writer stops. Without the cork it clears the write deadline,
// so the library's own writes (pongs, the close frame) are not cut by a deadline long past.
func (c *Conn) EndWrites() {
	if c.nc != nil && c.cork == nil && !c.renewAt.IsZero() && !c.aborted.Load() {
		c.nc.SetWriteDeadline(time.Time{})
	}
	c.renewAt = time.Time{}
}

// IsTimeout reports whether err is a write cut by the deadline: the peer took nothing for the
// write timeout.
func IsTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// Abort makes later writes fail at once and cuts a write in progress (its peer may never take
// it) by cutting the connection.
func (c *Conn) Abort() {
	c.aborted.Store(true)
	if c.inWrite.Load() {
		c.Cut()
	}
}

// Cut closes the connection without a close handshake; a blocked Read or Write returns.
func (c *Conn) Cut() {
	if c.nc != nil {
		c.nc.Close()
	} else {
		c.ws.CloseNow()
	}
}

// Close performs the close handshake (websocket.Conn.Close), within the library's timeouts.
func (c *Conn) Close(code websocket.StatusCode, reason string) error { return c.ws.Close(code, reason) }

// hijackWriter records the connection websocket.Accept hijacks and gives the library smaller
// buffers and the corked writer.
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
	// connection's life: smaller ones save idle memory. The write buffer is new and empty. The
	// read buffer often is not: net/http sends the 101 before the hijack, and a client that
	// writes as soon as it has it (most do) has its first bytes read ahead by net/http. Those
	// move into the new buffer, buffered there as they were, for the library takes the
	// buffered bytes and reads the TCP connection after them.
	if rw.Writer.Buffered() != 0 {
		return nc, rw, nil
	}
	br := bufio.NewReaderSize(nc, readBuffer)
	if n := rw.Reader.Buffered(); n > 0 {
		ahead, _ := rw.Reader.Peek(n)
		ahead = bytes.Clone(ahead)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(ahead), nc), max(readBuffer, n))
		if _, err := br.Peek(n); err != nil { // from the bytes.Reader: cannot fail
			return nc, rw, nil
		}
	}
	h.cork = &corkWriter{nc: nc}
	h.br = br
	rw = bufio.NewReadWriter(h.br, bufio.NewWriterSize(h.cork, writeBuffer))
	return nc, rw, nil
}

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
// held, the flushed bytes collect here instead, and release sends them in one write. Frames the
// library writes meanwhile (a pong) keep their order in the stream. Every write to nc passes
// here, so here the write deadline is renewed.
type corkWriter struct {
	mu      sync.Mutex
	nc      net.Conn
	held    bool
	buf     *[]byte // from corkBufs while held
	timeout time.Duration
	renewAt time.Time
}

// write writes p to nc with at least half the write timeout left; mu must be held.
func (w *corkWriter) write(p []byte) (int, error) {
	if now := time.Now(); now.After(w.renewAt) {
		w.nc.SetWriteDeadline(now.Add(w.timeout))
		w.renewAt = now.Add(w.timeout / 2)
	}
	return w.nc.Write(p)
}

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (w *corkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held {
		*w.buf = append(*w.buf, p...)
		return len(p), nil
	}
	return w.write(p)
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
		_, err = w.write(*w.buf)
	}
	if cap(*w.buf) <= 256<<10 { // do not pool one huge burst's buffer
		*w.buf = (*w.buf)[:0]
		corkBufs.Put(w.buf)
	}
	w.buf = nil
	return err
}
