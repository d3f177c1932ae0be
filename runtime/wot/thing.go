package wot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// ReadHandler returns the current value of a property. The value is marshalled with
// encoding/json; a json.RawMessage passes through unchanged.
type ReadHandler func(ctx context.Context) (any, error)

// WriteHandler applies a (validated) value to a property. It returns the value now held
// when it can confirm the write, or nil when it cannot (the response then has no value).
type WriteHandler func(ctx context.Context, value json.RawMessage) (confirmed any, err error)

// ActionHandler runs an action. ctx is cancelled by cancelaction, by the consumer going
// away (synchronous invocations) and by server shutdown. input is nil when the request had
// none. A returned *Error is sent as is; any other error becomes a 500.
type ActionHandler func(ctx context.Context, input json.RawMessage) (output any, err error)

// SubscribeHook runs before a consumer starts observing a property or subscribing to an
// event (directly or through the "all" operations), with the consumer's context. Returning
// an error refuses the request with that problem (Forbidden for 403, …); it is the place to
// check permissions or to start watching a sensor. Keep it short: bindings may run it on a
// session's reader.
type SubscribeHook func(ctx context.Context, name string) error

// Thing is an exposed Thing whose TD is known at run time (the Scripting API's
// ExposedThing). Each property is backed by handlers or, by default, by an in-memory store
// whose writes are validated against the property's schema. Actions need a handler.
// SetProperty, NotifyPropertyChange and EmitEvent may be called from any goroutine.
type Thing struct {
	desc *td.Thing // the TD as given, for serving
	norm *td.Thing // with defaults made explicit, for the rules
	id   string
	cfg  thingConfig

	props   map[string]*property
	actions map[string]*action
	events  map[string]*event

	hmu sync.RWMutex // guards the handler fields of props and actions

	mu      sync.Mutex // guards everything below and property store values
	history history
	subs    map[Subscriber]*subState
	store   actionStore
	srv     atomic.Pointer[Server] // set once by AddThing

	// async action invocations outlive sessions; they end with the Thing's server
	actx    context.Context
	acancel context.CancelFunc
	awg     sync.WaitGroup
}

type property struct {
	name    string
	aff     *td.PropertyAffordance
	schema  valueValidator
	value   json.RawMessage // the in-memory store (guarded by Thing.mu)
	read    ReadHandler     // guarded by Thing.hmu
	write   WriteHandler    // guarded by Thing.hmu
	observe SubscribeHook   // guarded by Thing.hmu
}

type action struct {
	name        string
	aff         *td.ActionAffordance
	input       valueValidator
	synchronous bool
	handler     ActionHandler // guarded by Thing.hmu
}

type event struct {
	name      string
	aff       *td.EventAffordance
	subscribe SubscribeHook // guarded by Thing.hmu
}

// ThingOption configures a Thing.
type ThingOption func(*thingConfig)

type thingConfig struct {
	validate      bool
	historySize   int
	historyBytes  int
	retainCount   int
	retainAge     time.Duration
	maxActive     int
	synchronous   bool
	sharedActions bool
	id, tdPath    string
}

// Defaults of the Thing options, and the version generated code asks for.
const (
	// SupportPackageIsVersion1 is referenced by generated code, so that code generated for a
	// newer runtime fails to compile against this one instead of misbehaving.
	SupportPackageIsVersion1 = true

	DefaultHistorySize     = 1000     // notifications kept for catch-up after a reconnect
	DefaultHistoryBytes    = 16 << 20 // payload bytes those may hold at most
	DefaultRetainedActions = 100      // finished async action instances kept per Thing
	DefaultActionRetention = time.Hour
	DefaultMaxActive       = 1024 // pending+running async invocations per Thing; more get 503
)

// WithValidation turns schema validation of written values and action inputs on or off
// (default on).
func WithValidation(on bool) ThingOption { return func(c *thingConfig) { c.validate = on } }

// WithHistory bounds the notifications the Thing keeps for consumers that resume after a
// reconnect (WTP lastNotificationID, SSE Last-Event-ID): at most size notifications holding
// at most bytes of payload, the oldest going first (defaults DefaultHistorySize,
// DefaultHistoryBytes; size 0 disables catch-up, bytes ≤ 0 keeps the default).
func WithHistory(size, bytes int) ThingOption {
	return func(c *thingConfig) {
		c.historySize = max(size, 0)
		if bytes > 0 {
			c.historyBytes = bytes
		}
	}
}

// WithActionRetention bounds how many finished asynchronous action instances are kept for
// queryaction/queryallactions, and for how long after they ended (defaults
// DefaultRetainedActions, DefaultActionRetention). The newest finished instance is always
// kept while count ≥ 1.
func WithActionRetention(count int, age time.Duration) ThingOption {
	return func(c *thingConfig) { c.retainCount, c.retainAge = max(count, 0), age }
}

