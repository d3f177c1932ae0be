package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// handle processes one text frame: rate limit, decoding, the envelope checks of spec §7 in
// order (presence before lookups), then the operation.
func (c *conn) handle(data []byte) {
	m, derr := DecodeMessage(data)
	if derr == nil && !utf8.Valid(data) {
		// Stored and echoed, invalid UTF-8 would make later text frames invalid and browser
		// consumers fail their connections (RFC 6455 §8.1).
		derr = errors.New("the message is not valid UTF-8; JSON text must be UTF-8 (RFC 8259)")
	}
	if ok, expel := c.limiter.allow(time.Now()); !ok {
		c.srv.stats.rateLimited.Add(1)
		if expel {
			c.closeWith(CloseRateLimited, "rate limit exceeded for too long", false)
			return
		}
		c.replyError(m, Unavailable("rate limited: this connection sends more than %g messages/s; slow down", c.srv.cfg.rate))
		return
	}
	if m == nil {
		c.malformed++
		c.replyError(nil, BadRequest("%s", detailOf(derr)))
		if lim := c.srv.cfg.malformed; lim > 0 && c.malformed >= lim {
			c.closeWith(CloseMalformed, "too many malformed messages in a row", false)
		}
		return
	}
	c.malformed = 0
	if missing := missingMembers(m); missing != "" {
		c.replyError(m, BadRequest("missing mandatory member(s) %s; every message needs thingID, messageID, messageType and operation", missing))
		return
	}
	if derr != nil {
		c.replyError(m, BadRequest("%s", detailOf(derr)))
		return
	}
	if m.MessageType != MessageTypeRequest {
		c.replyError(m, BadRequest("messageType is %q; a Consumer sends only \"request\" messages", m.MessageType))
		return
	}
	if !IsOperation(m.Operation) {
		c.replyError(m, BadRequest("unknown operation %q", m.Operation))
		return
	}
	t := c.srv.lookup(c.ep, m.ThingID)
	if t == nil {
		c.replyError(m, NotFound("no Thing with thingID %q is served at this endpoint", m.ThingID))
		return
	}
	if e := c.authorize(t, m.Operation, m.Name); e != nil {
		c.replyError(m, e)
		return
	}
	if m.CorrelationID != "" && !isUUID(m.CorrelationID) {
		c.log.Debug("wtp: correlationID is not a UUID; echoing it anyway", "correlationID", m.CorrelationID)
	}
	c.dispatch(t, m)
}

// authorize applies the server's Authorizer, if any.
func (c *conn) authorize(t *Thing, op, name string) *Error {
	a := c.srv.cfg.authorize
	if a == nil {
		return nil
	}
	_, err := callHandler(func() (any, error) { return nil, a(c.hctx, t.id, op, name) })
	if err == nil {
		return nil
	}
	if errors.Is(err, errPanic) {
		c.log.Error("wtp: authorizer panicked", "thing", t.id, "operation", op, "err", err)
		return Internal("the authorizer failed")
	}
	var pe *Error
	if errors.As(err, &pe) {
		return asProblem(pe)
	}
	return Forbidden("%s", err.Error())
}

func detailOf(err error) string { return strings.TrimPrefix(err.Error(), "wtp: ") }

func missingMembers(m *Message) string {
	var miss []string
	for _, f := range [...]struct{ name, v string }{
		{"thingID", m.ThingID}, {"messageID", m.MessageID}, {"messageType", m.MessageType}, {"operation", m.Operation},
	} {
		if f.v == "" {
			miss = append(miss, f.name)
		}
	}
	return strings.Join(miss, ", ")
}

func (c *conn) dispatch(t *Thing, m *Message) {
	switch m.Operation {
	case OpReadProperty:
		c.readProperty(t, m)
	case OpWriteProperty:
		c.writeProperty(t, m)
	case OpReadAllProperties, OpReadMultipleProperties:
		c.readProperties(t, m)
	case OpWriteAllProperties, OpWriteMultipleProperties:
		c.writeProperties(t, m)
	case OpObserveProperty, OpUnobserveProperty, OpObserveAllProperties, OpUnobserveAllProperties,
		OpSubscribeEvent, OpUnsubscribeEvent, OpSubscribeAllEvents, OpUnsubscribeAllEvents:
		c.subscription(t, m)
	case OpInvokeAction:
		c.invokeAction(t, m)
	case OpQueryAction:
		c.queryAction(t, m)
	case OpCancelAction:
		c.cancelAction(t, m)
	case OpQueryAllActions:
		c.queryAllActions(t, m)
	}
}

