package wothttp

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// sseChunk is the most written to the connection under one progress deadline.
const sseChunk = 32 << 10

var heartbeat = []byte(": keep-alive\n\n")

func tooManyStreams() error {
	return problemf(http.StatusServiceUnavailable, "the server holds as many event streams and long polls as it may (or is shutting down); retry later")
}

// clearDeadlines lifts the server's read and write timeouts for a request held open on
// purpose: a held long poll or stream must not be cut by http.Server.WriteTimeout, and
// an expiring read deadline would cancel the request's context.
func clearDeadlines(rc *http.ResponseController) {
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
}

// poller receives the first notification of a long poll.
type poller struct{ ch chan wot.Notification }

// Notify implements wot.Subscriber; it never blocks.
func (p *poller) Notify(n *wot.Notification, _ any) {
	select {
	case p.ch <- *n:
	default: // one value per response; later ones are replayed to the next poll
	}
}

func (s *server) longPoll(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, kind td.Kind, name string) {
	if !accepts(r, mediaJSON) {
		writeProblem(w, notAcceptable(mediaJSON))
		return
	}
	if r.Method == http.MethodHead {
		// node-wot's handshake: a HEAD that must answer 2xx within a second.
		w.Header()["Content-Type"] = hdrJSON
		w.WriteHeader(http.StatusOK)
		return
	}
	if !s.hold() {
		writeProblem(w, tooManyStreams())
		return
	}
	defer s.unhold()
	key := pollKey{principal: wot.CallerFrom(ctx).Principal, conn: r.RemoteAddr, thing: e.path, kind: kind, name: name}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = s.polls.get(key, s.lim.PollResume)
	}
	p := &poller{ch: make(chan wot.Notification, 1)}
	if err := e.t.Subscribe(ctx, p, kind, []string{name}, nil, lastID); err != nil {
		writeProblem(w, err)
		return
	}
	s.subscribed(1)
	forgotten := false
	forget := func() {
		if !forgotten {
			forgotten = true
			e.t.Forget(p)
			s.subscribed(-1)
		}
	}
	defer forget()
	rc := http.NewResponseController(w)
	clearDeadlines(rc)
	var n wot.Notification
	select {
	case n = <-p.ch:
	case <-ctx.Done():
		return
	case <-s.closing:
		writeProblem(w, problemf(http.StatusServiceUnavailable, "the server is shutting down"))
		return
	}
	forget()
	h := w.Header()
	h.Set("Last-Event-ID", n.ID)
	h["Cache-Control"] = hdrNoCache
	rc.SetWriteDeadline(time.Now().Add(s.lim.StallTimeout))
	if len(n.Value) == 0 {
		h["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusOK) // an event without data
	} else {
		sendJSON(w, http.StatusOK, n.Value)
	}
	if rc.Flush() == nil {
		s.polls.put(key, n.ID, s.lim.PollResume)
	}
}

// pollKey identifies a long-polling consumer: its principal, its connection and the
// affordance it polls.
type pollKey struct {
	principal, conn, thing string
	kind                   td.Kind
	name                   string
}

type pollMark struct {
	id string
	at time.Time
}

// maxPollMarks bounds the remembered long-poll positions.
const maxPollMarks = 1 << 16

// pollResume remembers the last notification answered per pollKey for a while.
type pollResume struct {
	mu    sync.Mutex
	m     map[pollKey]pollMark
	swept time.Time
}

func (pr *pollResume) get(k pollKey, ttl time.Duration) string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	m, ok := pr.m[k]
	if !ok || time.Since(m.at) > ttl {
		return ""
	}
	return m.id
}

func (pr *pollResume) put(k pollKey, id string, ttl time.Duration) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.m == nil {
		pr.m = make(map[pollKey]pollMark)
	}
	now := time.Now()
	if _, ok := pr.m[k]; !ok && len(pr.m) >= maxPollMarks {
		if now.Sub(pr.swept) < time.Second {
			return // full of live marks: this consumer resumes from "now" next time
		}
		pr.swept = now
		for key, m := range pr.m {
			if now.Sub(m.at) > ttl {
				delete(pr.m, key)
			}
		}
		if len(pr.m) >= maxPollMarks {
			return
		}
	}
	pr.m[k] = pollMark{id: id, at: now}
}

// sseStream is one SSE stream's subscriber: Notify appends the encoded message to a queue
// bounded in bytes and wakes the handler, which writes it out.
type sseStream struct {
	// skip drops notifications the stream does not carry (nil: none)
	skip func(n *wot.Notification) bool

	mu   sync.Mutex
	buf  []byte
	max  int
	over bool // the queue overflowed: the stream ends
	wake chan struct{}
}

