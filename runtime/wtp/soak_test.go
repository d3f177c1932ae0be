//go:build soak

package wtp

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

// TestSoak runs a bounded load of mixed operations across 50 consumer connections for 10
// minutes (SOAK_DURATION overrides, e.g. SOAK_DURATION=30s) and requires no errors and no
// growth of goroutines or heap:
//
//	go test -tags soak -run Soak -timeout 15m -v ./runtime/wtp/
func TestSoak(t *testing.T) {
	duration := 10 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		duration = d
	}
	const conns = 50
	startG := runtime.NumGoroutine()

	th := newValve(t)
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		select {
		case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
			return map[string]float64{"litres": 1.5}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) { return true, nil })
	s, hs := serve(t, []*Thing{th}, WithPingInterval(5*time.Second))
	tdURL := hs.URL + "/things/valve-7"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var ops, notes atomic.Uint64
	var errMu sync.Mutex
	var errs []string
	fail := func(format string, a ...any) {
		errMu.Lock()
		defer errMu.Unlock()
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, a...))
		}
	}

	// The Thing side: property changes and events at a bounded rate.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := th.SetProperty("flowRate", float64(i%1000)/10); err != nil {
				fail("SetProperty: %v", err)
			}
			if i%5 == 0 {
				if err := th.EmitEvent("leak", map[string]any{"zone": "A", "severity": 1 + i%5}); err != nil {
					fail("EmitEvent: %v", err)
				}
			}
		}
	}()

	clients := make([]*wot.ConsumedThing, conns)
	for i := range clients {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		// A distinct header per consumer: the pool would otherwise share one connection
		// (https://w3c.github.io/web-thing-protocol/#websocket-reuse), and the soak is about 50 of them.
		c, err := wot.Dial(dctx, tdURL, wot.WithHeader("X-Soak-Consumer", fmt.Sprint(i)))
		dcancel()
		if err != nil {
			t.Fatalf("Dial %d: %v", i, err)
		}
		clients[i] = c
	}
	note := func(wot.Notification) { notes.Add(1) }

	worker := func(id int, c *wot.ConsumedThing) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(uint64(id), 7))
		var sub *wot.Subscription
		for ctx.Err() == nil {
			octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
			var err error
			what := rng.IntN(10)
			switch what {
			case 0:
				_, err = c.ReadProperty(octx, "flowRate")
			case 1:
				_, err = c.WriteProperty(octx, "targetFlow", rng.IntN(41))
			case 2:
				_, err = c.ReadAllProperties(octx)
			case 3: // toggle an observation
				if sub == nil {
					sub, err = c.ObserveProperty(octx, "flowRate", note)
				} else {
					err = sub.Stop(octx)
					sub = nil
				}
			case 4:
				var s2 *wot.Subscription
				if s2, err = c.SubscribeEvent(octx, "leak", note); err == nil {
					time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
					err = s2.Stop(octx)
				}
			case 5:
				var inv *wot.Invocation
				if inv, err = c.InvokeAction(octx, "selfTest", nil); err == nil && string(inv.Output) != "true" {
					err = fmt.Errorf("selfTest output %s", inv.Output)
				}
			case 6, 7:
				var inv *wot.Invocation
				if inv, err = c.InvokeAction(octx, "flush", map[string]int{"seconds": 1}); err == nil {
					var out struct{ Litres float64 }
					if out, err = wot.NewAction[struct{ Litres float64 }](c, inv).Wait(octx); err == nil && out.Litres != 1.5 {
						err = fmt.Errorf("flush output %+v", out)
					}
				}
			case 8:
				_, err = c.QueryAllActions(octx)
			case 9:
				_, err = c.ReadMultipleProperties(octx, []string{"open", "targetFlow"})
			}
			ocancel()
			if err != nil && ctx.Err() == nil {
				fail("client %d op %d: %v", id, what, err)
			}
			ops.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(50+rng.IntN(100)) * time.Millisecond):
			}
		}
		if sub != nil {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			sub.Stop(sctx)
			scancel()
		}
	}
	wg.Add(conns)
	for i, c := range clients {
		go worker(i, c)
	}

	type sample struct {
		at         time.Duration
		goroutines int
		heapKiB    uint64
		ops, notes uint64
	}
	waitFor(t, "50 connections", func() bool { return ServerStats(s).Connections == conns })
	var samples []sample
	take := func(at time.Duration) sample {
		sm := sample{at: at, goroutines: runtime.NumGoroutine(), heapKiB: heapInUse() >> 10, ops: ops.Load(), notes: notes.Load()}
		samples = append(samples, sm)
		t.Logf("t=%-6v goroutines %d heap in use %d KiB ops %d notifications %d connections %d",
			at.Round(time.Second), sm.goroutines, sm.heapKiB, sm.ops, sm.notes, ServerStats(s).Connections)
		return sm
	}
	every := max(duration/20, time.Second)
	start := time.Now()
	tick := time.NewTicker(every)
	for time.Since(start) < duration {
		<-tick.C
		take(time.Since(start))
	}
	tick.Stop()
	cancel()
	wg.Wait()
	for _, c := range clients {
		c.Close()
	}

	errMu.Lock()
	if len(errs) > 0 {
		t.Errorf("%d+ errors, first: %v", len(errs), errs)
	}
	errMu.Unlock()
	if len(samples) < 4 {
		t.Fatalf("only %d samples", len(samples))
	}
	// Baseline: the second sample (after warm-up); growth: the max of the last quarter.
	base := samples[1]
	var lastG int
	var lastH uint64
	for _, sm := range samples[len(samples)*3/4:] {
		lastG, lastH = max(lastG, sm.goroutines), max(lastH, sm.heapKiB)
	}
	if lastG > base.goroutines+base.goroutines/5+10 {
		t.Errorf("goroutines grew from %d to %d", base.goroutines, lastG)
	}
	if lastH > base.heapKiB*3/2+4096 {
		t.Errorf("heap in use grew from %d KiB to %d KiB", base.heapKiB, lastH)
	}
	st := ServerStats(s)
	total := samples[len(samples)-1]
	t.Logf("soak %v, %d connections: %d operations (%.0f/s), %d notifications received, goroutines %d→%d (max of last quarter), heap in use %d→%d KiB; server: in %d out %d errors %v dropped %d rate-limited %d",
		duration, conns, total.ops, float64(total.ops)/duration.Seconds(), total.notes, base.goroutines, lastG, base.heapKiB, lastH,
		st.MessagesIn, st.MessagesOut, st.Errors, st.DroppedSlowConsumers, st.RateLimited)
	if st.ConnectionsTotal != conns {
		t.Errorf("%d connections were opened, want %d (no reconnects)", st.ConnectionsTotal, conns)
	}
	if st.DroppedSlowConsumers != 0 || st.RateLimited != 0 {
		t.Errorf("healthy consumers were dropped (%d) or rate limited (%d)", st.DroppedSlowConsumers, st.RateLimited)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	s.Shutdown(ctx2)
	hs.Close()
	g := goroutinesBackTo(t, startG, 5)
	t.Logf("after shutdown: goroutines %d (before the test %d)", g, startG)
}
