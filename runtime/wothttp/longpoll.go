package wothttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
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
// which is delivered, and the next GET goes out at once. A 204 means "poll again", and so
// does an empty 200 for a property; for an event an empty 200 is an occurrence without data.
// When the Thing names its notifications (a Last-Event-ID response header, as wotgen servers
// do), those ids are kept and sent back on the next poll, so the Thing can replay what
// happened between two polls. Network errors and overload statuses are retried with backoff
// up to maxStreamFails consecutive times; any other refusal ends the subscription.
func (c *client) runLongPoll(s *stream, r *wot.Request, u *url.URL, sink wot.Sink) {
	kind := kindOf(r.Op)
	fails, empties := 0, 0
	for {
		start := time.Now()
		a, err := c.poll(s.ctx, r, u, sink.LastID())
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
		if a.empty && (a.noContent || kind != td.KindEvent) {
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
		id := a.id
		if id == "" {
			id = lpPrefix + strconv.FormatUint(lpSeq.Add(1), 10)
		}
		n := wot.Notification{ID: id, Kind: kind, Name: r.Name, Value: a.value, Time: time.Now()}
		if !sink.Deliver(n) {
			return
		}
	}
}

// pollAnswer is what one long-poll request brought.
type pollAnswer struct {
	value     json.RawMessage // nil when empty
	id        string          // the Thing's notification id (Last-Event-ID response header), if any
	empty     bool            // no body
	noContent bool            // 204
}

// poll performs one long-poll request, sending lastID (if any) so the Thing can resume after it.
func (c *client) poll(ctx context.Context, r *wot.Request, u *url.URL, lastID string) (pollAnswer, error) {
	req, err := c.streamRequest(ctx, r, u)
	if err != nil {
		return pollAnswer{}, &streamError{err: err, fatal: true}
	}
	if lastID != "" && !strings.HasPrefix(lastID, lpPrefix) && validEventID(lastID) {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.sc.Do(req)
	if err != nil {
		return pollAnswer{}, &streamError{err: transportError(r.Op, u, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return pollAnswer{}, &streamError{err: errorFromResponse(resp), fatal: !transientStatus(resp.StatusCode)}
	}
	v, err := c.readValue(resp, r)
	if err != nil {
		if ctx.Err() != nil {
			return pollAnswer{}, &streamError{err: err}
		}
		return pollAnswer{}, &streamError{err: err, fatal: true}
	}
	a := pollAnswer{value: v, empty: v == nil, noContent: resp.StatusCode == http.StatusNoContent}
	if id := resp.Header.Get("Last-Event-ID"); validEventID(id) {
		a.id = id
	}
	return a, nil
}

// validEventID reports whether id can travel in a header and as an SSE id: bounded, and free
// of the characters that would end or split a line.
func validEventID(id string) bool {
	return id != "" && len(id) <= 256 && !strings.ContainsAny(id, "\r\n\x00")
}
