package wtp

import (
	"context"
	"fmt"
	"sync"
)

// pool shares connections between everything in the process that resolves to the same
// endpoint with the same identity (https://w3c.github.io/web-thing-protocol/#websocket-reuse: re-use an open connection to the same
// endpoint, never one opened with other credentials). Connections are reference counted
// per ConsumedThing and closed when the last one lets go.
type pool struct {
	mu      sync.Mutex
	entries map[poolKey]*poolEntry
}

// poolEntry exists while a connection is being dialled (ready open) or is usable.
type poolEntry struct {
	ready chan struct{}
	conn  *clientConn // nil if the dial failed
}

var defaultPool = &pool{entries: map[poolKey]*poolEntry{}}

// acquire returns a connection for spec, dialling one if none is open. Concurrent callers
// for the same key wait for a single dial instead of racing to open several.
func (p *pool) acquire(ctx context.Context, spec *connSpec) (*clientConn, error) {
	a, err := spec.auth()
	if err != nil {
		return nil, err
	}
	key, err := spec.key(a)
	if err != nil {
		return nil, err
	}
	for {
		p.mu.Lock()
		e := p.entries[key]
		if e == nil {
			e = &poolEntry{ready: make(chan struct{})}
			p.entries[key] = e
			p.mu.Unlock()
			c, err := dialConn(ctx, p, key, spec, a)
			p.mu.Lock()
			if err != nil {
				delete(p.entries, key)
			} else {
				e.conn = c
				c.refs = 1
			}
			close(e.ready)
			p.mu.Unlock()
			return c, err
		}
		select {
		case <-e.ready:
			if c := e.conn; c != nil && !c.isDead() {
				c.refs++
				p.mu.Unlock()
				return c, nil
			}
			if p.entries[key] == e {
				delete(p.entries, key)
			}
			p.mu.Unlock()
			continue
		default:
		}
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("wtp: waiting for the connection to %s: %w", spec.display, ctx.Err())
		}
	}
}

// release drops one reference; the last one closes the connection.
func (p *pool) release(c *clientConn) {
	p.mu.Lock()
	c.refs--
	last := c.refs <= 0
	if last {
		if e := p.entries[c.key]; e != nil && e.conn == c {
			delete(p.entries, c.key)
		}
	}
	p.mu.Unlock()
	if last {
		c.close()
	}
}

// shared reports whether another ConsumedThing also uses c.
func (p *pool) shared(c *clientConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return c.refs > 1
}

// forget removes a dead connection so the next acquire dials afresh.
func (p *pool) forget(c *clientConn) {
	p.mu.Lock()
	if e := p.entries[c.key]; e != nil && e.conn == c {
		delete(p.entries, c.key)
	}
	p.mu.Unlock()
}

// size is the number of open or dialling connections (tests).
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}
