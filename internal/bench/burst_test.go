package bench

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/internal/bench/burst"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// recorder is an in-process subscriber: the Thing's own record of the changes it notified.
type recorder struct {
	mu     sync.Mutex
	values []int
}

func (r *recorder) Notify(n *wot.Notification, _ any) {
	var v int
	json.Unmarshal(n.Value, &v)
	r.mu.Lock()
	r.values = append(r.values, v)
	r.mu.Unlock()
}

// TestBurstGeneratedServer: the generated lamp server (examples/lamp/device), real sockets. One
// connection writes level 20,000 times with 256 writes in flight; observer B reads every change as
// fast as it can and must receive exactly the changes the Thing notified (an in-process
// subscriber records them), in order, once each; observer A
// reads nothing and must be dropped (1013), freeing its connection. The timing targets of the burst
// are benchmark figures (BENCHMARKS.md, wtp-burst), not asserted here.
func TestBurstGeneratedServer(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	lamp, srv, err := device.New(device.Options{Logger: slog.New(slog.DiscardHandler),
		ServerOptions: []wot.ServerOption{wtp.WithWriteTimeout(2 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	thing := lamp.Exposed().Exposed()
	rec := &recorder{}
	if err := thing.Subscribe(context.Background(), rec, td.KindProperty, []string{"level"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	res, err := burst.Run(burst.Config{
		URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/wtp", ThingID: thing.ID(), Property: "level",
		N: n, InFlight: 256, Value: func(i int) int { return i % 100 }, Sentinel: 100, Timeout: 2 * time.Minute,
	})
	if res != nil && res.A != nil {
		defer res.A.Close()
	}
	if err != nil {
		t.Fatalf("%v (server stats %+v)", err, wtp.ServerStats(srv))
	}
	rec.mu.Lock()
	want := slices.Clone(rec.values)
	rec.mu.Unlock()
	// Each write is a change unless a write handed off its connection's reader (it took over
	// 1 ms) was overtaken by one of the same value: a few at most.
	if len(want) < n*9/10 || len(want) > n+1 {
		t.Errorf("the Thing notified %d changes for %d writes", len(want), n+1)
	}
	if !slices.Equal(res.Values, want) {
		i := 0
		for i < min(len(want), len(res.Values)) && want[i] == res.Values[i] {
			i++
		}
		t.Fatalf("B received %d changes, the Thing notified %d; first difference at %d", len(res.Values), len(want), i)
	}
	t.Logf("B received all %d changes in %v", len(res.Values), res.Elapsed)
	deadline := time.Now().Add(30 * time.Second)
	for wtp.ServerStats(srv).DroppedSlowConsumers != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the observer that reads nothing was not dropped: %+v", wtp.ServerStats(srv))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A's connection is gone on the server, though A never closed it (Run closed W and B).
	for wtp.ServerStats(srv).Connections != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dropped connection was not freed: %+v", wtp.ServerStats(srv))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
