package wothttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

// Long-poll pacing: a poll answered empty sooner than heldPoll was not held by the Thing,
// so the next one waits (growing up to maxEmptyWait) instead of spinning.
const (
	heldPoll     = time.Second
	maxEmptyWait = 5 * time.Second
	probeTimeout = time.Second
)

// probeLongPoll checks, before the loop starts, that the Thing takes the subscription: a
// HEAD on the href (node-wot's handshake; the WoT HTTP Binding requires none) that must not
// be refused for want of credentials or an unknown resource. A Thing that does not answer
// HEAD at once, or refuses the method, is polled anyway.
func (c *client) probeLongPoll(ctx context.Context, r *wot.Request, u *url.URL) error {
	if m, _ := formMethod(r.Form.Form, r.Op); m != http.MethodGet {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := c.newRequest(pctx, r.Form.Form, r.Op, u, nil)
	if err != nil {
		return err
	}
	req.Method = http.MethodHead
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return transportError(r.Op, u, ctx.Err())
		}
		if pctx.Err() != nil {
			return nil // the Thing holds HEAD like GET: fine
		}
		return transportError(r.Op, u, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return errorFromResponse(resp)
	}
	return nil
}

// lpSeq numbers long-poll notifications; lpPrefix makes the ids unique across processes.
var (
	lpSeq    atomic.Uint64
	lpPrefix = func() string {
		var b [6]byte
		rand.Read(b[:])
		return "lp-" + hex.EncodeToString(b[:]) + "-"
	}()
)

// runLongPoll is the long-poll loop (WoT HTTP Binding, sequences "observeproperty" and
// "subscribeevent" with longpoll): each GET is held by the Thing until there is a value,
// which is delivered, and the next GET goes out at once. An empty answer (204) means "poll
// again". Network errors and overload statuses are retried with backoff up to
// maxStreamFails consecutive times; any other refusal ends the subscription.
func (c *client) runLongPoll(s *stream, r *wot.Request, u *url.URL, sink wot.Sink) {
	kind := kindOf(r.Op)
	fails, empties := 0, 0
	for {
		start := time.Now()
		v, err := c.poll(s.ctx, r, u)
		if s.ctx.Err() != nil {
			return
		}
		if err != nil {
			var se *streamError
			if errors.As(err, &se) && se.fatal {
				sink.Fail(se.err)
				return
			}
			if fails++; fails >= maxStreamFails {
				sink.Fail(fmt.Errorf("wothttp: %s %q: long poll failed %d times in a row: %w", r.Op, r.Name, fails, err))
				return
			}
			if !sleepCtx(s.ctx, backoff(minBackoff, fails)) {
				return
			}
			continue
		}
		fails = 0
		if v == nil {
			if time.Since(start) >= heldPoll {
				empties = 0
				continue
			}
			empties++
			if !sleepCtx(s.ctx, min(50*time.Millisecond<<min(empties, 10), maxEmptyWait)) {
				return
			}
			continue
		}
		empties = 0
		n := wot.Notification{
			ID:    lpPrefix + strconv.FormatUint(lpSeq.Add(1), 10),
			Kind:  kind,
			Name:  r.Name,
			Value: v,
			Time:  time.Now(),
		}
		if !sink.Deliver(n) {
			return
		}
	}
}

// poll performs one long-poll request: the value, nil for an empty answer, or a
// *streamError.
func (c *client) poll(ctx context.Context, r *wot.Request, u *url.URL) ([]byte, error) {
	req, err := c.streamRequest(ctx, r, u)
	if err != nil {
		return nil, &streamError{err: err, fatal: true}
	}
	resp, err := c.sc.Do(req)
	if err != nil {
		return nil, &streamError{err: transportError(r.Op, u, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &streamError{err: errorFromResponse(resp), fatal: !transientStatus(resp.StatusCode)}
	}
	v, err := c.readJSON(resp, r.Op)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &streamError{err: err}
		}
		return nil, &streamError{err: err, fatal: true}
	}
	return v, nil
}
