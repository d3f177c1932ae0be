package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func init() { wot.Register(Binding{}) }

// Binding is the consumer side of the Web Thing Protocol binding, registered with the core
// by this package's init: importing runtime/wtp lets wot.Dial and wot.Consume use the TD's
// WTP forms ("subprotocol": "webthingprotocol", ws:// or wss:// href), and lets wot.Dial
// connect to a ws:// endpoint directly (with wot.WithThingID).
//
// Connections come from a process-wide pool: every consumed Thing whose forms resolve to the
// same endpoint with the same credentials (and HTTP/TLS configuration and options) shares one
// WebSocket (https://w3c.github.io/web-thing-protocol/#websocket-reuse); different credentials never share one. A lost connection is
// redialled with backoff (WithReconnect) and its subscriptions restored with
// lastNotificationID; replayed duplicates are dropped by messageID.
type Binding struct{}

// Name returns "wtp".
func (Binding) Name() string { return "wtp" }

// Accepts reports whether f is a WTP form: subprotocol "webthingprotocol" and a ws or wss
// href (https://w3c.github.io/web-thing-protocol/#protocol-handshake). Every operation goes over the one WebSocket.
func (Binding) Accepts(f *td.Form, u *url.URL, op string) bool {
	if f == nil || u == nil || f.Subprotocol != Subprotocol {
		return false
	}
	s := strings.ToLower(u.Scheme)
	return s == "ws" || s == "wss"
}

// DialURL claims ws:// and wss:// URLs: it returns a TD with one WTP form for every operation
// at u, the Thing named by wot.WithThingID (every WTP message names its Thing). A bearer
// token, else user and password, go in the handshake's Authorization header; an API key
// cannot be placed without the TD's apikey scheme (send it with wot.WithHeader).
func (Binding) DialURL(ctx context.Context, u *url.URL, cfg *wot.Config) (*td.Thing, error) {
	s := strings.ToLower(u.Scheme)
	if s != "ws" && s != "wss" {
		return nil, nil
	}
	if cfg.ThingID == "" {
		return nil, fmt.Errorf("wtp: Dial %s: a ws:// or wss:// endpoint needs wot.WithThingID (every message names its Thing); or Dial the TD's http(s) URL", td.RedactURL(u))
	}
	e := *u
	e.Scheme = s
	e.Fragment = ""
	return &td.Thing{
		Context:             td.Context{{URI: td.ContextV11}},
		ID:                  cfg.ThingID,
		Title:               cfg.ThingID,
		Security:            td.StringList{"any"},
		SecurityDefinitions: anySecurity,
		Forms:               []td.Form{{Href: e.String(), Op: td.StringList(td.AllOps()), Subprotocol: Subprotocol}},
	}, nil
}

// anySecurity stands for the unknown security of a Thing dialled without its TD: the bearer
// token if one was given, else user and password, else nothing.
var anySecurity = map[string]*td.SecurityScheme{
	"any":    {Scheme: td.SchemeCombo, OneOf: []string{"bearer", "basic", "nosec"}},
	"bearer": {Scheme: td.SchemeBearer, In: "header"},
	"basic":  {Scheme: td.SchemeBasic, In: "header"},
	"nosec":  {Scheme: td.SchemeNoSec},
}

// endpoint is one (WebSocket URL, security) pair. Several forms usually share one.
type remoteEndpoint struct {
	spec *connSpec
}

// client is the WTP client of one consumed Thing.
type client struct {
	target   *wot.Target
	opts     *clientOptions
	pool     *pool
	listener *stateListener

	mu     sync.Mutex
	closed bool
	eps    map[string]*remoteEndpoint
	conns  map[*remoteEndpoint]*clientConn
	subs   map[*wsub]*clientConn
}

