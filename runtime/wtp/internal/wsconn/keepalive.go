package wsconn

import (
	"context"
	"sync"
	"time"
)

// keepAlive pings from a timer rather than a goroutine of its own, so idle connections stay
// cheap.
type keepAlive struct {
	mu      sync.Mutex
	every   time.Duration
	failed  func(error)
	timer   *time.Timer
	stopped bool
	wg      sync.WaitGroup // a ping in progress
}

// KeepAlive pings the peer every interval; when a pong does not come within the interval,
// failed is called (once) and pinging stops. every <= 0 does nothing.
func (c *Conn) KeepAlive(every time.Duration, failed func(error)) {
	if every <= 0 {
		return
	}
	c.ka.mu.Lock()
	c.ka.every, c.ka.failed = every, failed
	c.ka.mu.Unlock()
	c.schedulePing()
}

func (c *Conn) schedulePing() {
	c.ka.mu.Lock()
	defer c.ka.mu.Unlock()
	if !c.ka.stopped {
		c.ka.timer = time.AfterFunc(c.ka.every, c.ping)
	}
}

func (c *Conn) ping() {
	c.ka.mu.Lock()
	if c.ka.stopped {
		c.ka.mu.Unlock()
		return
	}
	c.ka.wg.Add(1) // under mu, so never after StopKeepAlive's Wait began
	c.ka.mu.Unlock()
	defer c.ka.wg.Done()

	// Not derived from any connection context: cancelling a Ping cuts the connection, which
	// would pre-empt a graceful close.
	ctx, cancel := context.WithTimeout(context.Background(), c.ka.every)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil {
		c.ka.failed(err)
		return
	}
	c.schedulePing()
}

// StopKeepAlive stops pinging and waits for a ping in progress.
func (c *Conn) StopKeepAlive() {
	c.ka.mu.Lock()
	c.ka.stopped = true
	if c.ka.timer != nil {
		c.ka.timer.Stop()
	}
	c.ka.mu.Unlock()
	c.ka.wg.Wait()
}
