package wot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// The operations below are what server bindings call. The caller's identity comes from the
// context (WithCaller); the Server's Authorizer is checked first; every error is an *Error
// with the status to send; user code runs with panics turned into 500s (and logged).

// ReadProperty reads a property: 404 for an unknown name, 400 for a write-only property.
func (t *Thing) ReadProperty(ctx context.Context, name string) (json.RawMessage, error) {
	if e := t.authorize(ctx, td.OpReadProperty, name); e != nil {
		return nil, e
	}
	p, e := t.property(name)
	if e != nil {
		return nil, e
	}
	if p.aff.IsWriteOnly() {
		return nil, BadRequest("property %q is write-only; it cannot be read", name)
	}
	return t.readValue(ctx, p)
}

// WriteProperty validates v against the property's schema and writes it. It returns the
// value the Thing confirms (nil when it cannot confirm the write, and always for write-only
// properties). A read-only property is a 400 (an HTTP binding answers 405).
func (t *Thing) WriteProperty(ctx context.Context, name string, v json.RawMessage) (json.RawMessage, error) {
	if e := t.authorize(ctx, td.OpWriteProperty, name); e != nil {
		return nil, e
	}
	p, e := t.property(name)
	if e != nil {
		return nil, e
	}
	if v == nil {
		return nil, BadRequest("writeproperty needs the value to write")
	}
	if p.aff.IsReadOnly() {
		return nil, BadRequest("property %q is read-only; it cannot be written", name)
	}
	if e := p.validateValue(v); e != nil {
		return nil, e
	}
	return t.writeValue(ctx, p, v)
}

// IsReadOnly reports whether the TD marks the property readOnly (false for unknown names).
func (t *Thing) IsReadOnly(name string) bool {
	p := t.props[name]
	return p != nil && p.aff.IsReadOnly()
}

// ReadProperties reads the named properties (readmultipleproperties), or with nil names
// every readable one (readallproperties). Unknown or write-only names are a 400 (WTP and
// the HTTP Profile agree on 400 for multi-property operations). When a read fails, it
// returns the values read so far with a 500.
func (t *Thing) ReadProperties(ctx context.Context, names []string) (map[string]json.RawMessage, error) {
	op := td.OpReadMultipleProperties
	if names == nil {
		op = td.OpReadAllProperties
	}
	if e := t.authorize(ctx, op, ""); e != nil {
		return nil, e
	}
	var props []*property
	if names == nil {
		for _, name := range t.norm.PropertyNames() {
			if p := t.props[name]; !p.aff.IsWriteOnly() {
				props = append(props, p)
			}
		}
	} else {
		if len(names) == 0 {
			return nil, BadRequest("names is empty; list at least one property")
		}
		for _, name := range names {
			p := t.props[name]
			if p == nil {
				return nil, BadRequest("Thing %s has no property %q", t.id, name)
			}
			if p.aff.IsWriteOnly() {
				return nil, BadRequest("property %q is write-only; it cannot be read", name)
			}
			props = append(props, p)
		}
	}
	values := make(map[string]json.RawMessage, len(props))
	var failed []string
	var first error
	for _, p := range props {
		v, err := t.readValue(ctx, p)
		if err != nil {
			failed = append(failed, p.name)
			if first == nil {
				first = err
			}
			continue
		}
		values[p.name] = v
	}
	if failed != nil {
		return values, Internal("reading %s failed: %s", quoteList(failed), problemDetail(first))
	}
	return values, nil
}

// WriteProperties validates every value, then writes them in name order
// (writemultipleproperties; writeallproperties when values name every writable property —
// that is what the Authorizer is asked). Unknown and read-only names are a 400. When a
// write fails, it returns the values confirmed so far with a 500.
func (t *Thing) WriteProperties(ctx context.Context, values map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	op := td.OpWriteMultipleProperties
	if t.coversWritable(values) {
		op = td.OpWriteAllProperties
	}
	if e := t.authorize(ctx, op, ""); e != nil {
		return nil, e
	}
	if len(values) == 0 {
		return nil, BadRequest("values is empty; give at least one property value")
	}
	names := sortedKeys(values)
	props := make([]*property, 0, len(values))
	for _, name := range names {
		p := t.props[name]
		if p == nil {
			return nil, BadRequest("Thing %s has no property %q", t.id, name)
		}
		if p.aff.IsReadOnly() {
			return nil, BadRequest("property %q is read-only; it cannot be written", name)
		}
		props = append(props, p)
	}
	for _, p := range props {
		if e := p.validateValue(values[p.name]); e != nil {
			return nil, e
		}
	}
	assigned := make(map[string]json.RawMessage, len(props))
	for _, p := range props {
		v, err := t.writeValue(ctx, p, values[p.name])
		if err != nil {
			return assigned, Internal("writing %q failed: %s", p.name, problemDetail(err))
		}
		if v != nil {
			assigned[p.name] = v
		}
	}
	return assigned, nil
}

