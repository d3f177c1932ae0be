package wot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/internal/uritemplate"
	"github.com/wotgen/wotgen/runtime/td"
)

// unsubscribeTimeout bounds telling a Thing that a subscription ended when no caller's
// context is at hand (Close, overflow).
const unsubscribeTimeout = 2 * time.Second

// ConsumedThing is the consumer of one Thing (the Scripting API's ConsumedThing): every WoT
// operation by affordance name, with JSON values. For each operation it uses the first form
// of the affordance (of the Thing, for the meta operations) that a binding accepts, in
// document order. Methods are safe for concurrent use.
type ConsumedThing struct {
	td      *td.Thing // normalised
	docURL  *url.URL
	thingID string
	cfg     *Config
	open    bool // the TD was synthesised by a Binding's DialURL: every name is allowed
	binds   []Binding
	routes  map[opKey]route
	schemas *schemaCache

	openMu  sync.Mutex // serialises opening clients (network I/O, so not under mu)
	mu      sync.Mutex
	closed  bool
	clients map[string]Client // by binding name
	subs    map[*Subscription]struct{}
}

// opKey names one operation on one affordance; name is "" for Thing-level operations.
type opKey struct{ op, name string }

// route is the form an operation uses, or why none can be used.
type route struct {
	b        Binding
	form     Form
	err      error
	hadForms bool // err: there were forms, but none was usable
}

// Dial consumes a Thing. rawURL is the http(s) URL of its TD (fetched as
// RequestThingDescription does, then consumed as Consume does) or a URL a registered binding
// claims (the WTP binding: a ws:// or wss:// endpoint, with WithThingID).
func Dial(ctx context.Context, rawURL string, opts ...DialOption) (*ConsumedThing, error) {
	cfg := newConfig(opts)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wot: Dial %q: %w", rawURL, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		t, docURL, err := fetchTD(ctx, rawURL, cfg)
		if err != nil {
			return nil, err
		}
		return consume(ctx, t, docURL, cfg, false)
	}
	var names []string
	for _, b := range cfg.bindingList() {
		names = append(names, b.Name())
		d, ok := b.(urlDialer)
		if !ok {
			continue
		}
		t, err := d.DialURL(ctx, u, cfg)
		if err != nil {
			return nil, err
		}
		if t != nil {
			return consume(ctx, t, nil, cfg, true)
		}
	}
	return nil, fmt.Errorf("wot: Dial %s: want the http(s) URL of a TD, or a URL one of the bindings claims (registered: %s; a ws:// WTP endpoint needs runtime/wtp imported)", td.RedactURL(u), listOr(names, "none"))
}

// Consume consumes the Thing described by t. docURL is where t came from ("" if unknown):
// relative hrefs resolve against it when t has no base, and it is the Thing's id if t has
// none. Every binding that a selected form uses is opened before Consume returns, so a
// connection-oriented binding (WTP) fails here on a wrong address or credentials.
func Consume(ctx context.Context, t *td.Thing, docURL string, opts ...DialOption) (*ConsumedThing, error) {
	if t == nil {
		return nil, errors.New("wot: Consume: the TD is nil")
	}
	var du *url.URL
	if docURL != "" {
		var err error
		if du, err = url.Parse(docURL); err != nil {
			return nil, fmt.Errorf("wot: Consume: document URL %q: %w", docURL, err)
		}
	}
	return consume(ctx, t, du, newConfig(opts), false)
}

func normalize(t *td.Thing) (n *td.Thing, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("wot: the TD cannot be copied (%v); build it with td.Parse", r)
		}
	}()
	return td.Normalize(t), nil
}

