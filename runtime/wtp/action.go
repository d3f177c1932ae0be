package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wotgen/wotgen/runtime/wot"
	"sync"
	"time"
)

// Polling bounds for Action.Wait. WTP has no completion notification, so Wait polls
// queryaction: fast at first (most actions are short), then backing off.
const (
	waitPollMin = 20 * time.Millisecond
	waitPollMax = time.Second
)

// Action is a typed handle on one action invocation. For an asynchronous action it
// queries, waits for and cancels the instance; for a synchronous one it just holds the
// output (Wait returns it at once).
type Action[Out any] struct {
	c   *ConsumedThing
	inv *Invocation

	mu   sync.Mutex
	last *wot.ActionStatus // newest status seen
}

// NewAction wraps the result of InvokeAction.
func NewAction[Out any](c *ConsumedThing, inv *Invocation) *Action[Out] {
	a := &Action[Out]{c: c, inv: inv}
	if inv != nil && inv.Status != nil {
		st := *inv.Status
		a.last = &st
	}
	return a
}

// ID returns the actionID ("" for a synchronous action).
func (a *Action[Out]) ID() string {
	if a.inv == nil {
		return ""
	}
	return a.inv.ActionID
}

// Status queries the Thing for the instance's current status. A synchronous action
// reports completed with its output.
func (a *Action[Out]) Status(ctx context.Context) (*wot.ActionStatus, error) {
	if a.inv == nil {
		return nil, errors.New("wtp: Action has no invocation; create it with NewAction(c, inv) from InvokeAction's result")
	}
	if !a.inv.Async() {
		return &wot.ActionStatus{State: wot.ActionCompleted, Output: a.inv.Output}, nil
	}
	a.mu.Lock()
	last := a.last
	a.mu.Unlock()
	if last != nil && (last.State == wot.ActionCompleted || last.State == wot.ActionFailed) {
		st := *last
		return &st, nil // final: no need to ask (the Thing may have pruned it since)
	}
	st, err := a.c.queryAction(ctx, a.inv.Name, a.inv.ActionID)
	if err != nil {
		if wot.IsNotFound(err) {
			return nil, fmt.Errorf("wtp: action %q instance %s is gone from the Thing (cancelled, or pruned before it was queried): %w", a.inv.Name, a.inv.ActionID, err)
		}
		return nil, err
	}
	a.mu.Lock()
	a.last = st
	a.mu.Unlock()
	cp := *st
	return &cp, nil
}

// Wait blocks until the action completes (returning its output decoded into Out) or fails
// (returning the Thing's *wot.Error), or until ctx ends.
func (a *Action[Out]) Wait(ctx context.Context) (Out, error) {
	var zero Out
	delay := waitPollMin
	for {
		st, err := a.Status(ctx)
		if err != nil {
			return zero, err
		}
		switch st.State {
		case wot.ActionCompleted:
			return decodeOutput[Out](a.name(), st.Output)
		case wot.ActionFailed:
			if st.Error != nil {
				return zero, st.Error
			}
			return zero, wot.Internal("action %q failed without details", a.name())
		case wot.ActionPending, wot.ActionRunning:
		default:
			return zero, fmt.Errorf("wtp: action %q: the Thing reported the unknown state %q", a.name(), st.State)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, fmt.Errorf("wtp: waiting for action %q (%s, last state %s): %w", a.name(), a.ID(), st.State, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, waitPollMax)
	}
}

// Cancel cancels the instance; afterwards the Thing forgets it (Status then reports it
// gone). A synchronous action has nothing left to cancel.
func (a *Action[Out]) Cancel(ctx context.Context) error {
	if a.inv == nil || !a.inv.Async() {
		return wot.BadRequest("action %q ran synchronously and has already finished; there is nothing to cancel", a.name())
	}
	return a.c.cancelAction(ctx, a.inv.Name, a.inv.ActionID)
}

func (a *Action[Out]) name() string {
	if a.inv == nil {
		return ""
	}
	return a.inv.Name
}

func decodeOutput[Out any](name string, raw json.RawMessage) (Out, error) {
	var out Out
	if len(raw) == 0 {
		return out, nil // an action without output
	}
	if p, ok := any(&out).(*json.RawMessage); ok {
		*p = raw
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("wtp: the output of action %q does not decode into %T: %w", name, out, err)
	}
	return out, nil
}