// reply queues a success response to req.
func (c *conn) reply(t *Thing, req *Message, resp *Message) {
	resp.ThingID = t.id
	resp.MessageID = NewUUID()
	resp.MessageType = MessageTypeResponse
	resp.Operation = req.Operation
	resp.CorrelationID = req.CorrelationID
	if resp.Timestamp.IsZero() {
		resp.Timestamp = time.Now()
	}
	c.queue(outItem{msg: resp})
}

// replyError queues an error response echoing what could be read of req (spec §7).
func (c *conn) replyError(req *Message, e *Error) {
	c.replyErrorValues(req, e, nil)
}

func (c *conn) replyErrorValues(req *Message, e *Error, values map[string]json.RawMessage) {
	resp := &Message{MessageID: NewUUID(), MessageType: MessageTypeResponse, Error: e, Values: values, Timestamp: time.Now()}
	if req != nil {
		resp.ThingID, resp.Operation, resp.CorrelationID = req.ThingID, req.Operation, req.CorrelationID
		resp.Name, resp.Names, resp.ActionID = req.Name, req.Names, req.ActionID
	}
	if resp.ThingID == "" {
		resp.ThingID = c.srv.soleThingID(c.ep)
	}
	c.srv.stats.countError(e.Status)
	c.queue(outItem{msg: resp})
}

// fail answers req with the problem for err (a handler error or one of ours).
func (c *conn) fail(req *Message, err error) {
	if errors.Is(err, errPanic) {
		c.log.Error("wtp: handler panicked", "thing", req.ThingID, "operation", req.Operation, "name", req.Name, "err", err)
	}
	c.replyError(req, asProblem(err))
}

func notOffered(kind, name, op string) *Error {
	return BadRequest("%s %q does not offer %s over the Web Thing Protocol (no form with subprotocol %q lists it)", kind, name, op, Subprotocol)
}

func thingNotOffered(t *Thing, op string) *Error {
	return BadRequest("Thing %s does not offer %s over the Web Thing Protocol (no Thing-level form with subprotocol %q lists it)", t.id, op, Subprotocol)
}

func missing(member, op, what string) *Error {
	return BadRequest("missing member %q: %s needs %s", member, op, what)
}

// run calls f inline when it only touches the store, or in a handler goroutine when it
// calls user code that may block.
func (c *conn) run(usesHandlers bool, f func(ctx context.Context)) {
	if usesHandlers {
		c.goHandle(f)
		return
	}
	f(c.hctx)
}

func (c *conn) property(t *Thing, m *Message) (*property, *Error) {
	if m.Name == "" {
		return nil, missing("name", m.Operation, "the property name")
	}
	p := t.props[m.Name]
	if p == nil {
		return nil, NotFound("Thing %s has no property %q", t.id, m.Name)
	}
	return p, nil
}

func (c *conn) readProperty(t *Thing, m *Message) {
	p, e := c.property(t, m)
	switch {
	case e != nil:
	case p.aff.IsWriteOnly():
		e = BadRequest("property %q is write-only; it cannot be read", p.name)
	case !p.ops.has(OpReadProperty):
		e = notOffered("property", p.name, OpReadProperty)
	}
	if e != nil {
		c.replyError(m, e)
		return
	}
	if !t.hasHandler(p, false) {
		c.readPropertyNow(c.hctx, t, m, p) // no closure to allocate on the common path
		return
	}
	c.run(true, func(ctx context.Context) { c.readPropertyNow(ctx, t, m, p) })
}

func (c *conn) readPropertyNow(ctx context.Context, t *Thing, m *Message, p *property) {
	v, err := t.readValue(ctx, p)
	if err != nil {
		c.fail(m, err)
		return
	}
	c.reply(t, m, &Message{Name: p.name, Value: v})
}