// MissingWritable returns the first writable property (in name order) values has no value
// for, or "": writeallproperties needs a value for every one.
func (t *Thing) MissingWritable(values map[string]json.RawMessage) string {
	for _, name := range t.norm.PropertyNames() {
		if _, ok := values[name]; !ok && !t.props[name].aff.IsReadOnly() {
			return name
		}
	}
	return ""
}

func (t *Thing) coversWritable(values map[string]json.RawMessage) bool {
	return len(values) > 0 && t.MissingWritable(values) == ""
}

// InvokeAction validates input against the action's schema and invokes it: a synchronous
// action runs the handler (ctx cancels it) and returns its Output; an asynchronous one
// starts it (the Server's shutdown cancels it) and returns its Status, pending or running.
// No handler is a 501; too many running invocations, or a Thing shutting down, a 503.
func (t *Thing) InvokeAction(ctx context.Context, name string, input json.RawMessage) (*Invocation, error) {
	if e := t.authorize(ctx, td.OpInvokeAction, name); e != nil {
		return nil, e
	}
	a := t.actions[name]
	if a == nil {
		return nil, NotFound("Thing %s has no action %q", t.id, name)
	}
	if a.input != nil && input != nil {
		if err := a.input.validate(input); err != nil {
			return nil, BadRequest("input of action %q is invalid: %v", name, err)
		}
	}
	t.hmu.RLock()
	h := a.handler
	t.hmu.RUnlock()
	if h == nil {
		return nil, NewError(http.StatusNotImplemented, fmt.Sprintf("action %q has no handler on this Thing", name))
	}
	if !a.synchronous {
		st, e := t.startAction(a, h, input, CallerFrom(ctx))
		if e != nil {
			return nil, e
		}
		return &Invocation{Name: name, Status: &st}, nil
	}
	out, err := t.runActionHandler(ctx, a, h, input)
	if err != nil {
		return nil, err
	}
	return &Invocation{Name: name, Output: out}, nil
}

