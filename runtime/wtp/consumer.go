package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wotgen/wotgen/runtime/wot"
	"net/url"
	"strings"
	"sync"

	"github.com/wotgen/wotgen/runtime/td"
)

// ConsumedThing is the dynamic consumer of one Thing (the Scripting API's ConsumedThing):
// every WTP operation by affordance name, with JSON values.
//
// Connections come from a process-wide pool: every ConsumedThing whose forms resolve to
// the same endpoint with the same credentials (and TLS/HTTP configuration) shares one
// WebSocket (spec §2.3); different credentials never share one. A lost connection is
// redialled with backoff (WithReconnect) and its subscriptions restored. Methods are safe
// for concurrent use.
type ConsumedThing struct {
	td       *td.Thing
	thingID  string
	cfg      *dialConfig
	pool     *pool
	routes   map[opKey]route
	direct   *remoteEndpoint // Dial with a ws URL: every operation goes here
	listener *stateListener
	schemas  *schemaCache

	mu     sync.Mutex
	closed bool
	conns  map[*remoteEndpoint]*clientConn
	subs   map[*Subscription]struct{}
}

// Dial connects to a Thing. rawURL is either the http(s) URL of its TD (fetched as
// RequestThingDescription does, then Consume) or a ws(s) WTP endpoint, which needs
// WithThingID because there is no TD to take the id from.
func Dial(ctx context.Context, rawURL string, opts ...DialOption) (*ConsumedThing, error) {
	cfg := newDialConfig(opts)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wtp: Dial %q: %w", rawURL, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		t, docURL, err := fetchTD(ctx, rawURL, cfg)
		if err != nil {
			return nil, err
		}
		return consume(ctx, t, docURL, cfg)
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("wtp: Dial %q: want an http(s) TD URL or a ws(s) WTP endpoint", rawURL)
	}
	if cfg.thingID == "" {
		return nil, fmt.Errorf("wtp: Dial %s: a ws:// or wss:// endpoint needs WithThingID (every message names its Thing); or Dial the TD's http(s) URL", redact(u))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Fragment = ""
	c := newConsumed(cfg, &td.Thing{ID: cfg.thingID}, cfg.thingID)
	c.direct = &remoteEndpoint{spec: &connSpec{target: u, display: redact(u), cfg: cfg, auth: cfg.authWithoutTD}}
	if err := c.connect(ctx, []*remoteEndpoint{c.direct}); err != nil {
		return nil, err
	}
	return c, nil
}

// Consume connects to the Thing described by t. docURL is where t came from ("" if
// unknown): relative hrefs resolve against it when t has no base, and it is the Thing's
// id if t has none. Every endpoint the TD's WTP forms name is connected before Consume
// returns, so a wrong address or credentials fail here.
func Consume(ctx context.Context, t *td.Thing, docURL string, opts ...DialOption) (*ConsumedThing, error) {
	if t == nil {
		return nil, errors.New("wtp: Consume: the TD is nil")
	}
	var du *url.URL
	if docURL != "" {
		var err error
		if du, err = url.Parse(docURL); err != nil {
			return nil, fmt.Errorf("wtp: Consume: document URL %q: %w", docURL, err)
		}
	}
	return consume(ctx, t, du, newDialConfig(opts))
}

func consume(ctx context.Context, t *td.Thing, docURL *url.URL, cfg *dialConfig) (*ConsumedThing, error) {
	id := cfg.thingID
	if id == "" {
		id = t.ID
	}
	if id == "" && docURL != nil {
		id = docURL.String() // spec §3: the TD's URL may stand in for a missing id
	}
	if id == "" {
		return nil, errors.New("wtp: the TD has no id and its URL is unknown; pass WithThingID or the URL it came from")
	}
	t = cloneTD(t) // the caller may go on changing its copy
	c := newConsumed(cfg, t, id)
	var eps []*remoteEndpoint
	c.routes, eps = buildRoutes(t, docURL, cfg)
	var firstErr error
	usable := eps[:0:0]
	for _, ep := range eps {
		if _, err := ep.spec.auth(); err != nil {
			firstErr = firstOf(firstErr, err)
			continue
		}
		usable = append(usable, ep)
	}
	if len(usable) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, fmt.Errorf("wtp: the TD of %s has no Web Thing Protocol form (want \"subprotocol\": %q and a ws:// or wss:// href, spec §2.1)", id, Subprotocol)
	}
	if err := c.connect(ctx, usable); err != nil {
		return nil, err
	}
	return c, nil
}

