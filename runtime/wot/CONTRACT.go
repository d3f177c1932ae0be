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
// Exposed side (home: thing.go, thing_ops.go, history.go, actions.go, server.go, auth.go)
//
// Thing (moved from runtime/wtp.Thing; same options, handlers, store, history, async action
// store with per-principal visibility):
//   NewThing(t *td.Thing, opts ...ThingOption) (*Thing, error); ID(); TD()
//   HandleRead / HandleWrite / HandleAction / HandleObserve / HandleSubscribe
//   SetProperty / NotifyPropertyChange / EmitEvent
// Operations for server bindings (caller identity from the context, see WithCaller; every
// error is an *Error with the status to send; user code runs with panics turned into 500s):
//   ReadProperty(ctx, name) (json.RawMessage, error)                       // 404 unknown, 400 write-only
//   WriteProperty(ctx, name, v json.RawMessage) (confirmed json.RawMessage, error) // validates: 400; read-only: 400 (HTTP sends 405)
//   ReadProperties(ctx, names []string) (map[string]json.RawMessage, error) // nil names: every readable property
//   WriteProperties(ctx, values map[string]json.RawMessage) (map[string]json.RawMessage, error)
//   InvokeAction(ctx, name, input json.RawMessage) (*Invocation, error)  // synchronous: runs the handler (ctx cancels it); asynchronous: starts it, returns Status
//   QueryAction(ctx, actionID) (ActionStatus, error); CancelAction(ctx, actionID) error
//   QueryAllActions(ctx) (map[string][]ActionStatus, error)               // newest first, only what the caller may see
//   Subscribe(ctx, s Subscriber, kind td.Kind, names []string, tag any, lastID string) error
//       runs the observe/subscribe hooks, records (s, kind, name) → tag (last subscription
//       wins), then replays history entries after lastID that s has not been sent; later
//       notifications go to s.Notify with the tag. nil names: every observable property /
//       every event. Notify is called under the Thing's lock, in history order.
//   Unsubscribe(s Subscriber, kind td.Kind, names []string) (nil names: all of that kind)
//   Forget(s Subscriber)   // a session ended
//
// Server (the http.Handler shared by all bindings): NewServer(opts ...ServerOption);
// AddThing(*Thing) error; ServeHTTP; Shutdown(ctx); Close(); Things() []*Thing.
// It serves each Thing's TD (at its TD path and /.well-known/wot) with every binding's forms
// added, base and hrefs rewritten to where it is served, and "@context" starting with the TD
// 1.0 URI (for node-wot); it authenticates every request routed to a binding
// (WithAuthenticator; 401 + WWW-Authenticate before any binding code) and puts the principal
// into the request context; WithAuthorizer is checked by the Thing operations.
// Options: WithAuthenticator, WithAuthorizer, WithLogger, WithExternalURL, WithOriginPatterns,
// WithServerBindings(bs ...ServerBinding) (default: every registered server binding),
// WithoutBinding(name string), ServerSetting(key, value any) for binding-specific options
// (WTP's read limit, rate limit, …).

// Subscriber receives a session's notifications on the exposed side (a WTP connection, an
// SSE stream). Notify must not block: queue and return.
type Subscriber interface {
	Notify(n *Notification, tag any)
}

// Caller identifies who performs an operation, for the Authorizer and for the visibility
// of asynchronous actions. Session is a comparable value naming the session (a WTP
// connection); nil when the binding has none (HTTP): an unauthenticated caller without a
// session then reaches action instances only through their (unguessable) ids.
type Caller struct {
	Principal string
	Session   any
}

// WithCaller returns ctx carrying c; bindings call it for every request.
//
// func WithCaller(ctx context.Context, c Caller) context.Context
// func CallerFrom(ctx context.Context) Caller
// func PrincipalFrom(ctx context.Context) string

// ServerBinding is the server side of a protocol binding.
type ServerBinding interface {
	// Name is the binding's short name ("wtp", "http").
	Name() string
	// Start is called once when the Server is created (before any request), with the server
	// to look Things up in and its configuration (ServerSetting values, logger).
	Start(s *Server) error
	// AddForms adds the binding's forms for t to d, the TD being served (a copy), whose
	// base is the server's external URL (http or https, no trailing slash).
	AddForms(d *td.Thing, t *Thing, base *url.URL)
	// Serve handles r if it is the binding's (returns false, having written nothing, when it
	// is not). r's context carries the authenticated principal.
	Serve(w http.ResponseWriter, r *http.Request) bool
	// Shutdown ends the binding's sessions (going away) and waits for them, or for ctx.
	Shutdown(ctx context.Context) error
}

// Registration (home: registry.go):
// func Register(b Binding)             // consumer side, from a binding's init
// func RegisterServer(b func() ServerBinding) // server side: a constructor, one instance per Server

// Server is declared here so the contract compiles; its home is server.go.
type Server struct{ _ struct{} }

// Thing is declared here so the contract compiles; its home is thing.go.
type Thing struct{ _ struct{} }
