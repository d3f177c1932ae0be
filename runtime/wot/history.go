package wot

import (
	"encoding/json"
	"github.com/wotgen/wotgen/runtime/internal/uuid"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// note is one property change or event occurrence in a Thing's history. Its Notification
// (and so its ID) is fixed when it happens and goes to every subscriber and into the
// history: the ID is where a consumer resumes (WTP lastNotificationID, SSE event id).
type note struct {
	seq uint64 // position in the Thing's history, increasing from 1
	n   Notification
}

// history is a bounded ring of the most recent notes of one Thing, with an index from
// notification ID to position for catch-up. It is bounded by count and by the bytes of the
// payloads it holds. It is guarded by Thing.mu.
type history struct {
	ring     []*note // capacity = size; ring[(seq-1) % size]
	byID     map[string]uint64
	size     int
	maxBytes int
	bytes    int
	last     uint64 // seq of the newest note (0 = none yet)
	first    uint64 // seq of the oldest note still held
}

func newHistory(size, maxBytes int) history {
	size = max(size, 0)
	return history{ring: make([]*note, size), byID: make(map[string]uint64, size), size: size, maxBytes: maxBytes}
}

// add records a new note and returns it. With size 0 nothing is kept, but notes still get
// increasing positions, which per-subscriber delivery tracking relies on.
func (h *history) add(kind td.Kind, name string, payload json.RawMessage, ts time.Time) *note {
	h.last++
	n := &note{seq: h.last, n: Notification{ID: uuid.New(), Kind: kind, Name: name, Value: payload, Time: ts}}
	if h.size == 0 {
		return n
	}
	if h.first == 0 {
		h.first = n.seq
	}
	if n.seq-h.first >= uint64(h.size) {
		h.evict() // the slot we are about to reuse
	}
	h.ring[h.slot(n.seq)] = n
	h.byID[n.n.ID] = n.seq
	h.bytes += len(payload)
	for h.bytes > h.maxBytes && h.first < n.seq {
		h.evict() // keep the newest note even if it alone is over the limit
	}
	return n
}

func (h *history) slot(seq uint64) int { return int((seq - 1) % uint64(h.size)) }

// evict drops the oldest note.
func (h *history) evict() {
	i := h.slot(h.first)
	if old := h.ring[i]; old != nil {
		delete(h.byID, old.n.ID)
		h.bytes -= len(old.n.Value)
		h.ring[i] = nil
	}
	h.first++
}

// position returns the history position of the note with the given ID, if still held.
func (h *history) position(id string) (uint64, bool) {
	seq, ok := h.byID[id]
	return seq, ok
}

// after calls fn for every held note with a position greater than seq, oldest first.
func (h *history) after(seq uint64, fn func(*note)) {
	if h.size == 0 || h.first == 0 {
		return
	}
	for s := max(seq+1, h.first); s <= h.last; s++ {
		fn(h.ring[h.slot(s)])
	}
}