func (c *conn) writeProperty(t *Thing, m *Message) {
	p, e := c.property(t, m)
	switch {
	case e != nil:
	case m.Value == nil:
		e = missing("value", m.Operation, "the value to write")
	case p.aff.IsReadOnly():
		e = BadRequest("property %q is read-only; it cannot be written", p.name)
	case !p.ops.has(OpWriteProperty):
		e = notOffered("property", p.name, OpWriteProperty)
	default:
		e = p.validateValue(m.Value)
	}
	if e != nil {
		c.replyError(m, e)
		return
	}
	c.run(t.hasHandlers([]*property{p}, true), func(ctx context.Context) {
		v, err := t.writeValue(ctx, p, m.Value)
		if err != nil {
			c.fail(m, err)
			return
		}
		c.reply(t, m, &Message{Name: p.name, Value: v})
	})
}

// readProperties serves readallproperties (every readable property) and
// readmultipleproperties (the named ones; unknown or write-only names are a 400).
func (c *conn) readProperties(t *Thing, m *Message) {
	if !t.thingOps.has(m.Operation) {
		c.replyError(m, thingNotOffered(t, m.Operation))
		return
	}
	var props []*property
	if m.Operation == OpReadAllProperties {
		for _, name := range t.norm.PropertyNames() {
			if p := t.props[name]; !p.aff.IsWriteOnly() {
				props = append(props, p)
			}
		}
	} else {
		if m.Names == nil {
			c.replyError(m, missing("names", m.Operation, "the property names"))
			return
		}
		if len(m.Names) == 0 {
			c.replyError(m, BadRequest("names is empty; list at least one property"))
			return
		}
		for _, name := range m.Names {
			p := t.props[name]
			if p == nil {
				c.replyError(m, BadRequest("Thing %s has no property %q", t.id, name))
				return
			}
			if p.aff.IsWriteOnly() {
				c.replyError(m, BadRequest("property %q is write-only; it cannot be read", name))
				return
			}
			props = append(props, p)
		}
	}
	c.run(t.hasHandlers(props, false), func(ctx context.Context) {
		values := make(map[string]json.RawMessage, len(props))
		var failed []string
		var first error
		for _, p := range props {
			v, err := t.readValue(ctx, p)
			if err != nil {
				failed = append(failed, p.name)
				first = cmpErr(first, err)
				continue
			}
			values[p.name] = v
		}
		if failed != nil {
			c.logPanic(m, first)
			c.replyErrorValues(m, Internal("reading %s failed: %s", quoteList(failed), problemDetail(first)), values)
			return
		}
		c.reply(t, m, &Message{Values: values})
	})
}

// writeProperties serves writeallproperties (a value for every writeable property) and
// writemultipleproperties (a non-empty subset). All values are checked before any write;
// a failing write answers 500 with the values written so far.
func (c *conn) writeProperties(t *Thing, m *Message) {
	if !t.thingOps.has(m.Operation) {
		c.replyError(m, thingNotOffered(t, m.Operation))
		return
	}
	if m.Values == nil {
		c.replyError(m, missing("values", m.Operation, "the values to write"))
		return
	}
	if len(m.Values) == 0 {
		c.replyError(m, BadRequest("values is empty; give at least one property value"))
		return
	}
	for _, name := range sortedKeys(m.Values) {
		p := t.props[name]
		if p == nil {
			c.replyError(m, BadRequest("Thing %s has no property %q", t.id, name))
			return
		}
		if p.aff.IsReadOnly() {
			c.replyError(m, BadRequest("property %q is read-only; it cannot be written", name))
			return
		}
	}
	if m.Operation == OpWriteAllProperties {
		for _, name := range t.norm.PropertyNames() {
			if _, ok := m.Values[name]; !ok && !t.props[name].aff.IsReadOnly() {
				c.replyError(m, BadRequest("missing writeable property %q; writeallproperties needs a value for every writeable property", name))
				return
			}
		}
	}
	props := make([]*property, 0, len(m.Values))
	for _, name := range sortedKeys(m.Values) {
		p := t.props[name]
		if e := p.validateValue(m.Values[name]); e != nil {
			c.replyError(m, e)
			return
		}
		props = append(props, p)
	}
	c.run(t.hasHandlers(props, true), func(ctx context.Context) {
		assigned := make(map[string]json.RawMessage, len(props))
		for _, p := range props {
			v, err := t.writeValue(ctx, p, m.Values[p.name])
			if err != nil {
				c.logPanic(m, err)
				c.replyErrorValues(m, Internal("writing %q failed: %s", p.name, problemDetail(err)), assigned)
				return
			}
			if v != nil {
				assigned[p.name] = v
			}
		}
		c.reply(t, m, &Message{Values: assigned})
	})
}

