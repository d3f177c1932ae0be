package wtp

import (
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp/internal/wsconn"
)

// The send side of a conn: its queue, bounded by bytes and progress, and the writer that
// drains it in batches.

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
		c.logAt(slog.LevelWarn, "wtp: dropping a slow consumer: "+reason, args...)
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
	// The writer's state belongs to the owner of c.writing: back to the pool before giving
	// that up.
	w := writers.Get().(*writer)
	for first := true; ; first = false {
		c.qmu.Lock()
		if c.aborted || !c.pending() {
			w.release()
			c.stopWriting()
			c.qmu.Unlock()
			return
		}
		if inline && !first {
			w.release()
			c.wc.EndWrites()
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

		corked := len(batch) > 1 && c.wc.Hold()
		ok := true
		for i := range batch {
			if ok = c.write(w, &batch[i]); !ok {
				break
			}
		}
		if corked {
			if err := c.wc.Release(); err != nil && ok {
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
			w.release()
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
	if wsconn.IsTimeout(err) {
		c.dropSlow("no progress: the consumer took nothing within the write timeout", "timeout", c.b.cfg.writeTimeout)
		return
	}
	if c.closeWith(websocket.StatusAbnormalClosure, "write failed", true) {
		c.logAt(slog.LevelDebug, "wtp: write failed", "err", err)
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

// writer is the write side's state, used by whoever owns c.writing: an encode buffer and a
// reused notification. Pooled, since an idle connection needs neither.
type writer struct {
	buf  []byte
	note Message
}

// writers recycles writers between drains: a writer goroutine lives only as long as its
// queue is non-empty, so it cannot keep one itself.
var writers = sync.Pool{New: func() any { return &writer{buf: make([]byte, 0, 512)} }}

func (w *writer) release() {
	if cap(w.buf) > 64<<10 {
		w.buf = make([]byte, 0, 512) // do not keep one huge message's buffer around
	}
	w.note = Message{}
	writers.Put(w)
}

// stopWriting gives up the write side; qmu must be held.
func (c *conn) stopWriting() {
	c.wc.EndWrites()
	c.writing = false
	c.idle.Broadcast()
}

// write encodes and sends one message; false means the connection is unusable.
func (c *conn) write(w *writer, it *outItem) bool {
	m := it.msg
	if m == nil {
		it.fillNotification(&w.note)
		m = &w.note
	}
	buf, err := AppendMessage(w.buf[:0], m)
	if err != nil {
		// Only a value the Thing produced can get here; the request still deserves an answer.
		c.logAt(slog.LevelError, "wtp: cannot encode a message", "err", err)
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
	w.buf = buf
	if err = c.wc.Write(buf); err != nil {
		// The library has closed the connection; the reader will see it end.
		c.writeFailed(err)
		return false
	}
	c.b.stats.messagesOut.Add(1)
	return true
}
