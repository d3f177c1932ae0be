package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/discovery"
)

func TestEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		dsn := k.open(t)
		var streams atomic.Int32
		countStreams := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/events") {
					streams.Add(1)
				}
				h.ServeHTTP(w, r)
			})
		}
		a := startInstance(t, dsn, Config{})
		b := startInstance(t, dsn, Config{KeepAlive: 50 * time.Millisecond}, countStreams)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		writer := newClient(t, a)
		// Subscribers on the other instance: events cross instances through the shared database.
		all, err := newClient(t, b).Events(ctx, discovery.DirectoryEventsOptions{Diff: true, MaxRetry: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer all.Close()
		createdOnly, err := newClient(t, b).Events(ctx, discovery.DirectoryEventsOptions{Type: discovery.EventThingCreated})
		if err != nil {
			t.Fatal(err)
		}
		defer createdOnly.Close()

		if _, err := writer.Create(ctx, mustThing(t, tdJSON("urn:e:1", "One", ""))); err != nil {
			t.Fatal(err)
		}
		if err := writer.Patch(ctx, "urn:e:1", map[string]any{"title": "One v2"}); err != nil {
			t.Fatal(err)
		}
		if err := writer.Delete(ctx, "urn:e:1"); err != nil {
			t.Fatal(err)
		}
		ev := nextEvent(t, all)
		var full map[string]any
		json.Unmarshal(ev.Data, &full)
		if ev.Type != discovery.EventThingCreated || ev.ThingID != "urn:e:1" || full["title"] != "One" || full["registration"] == nil || full["securityDefinitions"] == nil {
			t.Fatalf("created event %+v: want the full enriched TD", ev)
		}
		ev = nextEvent(t, all)
		var patch map[string]any
		json.Unmarshal(ev.Data, &patch)
		if ev.Type != discovery.EventThingUpdated || patch["id"] != "urn:e:1" || patch["title"] != "One v2" || patch["securityDefinitions"] != nil || patch["registration"] == nil {
			t.Fatalf("updated event %s: want a merge patch with id, title and registration.modified only", ev.Data)
		}
		ev = nextEvent(t, all)
		if ev.Type != discovery.EventThingDeleted || string(ev.Data) != `{"id":"urn:e:1"}` {
			t.Fatalf("deleted event %+v", ev)
		}
		if ev := nextEvent(t, createdOnly); ev.Type != discovery.EventThingCreated || string(ev.Data) != `{"id":"urn:e:1"}` {
			t.Fatalf("typed stream, diff=false: %+v", ev)
		}
		last, _ := strconv.Atoi(ev.ID)

		// Drop every stream, then write while the clients are away: they reconnect with
		// Last-Event-ID and get each missed event once, in order.
		b.http.CloseClientConnections()
		for i := 2; i <= 6; i++ {
			if _, err := writer.Create(ctx, mustThing(t, tdJSON(fmt.Sprintf("urn:e:%d", i), "T", ""))); err != nil {
				t.Fatal(err)
			}
		}
		for i := 2; i <= 6; i++ {
			ev := nextEvent(t, all)
			if n, _ := strconv.Atoi(ev.ID); ev.ThingID != fmt.Sprintf("urn:e:%d", i) || n != last+i-1 {
				t.Fatalf("after the drop: event %+v, want urn:e:%d with id %d", ev, i, last+i-1)
			}
			if ev := nextEvent(t, createdOnly); ev.ThingID != fmt.Sprintf("urn:e:%d", i) {
				t.Fatalf("typed stream after the drop: %+v", ev)
			}
		}
		if streams.Load() < 4 {
			t.Fatalf("%d event streams opened: the clients did not reconnect", streams.Load())
		}
		// A new subscription resuming from an old id replays the retained history.
		again, err := newClient(t, a).Events(ctx, discovery.DirectoryEventsOptions{LastEventID: strconv.Itoa(last)})
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if ev := nextEvent(t, again); ev.ThingID != "urn:e:2" {
			t.Fatalf("replay: %+v", ev)
		}
		// HEAD answers the headers without holding a stream open.
		code, hdr, body := raw(t, "HEAD", a.url+"events", "", nil)
		if code != 200 || hdr.Get("Content-Type") != "text/event-stream" || len(body) != 0 {
			t.Fatalf("HEAD /events: %d %v", code, hdr)
		}
		all.Close()
		if _, err := all.Next(ctx); err == nil {
			t.Fatal("Next after Close returned no error")
		}
	})
}