// WithSharedActions(true) lets every consumer query, cancel and list every async action
// instance. By default a consumer lists (queryallactions) only the instances it invoked —
// same principal, or for unauthenticated consumers the same session — and reaches another
// principal's instances by actionID neither (they answer 404).
func WithSharedActions(shared bool) ThingOption {
	return func(c *thingConfig) { c.sharedActions = shared }
}

// WithSynchronousDefault decides how actions whose TD does not say "synchronous" are
// answered: true (the default) answers once the action completed; false answers at once
// with an ActionStatus and keeps the instance for queryaction.
func WithSynchronousDefault(sync bool) ThingOption {
	return func(c *thingConfig) { c.synchronous = sync }
}

// WithID sets the id the Thing answers to (and serves in its TD), for TDs without "id" or
// to override it. It must be an absolute URI (for example urn:uuid:…).
func WithID(id string) ThingOption { return func(c *thingConfig) { c.id = id } }

// WithTDPath sets the HTTP path (unescaped) the Server serves the TD at. By default it is
// the path of the Thing's id when that is an http(s) URL, else "/things/<id>".
func WithTDPath(path string) ThingOption { return func(c *thingConfig) { c.tdPath = path } }

// NewThing builds an exposed Thing from a TD. The TD must have an id (or WithID) that is an
// absolute URI; its data schemas must compile when validation is on.
func NewThing(t *td.Thing, opts ...ThingOption) (*Thing, error) {
	if t == nil {
		return nil, errors.New("wot: NewThing needs a TD; parse one with td.Parse")
	}
	if t.IsTM() {
		return nil, errors.New("wot: a Thing Model cannot be served; instantiate it into a Thing Description first")
	}
	cfg := thingConfig{validate: true, historySize: DefaultHistorySize, historyBytes: DefaultHistoryBytes, retainCount: DefaultRetainedActions,
		retainAge: DefaultActionRetention, maxActive: DefaultMaxActive, synchronous: true}
	for _, o := range opts {
		o(&cfg)
	}
	th := &Thing{desc: t.Clone(), norm: td.Normalize(t), cfg: cfg, subs: map[Subscriber]*subState{}}
	th.id = cfg.id
	if th.id == "" {
		th.id = t.ID
	}
	if th.id == "" {
		return nil, errors.New("wot: the TD has no id; give the Thing one with WithID (an absolute URI such as urn:uuid:…)")
	}
	if u, err := url.Parse(th.id); err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("wot: Thing id %q is not an absolute URI; set the TD id or use WithID", th.id)
	}
	if err := th.build(); err != nil {
		return nil, err
	}
	th.history = newHistory(cfg.historySize, cfg.historyBytes)
	th.store = newActionStore(cfg.retainCount, cfg.retainAge)
	th.actx, th.acancel = context.WithCancel(context.Background())
	return th, nil
}

func (t *Thing) build() error {
	n := t.norm
	var sc *schemaCompiler
	if t.cfg.validate {
		sc = newSchemaCompiler()
	}
	t.props = make(map[string]*property, len(n.Properties))
	for _, name := range n.PropertyNames() {
		aff := n.Properties[name]
		p := &property{name: name, aff: aff}
		if sc != nil {
			v, err := sc.compile(&aff.DataSchema)
			if err != nil {
				return fmt.Errorf("wot: property %q: its schema cannot be compiled (%v); fix the TD or build the Thing with WithValidation(false)", name, err)
			}
			p.schema = v
		}
		p.value = initialValue(&aff.DataSchema)
		t.props[name] = p
	}
	t.actions = make(map[string]*action, len(n.Actions))
	for _, name := range n.ActionNames() {
		aff := n.Actions[name]
		a := &action{name: name, aff: aff, synchronous: t.cfg.synchronous}
		if aff.Synchronous != nil {
			a.synchronous = *aff.Synchronous
		}
		if sc != nil {
			v, err := sc.compile(aff.Input)
			if err != nil {
				return fmt.Errorf("wot: action %q: its input schema cannot be compiled (%v); fix the TD or build the Thing with WithValidation(false)", name, err)
			}
			a.input = v
		}
		t.actions[name] = a
	}
	t.events = make(map[string]*event, len(n.Events))
	for _, name := range n.EventNames() {
		t.events[name] = &event{name: name, aff: n.Events[name]}
	}
	return nil
}

// ID returns the id the Thing answers to.
func (t *Thing) ID() string { return t.id }

// TD returns a copy of the Thing's TD as given to NewThing.
func (t *Thing) TD() *td.Thing { return t.desc.Clone() }

