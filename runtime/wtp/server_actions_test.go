package wtp

import (
	"context"
	"encoding/json"
	"github.com/wotgen/wotgen/runtime/wot"
	"net/http"
	"testing"
	"time"
)

func TestInvokeActionSynchronous(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) { return true, nil })
	resp := c.ok(OpInvokeAction, func(m *Message) { m.Name = "selfTest" })
	if resp.Name != "selfTest" || string(resp.Output) != "true" || resp.Status != nil {
		t.Fatalf("sync response %+v", resp)
	}
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	if resp := c.ok(OpInvokeAction, func(m *Message) { m.Name = "selfTest" }); resp.Output != nil {
		t.Fatalf("no output expected: %+v", resp)
	}
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) {
		return nil, &Error{Type: "https://farm.example.org/errors/busy", Status: 409, Title: "Flush already running"}
	})
	resp = c.call(OpInvokeAction, func(m *Message) { m.Name = "selfTest" })
	if resp.Error == nil || resp.Error.Status != 409 || resp.Error.Type != "https://farm.example.org/errors/busy" {
		t.Fatalf("custom problem not passed through: %+v", resp.Error)
	}

	// "synchronous" absent: the default is synchronous.
	th.HandleAction("calibrate", func(ctx context.Context, in json.RawMessage) (any, error) { return string(in), nil })
	if resp := c.ok(OpInvokeAction, func(m *Message) { m.Name = "calibrate"; m.Input = raw(`{"a":1}`) }); string(resp.Output) != `"{\"a\":1}"` {
		t.Fatalf("calibrate %+v", resp)
	}

	c.fails(OpInvokeAction, func(m *Message) { m.Name = "explode" }, 404, `no action "explode"`)
	c.fails(OpInvokeAction, nil, 400, `missing member "name"`)
	c.fails(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":0}`) }, 400, "seconds")
	c.fails(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{}`) }, 400, "seconds")
	c.fails(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":3}`) }, http.StatusNotImplemented, "no handler")
}