// ActionOf returns the name of the action whose instance actionID is, if the caller may see
// it ("" otherwise), for a binding that must check which operations a form offers.
func (t *Thing) ActionOf(ctx context.Context, actionID string) string {
	c := CallerFrom(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.store.byID[actionID]; ok && r.visible(&c, t.cfg.sharedActions, false) {
		return r.name
	}
	return ""
}

// QueryAction returns the status of an asynchronous action instance. Instances the caller
// may not see, and those cancelled or pruned, are a 404.
func (t *Thing) QueryAction(ctx context.Context, actionID string) (ActionStatus, error) {
	if actionID == "" {
		return ActionStatus{}, BadRequest("queryaction needs the actionID from the invokeaction response")
	}
	c := CallerFrom(ctx)
	t.mu.Lock()
	t.store.prune(time.Now())
	r, ok := t.store.byID[actionID]
	var st ActionStatus
	if ok && r.visible(&c, t.cfg.sharedActions, false) {
		st = r.status()
	}
	t.mu.Unlock()
	if st.ActionID == "" {
		return ActionStatus{}, t.noInstance(actionID)
	}
	if e := t.authorize(ctx, td.OpQueryAction, st.Name); e != nil {
		return ActionStatus{}, e
	}
	return st, nil
}

// CancelAction cancels a pending or running asynchronous instance (its handler's context
// is cancelled) and deletes it. A finished instance is a 400; one the caller may not see a
// 404.
func (t *Thing) CancelAction(ctx context.Context, actionID string) error {
	if actionID == "" {
		return BadRequest("cancelaction needs the actionID from the invokeaction response")
	}
	name := t.ActionOf(ctx, actionID)
	if name == "" {
		return t.noInstance(actionID)
	}
	if e := t.authorize(ctx, td.OpCancelAction, name); e != nil {
		return e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.store.byID[actionID]
	if !ok {
		return t.noInstance(actionID)
	}
	if r.finished() {
		return BadRequest("action instance %q has already %s; there is nothing to cancel", actionID, r.state)
	}
	r.cancel()
	t.store.remove(r)
	return nil
}

func (t *Thing) noInstance(id string) *Error {
	return NotFound("Thing %s has no action instance %q (it never existed, was cancelled or has been pruned)", t.id, id)
}

// QueryAllActions returns, for every action the caller may query (Authorizer), the
// instances it may see, newest first.
func (t *Thing) QueryAllActions(ctx context.Context) (map[string][]ActionStatus, error) {
	if e := t.authorize(ctx, td.OpQueryAllActions, ""); e != nil {
		return nil, e
	}
	var names []string
	for _, n := range t.norm.ActionNames() {
		if t.authorize(ctx, td.OpQueryAction, n) == nil {
			names = append(names, n)
		}
	}
	c := CallerFrom(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.store.statuses(names, time.Now(), &c, t.cfg.sharedActions), nil
}

// Subscriber receives a session's notifications on the exposed side (a WTP connection, an
// SSE stream). Notify must not block: queue and return.
type Subscriber interface {
	Notify(n *Notification, tag any)
}

// subState is the subscriptions of one Subscriber on one Thing, guarded by Thing.mu.
type subState struct {
	props  map[string]any // property name → tag
	events map[string]any // event name → tag
	// sent holds, per affordance, the newest history position sent to this subscriber. Each
	// affordance's notifications go out in history order, so it tells exactly which entries
	// a catch-up replay must skip; one position for the whole Thing would skip other
	// affordances' entries this subscriber never got.
	sent map[noteKey]uint64
}

// noteKey names one affordance in the history.
type noteKey struct {
	kind td.Kind
	name string
}

func (st *subState) markSent(n *note) {
	if st.sent == nil {
		st.sent = make(map[noteKey]uint64)
	}
	st.sent[noteKey{n.n.Kind, n.n.Name}] = n.seq
}

func (st *subState) table(kind td.Kind) map[string]any {
	if kind == td.KindEvent {
		return st.events
	}
	return st.props
}

// Subscribe starts observing properties (kind td.KindProperty) or subscribing to events
// (td.KindEvent) for s: names nil means every observable property (observeallproperties)
// or every event (subscribeallevents). It checks the Authorizer and runs the observe or
// subscribe hooks (all must pass, else nothing changes), then records, per affordance, tag
// as the subscription of s (the last subscription wins) and replays the history entries
// after lastID that s has not been sent yet (unknown or evicted IDs replay nothing). Every
// later notification goes to s.Notify with the tag, under the Thing's lock and in history
// order, so Notify must queue and return.
func (t *Thing) Subscribe(ctx context.Context, s Subscriber, kind td.Kind, names []string, tag any, lastID string) error {
	if s == nil {
		return errors.New("wot: Subscribe needs a Subscriber")
	}
	names, op, e := t.subscriptionNames(kind, names)
	if e != nil {
		return e
	}
	if len(names) == 0 || op == td.OpObserveAllProperties || op == td.OpSubscribeAllEvents {
		if e := t.authorize(ctx, op, ""); e != nil {
			return e
		}
	} else {
		for _, n := range names {
			if e := t.authorize(ctx, op, n); e != nil {
				return e
			}
		}
	}
	// Hooks are user code: run them before taking the Thing's lock.
	for _, n := range names {
		if err := t.runSubscribeHook(ctx, kind, op, n); err != nil {
			return err
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.subs[s]
	if st == nil {
		st = &subState{props: map[string]any{}, events: map[string]any{}}
		t.subs[s] = st
	}
	table := st.table(kind)
	for _, n := range names {
		table[n] = tag
	}
	t.replayLocked(s, st, lastID, kind, names, tag)
	return nil
}

// subscriptionNames resolves the affordances a subscription covers and its operation.
func (t *Thing) subscriptionNames(kind td.Kind, names []string) ([]string, string, *Error) {
	all := names == nil
	switch {
	case kind == td.KindProperty && all:
		for _, n := range t.norm.PropertyNames() {
			if !t.props[n].aff.IsWriteOnly() {
				names = append(names, n)
			}
		}
		return names, td.OpObserveAllProperties, nil
	case kind == td.KindEvent && all:
		return t.norm.EventNames(), td.OpSubscribeAllEvents, nil
	case kind == td.KindProperty:
		for _, n := range names {
			p := t.props[n]
			if p == nil {
				return nil, "", NotFound("Thing %s has no property %q", t.id, n)
			}
			if p.aff.IsWriteOnly() {
				return nil, "", BadRequest("property %q is write-only; it cannot be observed", n)
			}
		}
		return names, td.OpObserveProperty, nil
	case kind == td.KindEvent:
		for _, n := range names {
			if t.events[n] == nil {
				return nil, "", NotFound("Thing %s has no event %q", t.id, n)
			}
		}
		return names, td.OpSubscribeEvent, nil
	}
	return nil, "", BadRequest("only properties and events can be subscribed to, not %v", kind)
}

func (t *Thing) runSubscribeHook(ctx context.Context, kind td.Kind, op, name string) error {
	t.hmu.RLock()
	var h SubscribeHook
	if kind == td.KindProperty {
		h = t.props[name].observe
	} else {
		h = t.events[name].subscribe
	}
	t.hmu.RUnlock()
	if h == nil {
		return nil
	}
	if _, err := callHandler(func() (any, error) { return nil, h(ctx, name) }); err != nil {
		return t.problem(err, op, name)
	}
	return nil
}

// Unsubscribe ends the subscriptions of s to the named properties or events (nil names:
// all of that kind), whichever operation created them. Unknown names are ignored.
func (t *Thing) Unsubscribe(s Subscriber, kind td.Kind, names []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.subs[s]
	if st == nil {
		return
	}
	table := st.table(kind)
	if names == nil {
		clear(table)
		return
	}
	for _, n := range names {
		delete(table, n)
	}
}

// Forget drops everything the Thing holds for s: its session ended.
func (t *Thing) Forget(s Subscriber) {
	t.mu.Lock()
	delete(t.subs, s)
	t.mu.Unlock()
}

// publishLocked records a notification in the history and hands it to every subscriber
// with a matching subscription, with that subscription's tag: at most one per subscriber.
func (t *Thing) publishLocked(kind td.Kind, name string, payload json.RawMessage) {
	n := t.history.add(kind, name, payload, time.Now())
	for s, st := range t.subs {
		if tag, ok := st.table(kind)[name]; ok {
			s.Notify(&n.n, tag)
			st.markSent(n)
		}
	}
}

// replayLocked hands s the notes of the given kind after lastID whose affordance is in
// names and that s has not been sent yet.
func (t *Thing) replayLocked(s Subscriber, st *subState, lastID string, kind td.Kind, names []string, tag any) {
	if lastID == "" {
		return
	}
	from, ok := t.history.position(lastID)
	if !ok {
		return
	}
	t.history.after(from, func(n *note) {
		if n.n.Kind == kind && n.seq > st.sent[noteKey{kind, n.n.Name}] && slices.Contains(names, n.n.Name) {
			s.Notify(&n.n, tag)
			st.markSent(n)
		}
	})
}

func (t *Thing) property(name string) (*property, *Error) {
	p := t.props[name]
	if p == nil {
		return nil, NotFound("Thing %s has no property %q", t.id, name)
	}
	return p, nil
}

// validateValue checks a consumer-supplied value against the property schema.
func (p *property) validateValue(raw json.RawMessage) *Error {
	if p.schema == nil {
		return nil
	}
	if err := p.schema.validate(raw); err != nil {
		return BadRequest("value of property %q is invalid: %v", p.name, err)
	}
	return nil
}

// authorize applies the Server's Authorizer, if any.
func (t *Thing) authorize(ctx context.Context, op, name string) *Error {
	s := t.srv.Load()
	if s == nil || s.cfg.authorize == nil {
		return nil
	}
	a := s.cfg.authorize
	_, err := callHandler(func() (any, error) { return nil, a(ctx, t.id, op, name) })
	if err == nil {
		return nil
	}
	if errors.Is(err, errPanic) {
		s.cfg.log.Error("wot: authorizer panicked", "thing", t.id, "operation", op, "err", err)
		return Internal("the authorizer failed")
	}
	var pe *Error
	if errors.As(err, &pe) {
		return ProblemOf(pe)
	}
	return Forbidden("%s", err.Error())
}

func problemDetail(err error) string {
	p := ProblemOf(err)
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