// cloneTD deep-copies t through its JSON form; a hand-built TD that does not survive
// the round trip is used as is rather than rejected.
func cloneTD(t *td.Thing) *td.Thing {
	b, err := json.Marshal(t)
	if err != nil {
		return t
	}
	c := new(td.Thing)
	if err := json.Unmarshal(b, c); err != nil {
		return t
	}
	return c
}

func firstOf(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func newConsumed(cfg *dialConfig, t *td.Thing, id string) *ConsumedThing {
	c := &ConsumedThing{
		td:      t,
		thingID: id,
		cfg:     cfg,
		pool:    defaultPool,
		conns:   map[*remoteEndpoint]*clientConn{},
		subs:    map[*Subscription]struct{}{},
		schemas: &schemaCache{},
	}
	return c
}

// connect opens (or joins) the connections of eps; on failure nothing stays open.
func (c *ConsumedThing) connect(ctx context.Context, eps []*remoteEndpoint) error {
	if c.cfg.stateFunc != nil {
		c.listener = newStateListener(c.cfg.stateFunc)
	}
	for _, ep := range eps {
		if _, err := c.conn(ctx, ep); err != nil {
			c.close(false)
			return err
		}
	}
	if c.listener != nil {
		c.listener.post(ConnConnected)
	}
	return nil
}

// conn returns the open connection of ep, joining or dialling one if needed (also after a
// connection died for good, so a ConsumedThing recovers once the Thing is back).
func (c *ConsumedThing) conn(ctx context.Context, ep *remoteEndpoint) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	old := c.conns[ep]
	c.mu.Unlock()
	if old != nil && !old.isDead() {
		return old, nil
	}
	nc, err := c.pool.acquire(ctx, ep.spec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.pool.release(nc)
		return nil, ErrClosed
	}
	cur := c.conns[ep]
	if cur != nil && cur != old && !cur.isDead() { // lost a race with another caller
		c.mu.Unlock()
		c.pool.release(nc)
		return cur, nil
	}
	c.conns[ep] = nc
	c.mu.Unlock()
	if c.listener != nil {
		nc.addListener(c.listener)
	}
	if cur != nil { // replaced a connection that died for good
		if c.listener != nil {
			cur.removeListener(c.listener)
			c.listener.post(ConnConnected)
		}
		c.pool.release(cur)
	}
	return nc, nil
}

// TD returns the Thing Description (for Dial with a ws URL, one with only the id set).
// Do not modify it.
func (c *ConsumedThing) TD() *td.Thing { return c.td }

// ThingID returns the thingID used in every message.
func (c *ConsumedThing) ThingID() string { return c.thingID }

// Close stops every subscription and releases the connections; a connection nobody else
// uses is closed. Close does not wait for a subscription callback that is running.
func (c *ConsumedThing) Close() error {
	c.close(true)
	return nil
}

// close releases everything; report says whether the state callback hears ConnClosed
// (not when Dial fails half way: it never reported ConnConnected either).
func (c *ConsumedThing) close(report bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	conns := c.conns
	c.conns = map[*remoteEndpoint]*clientConn{}
	c.mu.Unlock()

	// A connection others still use needs the Thing told; one about to close does not.
	ctx, cancel := context.WithTimeout(context.Background(), unsubscribeOnClose)
	defer cancel()
	for s := range subs {
		s.end(nil)
		if c.pool.shared(s.conn) {
			_ = s.conn.removeSub(ctx, s)
		} else {
			s.conn.detach(s)
		}
	}
	for _, cc := range conns {
		if c.listener != nil {
			cc.removeListener(c.listener)
		}
		c.pool.release(cc)
	}
	if c.listener != nil {
		if report {
			c.listener.post(ConnClosed)
		}
		c.listener.close()
	}
}

func (c *ConsumedThing) addSub(s *Subscription) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.subs[s] = struct{}{}
	return true
}

func (c *ConsumedThing) forgetSub(s *Subscription) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
}

// --- routing ---

// affordance checks that name exists in the TD (a 404 *wot.Error otherwise, like the Thing
// would answer). Without a real TD (Dial with a ws URL) everything is allowed.
func (c *ConsumedThing) affordance(kind, name string) error {
	if c.direct != nil {
		return nil
	}
	var ok bool
	switch kind {
	case "property":
		_, ok = c.td.Properties[name]
	case "action":
		_, ok = c.td.Actions[name]
	case "event":
		_, ok = c.td.Events[name]
	}
	if !ok {
		return wot.NotFound("Thing %s has no %s %q", c.thingID, kind, name)
	}
	return nil
}