// cmpErr keeps the first error.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func (c *conn) logPanic(m *Message, err error) {
	if errors.Is(err, errPanic) {
		c.log.Error("wtp: handler panicked", "thing", m.ThingID, "operation", m.Operation, "err", err)
	}
}

func problemDetail(err error) string {
	p := asProblem(err)
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

// subscription serves the eight observe/subscribe operations on the (connection, Thing)
// subscription table (spec §5). The response and any catch-up replay are queued under the
// Thing's lock, so they precede every later notification of this Thing.
func (c *conn) subscription(t *Thing, m *Message) {
	op := m.Operation
	kind, all, observe := subscriptionKind(op)

	var names []string // the affordances the operation covers
	if all {
		if !t.thingOps.has(op) && (observe || !t.thingOps.has(observeOf(op))) {
			c.replyError(m, thingNotOffered(t, op))
			return
		}
		if kind == noteProperty {
			for _, n := range t.norm.PropertyNames() {
				if !t.props[n].aff.IsWriteOnly() {
					names = append(names, n)
				}
			}
		} else {
			names = t.norm.EventNames()
		}
	} else {
		if m.Name == "" {
			c.replyError(m, missing("name", op, "the name of the "+kindName(kind)))
			return
		}
		var ops opSet
		if kind == noteProperty {
			p := t.props[m.Name]
			if p == nil {
				c.replyError(m, NotFound("Thing %s has no property %q", t.id, m.Name))
				return
			}
			if observe && p.aff.IsWriteOnly() {
				c.replyError(m, BadRequest("property %q is write-only; it cannot be observed", m.Name))
				return
			}
			ops = p.ops
		} else {
			e := t.events[m.Name]
			if e == nil {
				c.replyError(m, NotFound("Thing %s has no event %q", t.id, m.Name))
				return
			}
			ops = e.ops
		}
		// Undoing is allowed wherever doing is offered, so a consumer can always stop what it
		// was allowed to start.
		if !ops.has(op) && (observe || !ops.has(observeOf(op))) {
			c.replyError(m, notOffered(kindName(kind), m.Name, op))
			return
		}
		names = []string{m.Name}
	}
	if observe {
		// Hooks are user code: run them before taking the Thing's lock.
		for _, n := range names {
			if err := t.runSubscribeHook(c.hctx, kind, n); err != nil {
				c.fail(m, err)
				return
			}
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bindingLocked(c)
	c.things[t] = struct{}{}
	table := b.props
	if kind == noteEvent {
		table = b.events
	}
	entry := subEntry{op: op, corr: m.CorrelationID}
	switch {
	case observe:
		for _, n := range names {
			table[n] = entry // last subscription wins
		}
	case all:
		clear(table) // whichever operation created the entries
	default:
		delete(table, m.Name)
	}
	resp := &Message{}
	if !all {
		resp.Name = m.Name
	}
	c.reply(t, m, resp)
	if observe {
		t.replayLocked(c, b, m.LastNotificationID, kind, names, entry)
	}
}

// subscriptionKind classifies one of the eight subscription operations.
func subscriptionKind(op string) (kind noteKind, all, observe bool) {
	switch op {
	case OpObserveProperty:
		return noteProperty, false, true
	case OpUnobserveProperty:
		return noteProperty, false, false
	case OpObserveAllProperties:
		return noteProperty, true, true
	case OpUnobserveAllProperties:
		return noteProperty, true, false
	case OpSubscribeEvent:
		return noteEvent, false, true
	case OpUnsubscribeEvent:
		return noteEvent, false, false
	case OpSubscribeAllEvents:
		return noteEvent, true, true
	}
	return noteEvent, true, false // OpUnsubscribeAllEvents
}

// observeOf returns the operation an unobserve/unsubscribe operation undoes.
func observeOf(op string) string {
	switch op {
	case OpUnobserveProperty:
		return OpObserveProperty
	case OpUnobserveAllProperties:
		return OpObserveAllProperties
	case OpUnsubscribeEvent:
		return OpSubscribeEvent
	case OpUnsubscribeAllEvents:
		return OpSubscribeAllEvents
	}
	return op
}

func kindName(k noteKind) string {
	if k == noteEvent {
		return "event"
	}
	return "property"
}

func (c *conn) invokeAction(t *Thing, m *Message) {
	if m.Name == "" {
		c.replyError(m, missing("name", m.Operation, "the action name"))
		return
	}
	a := t.actions[m.Name]
	if a == nil {
		c.replyError(m, NotFound("Thing %s has no action %q", t.id, m.Name))
		return
	}
	if !a.ops.has(OpInvokeAction) {
		c.replyError(m, notOffered("action", a.name, OpInvokeAction))
		return
	}
	if a.input != nil && m.Input != nil {
		if err := a.input.validate(m.Input); err != nil {
			c.replyError(m, BadRequest("input of action %q is invalid: %v", a.name, err))
			return
		}
	}
	t.hmu.RLock()
	h := a.handler
	t.hmu.RUnlock()
	if h == nil {
		c.replyError(m, NewError(http.StatusNotImplemented, fmt.Sprintf("action %q has no handler on this Thing", a.name)))
		return
	}
	if !a.synchronous {
		st, e := t.startAction(a, h, m.Input, c.owner, c.log)
		if e != nil {
			c.replyError(m, e)
			return
		}
		c.reply(t, m, &Message{Name: a.name, Status: &st})
		return
	}
	c.goHandle(func(ctx context.Context) {
		out, err := runActionHandler(ctx, a, h, m.Input)
		if err != nil {
			c.fail(m, err)
			return
		}
		c.reply(t, m, &Message{Name: a.name, Output: out})
	})
}

func (c *conn) queryAction(t *Thing, m *Message) {
	if m.ActionID == "" {
		c.replyError(m, missing("actionID", m.Operation, "the actionID from the invokeaction response"))
		return
	}
	st, name, ok := t.lookupActionAs(m.ActionID, &c.owner)
	if !ok {
		c.replyError(m, NotFound("Thing %s has no action instance %q (it never existed, was cancelled or has been pruned)", t.id, m.ActionID))
		return
	}
	if !t.actions[name].ops.has(OpQueryAction) {
		c.replyError(m, notOffered("action", name, OpQueryAction))
		return
	}
	c.reply(t, m, &Message{Name: name, Status: &st})
}

func (c *conn) cancelAction(t *Thing, m *Message) {
	if m.ActionID == "" {
		c.replyError(m, missing("actionID", m.Operation, "the actionID from the invokeaction response"))
		return
	}
	e := t.cancelAction(m.ActionID, &c.owner, func(name string) *Error {
		if !t.actions[name].ops.has(OpCancelAction) {
			return notOffered("action", name, OpCancelAction)
		}
		return nil
	})
	if e != nil {
		c.replyError(m, e)
		return
	}
	c.reply(t, m, &Message{ActionID: m.ActionID})
}

func (c *conn) queryAllActions(t *Thing, m *Message) {
	if !t.thingOps.has(m.Operation) {
		c.replyError(m, thingNotOffered(t, m.Operation))
		return
	}
	var names []string
	for _, n := range t.norm.ActionNames() {
		if c.authorize(t, OpQueryAction, n) == nil {
			names = append(names, n)
		}
	}
	t.mu.Lock()
	st := t.store.statusesFor(names, time.Now(), &c.owner, t.cfg.sharedActions)
	t.mu.Unlock()
	c.reply(t, m, &Message{Statuses: st})
}