// TDPath returns the HTTP path (unescaped) the Server serves the Thing's TD at.
func (t *Thing) TDPath() string {
	if t.cfg.tdPath != "" {
		return "/" + strings.TrimPrefix(t.cfg.tdPath, "/")
	}
	if u, err := url.Parse(t.id); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Path != "" && u.Path != "/" {
		return u.Path
	}
	// Routing compares decoded paths, so the id goes in as is; consumers escape it.
	return "/things/" + t.id
}

// HandleRead makes reads of the property call h instead of reading the in-memory store.
// It panics if the TD has no such property (a programming error).
func (t *Thing) HandleRead(name string, h ReadHandler) {
	p := t.mustProp(name, "HandleRead")
	t.hmu.Lock()
	p.read = h
	t.hmu.Unlock()
}

// HandleWrite makes writes of the property call h (after validation) instead of writing the
// in-memory store. Observers are then notified only through NotifyPropertyChange.
// It panics if the TD has no such property.
func (t *Thing) HandleWrite(name string, h WriteHandler) {
	p := t.mustProp(name, "HandleWrite")
	t.hmu.Lock()
	p.write = h
	t.hmu.Unlock()
}

// HandleAction sets the handler of an action. It panics if the TD has no such action.
func (t *Thing) HandleAction(name string, h ActionHandler) {
	a := t.actions[name]
	if a == nil {
		panic(fmt.Sprintf("wot: HandleAction(%q): the TD of %s has no such action", name, t.id))
	}
	t.hmu.Lock()
	a.handler = h
	t.hmu.Unlock()
}

// HandleObserve sets a hook that runs before each observation of the property starts.
// It panics if the TD has no such property.
func (t *Thing) HandleObserve(name string, h SubscribeHook) {
	p := t.mustProp(name, "HandleObserve")
	t.hmu.Lock()
	p.observe = h
	t.hmu.Unlock()
}

// HandleSubscribe sets a hook that runs before each subscription to the event starts.
// It panics if the TD has no such event.
func (t *Thing) HandleSubscribe(name string, h SubscribeHook) {
	e := t.events[name]
	if e == nil {
		panic(fmt.Sprintf("wot: HandleSubscribe(%q): the TD of %s has no such event", name, t.id))
	}
	t.hmu.Lock()
	e.subscribe = h
	t.hmu.Unlock()
}

func (t *Thing) mustProp(name, fn string) *property {
	p := t.props[name]
	if p == nil {
		panic(fmt.Sprintf("wot: %s(%q): the TD of %s has no such property", fn, name, t.id))
	}
	return p
}

// SetProperty stores v as the property's value and notifies its observers, on every call
// (the caller says the property changed; writes by consumers notify only when the stored
// value actually changes). The Thing is the authority on its own values, so v is not
// validated.
func (t *Thing) SetProperty(name string, v any) error {
	p := t.props[name]
	if p == nil {
		return NotFound("%s has no property %q", t.id, name)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("wot: SetProperty(%q): value cannot be marshalled to JSON: %w", name, err)
	}
	t.storeValue(p, raw, true)
	return nil
}

// NotifyPropertyChange notifies observers that the property now has value v, without
// touching the store (for handler-backed properties).
func (t *Thing) NotifyPropertyChange(name string, v any) error {
	p := t.props[name]
	if p == nil {
		return NotFound("%s has no property %q", t.id, name)
	}
	if p.aff.IsWriteOnly() {
		return BadRequest("property %q is write-only; it cannot be observed", name)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("wot: NotifyPropertyChange(%q): value cannot be marshalled to JSON: %w", name, err)
	}
	t.mu.Lock()
	t.publishLocked(td.KindProperty, name, raw)
	t.mu.Unlock()
	return nil
}

// EmitEvent notifies the event's subscribers. A nil data sends a notification without data.
func (t *Thing) EmitEvent(name string, data any) error {
	if t.events[name] == nil {
		return NotFound("%s has no event %q", t.id, name)
	}
	var raw json.RawMessage
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return fmt.Errorf("wot: EmitEvent(%q): data cannot be marshalled to JSON: %w", name, err)
		}
	}
	t.mu.Lock()
	t.publishLocked(td.KindEvent, name, raw)
	t.mu.Unlock()
	return nil
}

// storeValue writes the in-memory store and notifies observers (always, or only when the
// value changed).
func (t *Thing) storeValue(p *property, raw json.RawMessage, always bool) json.RawMessage {
	raw = compact(raw)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !always && string(p.value) == string(raw) {
		return raw
	}
	p.value = raw
	if !p.aff.IsWriteOnly() { // nobody may observe it, so its changes are not notifications
		t.publishLocked(td.KindProperty, p.name, raw)
	}
	return raw
}

