package wothttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// defaultSSERetry is the reconnection time until the stream sets one with "retry:".
const defaultSSERetry = time.Second

// sseAcceptWait bounds how long Subscribe waits for an event stream's response headers. A
// Thing may hold them back until its first event (net/http sends none before the first
// write or flush); after this wait the subscription counts as accepted, and a refusal that
// comes later fails it through the sink. A variable so tests can shorten it.
var sseAcceptWait = 2 * time.Second

// sseOpened is the outcome of connecting an event stream.
type sseOpened struct {
	resp *http.Response
	err  error
}

// startSSE connects the first event stream of s. It returns once the Thing answered (an
// error if it refused), or after sseAcceptWait with the answer still to come on the
// channel; ctx (Subscribe's) ends the wait with an error.
func (c *client) startSSE(ctx context.Context, s *stream, r *wot.Request, u *url.URL, lastID string) (<-chan sseOpened, error) {
	ch := make(chan sseOpened, 1)
	go func() {
		resp, err := c.openSSE(s.ctx, r, u, lastID)
		ch <- sseOpened{resp, err}
	}()
	t := time.NewTimer(sseAcceptWait)
	defer t.Stop()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, unwrapStream(o.err)
		}
		ch <- o
	case <-t.C:
	case <-ctx.Done():
		s.cancel()
		if o := <-ch; o.resp != nil {
			o.resp.Body.Close()
		}
		return nil, transportError(r.Op, u, ctx.Err())
	}
	return ch, nil
}