// endpointFor returns where op on name goes (spec §2.1).
func (c *ConsumedThing) endpointFor(op, name string) (*remoteEndpoint, error) {
	if c.direct != nil {
		return c.direct, nil
	}
	r, ok := c.routes[opKey{op, name}]
	if !ok {
		what := "the Thing"
		if name != "" {
			what = fmt.Sprintf("%q", name)
		}
		return nil, fmt.Errorf("wtp: the TD of %s offers no Web Thing Protocol form for %s on %s (a form needs \"op\" including it, \"subprotocol\": %q and a ws:// or wss:// href)", c.thingID, op, what, Subprotocol)
	}
	return r.ep, r.err
}

// request sends m over the endpoint of (op, name) and returns the response; a problem
// the Thing reports is returned as *wot.Error together with the response (multi-property
// operations carry partial values in it).
func (c *ConsumedThing) request(ctx context.Context, name string, m *Message) (*Message, error) {
	ep, err := c.endpointFor(m.Operation, name)
	if err != nil {
		return nil, err
	}
	return c.requestOn(ctx, ep, m)
}

func (c *ConsumedThing) requestOn(ctx context.Context, ep *remoteEndpoint, m *Message) (*Message, error) {
	cc, err := c.conn(ctx, ep)
	if err != nil {
		return nil, err
	}
	m.ThingID = c.thingID
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := cc.roundTrip(ctx, m)
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return resp, resp.Error
	}
	return resp, nil
}

// withTimeout applies WithRequestTimeout to a context without deadline. (Connections are
// shared, so this is the ConsumedThing's setting, not the connection's.)
func (c *ConsumedThing) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.cfg.requestTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.requestTimeout)
}

// --- properties ---

// ReadProperty returns the current value of property name.
func (c *ConsumedThing) ReadProperty(ctx context.Context, name string) (json.RawMessage, error) {
	if err := c.affordance("property", name); err != nil {
		return nil, err
	}
	if c.direct == nil && c.td.Properties[name].IsWriteOnly() {
		return nil, wot.BadRequest("property %q of %s is write-only; it cannot be read", name, c.thingID)
	}
	resp, err := c.request(ctx, name, &Message{Operation: OpReadProperty, Name: name})
	if err != nil {
		return nil, err
	}
	if resp.Value == nil {
		return nil, fmt.Errorf("wtp: the Thing's readproperty response for %q has no value (a protocol violation by the Thing)", name)
	}
	return resp.Value, nil
}

// WriteProperty sets property name to v (marshalled with encoding/json; a json.RawMessage
// is sent as is). It returns the value the Thing confirms, or nil when the Thing accepted
// the write without confirming it (write-only property, queued write).
func (c *ConsumedThing) WriteProperty(ctx context.Context, name string, v any) (json.RawMessage, error) {
	if err := c.affordance("property", name); err != nil {
		return nil, err
	}
	if c.direct == nil && c.td.Properties[name].IsReadOnly() {
		return nil, wot.BadRequest("property %q of %s is read-only; it cannot be written", name, c.thingID)
	}
	raw, err := c.outgoing("property", name, "value", v)
	if err != nil {
		return nil, err
	}
	resp, err := c.request(ctx, name, &Message{Operation: OpWriteProperty, Name: name, Value: raw})
	if err != nil {
		return nil, err
	}
	return resp.Value, nil
}

// ObserveProperty calls fn for every change of property name until the Subscription is
// stopped (see Subscription for ordering, reconnects and the overflow policy). The
// Thing sends no initial value; read it if you need one.
func (c *ConsumedThing) ObserveProperty(ctx context.Context, name string, fn func(Notification)) (*Subscription, error) {
	if err := c.affordance("property", name); err != nil {
		return nil, err
	}
	return c.subscribe(ctx, OpObserveProperty, topicKey{c.thingID, kindProperty, name}, fn)
}

// ObserveAllProperties calls fn for every change of any property.
func (c *ConsumedThing) ObserveAllProperties(ctx context.Context, fn func(Notification)) (*Subscription, error) {
	return c.subscribe(ctx, OpObserveAllProperties, topicKey{c.thingID, kindProperty, ""}, fn)
}

// SubscribeEvent calls fn for every occurrence of event name.
func (c *ConsumedThing) SubscribeEvent(ctx context.Context, name string, fn func(Notification)) (*Subscription, error) {
	if err := c.affordance("event", name); err != nil {
		return nil, err
	}
	return c.subscribe(ctx, OpSubscribeEvent, topicKey{c.thingID, kindEvent, name}, fn)
}

