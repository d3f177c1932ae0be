package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// handle processes one text frame: rate limit, decoding, the envelope checks of the WTP
// error handling rules in order (presence before lookups), then the operation.
func (c *conn) handle(data []byte, turn *readerTurn) {
	m, derr := DecodeMessage(data)
	if derr == nil && !utf8.Valid(data) {
		// Stored and echoed, invalid UTF-8 would make later text frames invalid and browser
		// consumers fail their connections (RFC 6455 §8.1).
		derr = errors.New("the message is not valid UTF-8; JSON text must be UTF-8 (RFC 8259)")
	}
	if ok, expel := c.limiter.allow(time.Now()); !ok {
		c.b.stats.rateLimited.Add(1)
		if expel {
			c.closeWith(CloseRateLimited, "rate limit exceeded for too long", false)
			return
		}
		c.replyError(m, wot.Unavailable("rate limited: this connection sends more than %g messages/s; slow down", c.b.cfg.rate))
		return
	}
	if m == nil {
		c.malformed++
		c.replyError(nil, wot.BadRequest("%s", detailOf(derr)))
		if lim := c.b.cfg.malformed; lim > 0 && c.malformed >= lim {
			c.closeWith(CloseMalformed, "too many malformed messages in a row", false)
		}
		return
	}
	c.malformed = 0
	if missing := missingMembers(m); missing != "" {
		c.replyError(m, wot.BadRequest("missing mandatory member(s) %s; every message needs thingID, messageID, messageType and operation", missing))
		return
	}
	if derr != nil {
		c.replyError(m, wot.BadRequest("%s", detailOf(derr)))
		return
	}
	if m.MessageType != MessageTypeRequest {
		c.replyError(m, wot.BadRequest("messageType is %q; a Consumer sends only \"request\" messages", m.MessageType))
		return
	}
	if !IsOperation(m.Operation) {
		c.replyError(m, wot.BadRequest("unknown operation %q", m.Operation))
		return
	}
	t, info := c.b.lookup(c.path, m.ThingID)
	if t == nil {
		c.replyError(m, wot.NotFound("no Thing with thingID %q is served at this endpoint", m.ThingID))
		return
	}
	if m.CorrelationID != "" && !isUUID(m.CorrelationID) {
		c.logAt(slog.LevelDebug, "wtp: correlationID is not a UUID; echoing it anyway", "correlationID", m.CorrelationID)
	}
	c.dispatch(turn, t, info, m)
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

// dispatch checks what is specific to WTP (the members the operation needs, and that the
// TD's WTP forms offer it), then performs it with the Thing's operation, which checks
// authorization and what the TD allows.
func (c *conn) dispatch(turn *readerTurn, t *wot.Thing, info *thingInfo, m *Message) {
	if e := checkRequest(c.hctx, t, info, m); e != nil {
		c.replyError(m, e)
		return
	}
	switch m.Operation {
	case OpReadProperty:
		c.run(turn, t.HasHandler(m.Operation, m.Name), func(ctx context.Context) {
			v, err := t.ReadProperty(ctx, m.Name)
			c.answer(t, m, err, &Message{Name: m.Name, Value: v})
		})
	case OpWriteProperty:
		c.run(turn, t.HasHandler(m.Operation, m.Name), func(ctx context.Context) {
			v, err := t.WriteProperty(ctx, m.Name, m.Value)
			c.answer(t, m, err, &Message{Name: m.Name, Value: v})
		})
	case OpReadAllProperties, OpReadMultipleProperties:
		c.run(turn, t.HasHandler(m.Operation, ""), func(ctx context.Context) {
			values, err := t.ReadProperties(ctx, m.Names)
			c.answerValues(t, m, err, values)
		})
	case OpWriteAllProperties, OpWriteMultipleProperties:
		c.run(turn, t.HasHandler(m.Operation, ""), func(ctx context.Context) {
			values, err := t.WriteProperties(ctx, m.Values)
			c.answerValues(t, m, err, values)
		})
	case OpObserveProperty, OpObserveAllProperties, OpSubscribeEvent, OpSubscribeAllEvents:
		c.subscribe(t, m)
	case OpUnobserveProperty, OpUnobserveAllProperties, OpUnsubscribeEvent, OpUnsubscribeAllEvents:
		kind, all, _ := subscriptionKind(m.Operation)
		var names []string
		if !all {
			names = []string{m.Name}
		}
		t.Unsubscribe(c, kind, names)
		resp := &Message{}
		if !all {
			resp.Name = m.Name
		}
		c.reply(t, m, resp)
	case OpInvokeAction:
		c.run(turn, t.HasHandler(m.Operation, m.Name), func(ctx context.Context) {
			inv, err := t.InvokeAction(ctx, m.Name, m.Input)
			if err != nil {
				c.fail(m, err)
				return
			}
			c.reply(t, m, &Message{Name: m.Name, Output: inv.Output, Status: inv.Status})
		})
	case OpQueryAction:
		st, err := t.QueryAction(c.hctx, m.ActionID)
		c.answer(t, m, err, &Message{Name: st.Name, Status: &st})
	case OpCancelAction:
		err := t.CancelAction(c.hctx, m.ActionID)
		c.answer(t, m, err, &Message{ActionID: m.ActionID})
	case OpQueryAllActions:
		st, err := t.QueryAllActions(c.hctx)
		c.answer(t, m, err, &Message{Statuses: st})
	}
}

// checkRequest checks the members the operation needs and that the TD's WTP forms offer it
// on an existing affordance (unknown names are the Thing's to refuse).
func checkRequest(ctx context.Context, t *wot.Thing, info *thingInfo, m *Message) *wot.Error {
	op := m.Operation
	switch op {
	case OpReadProperty, OpWriteProperty, OpObserveProperty, OpUnobserveProperty:
		if m.Name == "" {
			return missing("name", op, "the property name")
		}
		if op == OpWriteProperty && m.Value == nil {
			return missing("value", op, "the value to write")
		}
		ops, ok := info.props[m.Name]
		switch {
		case !ok:
			return wot.NotFound("Thing %s has no property %q", t.ID(), m.Name)
		case (op == OpReadProperty || op == OpObserveProperty) && info.writeOnly[m.Name], op == OpWriteProperty && info.readOnly[m.Name]:
			return nil // the Thing explains it (write-only, read-only)
		case !offers(ops, op):
			return notOffered(td.KindProperty, m.Name, op)
		}
	case OpSubscribeEvent, OpUnsubscribeEvent:
		if m.Name == "" {
			return missing("name", op, "the name of the event")
		}
		ops, ok := info.events[m.Name]
		if !ok {
			return wot.NotFound("Thing %s has no event %q", t.ID(), m.Name)
		}
		if !offers(ops, op) {
			return notOffered(td.KindEvent, m.Name, op)
		}
	case OpInvokeAction:
		if m.Name == "" {
			return missing("name", op, "the action name")
		}
		ops, ok := info.actions[m.Name]
		if !ok {
			return wot.NotFound("Thing %s has no action %q", t.ID(), m.Name)
		}
		if !ops.has(op) {
			return notOffered(td.KindAction, m.Name, op)
		}
	case OpQueryAction, OpCancelAction:
		if m.ActionID == "" {
			return missing("actionID", op, "the actionID from the invokeaction response")
		}
		// The instance's action decides what is offered; an unknown or invisible instance
		// is the Thing's 404.
		if name := t.ActionOf(ctx, m.ActionID); name != "" && !info.actions[name].has(op) {
			return notOffered(td.KindAction, name, op)
		}
	case OpReadMultipleProperties:
		if m.Names == nil {
			return missing("names", op, "the property names")
		}
		fallthrough
	default: // the Thing-level operations
		if op == OpWriteAllProperties || op == OpWriteMultipleProperties {
			if m.Values == nil {
				return missing("values", op, "the values to write")
			}
		}
		if !offers(info.thingOps, op) {
			return thingNotOffered(t, op)
		}
		if op == OpWriteAllProperties && len(m.Values) > 0 {
			for _, name := range sortedKeys(m.Values) {
				if _, ok := info.props[name]; !ok || info.readOnly[name] {
					return nil // the Thing names the bad one
				}
			}
			if name := t.MissingWritable(m.Values); name != "" {
				return wot.BadRequest("missing writeable property %q; writeallproperties needs a value for every writeable property", name)
			}
		}
	}
	return nil
}

// offers reports whether ops offers op; undoing is allowed wherever doing is offered, so a
// consumer can always stop what it was allowed to start.
func offers(ops opSet, op string) bool {
	return ops.has(op) || (op != observeOf(op) && ops.has(observeOf(op)))
}

// answer replies with resp, or with the problem for err.
func (c *conn) answer(t *wot.Thing, req *Message, err error, resp *Message) {
	if err != nil {
		c.fail(req, err)
		return
	}
	c.reply(t, req, resp)
}

// answerValues answers a multi-property operation; a failure carries the values done so far.
func (c *conn) answerValues(t *wot.Thing, req *Message, err error, values map[string]json.RawMessage) {
	if err != nil {
		c.replyErrorValues(req, wot.ProblemOf(err), values)
		return
	}
	c.reply(t, req, &Message{Values: values})
}

// subscribe serves the four observe/subscribe operations. The response and any catch-up
// replay go out in that order, before every later notification of this Thing.
func (c *conn) subscribe(t *wot.Thing, m *Message) {
	kind, all, _ := subscriptionKind(m.Operation)
	var names []string
	if !all {
		names = []string{m.Name}
	}
	st := &subTag{thingID: t.ID(), op: m.Operation, corr: m.CorrelationID, pending: true}
	if err := t.Subscribe(c.hctx, c, kind, names, st, m.LastNotificationID); err != nil {
		c.fail(m, err)
		return
	}
	if c.things == nil {
		c.things = map[*wot.Thing]struct{}{}
	}
	c.things[t] = struct{}{}
	resp := &Message{}
	if !all {
		resp.Name = m.Name
	}
	c.subscribed(st, outItem{msg: c.response(t, m, resp)})
}

// subscriptionKind classifies one of the eight subscription operations.
func subscriptionKind(op string) (kind td.Kind, all, observe bool) {
	switch op {
	case OpObserveProperty:
		return td.KindProperty, false, true
	case OpUnobserveProperty:
		return td.KindProperty, false, false
	case OpObserveAllProperties:
		return td.KindProperty, true, true
	case OpUnobserveAllProperties:
		return td.KindProperty, true, false
	case OpSubscribeEvent:
		return td.KindEvent, false, true
	case OpUnsubscribeEvent:
		return td.KindEvent, false, false
	case OpSubscribeAllEvents:
		return td.KindEvent, true, true
	}
	return td.KindEvent, true, false // OpUnsubscribeAllEvents
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

// response completes resp as the success response to req.
func (c *conn) response(t *wot.Thing, req *Message, resp *Message) *Message {
	resp.ThingID = t.ID()
	resp.MessageID = NewUUID()
	resp.MessageType = MessageTypeResponse
	resp.Operation = req.Operation
	resp.CorrelationID = req.CorrelationID
	if resp.Timestamp.IsZero() {
		resp.Timestamp = time.Now()
	}
	return resp
}

// reply queues a success response to req.
func (c *conn) reply(t *wot.Thing, req *Message, resp *Message) {
	c.queue(outItem{msg: c.response(t, req, resp)})
}

// replyError queues an error response echoing what could be read of req.
func (c *conn) replyError(req *Message, e *wot.Error) {
	c.replyErrorValues(req, e, nil)
}

func (c *conn) replyErrorValues(req *Message, e *wot.Error, values map[string]json.RawMessage) {
	resp := &Message{MessageID: NewUUID(), MessageType: MessageTypeResponse, Error: e, Values: values, Timestamp: time.Now()}
	if req != nil {
		resp.ThingID, resp.Operation, resp.CorrelationID = req.ThingID, req.Operation, req.CorrelationID
		resp.Name, resp.Names, resp.ActionID = req.Name, req.Names, req.ActionID
	}
	if resp.ThingID == "" {
		resp.ThingID = c.b.soleThingID(c.path)
	}
	c.b.stats.countError(e.Status)
	c.queue(outItem{msg: resp})
}

// fail answers req with the problem for err (the Thing's, or one of ours).
func (c *conn) fail(req *Message, err error) {
	c.replyError(req, wot.ProblemOf(err))
}

func notOffered(kind td.Kind, name, op string) *wot.Error {
	return wot.BadRequest("%s %q does not offer %s over the Web Thing Protocol (no form with subprotocol %q lists it)", kind, name, op, Subprotocol)
}

func thingNotOffered(t *wot.Thing, op string) *wot.Error {
	return wot.BadRequest("Thing %s does not offer %s over the Web Thing Protocol (no Thing-level form with subprotocol %q lists it)", t.ID(), op, Subprotocol)
}

func missing(member, op, what string) *wot.Error {
	return wot.BadRequest("missing member %q: %s needs %s", member, op, what)
}
