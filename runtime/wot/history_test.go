package wot

import (
	"encoding/json"
	"fmt"
	"github.com/wotgen/wotgen/runtime/internal/uuid"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

func TestHistory(t *testing.T) {
	collect := func(h *history, after uint64) string {
		var out []string
		h.after(after, func(n *note) { out = append(out, string(n.n.Value)) })
		return fmt.Sprint(out)
	}
	h := newHistory(3, 1<<20)
	var ids []string
	for i := 1; i <= 5; i++ {
		n := h.add(td.KindProperty, "p", json.RawMessage(fmt.Sprint(i)), time.Now())
		if n.seq != uint64(i) || !uuid.Valid(n.n.ID) {
			t.Fatalf("note %+v", n)
		}
		ids = append(ids, n.n.ID)
	}
	if got := collect(&h, 0); got != "[3 4 5]" {
		t.Fatalf("held %s", got)
	}
	if _, ok := h.position(ids[1]); ok {
		t.Fatal("an evicted note is still indexed")
	}
	if seq, ok := h.position(ids[2]); !ok || seq != 3 {
		t.Fatal("a held note is not indexed")
	}
	if got := collect(&h, 4); got != "[5]" {
		t.Fatalf("after 4: %s", got)
	}

	// Byte bound: the oldest go first, the newest always stays.
	h = newHistory(100, 10)
	for _, p := range []string{`"aaaa"`, `"bbbb"`, `"cccccccccccc"`} {
		h.add(td.KindEvent, "e", json.RawMessage(p), time.Now())
	}
	if got := collect(&h, 0); got != `["cccccccccccc"]` || h.bytes != 14 {
		t.Fatalf("held %s (%d bytes)", got, h.bytes)
	}
	h.add(td.KindEvent, "e", json.RawMessage(`1`), time.Now())
	if got := collect(&h, 0); got != `[1]` || len(h.byID) != 1 {
		t.Fatalf("held %s, index %d", got, len(h.byID))
	}

	// Size 0 keeps nothing but still numbers notes.
	h = newHistory(0, 10)
	if n := h.add(td.KindEvent, "e", nil, time.Now()); n.seq != 1 || collect(&h, 0) != "[]" {
		t.Fatal("size 0")
	}
}
