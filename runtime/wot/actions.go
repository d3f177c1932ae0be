package wot

import (
	"context"
	"encoding/json"
	"github.com/wotgen/wotgen/runtime/internal/uuid"
	"slices"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// actionRecord is one asynchronous action instance.
type actionRecord struct {
	id        string
	name      string
	state     ActionState
	output    json.RawMessage
	err       *Error
	requested time.Time
	ended     time.Time
	cancel    context.CancelFunc
	owner     Caller
}

// visible reports whether caller o may see r. Without WithSharedActions, a consumer lists
// only its own instances (same principal; for anonymous consumers, same session), and
// reaches another's by actionID only when both have the same principal: for anonymous
// consumers the unguessable actionID is the capability, so a reconnecting consumer can still
// follow and cancel the instance it started. An anonymous caller without a session (plain
// HTTP) lists nothing.
func (r *actionRecord) visible(o *Caller, shared, listing bool) bool {
	switch {
	case o == nil || shared:
		return true
	case r.owner.Principal != o.Principal:
		return false
	case listing && r.owner.Principal == "":
		return o.Session != nil && r.owner.Session == o.Session
	}
	return true
}

func (r *actionRecord) status() ActionStatus {
	return ActionStatus{ActionID: r.id, Name: r.name, State: r.state, Output: r.output, Error: r.err,
		TimeRequested: r.requested, TimeEnded: r.ended}
}

func (r *actionRecord) finished() bool { return r.state == ActionCompleted || r.state == ActionFailed }

// actionStore keeps the async action instances of one Thing, guarded by Thing.mu. Finished
// instances are pruned by count and age; cancelled ones are deleted at once.
type actionStore struct {
	byID     map[string]*actionRecord
	order    []*actionRecord // by timeRequested, oldest first
	maxCount int
	maxAge   time.Duration
	active   int // pending + running
}

func newActionStore(count int, age time.Duration) actionStore {
	return actionStore{byID: map[string]*actionRecord{}, maxCount: count, maxAge: age}
}

func (s *actionStore) add(r *actionRecord) {
	s.byID[r.id] = r
	s.order = append(s.order, r)
	s.active++
}

func (s *actionStore) remove(r *actionRecord) {
	delete(s.byID, r.id)
	if i := slices.Index(s.order, r); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
	if !r.finished() {
		s.active--
	}
}

func (s *actionStore) finish(r *actionRecord, now time.Time) {
	if _, ok := s.byID[r.id]; !ok {
		return // cancelled meanwhile
	}
	s.active--
	r.ended = now
	s.prune(now)
}

// prune drops finished instances beyond the retention count (oldest first) and those that
// ended longer ago than the retention age, except the newest finished one (WTP recommends
// keeping it).
func (s *actionStore) prune(now time.Time) {
	total := 0
	for _, r := range s.order {
		if r.finished() {
			total++
		}
	}
	keep := s.order[:0]
	i := 0 // index among finished instances, oldest first
	for _, r := range s.order {
		if r.finished() {
			expired := s.maxAge > 0 && now.Sub(r.ended) > s.maxAge && i < total-1
			i++
			if i <= total-s.maxCount || expired {
				delete(s.byID, r.id)
				continue
			}
		}
		keep = append(keep, r)
	}
	clear(s.order[len(keep):])
	s.order = keep
}

// statuses returns the instances of the named actions that o may list (all when o is nil
// or shared), newest first, with a (possibly empty) entry for every name.
func (s *actionStore) statuses(names []string, now time.Time, o *Caller, shared bool) map[string][]ActionStatus {
	s.prune(now)
	out := make(map[string][]ActionStatus, len(names))
	for _, n := range names {
		out[n] = []ActionStatus{}
	}
	for i := len(s.order) - 1; i >= 0; i-- {
		r := s.order[i]
		if list, ok := out[r.name]; ok && r.visible(o, shared, true) {
			out[r.name] = append(list, r.status())
		}
	}
	return out
}

// startAction registers an async invocation and runs the handler in its own goroutine; the
// returned status is what the invocation answers (pending or running).
func (t *Thing) startAction(a *action, h ActionHandler, input json.RawMessage, owner Caller) (ActionStatus, *Error) {
	ctx, cancel := context.WithCancel(t.actx)
	ctx = WithCaller(ctx, Caller{Principal: owner.Principal})
	r := &actionRecord{id: uuid.New(), name: a.name, state: ActionPending, cancel: cancel, owner: owner}

	t.mu.Lock()
	if t.actx.Err() != nil {
		t.mu.Unlock()
		cancel()
		return ActionStatus{}, Unavailable("the Thing is shutting down; retry on another server")
	}
	if t.store.active >= t.cfg.maxActive {
		t.mu.Unlock()
		cancel()
		return ActionStatus{}, Unavailable("too many action invocations are running (%d); retry when some have finished", t.cfg.maxActive)
	}
	r.requested = time.Now() // under the lock, so the store stays ordered by timeRequested
	t.store.add(r)
	st := r.status()
	t.awg.Add(1)
	t.mu.Unlock()

	go t.runAction(ctx, r, a, h, input)
	return st, nil
}

func (t *Thing) runAction(ctx context.Context, r *actionRecord, a *action, h ActionHandler, input json.RawMessage) {
	defer t.awg.Done()
	defer r.cancel()

	t.mu.Lock()
	if _, ok := t.store.byID[r.id]; !ok {
		t.mu.Unlock()
		return // cancelled before it started
	}
	r.state = ActionRunning
	t.mu.Unlock()

	out, err := t.runActionHandler(ctx, a, h, input)

	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		r.state, r.err = ActionFailed, ProblemOf(err)
	} else {
		r.state, r.output = ActionCompleted, out
	}
	t.store.finish(r, time.Now())
}

// runActionHandler calls the handler and marshals its output.
func (t *Thing) runActionHandler(ctx context.Context, a *action, h ActionHandler, input json.RawMessage) (json.RawMessage, error) {
	v, err := callHandler(func() (any, error) { return h(ctx, input) })
	if err != nil {
		return nil, t.problem(err, td.OpInvokeAction, a.name)
	}
	if v == nil {
		return nil, nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, Internal("the output of action %q cannot be marshalled to JSON: %v", a.name, err)
	}
	return out, nil
}
