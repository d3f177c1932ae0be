package wot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/wotgen/wotgen/runtime/internal/uritemplate"
	"github.com/wotgen/wotgen/runtime/td"
)

// affordance checks that name exists in the TD (a 404 *Error otherwise, as the Thing would
// answer). An open TD (Dial with a URL a binding claims) allows every name.
func (c *ConsumedThing) affordance(k td.Kind, name string) error {
	if c.open {
		return nil
	}
	var ok bool
	switch k {
	case td.KindProperty:
		_, ok = c.td.Properties[name]
	case td.KindAction:
		_, ok = c.td.Actions[name]
	case td.KindEvent:
		_, ok = c.td.Events[name]
	}
	if !ok {
		return NotFound("Thing %s has no %s %q", c.thingID, k, name)
	}
	return nil
}

func (c *ConsumedThing) property(name string) *td.PropertyAffordance {
	if c.open {
		return nil
	}
	return c.td.Properties[name]
}

// ReadProperty returns the current value of property name.
func (c *ConsumedThing) ReadProperty(ctx context.Context, name string, opts ...CallOption) (json.RawMessage, error) {
	if err := c.affordance(td.KindProperty, name); err != nil {
		return nil, err
	}
	if p := c.property(name); p != nil && p.IsWriteOnly() {
		return nil, BadRequest("property %q of %s is write-only; it cannot be read", name, c.thingID)
	}
	resp, err := c.call(ctx, td.OpReadProperty, name, newCallConfig(opts), nil)
	if err != nil {
		return nil, err
	}
	if resp.Value == nil {
		return nil, fmt.Errorf("wot: the Thing's readproperty response for %q has no value (a protocol violation by the Thing)", name)
	}
	return resp.Value, nil
}

// WriteProperty sets property name to v (marshalled with encoding/json; a json.RawMessage is
// sent as is). It returns the value the Thing confirms, or nil when the Thing accepted the
// write without confirming it.
func (c *ConsumedThing) WriteProperty(ctx context.Context, name string, v any, opts ...CallOption) (json.RawMessage, error) {
	if err := c.affordance(td.KindProperty, name); err != nil {
		return nil, err
	}
	if p := c.property(name); p != nil && p.IsReadOnly() {
		return nil, BadRequest("property %q of %s is read-only; it cannot be written", name, c.thingID)
	}
	raw, err := c.outgoing(td.KindProperty, name, "value", v)
	if err != nil {
		return nil, err
	}
	resp, err := c.call(ctx, td.OpWriteProperty, name, newCallConfig(opts), func(r *Request) { r.Value = raw })
	if err != nil {
		return nil, err
	}
	return resp.Value, nil
}

// ReadAllProperties returns every readable property. Without a usable Thing-level form, or
// when the Thing fails the Thing-level request (node-wot answers 500 when any property, even a
// write-only one, lacks a read handler), it reads them one by one. If reading fails part way,
// the values read come with the error.
func (c *ConsumedThing) ReadAllProperties(ctx context.Context, opts ...CallOption) (map[string]json.RawMessage, error) {
	cc := newCallConfig(opts)
	if r := c.routeFor(td.OpReadAllProperties, ""); r.err == nil || c.open {
		resp, err := c.call(ctx, td.OpReadAllProperties, "", cc, nil)
		if st := StatusOf(err); err == nil || c.open || ctx.Err() != nil || (st < 500 && st != 404 && st != 405) {
			return valuesOf(resp), err
		}
	}
	var names []string
	for _, n := range c.td.PropertyNames() {
		if !c.td.Properties[n].IsWriteOnly() {
			names = append(names, n)
		}
	}
	return c.readEach(ctx, names, cc)
}

// ReadMultipleProperties returns the named properties (partial values with an error, as
// ReadAllProperties).
func (c *ConsumedThing) ReadMultipleProperties(ctx context.Context, names []string, opts ...CallOption) (map[string]json.RawMessage, error) {
	if len(names) == 0 {
		return nil, BadRequest("readmultipleproperties needs at least one property name")
	}
	for _, n := range names {
		if !c.open && c.td.Properties[n] == nil {
			return nil, BadRequest("Thing %s has no property %q", c.thingID, n) // 400 for multi-property operations
		}
	}
	cc := newCallConfig(opts)
	if r := c.routeFor(td.OpReadMultipleProperties, ""); r.err == nil || c.open {
		resp, err := c.call(ctx, td.OpReadMultipleProperties, "", cc, func(r *Request) { r.Names = names })
		return valuesOf(resp), err
	}
	return c.readEach(ctx, names, cc)
}