// Open connects every distinct endpoint of target.Forms, concurrently, so a wrong address or
// credentials fail at Consume.
func (Binding) Open(ctx context.Context, target *wot.Target) (wot.Client, error) {
	if target.ThingID == "" {
		return nil, errors.New("wtp: every message names its Thing, but the TD has no id and its URL is unknown; pass wot.WithThingID or the URL the TD came from")
	}
	c := &client{
		target: target,
		opts:   optionsOf(target.Config),
		pool:   defaultPool,
		eps:    map[string]*remoteEndpoint{},
		conns:  map[*remoteEndpoint]*clientConn{},
		subs:   map[*wsub]*clientConn{},
	}
	var order []*remoteEndpoint
	for i := range target.Forms {
		f := &target.Forms[i]
		ep, fresh := c.endpointOf(f.URL, f.Form)
		if fresh {
			order = append(order, ep)
		}
	}
	// An endpoint we have no credentials for is skipped while another one works: its
	// operations fail with the credentials error when used.
	var firstErr error
	usable := order[:0:0]
	for _, ep := range order {
		if _, err := ep.spec.auth(); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		usable = append(usable, ep)
	}
	if len(usable) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("wtp: no Web Thing Protocol form was selected for %s", target.ThingID)
		}
		return nil, firstErr
	}
	if c.opts.stateFunc != nil {
		c.listener = newStateListener(c.opts.stateFunc)
	}
	// Connect every endpoint at once; the first failure (in form order) is reported.
	errs := make([]error, len(usable))
	var wg sync.WaitGroup
	for i, ep := range usable {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.conn(ctx, ep)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.close(false)
			return nil, err
		}
	}
	if c.listener != nil {
		c.listener.post(ConnConnected)
	}
	if openHook != nil {
		openHook(c)
	}
	return c, nil
}

// openHook, set by tests only, sees every client Open returns.
var openHook func(*client)

// endpointOf returns the endpoint of a form, creating it on first use.
func (c *client) endpointOf(u *url.URL, f *td.Form) (*remoteEndpoint, bool) {
	sec := c.target.TD.EffectiveSecurity(f)
	target := *u
	target.Fragment, target.RawFragment = "", ""
	id := normalizeURL(&target) + "\x00" + strings.Join(sec, "\x00")
	c.mu.Lock()
	defer c.mu.Unlock()
	if ep := c.eps[id]; ep != nil {
		return ep, false
	}
	cfg, t := c.target.Config, c.target.TD
	form := &td.Form{Security: append(td.StringList(nil), sec...)}
	ep := &remoteEndpoint{spec: &connSpec{
		target:  &target,
		display: td.RedactURL(&target),
		cfg:     cfg,
		opts:    c.opts,
		auth: func() (*handshake, error) {
			hu := target
			req := &http.Request{Method: http.MethodGet, URL: &hu, Header: cfg.Header.Clone(), Host: hu.Host}
			if err := cfg.Authorize(req, t, form); err != nil {
				return nil, err
			}
			return &handshake{url: req.URL, header: req.Header}, nil
		},
	}}
	c.eps[id] = ep
	return ep, true
}

// conn returns the open connection of ep, joining or dialling one if needed (also after a
// connection died for good, so a consumed Thing recovers once the Thing is back).
func (c *client) conn(ctx context.Context, ep *remoteEndpoint) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, wot.ErrClosed
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
		return nil, wot.ErrClosed
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

func (c *client) connFor(ctx context.Context, r *wot.Request) (*clientConn, error) {
	u := r.URL
	if u == nil {
		u = r.Form.URL
	}
	if u == nil {
		return nil, fmt.Errorf("wtp: %s: the request has no URL", r.Op)
	}
	ep, _ := c.endpointOf(u, r.Form.Form)
	return c.conn(ctx, ep)
}

