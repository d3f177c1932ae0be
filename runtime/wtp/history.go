package wtp

import (
	"encoding/json"
	"time"
)

// noteKind says whether a notification reports a property change or an event.
type noteKind uint8

const (
	noteProperty noteKind = iota + 1
	noteEvent
)

// note is one property change or event occurrence. Its messageID is fixed when it happens
// and travels to every connection and into the history (spec §3, messageID policy).
type note struct {
	seq       uint64 // position in the Thing's history, increasing from 1
	id        string // messageID
	kind      noteKind
	name      string
	payload   json.RawMessage // the property value or event data
	timestamp time.Time
}

// history is a bounded ring of the most recent notes of one Thing, with an index from
// messageID to position for lastNotificationID catch-up. It is guarded by Thing.mu.
type history struct {
	ring  []*note // capacity = size; ring[(seq-1) % size]
	byID  map[string]uint64
	size  int
	last  uint64 // seq of the newest note (0 = none yet)
	first uint64 // seq of the oldest note still held
}

func newHistory(size int) history {
	if size < 0 {
		size = 0
	}
	return history{ring: make([]*note, size), byID: make(map[string]uint64, size), size: size}
}

// add records a new note and returns it. With size 0 nothing is kept, but notes still get
// increasing positions, which per-connection delivery tracking relies on.
func (h *history) add(kind noteKind, name string, payload json.RawMessage, ts time.Time) *note {
	h.last++
	n := &note{seq: h.last, id: NewUUID(), kind: kind, name: name, payload: payload, timestamp: ts}
	if h.size == 0 {
		return n
	}
	slot := int((n.seq - 1) % uint64(h.size))
	if old := h.ring[slot]; old != nil {
		delete(h.byID, old.id)
	}
	h.ring[slot] = n
	h.byID[n.id] = n.seq
	h.first = 1
	if n.seq > uint64(h.size) {
		h.first = n.seq - uint64(h.size) + 1
	}
	return n
}

// position returns the history position of the note with messageID id, if still held.
func (h *history) position(id string) (uint64, bool) {
	seq, ok := h.byID[id]
	return seq, ok
}

// after calls fn for every held note with a position greater than seq, oldest first.
func (h *history) after(seq uint64, fn func(*note)) {
	if h.size == 0 || h.last == 0 {
		return
	}
	from := max(seq+1, h.first)
	for s := from; s <= h.last; s++ {
		fn(h.ring[int((s-1)%uint64(h.size))])
	}
}
