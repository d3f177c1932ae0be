package wot

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"

	"github.com/wotgen/wotgen/runtime/td"
)

// A Binding is the consumer side of a protocol binding. Register the standard ones with
// Register in the binding package's init (database/sql style); generated code imports them
// for effect. Bindings must be safe for concurrent use.
//
// A Binding may also implement
//
//	DialURL(ctx context.Context, u *url.URL, cfg *Config) (*td.Thing, error)
//
// to let Dial accept a URL that is not a TD's (WTP: a ws:// endpoint with WithThingID). It
// returns a minimal TD standing for the Thing: no affordances, and Thing-level forms (which
// this binding Accepts) that name every operation. Dial then consumes it like any TD; every
// affordance name is allowed and goes through those forms, and the Thing decides what
// exists. DialURL returns (nil, nil) for a URL that is not the binding's.
type Binding interface {
	// Name is the binding's short name ("wtp", "http"), used in messages and WithBindings.
	Name() string
	// Accepts reports whether the binding can perform op through f. f has the TD defaults
	// applied (op, contentType, …) and u is its href resolved to an absolute URL (URI
	// template not yet expanded).
	Accepts(f *td.Form, u *url.URL, op string) bool
	// Open returns the binding's client for one consumed Thing. It is called once per
	// ConsumedThing, at Consume time, for every binding that some selected form uses;
	// target.Forms lists those forms so a connection-oriented binding can connect (and fail
	// early on a wrong address or credentials). A binding first needed later (the status
	// URL of an action instance) is opened then, with the forms of that request.
	Open(ctx context.Context, target *Target) (Client, error)
}

// urlDialer is the optional interface of a Binding that claims URLs which are not a TD's.
type urlDialer interface {
	DialURL(ctx context.Context, u *url.URL, cfg *Config) (*td.Thing, error)
}

// Target is what a binding needs to serve one consumed Thing.
type Target struct {
	TD      *td.Thing // normalised (td.Normalize); do not modify
	DocURL  *url.URL  // where the TD came from (nil if unknown)
	ThingID string    // the TD's id, WithThingID, or DocURL
	Forms   []Form    // the forms selected for this binding, one per (op, affordance)
	Config  *Config   // the consumer's options
}

// Form is one selected form: the td form (defaults applied) and its resolved href.
type Form struct {
	*td.Form
	URL *url.URL // href resolved against base/docURL; URI template not yet expanded
}

// Client performs the operations of one consumed Thing over one binding.
type Client interface {
	// Do performs a request/response operation (everything but observe/subscribe and
	// their undo operations). Errors the Thing reports are *Error with its status; a
	// multi-property operation that failed part way returns the values it got with the error.
	// An HTTP-based binding adds Config.Header and calls Config.Authorize for each request.
	Do(ctx context.Context, r *Request) (*Response, error)
	// Subscribe starts observeproperty, observeallproperties, subscribeevent or
	// subscribeallevents and returns once the Thing accepted it; notifications go to sink
	// until stop is called or the binding fails the sink. stop ends it on the wire
	// (unobserve/unsubscribe, or closing the stream). ctx bounds setting it up only (it
	// carries WithRequestTimeout); the subscription outlives it.
	Subscribe(ctx context.Context, r *Request, sink Sink) (stop func(context.Context) error, err error)
	// Close releases the client's connections.
	Close() error
}

// Request is one operation for a Client.
type Request struct {
	Op     string
	Name   string          // affordance name; "" for Thing-level operations
	Names  []string        // readmultipleproperties
	Form   Form            // the selected form
	URL    *url.URL        // Form.URL with the URI variables expanded (RFC 6570); bindings use this
	Value  json.RawMessage // writeproperty value; invokeaction input (nil: none); write*properties object
	Action *ActionStatus   // queryaction, cancelaction: the instance (ActionID and/or Href)
}

// Response is the result of Client.Do; which member is set depends on the operation.
type Response struct {
	Value    json.RawMessage            // readproperty; writeproperty (confirmed value, nil if not confirmed); invokeaction output (synchronous)
	Values   map[string]json.RawMessage // read/write all/multiple properties
	Status   *ActionStatus              // invokeaction (asynchronous), queryaction
	Statuses map[string][]ActionStatus  // queryallactions
}

// Sink receives the notifications of one subscription. The core implements it (with the
// bounded delivery queue of Subscription); bindings call it.
type Sink interface {
	// Deliver hands n to the subscriber without blocking. It returns false once the
	// subscription has ended (stopped, failed or overflowed): stop delivering then.
	Deliver(n Notification) bool
	// Fail ends the subscription with err (the connection is gone for good, …).
	Fail(err error)
	// LastID is the ID of the newest notification delivered, "" if none: where a binding
	// resumes after a reconnect (and what it de-duplicates against).
	LastID() string
}

var registry struct {
	mu       sync.RWMutex
	bindings []Binding
}

// Register makes b available to every Dial and Consume without WithBindings. Bindings call
// it from their init function; registering a second binding with the same name replaces
// the first.
func Register(b Binding) {
	if b == nil {
		panic("wot: Register of a nil Binding")
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for i, o := range registry.bindings {
		if o.Name() == b.Name() {
			registry.bindings[i] = b
			return
		}
	}
	registry.bindings = append(registry.bindings, b)
}

func registeredBindings() []Binding {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	return append([]Binding(nil), registry.bindings...)
}