// readEach is the per-property fallback of the read meta operations.
func (c *ConsumedThing) readEach(ctx context.Context, names []string, cc *callConfig) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(names))
	var firstErr error
	for _, n := range names {
		r := c.routeFor(td.OpReadProperty, n)
		if r.err != nil {
			firstErr = cmpOr(firstErr, fmt.Errorf("wot: %s: %w", c.thingID, r.err))
			continue
		}
		v, err := c.ReadProperty(ctx, n, WithURIVariables(c.varsFor(td.KindProperty, n, r.form.Href, cc.uriVars)))
		if err != nil {
			firstErr = cmpOr(firstErr, fmt.Errorf("reading property %q: %w", n, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		out[n] = v
	}
	return out, firstErr
}

// WriteAllProperties writes every writable property (the Thing rejects a missing one) and
// returns the values the Thing confirms; on a partial failure the values it did write come
// with the error. Without a usable Thing-level form it writes them one by one.
func (c *ConsumedThing) WriteAllProperties(ctx context.Context, values map[string]any, opts ...CallOption) (map[string]json.RawMessage, error) {
	return c.writeMany(ctx, td.OpWriteAllProperties, values, newCallConfig(opts))
}

// WriteMultipleProperties writes the given properties, like WriteAllProperties.
func (c *ConsumedThing) WriteMultipleProperties(ctx context.Context, values map[string]any, opts ...CallOption) (map[string]json.RawMessage, error) {
	return c.writeMany(ctx, td.OpWriteMultipleProperties, values, newCallConfig(opts))
}

func (c *ConsumedThing) writeMany(ctx context.Context, op string, values map[string]any, cc *callConfig) (map[string]json.RawMessage, error) {
	if len(values) == 0 && op == td.OpWriteMultipleProperties {
		return nil, BadRequest("writemultipleproperties needs at least one value")
	}
	names := make([]string, 0, len(values))
	raws := make(map[string]json.RawMessage, len(values))
	for n, v := range values {
		if !c.open {
			p := c.td.Properties[n]
			if p == nil {
				return nil, BadRequest("Thing %s has no property %q", c.thingID, n) // 400 for multi-property operations
			}
			if p.IsReadOnly() {
				return nil, BadRequest("property %q of %s is read-only; it cannot be written", n, c.thingID)
			}
		}
		raw, err := c.outgoing(td.KindProperty, n, "values."+n, v)
		if err != nil {
			return nil, err
		}
		raws[n] = raw
		names = append(names, n)
	}
	sort.Strings(names)
	if r := c.routeFor(op, ""); r.err == nil || c.open {
		obj, err := json.Marshal(raws)
		if err != nil {
			return nil, fmt.Errorf("wot: encoding the values: %w", err)
		}
		resp, err := c.call(ctx, op, "", cc, func(r *Request) { r.Value = obj })
		return valuesOf(resp), err
	}
	out := make(map[string]json.RawMessage, len(names))
	for _, n := range names {
		r := c.routeFor(td.OpWriteProperty, n)
		if r.err != nil {
			return out, fmt.Errorf("wot: %s: %w", c.thingID, r.err)
		}
		v, err := c.WriteProperty(ctx, n, raws[n], WithURIVariables(c.varsFor(td.KindProperty, n, r.form.Href, cc.uriVars)))
		if err != nil {
			return out, fmt.Errorf("writing property %q: %w", n, err)
		}
		if v != nil {
			out[n] = v
		}
	}
	return out, nil
}

// varsFor keeps the URI variables of a meta operation that apply to one affordance's form
// (declared by it or used by its href), for the per-property fallback.
func (c *ConsumedThing) varsFor(k td.Kind, name, href string, vars map[string]any) map[string]any {
	if len(vars) == 0 {
		return nil
	}
	schemas := c.uriVariableSchemas(k, name)
	used := uritemplate.Variables(href)
	out := map[string]any{}
	for n, v := range vars {
		if _, ok := schemas[n]; ok || containsString(used, n) {
			out[n] = v
		}
	}
	return out
}

func valuesOf(resp *Response) map[string]json.RawMessage {
	if resp == nil {
		return nil
	}
	return resp.Values
}

// ObserveProperty calls fn for every change of property name until the Subscription is
// stopped (see Subscription for ordering, reconnects and the overflow policy). The Thing
// sends no initial value; read it if you need one.
func (c *ConsumedThing) ObserveProperty(ctx context.Context, name string, fn func(Notification), opts ...CallOption) (*Subscription, error) {
	if err := c.affordance(td.KindProperty, name); err != nil {
		return nil, err
	}
	return c.subscribe(ctx, td.OpObserveProperty, name, fmt.Sprintf("property %q", name), fn, opts)
}

// ObserveAllProperties calls fn for every change of any property.
func (c *ConsumedThing) ObserveAllProperties(ctx context.Context, fn func(Notification), opts ...CallOption) (*Subscription, error) {
	return c.subscribe(ctx, td.OpObserveAllProperties, "", "all properties", fn, opts)
}

// SubscribeEvent calls fn for every occurrence of event name.
func (c *ConsumedThing) SubscribeEvent(ctx context.Context, name string, fn func(Notification), opts ...CallOption) (*Subscription, error) {
	if err := c.affordance(td.KindEvent, name); err != nil {
		return nil, err
	}
	return c.subscribe(ctx, td.OpSubscribeEvent, name, fmt.Sprintf("event %q", name), fn, opts)
}

// SubscribeAllEvents calls fn for every occurrence of any event.
func (c *ConsumedThing) SubscribeAllEvents(ctx context.Context, fn func(Notification), opts ...CallOption) (*Subscription, error) {
	return c.subscribe(ctx, td.OpSubscribeAllEvents, "", "all events", fn, opts)
}

func (c *ConsumedThing) subscribe(ctx context.Context, op, name, label string, fn func(Notification), opts []CallOption) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("wot: " + op + ": the callback is nil")
	}
	r := c.routeFor(op, name)
	if r.err != nil {
		return nil, fmt.Errorf("wot: %s: %w", c.thingID, r.err)
	}
	req, err := c.prepare(r, op, name, newCallConfig(opts))
	if err != nil {
		return nil, err
	}
	cl, err := c.clientFor(ctx, r.b, []Form{r.form})
	if err != nil {
		return nil, err
	}
	s := newSubscription(label, fn, c.cfg.SubscriptionQueue, c.forgetSub)
	if !c.addSub(s) {
		s.end()
		return nil, ErrClosed
	}
	sctx, cancel := c.withTimeout(ctx)
	defer cancel()
	stop, err := cl.Subscribe(sctx, req, s)
	if err != nil {
		s.end()
		c.forgetSub(s)
		return nil, err
	}
	if stop == nil {
		stop = func(context.Context) error { return nil }
	}
	if !s.started(stop) {
		// Ended meanwhile (Close, overflow, failure): nobody else will end it on the wire.
		_ = stop(sctx)
	}
	return s, nil
}

