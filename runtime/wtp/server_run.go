package wtp

import (
	"context"
	"time"
)

// readerTurn is one goroutine's turn as the connection's reader.
type readerTurn struct {
	handedOff bool // set (under hmu) when a new reader took over during a handler call
}

// handoffAfter is how long a handler call may hold the reader before a new goroutine takes
// over reading: long enough for a handler that reads a variable or a device register, short
// enough that a slow one delays the requests behind it on its connection only this much.
const handoffAfter = time.Millisecond

// run calls f with the connection's context. When f calls user code (usesHandlers), it takes
// one of the connection's WithMaxInFlight slots and runs on the reader, so the common quick
// handler costs no goroutine hand-off; if it is still running after handoffAfter, the
// watchdog starts a new reader and this goroutine stays with the handler (turn.handedOff),
// so a slow handler never holds up other requests, its connection's or anyone else's.
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
	c.hmu.Lock()
	c.inHandler = turn
	if c.watchdog == nil {
		c.watchdog = time.AfterFunc(handoffAfter, c.handOff)
	} else {
		c.watchdog.Reset(handoffAfter)
	}
	c.hmu.Unlock()

	f(c.hctx)

	c.hmu.Lock()
	handed := turn.handedOff
	if !handed {
		c.inHandler = nil
		c.watchdog.Stop()
	}
	c.hmu.Unlock()
	<-c.inflight
	if handed {
		c.wg.Done() // added by handOff
	}
}

// handOff runs from the watchdog: if a handler call still holds the reader, a new goroutine
// takes over reading and the caller's goroutine ends once the call is answered.
func (c *conn) handOff() {
	c.hmu.Lock()
	turn := c.inHandler
	if turn == nil { // the call ended as the timer fired
		c.hmu.Unlock()
		return
	}
	turn.handedOff = true
	c.inHandler = nil
	c.wg.Add(1) // the handler's goroutine, until run returns; the new reader has not reached finish
	c.hmu.Unlock()
	go func() {
		// The old reader no longer flushes: whatever it held back goes out now.
		c.setReaderBusy(false)
		c.readOn(&readerTurn{})
	}()
}