func consume(ctx context.Context, t *td.Thing, docURL *url.URL, cfg *Config, open bool) (*ConsumedThing, error) {
	id := cfg.ThingID
	if id == "" {
		id = t.ID
	}
	if id == "" && docURL != nil {
		id = docURL.String() // the TD's URL stands in for a missing id
	}
	// Without either, the Thing stays anonymous: HTTP needs no id; a binding that addresses
	// Things by id (WTP) refuses to open.
	n, err := normalize(t) // a copy: the caller may go on changing t
	if err != nil {
		return nil, err
	}
	c := &ConsumedThing{
		td:      n,
		docURL:  docURL,
		thingID: id,
		cfg:     cfg,
		open:    open,
		binds:   cfg.bindingList(),
		routes:  map[opKey]route{},
		schemas: &schemaCache{},
		clients: map[string]Client{},
		subs:    map[*Subscription]struct{}{},
	}
	if len(c.binds) == 0 {
		return nil, errors.New("wot: no protocol binding is registered; import one for effect (_ \"github.com/wotgen/wotgen/runtime/wtp\", _ \".../runtime/wothttp\") or pass WithBindings")
	}
	// Select a form for every operation of every affordance, then open each binding in use
	// with the forms it got.
	perBinding := map[string][]Form{}
	var order []Binding
	var formErr error // an operation that had forms, none of them usable
	add := func(op, name string) {
		r := c.selectRoute(op, name)
		c.routes[opKey{op, name}] = r
		if r.err != nil {
			if r.hadForms {
				formErr = cmpOr(formErr, r.err)
			}
			return
		}
		bn := r.b.Name()
		if _, ok := perBinding[bn]; !ok {
			order = append(order, r.b)
		}
		perBinding[bn] = append(perBinding[bn], r.form)
	}
	for _, op := range td.OpsOf(td.KindThing) {
		add(op, "")
	}
	for _, name := range n.PropertyNames() {
		for _, op := range td.OpsOf(td.KindProperty) {
			add(op, name)
		}
	}
	for _, name := range n.ActionNames() {
		for _, op := range td.OpsOf(td.KindAction) {
			add(op, name)
		}
	}
	for _, name := range n.EventNames() {
		for _, op := range td.OpsOf(td.KindEvent) {
			add(op, name)
		}
	}
	if len(order) == 0 {
		if formErr == nil || !hasAnyForm(n) {
			return nil, fmt.Errorf("wot: the TD of %s has no forms; nothing can be done with it", cmp.Or(id, "the Thing"))
		}
		return nil, fmt.Errorf("wot: no form of the TD of %s is usable: %w", cmp.Or(id, "the Thing"), formErr)
	}
	for _, b := range order {
		if _, err := c.clientFor(ctx, b, perBinding[b.Name()]); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func hasAnyForm(t *td.Thing) bool {
	if len(t.Forms) > 0 {
		return true
	}
	for _, p := range t.Properties {
		if len(p.Forms) > 0 {
			return true
		}
	}
	for _, a := range t.Actions {
		if len(a.Forms) > 0 {
			return true
		}
	}
	for _, e := range t.Events {
		if len(e.Forms) > 0 {
			return true
		}
	}
	return false
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// formsFor lists the forms of the affordance (the Thing's for meta operations) that name op.
// In an open TD an unknown affordance uses the Thing-level forms naming op.
func (c *ConsumedThing) formsFor(op, name string) []*td.Form {
	forms := c.td.AffordanceForms(op, name)
	if forms == nil && c.open && td.KindOf(op) != td.KindThing {
		for i := range c.td.Forms {
			if c.td.Forms[i].Op.Contains(op) {
				forms = append(forms, &c.td.Forms[i])
			}
		}
	}
	return forms
}

// resolve returns the absolute URL of a form's href. A URI template that does not parse as
// it is gets its variables left out, which keeps scheme and host for Accepts.
func (c *ConsumedThing) resolve(href string) (*url.URL, error) {
	u, err := c.td.ResolveHref(href, c.docURL)
	if err == nil || !strings.Contains(href, "{") {
		return u, err
	}
	bare, e := uritemplate.Expand(href, nil)
	if e != nil {
		return nil, fmt.Errorf("form href %q: %w", href, e)
	}
	return c.td.ResolveHref(bare, c.docURL)
}

// selectRoute picks the form for op on name: the first, in document order, that a binding
// accepts, except that for observation and events a server-sent events form goes before a long
// poll one (Things list long poll first because node-wot consumers need it; SSE delivers every
// change and resumes after a drop, long poll loses what happens between two polls).
func (c *ConsumedThing) selectRoute(op, name string) route {
	forms := c.formsFor(op, name)
	var tried []string
	var fallback *route
	for _, f := range forms {
		u, err := c.resolve(f.Href)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%q (%v)", f.Href, err))
			continue
		}
		for _, b := range c.binds {
			if !b.Accepts(f, u, op) {
				continue
			}
			r := route{b: b, form: Form{Form: f, URL: u}}
			if f.Subprotocol == "longpoll" && fallback == nil {
				fallback = &r // unless an sse form follows
				break
			}
			if f.Subprotocol == "longpoll" {
				break
			}
			return r
		}
		if fallback == nil || fallback.form.Form != f {
			tried = append(tried, describeForm(f, u))
		}
	}
	if fallback != nil {
		return *fallback
	}
	return route{err: c.noFormError(op, name, tried), hadForms: len(forms) > 0}
}

func describeForm(f *td.Form, u *url.URL) string {
	s := strings.ToLower(u.Scheme) + "://"
	if f.Subprotocol != "" {
		s += " with subprotocol " + f.Subprotocol
	}
	return s
}

func (c *ConsumedThing) noFormError(op, name string, tried []string) error {
	what := "the Thing"
	if k := td.KindOf(op); k != td.KindThing {
		what = fmt.Sprintf("%s %q", k, name)
	}
	var bn []string
	for _, b := range c.binds {
		bn = append(bn, b.Name())
	}
	if len(tried) == 0 {
		return fmt.Errorf("no usable form for %s of %s: it has no form for %s", op, what, op)
	}
	slices.Sort(tried)
	tried = slices.Compact(tried)
	return fmt.Errorf("no usable form for %s of %s: its forms use %s (no binding accepts them; bindings: %s — import the binding for the protocol, or pass WithBindings)",
		op, what, strings.Join(tried, ", "), listOr(bn, "none"))
}

func listOr(l []string, empty string) string {
	if len(l) == 0 {
		return empty
	}
	return strings.Join(l, ", ")
}

// clientFor returns the open client of b, opening it with forms if needed.
func (c *ConsumedThing) clientFor(ctx context.Context, b Binding, forms []Form) (Client, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	cl := c.clients[b.Name()]
	c.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	c.openMu.Lock()
	defer c.openMu.Unlock()
	c.mu.Lock()
	cl = c.clients[b.Name()]
	c.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	cl, err := b.Open(ctx, &Target{TD: c.td, DocURL: c.docURL, ThingID: c.thingID, Forms: forms, Config: c.cfg})
	if err != nil {
		return nil, err
	}
	if cl == nil {
		return nil, fmt.Errorf("wot: binding %s opened no client", b.Name())
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cl.Close()
		return nil, ErrClosed
	}
	c.clients[b.Name()] = cl
	c.mu.Unlock()
	return cl, nil
}

// TD returns the Thing Description with every default made explicit (td.Normalize); for Dial
// with a URL a binding claims, the minimal TD it synthesised. Do not modify it.
func (c *ConsumedThing) TD() *td.Thing { return c.td }

// ThingID returns the Thing's id (the TD's, WithThingID, or the TD's URL).
func (c *ConsumedThing) ThingID() string { return c.thingID }

// Close stops every subscription (telling the Thing, within two seconds) and closes the
// bindings' clients. It does not wait for a subscription callback that is running.
func (c *ConsumedThing) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	clients := c.clients
	c.clients = map[string]Client{}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for s := range subs {
		if stop := s.end(); stop != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = stop(ctx)
			}()
		}
	}
	wg.Wait()
	var errs []error
	for _, cl := range clients {
		if err := cl.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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

// withTimeout applies WithRequestTimeout to a context without a deadline.
func (c *ConsumedThing) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.cfg.RequestTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.RequestTimeout)
}