// TestRestart stops a directory and starts a new one on the same database (for SQLite: the same
// file): nothing is lost, and event numbering and history continue.
func TestRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) { testRestart(t, k.open(t)) })
}

func testRestart(t *testing.T, dsn string) {
	ctx := context.Background()
	in := startInstance(t, dsn, Config{})
	c := newClient(t, in)
	for i := range 50 {
		if _, err := c.Create(ctx, mustThing(t, tdJSON(fmt.Sprintf("urn:r:%02d", i), "R", `"registration": {"ttl": 3600}`))); err != nil {
			t.Fatal(err)
		}
	}
	anon, err := c.Register(ctx, mustThing(t, tdJSON("", "Anon", "")))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Patch(ctx, "urn:r:07", map[string]any{"title": "Seven"}); err != nil {
		t.Fatal(err)
	}
	before, _ := c.GetJSON(ctx, "urn:r:07")
	in.stop()

	in2 := startInstance(t, dsn, Config{})
	c2 := newClient(t, in2)
	n := 0
	for _, err := range c2.List(ctx, 20) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 51 {
		t.Fatalf("%d entries after restart, want 51", n)
	}
	after, _ := c2.GetJSON(ctx, "urn:r:07")
	strip := func(b []byte) string { // retrieved differs, everything else must not
		var m map[string]any
		json.Unmarshal(b, &m)
		delete(m["registration"].(map[string]any), "retrieved")
		out, _ := json.Marshal(m)
		return string(out)
	}
	if strip(before) != strip(after) {
		t.Fatalf("TD changed across restart:\n%s\n%s", before, after)
	}
	if _, err := c2.Get(ctx, anon); err != nil {
		t.Fatal(err)
	}
	evs, err := c2.Events(ctx, discovery.DirectoryEventsOptions{LastEventID: "50"})
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	if ev := nextEvent(t, evs); ev.ID != "51" || ev.ThingID != anon {
		t.Fatalf("history after restart: %+v", ev)
	}
	if ev := nextEvent(t, evs); ev.ID != "52" || ev.Type != discovery.EventThingUpdated {
		t.Fatalf("history after restart: %+v", ev)
	}
	if err := c2.Delete(ctx, "urn:r:00"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, evs); ev.ID != "53" || ev.Type != discovery.EventThingDeleted {
		t.Fatalf("numbering after restart: %+v", ev)
	}
}

// On PostgreSQL an instance learns of another instance's writes at once (LISTEN/NOTIFY), not at
// its next poll: here polling is an hour apart, so only the notification can deliver the event.
// On SQLite (one process) the test measures nothing and is skipped.
func TestEventsAcrossInstancesWithoutPolling(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		if k.name != "postgres" {
			t.Skip("SQLite has one writer process: nothing to notify")
		}
		dsn := k.open(t)
		a := startInstance(t, dsn, Config{PollInterval: time.Hour})
		b := startInstance(t, dsn, Config{PollInterval: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		events, err := newClient(t, b).Events(ctx, discovery.DirectoryEventsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer events.Close()
		writer := newClient(t, a)
		for i := range 3 {
			start := time.Now()
			id := fmt.Sprintf("urn:n:%d", i)
			if _, err := writer.Create(ctx, mustThing(t, tdJSON(id, "T", ""))); err != nil {
				t.Fatal(err)
			}
			ev := nextEvent(t, events)
			if ev.ThingID != id {
				t.Fatalf("event %+v, want %s", ev, id)
			}
			t.Logf("write on A to event on B: %v", time.Since(start).Round(time.Millisecond))
		}
	})
}