func TestSynchronousDefaultOption(t *testing.T) {
	th := newValve(t, WithSynchronousDefault(false))
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	th.HandleAction("calibrate", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	resp := c.ok(OpInvokeAction, func(m *Message) { m.Name = "calibrate" })
	if resp.Status == nil {
		t.Fatalf("want an async response, got %+v", resp)
	}
	// calibrate's form has no op, so it offers invokeaction only (TD default).
	c.fails(OpQueryAction, func(m *Message) { m.ActionID = resp.Status.ActionID }, 400, "does not offer queryaction")
	c.fails(OpCancelAction, func(m *Message) { m.ActionID = resp.Status.ActionID }, 400, "does not offer cancelaction")
	// The same for an authenticated consumer, whose instances only it can see.
	th2 := newValve(t, WithSynchronousDefault(false))
	th2.HandleAction("calibrate", func(ctx context.Context, in json.RawMessage) (any, error) { <-ctx.Done(); return nil, nil })
	_, hs2 := serve(t, []*Thing{th2}, WithAuthenticator(BearerAuth("tok")))
	a := dial(t, hs2, dialOpts{header: http.Header{"Authorization": {"Bearer tok"}}})
	id := a.ok(OpInvokeAction, func(m *Message) { m.Name = "calibrate" }).Status
	a.fails(OpCancelAction, func(m *Message) { m.ActionID = id.ActionID }, 400, "does not offer cancelaction")
	// selfTest says synchronous: true, which wins over the default.
	th.HandleAction("selfTest", func(ctx context.Context, in json.RawMessage) (any, error) { return true, nil })
	if resp := c.ok(OpInvokeAction, func(m *Message) { m.Name = "selfTest" }); resp.Status != nil {
		t.Fatalf("want a sync response, got %+v", resp)
	}
}

func TestAsyncActionLifecycle(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	release := make(chan struct{})
	started := make(chan struct{}, 10)
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var req struct{ Seconds int }
		json.Unmarshal(in, &req)
		if req.Seconds == 13 {
			return nil, Unavailable("supply pressure too low to flush")
		}
		return map[string]float64{"litres": 41.2}, nil
	})

	resp := c.ok(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":30}`) })
	st := resp.Status
	if st == nil || st.State != ActionPending || !isUUID(st.ActionID) || st.TimeRequested.IsZero() || resp.Name != "flush" {
		t.Fatalf("async response %+v status %+v", resp, st)
	}
	<-started
	q := c.ok(OpQueryAction, func(m *Message) { m.ActionID = st.ActionID })
	if q.Name != "flush" || q.Status.State != ActionRunning || q.Status.ActionID != st.ActionID {
		t.Fatalf("query while running: %+v", q.Status)
	}
	release <- struct{}{}
	waitFor(t, "completion", func() bool {
		return actionState(th, st.ActionID) == ActionCompleted
	})
	q = c.ok(OpQueryAction, func(m *Message) { m.ActionID = st.ActionID })
	if q.Status.State != ActionCompleted || string(q.Status.Output) != `{"litres":41.2}` || q.Status.TimeEnded.IsZero() {
		t.Fatalf("completed status %+v", q.Status)
	}
	c.fails(OpCancelAction, func(m *Message) { m.ActionID = st.ActionID }, 400, "already completed")

	// Failure goes into status.error, not into an error response.
	failed := c.ok(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":13}`) }).Status
	<-started
	release <- struct{}{}
	waitFor(t, "failure", func() bool { return actionState(th, failed.ActionID) == ActionFailed })
	q = c.ok(OpQueryAction, func(m *Message) { m.ActionID = failed.ActionID })
	if q.Status.State != ActionFailed || q.Status.Error == nil || q.Status.Error.Status != 503 {
		t.Fatalf("failed status %+v", q.Status)
	}

	// Cancel: the handler's context ends and the instance is gone.
	running := c.ok(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":1}`) }).Status
	<-started
	cr := c.ok(OpCancelAction, func(m *Message) { m.ActionID = running.ActionID })
	if cr.ActionID != running.ActionID || cr.Name != "" {
		t.Fatalf("cancel response %+v", cr)
	}
	c.fails(OpQueryAction, func(m *Message) { m.ActionID = running.ActionID }, 404, running.ActionID)
	c.fails(OpCancelAction, func(m *Message) { m.ActionID = running.ActionID }, 404, running.ActionID)
	c.fails(OpQueryAction, nil, 400, `missing member "actionID"`)
	c.fails(OpCancelAction, nil, 400, `missing member "actionID"`)

	// queryallactions: a key per action, newest first; the cancelled one is gone.
	all := c.ok(OpQueryAllActions, nil)
	flush := all.Statuses["flush"]
	if len(all.Statuses) != 3 || len(flush) != 2 || all.Statuses["selfTest"] == nil || len(all.Statuses["selfTest"]) != 0 {
		t.Fatalf("statuses %+v", all.Statuses)
	}
	if flush[0].ActionID != failed.ActionID || flush[1].ActionID != st.ActionID || flush[0].TimeRequested.Before(flush[1].TimeRequested) {
		t.Fatalf("not newest first: %+v", flush)
	}
}

func TestActionRetention(t *testing.T) {
	th := newValve(t, WithActionRetention(2, time.Hour))
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) { return nil, nil })
	var ids []string
	for range 4 {
		id := c.ok(OpInvokeAction, func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":1}`) }).Status.ActionID
		waitFor(t, "completion", func() bool { return actionState(th, id) == ActionCompleted })
		ids = append(ids, id)
	}
	list := c.ok(OpQueryAllActions, nil).Statuses["flush"]
	if len(list) != 2 || list[0].ActionID != ids[3] || list[1].ActionID != ids[2] {
		t.Fatalf("retained %+v", list)
	}
	c.fails(OpQueryAction, func(m *Message) { m.ActionID = ids[0] }, 404, "")

}

// actionState is the state of an instance as the Thing reports it ("" if it has none).
func actionState(th *Thing, id string) wot.ActionState {
	st, err := th.QueryAction(context.Background(), id)
	if err != nil {
		return ""
	}
	return st.State
}
