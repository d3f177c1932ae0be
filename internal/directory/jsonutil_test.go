package directory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestMergePatch runs the examples of RFC 7396 Appendix A.
func TestMergePatch(t *testing.T) {
	for _, c := range [][3]string{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{`{"n":1.50}`, `{"m":12345678901234567890}`, `{"m":12345678901234567890,"n":1.50}`},
	} {
		target, _ := decodeJSON([]byte(c[0]))
		patch, _ := decodeJSON([]byte(c[1]))
		got, _ := marshalJSON(mergePatch(target, patch))
		if string(got) != c[2] {
			t.Errorf("merge %s with %s = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

// TestMergeDiff checks that the diff sent with thing_updated, applied to the old TD, gives the new one.
func TestMergeDiff(t *testing.T) {
	for _, c := range [][2]string{
		{`{"a":1,"b":{"c":2,"d":3},"e":[1]}`, `{"a":1,"b":{"c":2},"e":[1,2],"f":"new"}`},
		{`{"a":{"b":{"c":1}}}`, `{"a":"flat"}`},
		{`{"a":"flat"}`, `{"a":{"b":1}}`},
		{`{"a":1}`, `{}`},
	} {
		o, _ := decodeJSON([]byte(c[0]))
		n, _ := decodeJSON([]byte(c[1]))
		d := mergeDiff(o.(map[string]any), n.(map[string]any))
		patchJSON, _ := marshalJSON(d)
		p, _ := decodeJSON(patchJSON)
		got, _ := marshalJSON(mergePatch(o, p))
		want, _ := marshalJSON(n)
		if string(got) != string(want) {
			t.Errorf("diff %s → %s is %s, which gives %s", c[0], c[1], patchJSON, got)
		}
	}
}

// TestPurgeTwoInstances: instances purging one database at once record one thing_deleted per TD.
func TestPurgeTwoInstances(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		dsn := k.open(t)
		clk := newClock()
		a := startInstance(t, dsn, Config{Now: clk.Now, PurgeInterval: time.Hour})
		b := startInstance(t, dsn, Config{Now: clk.Now, PurgeInterval: time.Hour})
		ctx := context.Background()
		c := newClient(t, a)
		for i := range 20 {
			id := fmt.Sprintf("urn:p:%02d", i)
			if _, err := c.CreateJSON(ctx, id, tdJSON(id, "P", `"registration": {"ttl": 10}`)); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(11 * time.Second)
		var wg sync.WaitGroup
		counts := make([]int, 4)
		for i := range counts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv := []*Server{a.srv, b.srv}[i%2]
				n, err := srv.PurgeNow(ctx)
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			}()
		}
		wg.Wait()
		if total := counts[0] + counts[1] + counts[2] + counts[3]; total != 20 {
			t.Fatalf("purged %v, total %d, want 20", counts, total)
		}
		evs, _ := a.store.Events(ctx, 20, eventDeleted, 100)
		if len(evs) != 20 {
			t.Fatalf("%d thing_deleted events, want 20", len(evs))
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			if seen[ev.ThingID] {
				t.Fatalf("two thing_deleted events for %s", ev.ThingID)
			}
			seen[ev.ThingID] = true
		}
	})
}