// SubscribeAllEvents calls fn for every occurrence of any event.
func (c *ConsumedThing) SubscribeAllEvents(ctx context.Context, fn func(Notification)) (*Subscription, error) {
	return c.subscribe(ctx, OpSubscribeAllEvents, topicKey{c.thingID, kindEvent, ""}, fn)
}

func (c *ConsumedThing) subscribe(ctx context.Context, op string, key topicKey, fn func(Notification)) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("wtp: " + op + ": the callback is nil")
	}
	ep, err := c.endpointFor(op, key.name)
	if err != nil {
		return nil, err
	}
	cc, err := c.conn(ctx, ep)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	s := newSubscription(c, cc, key, fn)
	if !c.addSub(s) {
		s.end(nil)
		return nil, ErrClosed
	}
	if err := cc.subscribe(ctx, s); err != nil {
		s.end(nil)
		return nil, err
	}
	return s, nil
}

// ReadAllProperties returns every readable property. If the Thing fails part way, the
// values it did read are returned together with the error.
func (c *ConsumedThing) ReadAllProperties(ctx context.Context) (map[string]json.RawMessage, error) {
	resp, err := c.request(ctx, "", &Message{Operation: OpReadAllProperties})
	return valuesOf(resp), err
}

// ReadMultipleProperties returns the named properties (partial values with an error, as
// ReadAllProperties).
func (c *ConsumedThing) ReadMultipleProperties(ctx context.Context, names ...string) (map[string]json.RawMessage, error) {
	if len(names) == 0 {
		return nil, wot.BadRequest("readmultipleproperties needs at least one property name")
	}
	for _, n := range names {
		if c.direct == nil && c.td.Properties[n] == nil {
			return nil, wot.BadRequest("Thing %s has no property %q", c.thingID, n) // 400 for multi-property ops (spec §10 item 17)
		}
	}
	resp, err := c.request(ctx, "", &Message{Operation: OpReadMultipleProperties, Names: names})
	return valuesOf(resp), err
}

// WriteAllProperties writes every writable property (the Thing rejects a missing one) and
// returns the values the Thing confirms; on a partial failure the values it did write
// come with the error.
func (c *ConsumedThing) WriteAllProperties(ctx context.Context, values map[string]any) (map[string]json.RawMessage, error) {
	return c.writeMany(ctx, OpWriteAllProperties, values)
}

// WriteMultipleProperties writes the given properties, like WriteAllProperties.
func (c *ConsumedThing) WriteMultipleProperties(ctx context.Context, values map[string]any) (map[string]json.RawMessage, error) {
	return c.writeMany(ctx, OpWriteMultipleProperties, values)
}

func (c *ConsumedThing) writeMany(ctx context.Context, op string, values map[string]any) (map[string]json.RawMessage, error) {
	if len(values) == 0 && op == OpWriteMultipleProperties {
		return nil, wot.BadRequest("writemultipleproperties needs at least one value")
	}
	raws := make(map[string]json.RawMessage, len(values))
	for n, v := range values {
		if c.direct == nil && c.td.Properties[n] == nil {
			return nil, wot.BadRequest("Thing %s has no property %q", c.thingID, n) // 400 for multi-property ops (spec §10 item 17)
		}
		if c.direct == nil && c.td.Properties[n].IsReadOnly() {
			return nil, wot.BadRequest("property %q of %s is read-only; it cannot be written", n, c.thingID)
		}
		raw, err := c.outgoing("property", n, "values."+n, v)
		if err != nil {
			return nil, err
		}
		raws[n] = raw
	}
	resp, err := c.request(ctx, "", &Message{Operation: op, Values: raws})
	return valuesOf(resp), err
}

func valuesOf(resp *Message) map[string]json.RawMessage {
	if resp == nil {
		return nil
	}
	return resp.Values
}

// --- actions ---

// Invocation is the result of InvokeAction: Output for a synchronous action; ActionID
// and Status (pending or running, sometimes already finished) for an asynchronous one.
// Wrap it with NewAction for Status, Wait and Cancel.
type Invocation struct {
	Name     string
	Output   json.RawMessage
	ActionID string
	Status   *wot.ActionStatus
}

// Async reports whether the Thing runs the action asynchronously (it returned a status).
func (inv *Invocation) Async() bool { return inv != nil && inv.Status != nil }