// Do performs one request/response operation.
func (c *client) Do(ctx context.Context, r *wot.Request) (*wot.Response, error) {
	m := &Message{Operation: r.Op, ThingID: c.target.ThingID}
	switch r.Op {
	case OpReadProperty:
		m.Name = r.Name
	case OpWriteProperty:
		m.Name, m.Value = r.Name, r.Value
	case OpInvokeAction:
		m.Name, m.Input = r.Name, r.Value
	case OpQueryAction, OpCancelAction:
		if r.Action == nil || r.Action.ActionID == "" {
			return nil, wot.BadRequest("%s over the Web Thing Protocol needs the instance's actionID", r.Op)
		}
		m.ActionID = r.Action.ActionID
	case OpReadMultipleProperties:
		m.Names = r.Names
	case OpWriteAllProperties, OpWriteMultipleProperties:
		if err := json.Unmarshal(r.Value, &m.Values); err != nil || m.Values == nil {
			return nil, wot.BadRequest("%s needs a JSON object of property values", r.Op)
		}
	case OpReadAllProperties, OpQueryAllActions:
	default:
		return nil, fmt.Errorf("wtp: %s is not a request/response operation", r.Op)
	}
	cc, err := c.connFor(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := cc.roundTrip(ctx, m)
	if err != nil {
		return nil, err
	}
	out := &wot.Response{Values: resp.Values}
	switch r.Op {
	case OpInvokeAction:
		out.Value = resp.Output
		out.Status = named(resp.Status, r.Name)
	case OpQueryAction:
		if r.Action != nil {
			out.Status = named(resp.Status, r.Action.Name)
		}
	case OpQueryAllActions:
		// WTP statuses are keyed by action name; the core's carry it.
		for name, list := range resp.Statuses {
			for i := range list {
				list[i].Name = name
			}
		}
		out.Statuses = resp.Statuses
	default:
		out.Value = resp.Value
	}
	if resp.Error != nil {
		return out, resp.Error // multi-property operations carry partial values
	}
	return out, nil
}

// named returns a copy of st with the action's name, which WTP statuses do not carry.
func named(st *wot.ActionStatus, name string) *wot.ActionStatus {
	if st == nil {
		return nil
	}
	cp := *st
	if cp.Name == "" {
		cp.Name = name
	}
	return &cp
}

// Subscribe starts an observation or event subscription on the endpoint of r.
func (c *client) Subscribe(ctx context.Context, r *wot.Request, sink wot.Sink) (func(context.Context) error, error) {
	key := topicKey{thingID: c.target.ThingID, name: r.Name}
	switch r.Op {
	case OpObserveProperty, OpObserveAllProperties:
		key.kind = td.KindProperty
	case OpSubscribeEvent, OpSubscribeAllEvents:
		key.kind = td.KindEvent
	default:
		return nil, fmt.Errorf("wtp: %s is not a subscription operation", r.Op)
	}
	if r.Op == OpObserveAllProperties || r.Op == OpSubscribeAllEvents {
		key.name = ""
	}
	cc, err := c.connFor(ctx, r)
	if err != nil {
		return nil, err
	}
	s := &wsub{sink: sink, key: key}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, wot.ErrClosed
	}
	c.subs[s] = cc
	c.mu.Unlock()
	if err := cc.subscribe(ctx, s); err != nil {
		c.forget(s)
		return nil, err
	}
	return func(ctx context.Context) error {
		c.forget(s)
		return cc.removeSub(ctx, s)
	}, nil
}

func (c *client) forget(s *wsub) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
}

// Close releases the connections; a connection nobody else uses is closed.
func (c *client) Close() error {
	c.close(true)
	return nil
}

// close releases everything; report says whether the state callback hears ConnClosed (not
// when Open fails half way: it never reported ConnConnected either).
func (c *client) close(report bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	subs := c.subs
	c.subs = map[*wsub]*clientConn{}
	conns := c.conns
	c.conns = map[*remoteEndpoint]*clientConn{}
	c.mu.Unlock()

	// Subscriptions the core did not stop: a connection others still use needs the Thing
	// told; one about to close does not.
	ctx, cancel := context.WithTimeout(context.Background(), unsubscribeOnClose)
	defer cancel()
	for s, cc := range subs {
		s.sink.Fail(wot.ErrClosed)
		if c.pool.shared(cc) {
			_ = cc.removeSub(ctx, s)
		} else {
			cc.detach(s)
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