// InvokeAction invokes action name with input (marshalled with encoding/json; nil sends no
// input).
func (c *ConsumedThing) InvokeAction(ctx context.Context, name string, input any, opts ...CallOption) (*Invocation, error) {
	if err := c.affordance(td.KindAction, name); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if input != nil {
		var err error
		if raw, err = c.outgoing(td.KindAction, name, "input", input); err != nil {
			return nil, err
		}
	}
	req, resp, err := c.callReq(ctx, td.OpInvokeAction, name, newCallConfig(opts), func(r *Request) { r.Value = raw })
	if err != nil {
		return nil, err
	}
	inv := &Invocation{Name: name}
	if resp.Status == nil {
		inv.Output = resp.Value
		return inv, nil
	}
	if resp.Status.ActionID == "" && resp.Status.Href == "" {
		return nil, fmt.Errorf("wot: the Thing's asynchronous invokeaction response for %q identifies no action instance (no actionID, no status URL), so it cannot be queried (a protocol violation by the Thing)", name)
	}
	st := *resp.Status
	if st.Name == "" {
		st.Name = name
	}
	if st.Href != "" {
		// A relative status URL (an HTTP Location) is relative to the invocation's URL.
		h, err := req.URL.Parse(st.Href)
		if err != nil {
			return nil, fmt.Errorf("wot: the Thing's status URL %q for action %q: %w", st.Href, name, err)
		}
		st.Href = h.String()
	}
	inv.Status = &st
	return inv, nil
}

