package wot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Polling bounds for Action.Wait: fast at first (most actions are short), then backing off.
const (
	waitPollMin = 20 * time.Millisecond
	waitPollMax = time.Second
)

// Async reports whether the Thing runs the action asynchronously (it returned a status).
func (inv *Invocation) Async() bool { return inv != nil && inv.Status != nil }

// Action is a typed handle on one action invocation. For an asynchronous action it queries,
// waits for and cancels the instance (by its ActionID over WTP, its status URL over HTTP); for
// a synchronous one it just holds the output (Wait returns it at once).
type Action[Out any] struct {
	c   *ConsumedThing
	inv *Invocation

	mu   sync.Mutex
	last *ActionStatus // newest status seen
}

// NewAction wraps the result of InvokeAction.
func NewAction[Out any](c *ConsumedThing, inv *Invocation) *Action[Out] {
	a := &Action[Out]{c: c, inv: inv}
	if inv != nil && inv.Status != nil {
		st := *inv.Status
		if st.Name == "" {
			st.Name = inv.Name
		}
		a.last = &st
	}
	return a
}

// ID returns the instance's id ("" for a synchronous action): its ActionID, else its status
// URL.
func (a *Action[Out]) ID() string {
	if a.inv == nil || a.inv.Status == nil {
		return ""
	}
	if a.inv.Status.ActionID != "" {
		return a.inv.Status.ActionID
	}
	return a.inv.Status.Href
}

// Status queries the Thing for the instance's current status. A synchronous action reports
// completed with its output.
func (a *Action[Out]) Status(ctx context.Context) (*ActionStatus, error) {
	if a.inv == nil {
		return nil, errors.New("wot: Action has no invocation; create it with NewAction(c, inv) from InvokeAction's result")
	}
	if !a.inv.Async() {
		return &ActionStatus{Name: a.inv.Name, State: ActionCompleted, Output: a.inv.Output}, nil
	}
	a.mu.Lock()
	last := *a.last
	a.mu.Unlock()
	if last.State == ActionCompleted || last.State == ActionFailed {
		return &last, nil // final: no need to ask (the Thing may have pruned it since)
	}
	st, err := a.c.QueryAction(ctx, &last)
	if err != nil {
		if IsNotFound(err) {
			return nil, fmt.Errorf("wot: action %q instance %s is gone from the Thing (cancelled, or pruned before it was queried): %w", a.inv.Name, a.ID(), err)
		}
		return nil, err
	}
	// Keep what identifies the instance even if the Thing's answer leaves it out.
	if st.ActionID == "" {
		st.ActionID = last.ActionID
	}
	if st.Href == "" {
		st.Href = last.Href
	}
	if st.Name == "" {
		st.Name = last.Name
	}
	a.mu.Lock()
	cp := *st
	a.last = &cp
	a.mu.Unlock()
	return st, nil
}

// Wait blocks until the action completes (returning its output decoded into Out) or fails
// (returning the Thing's *Error), or until ctx ends. It polls the status, starting at 20ms
// and backing off to one second.
func (a *Action[Out]) Wait(ctx context.Context) (Out, error) {
	var zero Out
	delay := waitPollMin
	for {
		st, err := a.Status(ctx)
		if err != nil {
			return zero, err
		}
		switch st.State {
		case ActionCompleted:
			return decodeOutput[Out](a.name(), st.Output)
		case ActionFailed:
			if st.Error != nil {
				return zero, st.Error
			}
			return zero, Internal("action %q failed without details", a.name())
		case ActionPending, ActionRunning:
		default:
			return zero, fmt.Errorf("wot: action %q: the Thing reported the unknown state %q", a.name(), st.State)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, fmt.Errorf("wot: waiting for action %q (%s, last state %s): %w", a.name(), a.ID(), st.State, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, waitPollMax)
	}
}

// Cancel cancels the instance; afterwards the Thing forgets it (Status then reports it gone).
// A synchronous action has nothing left to cancel.
func (a *Action[Out]) Cancel(ctx context.Context) error {
	if a.inv == nil || !a.inv.Async() {
		return BadRequest("action %q ran synchronously and has already finished; there is nothing to cancel", a.name())
	}
	a.mu.Lock()
	last := *a.last
	a.mu.Unlock()
	return a.c.CancelAction(ctx, &last)
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
		return out, fmt.Errorf("wot: the output of action %q does not decode into %T: %w", name, out, err)
	}
	return out, nil
}
