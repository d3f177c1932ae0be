package wot

// This file is the contract between the core and the bindings while they are being built in
// parallel. Implementations move into the files named in each comment; this file is deleted
// once every declaration below lives in its home file.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// ---------------------------------------------------------------------------------------
// Shared values (home: notification.go, action.go, errors.go)

// Notification is one property change or event occurrence, on both sides.
type Notification struct {
	ID    string          // unique per Thing; where a consumer resumes (WTP lastNotificationID, SSE Last-Event-ID)
	Kind  td.Kind         // td.KindProperty or td.KindEvent
	Name  string          // property or event name
	Value json.RawMessage // the new property value or the event data (nil: an event without data)
	Time  time.Time       // when it happened; zero if the Thing did not say
}

// ActionState is the state of an asynchronous action instance.
type ActionState string

// The states of an action instance (pending → running → completed | failed).
const (
	ActionPending   ActionState = "pending"
	ActionRunning   ActionState = "running"
	ActionCompleted ActionState = "completed"
	ActionFailed    ActionState = "failed"
)

// ActionStatus describes one asynchronous action instance. Bindings encode it in their own
// wire format (WTP "state", HTTP Profile "status").
type ActionStatus struct {
	ActionID      string          // the instance id (WTP actionID; the last path segment of Href over HTTP)
	Href          string          // absolute URL of the status resource when the binding has one (HTTP Location), else ""
	Name          string          // the action's name, when known
	State         ActionState     //
	Output        json.RawMessage // when completed and the action has output
	Error         *Error          // when failed
	TimeRequested time.Time       // zero = absent
	TimeEnded     time.Time       // zero = absent
}

// Invocation is the result of invoking an action: Output for a synchronous action, Status
// (pending or running, sometimes already finished) for an asynchronous one.
type Invocation struct {
	Name   string
	Output json.RawMessage
	Status *ActionStatus
}

// ---------------------------------------------------------------------------------------
// Consumer side (home: consumed.go, options.go, credentials.go, subscription.go, binding.go)
//
// func Dial(ctx context.Context, rawURL string, opts ...DialOption) (*ConsumedThing, error)
//     rawURL is the http(s) URL of a TD (fetched with the bounds of RequestThingDescription),
//     or a URL some registered Binding claims through DialURL (WTP: ws:// endpoint + WithThingID).
// func Consume(ctx context.Context, t *td.Thing, docURL string, opts ...DialOption) (*ConsumedThing, error)
// func RequestThingDescription(ctx context.Context, rawURL string, opts ...DialOption) (*td.Thing, error)
//
// ConsumedThing methods (all take trailing ...CallOption, e.g. WithURIVariables):
//   TD() *td.Thing, ThingID() string, Close() error
//   ReadProperty(ctx, name) (json.RawMessage, error)
//   WriteProperty(ctx, name, v any) (json.RawMessage, error)
//   ReadAllProperties(ctx) / ReadMultipleProperties(ctx, names...) (map[string]json.RawMessage, error)
//   WriteAllProperties / WriteMultipleProperties(ctx, map[string]any) (map[string]json.RawMessage, error)
//   ObserveProperty(ctx, name, fn func(Notification)) (*Subscription, error); ObserveAllProperties
//   SubscribeEvent(ctx, name, fn) (*Subscription, error); SubscribeAllEvents
//   InvokeAction(ctx, name, input any) (*Invocation, error)
//   QueryAction(ctx, st *ActionStatus) (*ActionStatus, error); CancelAction(ctx, st *ActionStatus) error
//   QueryAllActions(ctx) (map[string][]ActionStatus, error)
// Action[Out] (NewAction(c, inv)): ID, Status, Wait, Cancel — as runtime/wtp's today.
//
// Form selection (core, not bindings): for each operation, the forms of the affordance (or the
// Thing-level forms for meta operations) after td.Normalize, hrefs resolved against base/docURL,
// in document order; the first form that a registered Binding Accepts is used. Meta operations
// with no usable Thing-level form fall back to one request per property where that is
// meaningful (readall/readmultiple/writemultiple). No usable form: a clear error naming the
// operation, the affordance and the forms' protocols.

// A Binding is the consumer side of a protocol binding. Register the standard ones with
// Register in the binding package's init (database/sql style); generated code imports them
// for effect. Bindings must be safe for concurrent use.
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
	// early on a wrong address or credentials).
	Open(ctx context.Context, target *Target) (Client, error)
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
	// their undo operations). Errors the Thing reports are *Error with its status.
	Do(ctx context.Context, r *Request) (*Response, error)
	// Subscribe starts observeproperty, observeallproperties, subscribeevent or
	// subscribeallevents and returns once the Thing accepted it; notifications go to sink
	// until stop is called or the binding fails the sink. stop ends it on the wire
	// (unobserve/unsubscribe, or closing the stream).
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

// Config holds a consumer's options (DialOption). Bindings read it; they add options of
// their own with DialSetting and read them back with Setting.
//
// func WithBearerToken, WithBasicAuth, WithAPIKey, WithCredentials, WithTLSConfig, WithHeader,
// WithHTTPClient, WithRequestTimeout, WithMaxTDSize, WithSubscriptionQueue, WithThingID,
// WithBindings(bs ...Binding) (default: every registered binding) — all DialOption.
// func DialSetting(key, value any) DialOption
// func (c *Config) Setting(key any) any
// func (c *Config) Authorize(req *http.Request, t *td.Thing, f *td.Form) error
//
//	applies the credentials for the form's effective security (nosec, basic, bearer,
//	oauth2-as-bearer, apikey in header/query/cookie, combo oneOf/allOf) to an outgoing HTTP
//	request (a WTP handshake is one too); a clear error when credentials are missing.
//
// func (c *Config) HTTPClient() (*http.Client, error)   // configured client (TLS, timeouts)
type Config struct {
	Header            http.Header
	RequestTimeout    time.Duration
	MaxTDSize         int64
	SubscriptionQueue int
	ThingID           string
	// unexported: credentials, TLS, HTTP client, bindings, settings
}

// DialOption configures Dial and Consume.
type DialOption func(*Config)

// ---------------------------------------------------------------------------------------
// Exposed side: implemented in thing.go, thing_ops.go, history.go, actions.go, caller.go,
// server.go, server_td.go, server_registry.go, listen.go and auth.go.

// Registration (home: registry.go):
// func Register(b Binding)             // consumer side, from a binding's init