// QueryAction returns the status of an asynchronous action instance (the Status of an
// Invocation, or one of QueryAllActions). A finished instance the Thing no longer keeps (or a
// cancelled one) is a 404 (IsNotFound).
func (c *ConsumedThing) QueryAction(ctx context.Context, st *ActionStatus, opts ...CallOption) (*ActionStatus, error) {
	resp, err := c.actionCall(ctx, td.OpQueryAction, st, newCallConfig(opts))
	if err != nil {
		return nil, err
	}
	if resp.Status == nil {
		return nil, fmt.Errorf("wot: the Thing's queryaction response for %s has no status (a protocol violation by the Thing)", instanceOf(st))
	}
	out := *resp.Status
	if out.ActionID == "" {
		out.ActionID = st.ActionID
	}
	if out.Href == "" {
		out.Href = st.Href
	}
	if out.Name == "" {
		out.Name = st.Name
	}
	return &out, nil
}

// CancelAction cancels an asynchronous action instance; the Thing forgets it.
func (c *ConsumedThing) CancelAction(ctx context.Context, st *ActionStatus, opts ...CallOption) error {
	_, err := c.actionCall(ctx, td.OpCancelAction, st, newCallConfig(opts))
	return err
}

func instanceOf(st *ActionStatus) string {
	if st.ActionID != "" {
		return st.ActionID
	}
	return st.Href
}

// actionCall sends queryaction or cancelaction for instance st: to its status URL when it has
// one (HTTP), else through the action's form for op, else the form it was invoked through
// (WTP: the request carries the actionID and the Thing decides).
func (c *ConsumedThing) actionCall(ctx context.Context, op string, st *ActionStatus, cc *callConfig) (*Response, error) {
	if st == nil || (st.ActionID == "" && st.Href == "") {
		return nil, BadRequest("%s needs an action instance with an actionID or a status URL (the Status of InvokeAction's result)", op)
	}
	if st.Name != "" && !c.open {
		if err := c.affordance(td.KindAction, st.Name); err != nil {
			return nil, err
		}
	}
	var r route
	if st.Href != "" {
		var err error
		if r, err = c.hrefRoute(op, st); err != nil {
			return nil, err
		}
	} else {
		r = c.instanceRoute(op, st.Name)
		if r.err != nil {
			return nil, fmt.Errorf("wot: %s: %w", c.thingID, r.err)
		}
	}
	req, err := c.prepare(r, op, st.Name, cc)
	if err != nil {
		return nil, err
	}
	cp := *st
	req.Action = &cp
	return c.do(ctx, r, req)
}

// instanceRoute finds the form for op on an instance known by its actionID only.
func (c *ConsumedThing) instanceRoute(op, name string) route {
	names := c.td.ActionNames()
	if name != "" {
		names = []string{name}
	}
	for _, try := range []string{op, td.OpInvokeAction} {
		for _, n := range names {
			if r := c.routeFor(try, n); r.err == nil {
				return r
			}
		}
		if c.open {
			if r := c.routeFor(try, name); r.err == nil {
				return r
			}
		}
	}
	if name != "" {
		return c.routeFor(op, name)
	}
	return route{err: fmt.Errorf("no usable form for %s: no action has a form for it or for invokeaction", op)}
}

// hrefRoute makes a form for the status URL of an instance and picks the binding for it:
// the one the action was invoked through, if it accepts it, else the first that does.
func (c *ConsumedThing) hrefRoute(op string, st *ActionStatus) (route, error) {
	u, err := c.td.ResolveHref(st.Href, c.docURL)
	if err != nil {
		return route{}, BadRequest("the status URL %q of the action instance: %v", st.Href, err)
	}
	f := &td.Form{Href: u.String(), Op: td.StringList{op}, ContentType: "application/json"}
	if st.Name != "" {
		if inv := c.routeFor(td.OpInvokeAction, st.Name); inv.err == nil {
			f.Security = inv.form.Security
			f.Subprotocol = inv.form.Subprotocol
			if inv.b.Accepts(f, u, op) {
				return route{b: inv.b, form: Form{Form: f, URL: u}}, nil
			}
		}
	}
	for _, b := range c.binds {
		if b.Accepts(f, u, op) {
			return route{b: b, form: Form{Form: f, URL: u}}, nil
		}
	}
	return route{}, fmt.Errorf("wot: %s: no binding accepts the status URL %s of the action instance for %s", c.thingID, td.RedactURL(u), op)
}

// QueryAllActions returns the status of every action instance the Thing keeps, per action
// name, newest first.
func (c *ConsumedThing) QueryAllActions(ctx context.Context, opts ...CallOption) (map[string][]ActionStatus, error) {
	resp, err := c.call(ctx, td.OpQueryAllActions, "", newCallConfig(opts), nil)
	if err != nil {
		return nil, err
	}
	if resp.Statuses == nil {
		return map[string][]ActionStatus{}, nil
	}
	return resp.Statuses, nil
}