func newSSEStream(max int) *sseStream { return &sseStream{max: max, wake: make(chan struct{}, 1)} }

// Notify implements wot.Subscriber; it never blocks.
func (st *sseStream) Notify(n *wot.Notification, _ any) {
	if st.skip != nil && st.skip(n) {
		return
	}
	st.mu.Lock()
	if !st.over {
		before := len(st.buf)
		st.buf = appendEvent(st.buf, n)
		// One message alone may exceed the bound, or it could never be sent.
		if len(st.buf) > st.max && before > 0 {
			st.over, st.buf = true, nil
		}
	}
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// take returns the queued bytes, leaving spare (emptied) as the new queue.
func (st *sseStream) take(spare []byte) (b []byte, over bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	b, st.buf = st.buf, spare[:0]
	return b, st.over
}

// appendEvent encodes n as one SSE message: the affordance name as event type, the JSON
// value on data lines (an empty data line for an event without data, so it is still
// dispatched), and the notification id.
func appendEvent(b []byte, n *wot.Notification) []byte {
	b = append(b, "event: "...)
	b = appendField(b, n.Name)
	b = append(b, '\n')
	v := n.Value
	if len(v) == 0 {
		b = append(b, "data:\n"...)
	}
	for len(v) > 0 {
		// JSON has CR and LF only as whitespace; each line break becomes a new data line,
		// which the consumer's parser joins with LF again.
		line := v
		if i := bytes.IndexAny(v, "\r\n"); i >= 0 {
			crlf := v[i] == '\r' && i+1 < len(v) && v[i+1] == '\n'
			line, v = v[:i], v[i+1:]
			if crlf {
				v = v[1:]
			}
		} else {
			v = nil
		}
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	b = append(b, "id: "...)
	b = appendField(b, n.ID)
	return append(b, '\n', '\n')
}

// appendField appends s with the characters that would break an SSE line (CR, LF, NUL)
// replaced by U+FFFD.
func appendField(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r', '\n', 0:
			b = append(b, "\uFFFD"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func (s *server) sse(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, kind td.Kind, names []string) {
	if !accepts(r, mediaSSE) {
		writeProblem(w, notAcceptable(mediaSSE))
		return
	}
	h := w.Header()
	if r.Method == http.MethodHead {
		h["Content-Type"] = hdrSSE
		w.WriteHeader(http.StatusOK)
		return
	}
	if !s.hold() {
		writeProblem(w, tooManyStreams())
		return
	}
	defer s.unhold()
	st := newSSEStream(s.lim.SSEQueueBytes)
	if kind == td.KindProperty && names == nil {
		// observeallproperties carries the observable properties only (the Thing would
		// send every readable one): only those promise change notifications.
		st.skip = func(n *wot.Notification) bool { return !e.props[n.Name].observable }
	}
	if err := e.t.Subscribe(ctx, st, kind, names, nil, r.Header.Get("Last-Event-ID")); err != nil {
		writeProblem(w, err)
		return
	}
	s.subscribed(1)
	defer s.subscribed(-1)
	defer e.t.Forget(st)
	rc := http.NewResponseController(w)
	clearDeadlines(rc)
	h["Content-Type"] = hdrSSE
	h["Cache-Control"] = hdrNoCache
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if s.sseWrite(w, rc, nil) != nil {
		return
	}
	tick := time.NewTicker(s.lim.Heartbeat)
	defer tick.Stop()
	var spare []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-tick.C:
			if s.sseWrite(w, rc, heartbeat) != nil {
				return
			}
		case <-st.wake:
			b, over := st.take(spare)
			if over {
				s.log.Info("http: closing an SSE stream whose reader fell behind; it resumes with Last-Event-ID",
					"thing", e.t.ID(), "remote", r.RemoteAddr, "queue", s.lim.SSEQueueBytes)
				return
			}
			if len(b) > 0 && s.sseWrite(w, rc, b) != nil {
				s.log.Info("http: closing an SSE stream that made no progress", "thing", e.t.ID(), "remote", r.RemoteAddr)
				return
			}
			if cap(b) <= sseChunk*4 {
				spare = b
			} else {
				spare = nil
			}
		}
	}
}

// sseWrite writes b in chunks, each of which must complete within StallTimeout, and
// flushes.
func (s *server) sseWrite(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), sseChunk)
		rc.SetWriteDeadline(time.Now().Add(s.lim.StallTimeout))
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	rc.SetWriteDeadline(time.Now().Add(s.lim.StallTimeout))
	return rc.Flush()
}
