package wothttp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// Reconnection and retry bounds of the streams (variables so tests can shorten them).
var (
	minBackoff     = 250 * time.Millisecond
	maxBackoff     = 30 * time.Second
	maxStreamFails = 8 // consecutive failed connection attempts before a subscription fails
)

// stream is one running subscription.
type stream struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// Subscribe starts an observation or event subscription over the form's subprotocol: "sse"
// (a server-sent event stream) or "longpoll" (repeated GETs the Thing holds until there is
// a value); a form without a subprotocol is long-polled, as node-wot does. It returns once
// the Thing accepted the stream (SSE: its response headers, or sseAcceptWait without an
// answer; long poll: a HEAD probe that was not refused), or with the Thing's refusal. ctx
// bounds only that start; the subscription lasts until stop, Close, or a failure reported
// to sink.
func (c *client) Subscribe(ctx context.Context, r *wot.Request, sink wot.Sink) (func(context.Context) error, error) {
	if r == nil || r.Form.Form == nil || sink == nil {
		return nil, errors.New("wothttp: Subscribe needs a request with its form and a sink")
	}
	if !isStreamOp(r.Op) {
		return nil, fmt.Errorf("wothttp: %s is not a subscription operation", r.Op)
	}
	u := r.URL
	if u == nil {
		u = r.Form.URL
	}
	if u == nil {
		return nil, fmt.Errorf("wothttp: %s %q: the request has no URL", r.Op, r.Name)
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &stream{ctx: sctx, cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return nil, errClosed
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()

	var run func()
	switch r.Form.Subprotocol {
	case subSSE:
		first, err := c.startSSE(ctx, s, r, u, sink.LastID())
		if err != nil {
			c.forget(s)
			return nil, err
		}
		run = func() {
			o := <-first
			if o.err != nil {
				if s.ctx.Err() == nil {
					sink.Fail(unwrapStream(o.err))
				}
				return
			}
			c.runSSE(s, r, u, sink, o.resp)
		}
	default:
		if err := c.probeLongPoll(ctx, r, u); err != nil {
			c.forget(s)
			return nil, err
		}
		run = func() { c.runLongPoll(s, r, u, sink) }
	}
	go func() {
		defer c.forget(s)
		run()
	}()
	return func(ctx context.Context) error {
		s.cancel()
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("wothttp: stopping the %s subscription: %w", r.Op, ctx.Err())
		}
	}, nil
}

// forget ends s's bookkeeping: it is no longer running.
func (c *client) forget(s *stream) {
	s.cancel()
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
	close(s.done)
}

// kindOf is what a subscription operation notifies about.
func kindOf(op string) td.Kind {
	if op == td.OpSubscribeEvent || op == td.OpSubscribeAllEvents {
		return td.KindEvent
	}
	return td.KindProperty
}

// streamError is a failure of a stream connection; fatal ones end the subscription at once.
type streamError struct {
	err   error
	fatal bool
}

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// transientStatus reports whether an HTTP status is worth retrying a stream for: the Thing
// or a proxy in front of it is overloaded or restarting.
func transientStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is the wait before retry n (1-based): base doubled per failure up to maxBackoff,
// with ±25% jitter so that many consumers of a restarted Thing do not come back at once.
func backoff(base time.Duration, n int) time.Duration {
	d := max(base, minBackoff)
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d - d/4 + rand.N(d/2+1)
}

// unwrapStream returns the error a streamError carries.
func unwrapStream(err error) error {
	var se *streamError
	if errors.As(err, &se) {
		return se.err
	}
	return err
}

// request builds a stream request with a context that lives as long as the subscription.
func (c *client) streamRequest(ctx context.Context, r *wot.Request, u *url.URL) (*http.Request, error) {
	return c.newRequest(ctx, r.Form.Form, r.Op, u, nil)
}