// InvokeAction invokes action name with input (marshalled with encoding/json; nil sends
// no input).
func (c *ConsumedThing) InvokeAction(ctx context.Context, name string, input any) (*Invocation, error) {
	if err := c.affordance("action", name); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if input != nil {
		var err error
		if raw, err = c.outgoing("action", name, "input", input); err != nil {
			return nil, err
		}
	}
	resp, err := c.request(ctx, name, &Message{Operation: OpInvokeAction, Name: name, Input: raw})
	if err != nil {
		return nil, err
	}
	inv := &Invocation{Name: name}
	if resp.Status == nil {
		inv.Output = resp.Output
		return inv, nil
	}
	if resp.Status.ActionID == "" {
		return nil, fmt.Errorf("wtp: the Thing's asynchronous invokeaction response for %q has no actionID, so the action cannot be queried (a protocol violation by the Thing)", name)
	}
	st := *resp.Status
	inv.ActionID, inv.Status = st.ActionID, &st
	return inv, nil
}

// QueryAction returns the status of an asynchronous action instance. A finished
// instance the Thing no longer keeps (or a cancelled one) is a 404 (IsNotFound).
func (c *ConsumedThing) QueryAction(ctx context.Context, actionID string) (*wot.ActionStatus, error) {
	return c.queryAction(ctx, "", actionID)
}

// CancelAction cancels an asynchronous action instance; it is forgotten by the Thing.
func (c *ConsumedThing) CancelAction(ctx context.Context, actionID string) error {
	return c.cancelAction(ctx, "", actionID)
}

func (c *ConsumedThing) queryAction(ctx context.Context, name, actionID string) (*wot.ActionStatus, error) {
	if actionID == "" {
		return nil, wot.BadRequest("queryaction needs an actionID")
	}
	ep, err := c.actionEndpoint(OpQueryAction, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.requestOn(ctx, ep, &Message{Operation: OpQueryAction, ActionID: actionID})
	if err != nil {
		return nil, err
	}
	if resp.Status == nil {
		return nil, fmt.Errorf("wtp: the Thing's queryaction response for %s has no status (a protocol violation by the Thing)", actionID)
	}
	st := *resp.Status
	if st.ActionID == "" {
		st.ActionID = actionID
	}
	return &st, nil
}

func (c *ConsumedThing) cancelAction(ctx context.Context, name, actionID string) error {
	if actionID == "" {
		return wot.BadRequest("cancelaction needs an actionID")
	}
	ep, err := c.actionEndpoint(OpCancelAction, name)
	if err != nil {
		return err
	}
	_, err = c.requestOn(ctx, ep, &Message{Operation: OpCancelAction, ActionID: actionID})
	return err
}

// actionEndpoint finds where queryaction/cancelaction go. The requests carry only the
// actionID, so without a name any action's form for op will do; a TD that lists only
// invokeaction gets the request on the invoking endpoint and the Thing decides.
func (c *ConsumedThing) actionEndpoint(op, name string) (*remoteEndpoint, error) {
	if c.direct != nil {
		return c.direct, nil
	}
	names := c.td.ActionNames()
	if name != "" {
		names = []string{name}
	}
	for _, try := range []string{op, OpInvokeAction} {
		for _, n := range names {
			if r, ok := c.routes[opKey{try, n}]; ok && r.ep != nil {
				return r.ep, nil
			}
		}
	}
	return nil, fmt.Errorf("wtp: the TD of %s offers no Web Thing Protocol form for %s", c.thingID, op)
}

// QueryAllActions returns the status of every action instance the Thing keeps, per
// action name, newest first.
func (c *ConsumedThing) QueryAllActions(ctx context.Context) (map[string][]wot.ActionStatus, error) {
	resp, err := c.request(ctx, "", &Message{Operation: OpQueryAllActions})
	if err != nil {
		return nil, err
	}
	if resp.Statuses == nil {
		return map[string][]wot.ActionStatus{}, nil
	}
	return resp.Statuses, nil
}

// State returns the worst state of the ConsumedThing's connections: ConnConnected when
// all are up.
func (c *ConsumedThing) State() ConnState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ConnClosed
	}
	st := ConnConnected
	for _, cc := range c.conns {
		cc.mu.Lock()
		switch {
		case cc.dead || cc.closing:
			st = max(st, ConnClosed)
		case cc.sess == nil:
			st = max(st, ConnReconnecting)
		}
		cc.mu.Unlock()
	}
	return st
}

// marshalOutgoing turns a Go value into JSON for the wire.
func marshalOutgoing(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, wot.BadRequest("the value is not valid JSON")
		}
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wtp: cannot encode the value as JSON: %w", err)
	}
	return b, nil
}
