package wtp

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// readerTurn is one goroutine's turn as the connection's reader.
type readerTurn struct {
	handedOff bool // set (under hmu) when a new reader took over during a handler call
}

// Handler calls are watched by one goroutine per binding, which ticks while connections have
// recent handler calls and sleeps otherwise. A call still running at its second tick is
// handed off. One watcher, rather than a timer armed and stopped around every call, keeps the
// clock and the timer heap off the request path: moving a timer costs a wake-up of the
// network poller, several microseconds per request.
//
// The watcher ticks every handoffTick while it finds a call running, and backs off to
// maxTick while it finds none: quick calls (nearly all) are over long before a tick, and a
// tick is a wake-up that a busy server pays for (measured: about 10% of a sequential round
// trip's CPU at 1,000 ticks a second). A call that runs long is so handed off within
// maxTick + handoffTick (about 9 ms), and within 1 to 2 ms while calls keep running long.
const (
	handoffTick  = time.Millisecond
	maxTick      = 8 * time.Millisecond
	handoffTicks = 2  // ticks a call may run before its reader is handed off
	idleTicks    = 20 // ticks without a call before a connection is no longer watched
)

// watchdog is the binding's watcher of handler calls.
type watchdog struct {
	mu      sync.Mutex
	conns   []*conn // watched: with a handler call within idleTicks
	running bool    // the watcher goroutine runs
	wg      sync.WaitGroup
	tick    atomic.Uint64
}

// run calls f with the connection's context. When f calls user code (usesHandlers), it takes
// one of the connection's WithMaxInFlight slots and runs on the reader, so the common quick
// handler costs no goroutine hand-off; if it is still running at the watchdog's second tick,
// the watchdog starts a new reader and this goroutine stays with the handler
// (turn.handedOff), so a slow handler never holds up other requests, its connection's or
// anyone else's.
func (c *conn) run(turn *readerTurn, usesHandlers bool, f func(ctx context.Context)) {
	if !usesHandlers {
		f(c.hctx)
		return
	}
	if c.inflight == nil { // only readers get here, one at a time
		c.inflight = make(chan struct{}, c.b.cfg.maxInFlight)
	}
	select {
	case c.inflight <- struct{}{}:
	default:
		// About to wait for a slot: let queued messages go out meanwhile.
		c.setReaderBusy(false)
		select {
		case c.inflight <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
	}
	wd := &c.b.wd
	c.hmu.Lock()
	c.inHandler = turn
	c.callTick = wd.tick.Load()
	watched := c.watched // read with the call registered: see watchdog.check
	c.hmu.Unlock()
	if !watched {
		wd.watch(c)
	}

	f(c.hctx)

	c.hmu.Lock()
	handed := turn.handedOff
	if !handed {
		c.inHandler = nil
	}
	c.hmu.Unlock()
	<-c.inflight
	if handed {
		c.wg.Done() // added by check
	}
}

// watch adds c to the watched connections and starts the watcher if it sleeps.
func (wd *watchdog) watch(c *conn) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	c.hmu.Lock()
	already := c.watched
	c.watched = true
	c.hmu.Unlock()
	if already {
		return
	}
	wd.conns = append(wd.conns, c)
	if !wd.running {
		wd.running = true
		wd.wg.Add(1)
		go wd.loop()
	}
}

// loop ticks while connections are watched.
func (wd *watchdog) loop() {
	defer wd.wg.Done()
	every := handoffTick
	t := time.NewTimer(every)
	defer t.Stop()
	for range t.C {
		now := wd.tick.Add(1)
		wd.mu.Lock()
		keep, running := wd.conns[:0], false
		for _, c := range wd.conns {
			watched, inCall := wd.check(c, now)
			if watched {
				keep = append(keep, c)
			}
			running = running || inCall
		}
		clear(wd.conns[len(keep):])
		wd.conns = keep
		if len(keep) == 0 {
			wd.conns = nil
			wd.running = false
			wd.mu.Unlock()
			return
		}
		wd.mu.Unlock()
		if running {
			every = handoffTick
		} else {
			every = min(2*every, maxTick)
		}
		t.Reset(every)
	}
}

// check hands c's reader off when its handler call has run for handoffTicks, and reports
// whether c stays watched and whether a call still runs on its reader. A connection is
// unwatched, under hmu, only with no call running, so a call registered under hmu either is
// seen here or sees itself unwatched and re-registers.
func (wd *watchdog) check(c *conn, now uint64) (watched, inCall bool) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	turn := c.inHandler
	switch {
	case turn != nil && now-c.callTick < handoffTicks:
		return true, true
	case turn != nil:
		turn.handedOff = true
		c.inHandler = nil
		c.wg.Add(1) // the handler's goroutine, until run returns; the new reader has not reached finish
		go func() {
			// The old reader no longer flushes: whatever it held back goes out now.
			c.setReaderBusy(false)
			c.readOn(&readerTurn{})
		}()
	case now-c.callTick > idleTicks || c.isClosing():
		c.watched = false
		return false, false
	}
	return true, false
}