// prepare builds the request for op on name over route r: the URI variables are checked and
// the href expanded.
func (c *ConsumedThing) prepare(r route, op, name string, cc *callConfig) (*Request, error) {
	if cc.err != nil {
		return nil, cc.err
	}
	req := &Request{Op: op, Name: name, Form: r.form, URL: r.form.URL}
	href := r.form.Href
	k := td.KindOf(op)
	if !strings.Contains(href, "{") {
		if err := c.checkURIVariables(k, name, cc.uriVars, nil); err != nil {
			return nil, err
		}
		return req, nil
	}
	if err := c.checkURIVariables(k, name, cc.uriVars, uritemplate.Variables(href)); err != nil {
		return nil, err
	}
	exp, err := uritemplate.Expand(href, cc.uriVars)
	if err != nil {
		return nil, BadRequest("expanding the form href of %s: %v", op, err)
	}
	u, err := c.td.ResolveHref(exp, c.docURL)
	if err != nil {
		return nil, fmt.Errorf("wot: %s: the expanded href %q: %w", op, exp, err)
	}
	req.URL = u
	return req, nil
}

// routeFor returns the route of op on name, or the error saying why there is none.
func (c *ConsumedThing) routeFor(op, name string) route {
	if r, ok := c.routes[opKey{op, name}]; ok {
		return r
	}
	// Open TDs: names the TD does not list are resolved on first use.
	return c.selectRoute(op, name)
}

// do performs a request/response operation.
func (c *ConsumedThing) do(ctx context.Context, r route, req *Request) (*Response, error) {
	cl, err := c.clientFor(ctx, r.b, []Form{r.form})
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := cl.Do(ctx, req)
	if err != nil {
		return resp, err
	}
	if resp == nil {
		resp = &Response{}
	}
	return resp, nil
}

// call selects, prepares and performs op on name.
func (c *ConsumedThing) call(ctx context.Context, op, name string, cc *callConfig, fill func(*Request)) (*Response, error) {
	_, resp, err := c.callReq(ctx, op, name, cc, fill)
	return resp, err
}

// callReq is call, also returning the request it sent.
func (c *ConsumedThing) callReq(ctx context.Context, op, name string, cc *callConfig, fill func(*Request)) (*Request, *Response, error) {
	r := c.routeFor(op, name)
	if r.err != nil {
		return nil, nil, fmt.Errorf("wot: %s: %w", c.thingID, r.err)
	}
	req, err := c.prepare(r, op, name, cc)
	if err != nil {
		return nil, nil, err
	}
	if fill != nil {
		fill(req)
	}
	resp, err := c.do(ctx, r, req)
	return req, resp, err
}