// openSSE connects an event stream (HTTP SSE Profile; WHATWG HTML "Server-sent events"):
// GET with Accept: text/event-stream and, when resuming, Last-Event-ID. The request lives
// in sctx (the subscription). A 204, another non-200 status or another Content-Type fails
// the connection for good (the SSE processing model), except the statuses of an overloaded
// or restarting Thing.
func (c *client) openSSE(sctx context.Context, r *wot.Request, u *url.URL, lastID string) (*http.Response, error) {
	rctx, cancel := context.WithCancel(sctx)
	req, err := c.streamRequest(rctx, r, u)
	if err != nil {
		cancel()
		return nil, &streamError{err: err, fatal: true}
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.sc.Do(req)
	if err != nil {
		cancel()
		return nil, &streamError{err: transportError(r.Op, u, err), fatal: sctx.Err() != nil}
	}
	fail := func(err error, fatal bool) (*http.Response, error) {
		resp.Body.Close()
		cancel()
		return nil, &streamError{err: err, fatal: fatal}
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return fail(fmt.Errorf("wothttp: %s %q: the Thing ended the event stream (204 No Content)", r.Op, r.Name), true)
	case resp.StatusCode != http.StatusOK:
		e := errorFromResponse(resp)
		return fail(e, !transientStatus(resp.StatusCode))
	case !isEventStream(resp.Header.Get("Content-Type")):
		return fail(fmt.Errorf("wothttp: %s %q: the Thing answered with Content-Type %q instead of text/event-stream", r.Op, r.Name, resp.Header.Get("Content-Type")), true)
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody cancels its request's context when closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// runSSE reads the stream, delivering events, and reconnects after an unexpected end with
// backoff and Last-Event-ID, until the subscription is stopped or fails.
func (c *client) runSSE(s *stream, r *wot.Request, u *url.URL, sink wot.Sink, resp *http.Response) {
	st := &sseState{lastID: sink.LastID(), retry: defaultSSERetry}
	st.resumed = st.lastID != "" // a subscription resumed by the core: its first connection replays
	fails, quiet := 0, 0
	for {
		got, err := c.readSSE(s.ctx, r, sink, resp, st)
		resp.Body.Close()
		if s.ctx.Err() != nil || errors.Is(err, errSinkDone) {
			return
		}
		if errors.Is(err, errSSETooLarge) {
			sink.Fail(fmt.Errorf("wothttp: %s %q: %w (raise the limit with wothttp.WithMaxBodySize)", r.Op, r.Name, err))
			return
		}
		if got {
			quiet = 0
		} else {
			quiet++
		}
		st.resumed = true
		for {
			if !sleepCtx(s.ctx, backoff(st.retry, quiet+fails)) {
				return
			}
			resp, err = c.openSSE(s.ctx, r, u, st.lastID)
			if err == nil {
				fails = 0
				break
			}
			var se *streamError
			if s.ctx.Err() != nil {
				return
			}
			if errors.As(err, &se) && se.fatal {
				sink.Fail(se.err)
				return
			}
			if fails++; fails >= maxStreamFails {
				sink.Fail(fmt.Errorf("wothttp: %s %q: the event stream could not be reopened after %d attempts: %w", r.Op, r.Name, fails, err))
				return
			}
		}
	}
}

// sseState is what survives a reconnection of one event stream.
type sseState struct {
	lastID  string        // the last event ID string (SSE): sent as Last-Event-ID
	retry   time.Duration // the reconnection time
	resumed bool          // the current connection is a reconnection
}

var errSinkDone = errors.New("subscription ended")

// readSSE delivers the events of one connection. It reports whether any event was
// delivered, and why the connection ended.
func (c *client) readSSE(ctx context.Context, r *wot.Request, sink wot.Sink, resp *http.Response, st *sseState) (bool, error) {
	p := newSSEParser(resp.Body, int(min(c.maxBody, 1<<30)), st.lastID)
	kind := kindOf(r.Op)
	thingLevel := thingStreamOp(r.Op)
	delivered := false
	for {
		ev, err := p.Next()
		if p.retry > 0 {
			st.retry = p.retry
		}
		if err != nil {
			return delivered, err
		}
		if ev.OwnID && st.lastID != "" && st.resumed && !delivered && replayed(ev.ID, st.lastID) {
			continue // a Thing that replays more than what came after Last-Event-ID
		}
		st.lastID = ev.ID
		name := c.eventName(ev.Type, r.Name, kind, thingLevel)
		if name == "" {
			continue // a message for no affordance this subscription covers
		}
		var v json.RawMessage
		if len(ev.Data) > 0 {
			if !json.Valid(ev.Data) {
				// Not the form's JSON: nothing a subscriber could decode.
				if l := c.cfg.Logger; l != nil {
					l.Warn("wothttp: dropped a server-sent event whose data is not JSON", "op", r.Op, "name", name, "id", ev.ID, "data", snippet(ev.Data))
				}
				continue
			}
			v = json.RawMessage(ev.Data)
		}
		id, at := "", time.Time{}
		if ev.OwnID {
			id, at = ev.ID, parseTime(ev.ID)
		}
		if at.IsZero() {
			at = time.Now()
		}
		if !sink.Deliver(wot.Notification{ID: id, Kind: kind, Name: name, Value: v, Time: at}) {
			return true, errSinkDone
		}
		delivered = true
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
	}
}

// eventName is the affordance an event stands for. The SSE Profile names the affordance in
// "event:"; on an affordance's own stream unnamed ("message") events are that affordance's
// too (node-wot's EventSource reads only those). On a Thing-level stream the name must be
// one of the TD's affordances of the subscribed kind.
func (c *client) eventName(typ, affordance string, kind td.Kind, thingLevel bool) string {
	if !thingLevel {
		if typ == "message" || typ == affordance {
			return affordance
		}
		return ""
	}
	switch kind {
	case td.KindProperty:
		if _, ok := c.td.Properties[typ]; ok {
			return typ
		}
	case td.KindEvent:
		if _, ok := c.td.Events[typ]; ok {
			return typ
		}
	}
	return ""
}

// replayed reports whether an event id is one the consumer has already seen: the last one,
// or an RFC 3339 time not after it (the Profile's recommended ids).
func replayed(id, last string) bool {
	if id == last {
		return true
	}
	a, b := parseTime(id), parseTime(last)
	return !a.IsZero() && !b.IsZero() && !a.After(b)
}