// readValue reads a property through its handler or the store.
func (t *Thing) readValue(ctx context.Context, p *property) (json.RawMessage, error) {
	t.hmu.RLock()
	h := p.read
	t.hmu.RUnlock()
	if h == nil {
		t.mu.Lock()
		v := p.value
		t.mu.Unlock()
		return v, nil
	}
	v, err := callHandler(func() (any, error) { return h(ctx) })
	if err != nil {
		return nil, t.problem(err, "readproperty", p.name)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, Internal("the value of property %q cannot be marshalled to JSON: %v", p.name, err)
	}
	return raw, nil
}

// writeValue writes a validated value; it returns the value to echo (nil = not confirmed).
func (t *Thing) writeValue(ctx context.Context, p *property, raw json.RawMessage) (json.RawMessage, error) {
	t.hmu.RLock()
	h := p.write
	t.hmu.RUnlock()
	var confirmed json.RawMessage
	if h == nil {
		confirmed = t.storeValue(p, raw, false)
	} else {
		v, err := callHandler(func() (any, error) { return h(ctx, raw) })
		if err != nil {
			return nil, t.problem(err, "writeproperty", p.name)
		}
		if v != nil {
			if confirmed, err = json.Marshal(v); err != nil {
				return nil, Internal("the confirmed value of property %q cannot be marshalled to JSON: %v", p.name, err)
			}
		}
	}
	if p.aff.IsWriteOnly() {
		return nil, nil // never echo a write-only value
	}
	return confirmed, nil
}

// HasHandler reports whether an operation on the named affordance calls user code (a read
// or write handler, an action handler, a subscribe hook) and so may block: a binding that
// answers requests on a session's reader runs those elsewhere. op is a WoT operation;
// Thing-level property operations ("readallproperties", …) report whether any property they
// touch has a handler.
func (t *Thing) HasHandler(op, name string) bool {
	t.hmu.RLock()
	defer t.hmu.RUnlock()
	switch op {
	case td.OpReadProperty:
		p := t.props[name]
		return p != nil && p.read != nil
	case td.OpWriteProperty:
		p := t.props[name]
		return p != nil && p.write != nil
	case td.OpInvokeAction:
		a := t.actions[name]
		return a != nil && a.handler != nil && a.synchronous
	case td.OpReadAllProperties, td.OpReadMultipleProperties:
		for _, p := range t.props {
			if p.read != nil {
				return true
			}
		}
	case td.OpWriteAllProperties, td.OpWriteMultipleProperties:
		for _, p := range t.props {
			if p.write != nil {
				return true
			}
		}
	}
	return false
}

// errPanic marks a recovered handler panic.
var errPanic = errors.New("handler panicked")

// callHandler runs user code, turning a panic into an error so one bad handler cannot take
// the server down.
func callHandler(f func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return f()
}

// problem turns an error of user code into the *Error to send, logging panics.
func (t *Thing) problem(err error, op, name string) *Error {
	if errors.Is(err, errPanic) {
		t.logger().Error("wot: handler panicked", "thing", t.id, "operation", op, "name", name, "err", err)
		return Internal("the handler of %q panicked; the Thing's log has the details", name)
	}
	return ProblemOf(err)
}

var discardLogger = slog.New(slog.DiscardHandler)

func (t *Thing) logger() *slog.Logger {
	if s := t.srv.Load(); s != nil {
		return s.cfg.log
	}
	return discardLogger
}

// compact returns raw without insignificant white space (raw itself when it is already
// compact or not valid JSON).
func compact(raw json.RawMessage) json.RawMessage {
	if isCompactScalar(raw) {
		return raw
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// isCompactScalar is a fast path for the common small values (true, false, null, short
// strings without escapes), which are valid and already compact.
func isCompactScalar(b []byte) bool {
	switch string(b) {
	case "true", "false", "null":
		return true
	}
	if len(b) < 2 || len(b) > 64 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// initialValue is the store's starting value: the schema's default, const, first enum
// value, or the zero value of its type.
func initialValue(s *td.DataSchema) json.RawMessage {
	switch {
	case s.Default != nil:
		return compact(s.Default)
	case s.Const != nil:
		return compact(s.Const)
	case len(s.Enum) > 0:
		return compact(s.Enum[0])
	}
	switch s.Type {
	case "boolean":
		return json.RawMessage("false")
	case "integer", "number":
		if s.Minimum != nil && *s.Minimum > 0 {
			b, _ := json.Marshal(*s.Minimum)
			return b
		}
		return json.RawMessage("0")
	case "string":
		return json.RawMessage(`""`)
	case "object":
		return json.RawMessage("{}")
	case "array":
		return json.RawMessage("[]")
	}
	return json.RawMessage("null")
}

// stop cancels running async actions and waits for them, or for ctx.
func (t *Thing) stop(ctx context.Context) error {
	t.mu.Lock() // startAction adds to awg under mu only while actx is live
	t.acancel()
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.awg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
