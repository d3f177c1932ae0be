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
// Consumer side: implemented in consumed.go, consumed_ops.go, fetch.go, options.go,
// credentials.go, subscription.go, action.go and binding.go (Register: binding.go).

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

// Registration (home: registry.go; Register, the consumer side, lives in binding.go):
// func RegisterServer(b func() ServerBinding) // server side: a constructor, one instance per Server

// Server is declared here so the contract compiles; its home is server.go.
type Server struct{ _ struct{} }

// Thing is declared here so the contract compiles; its home is thing.go.
type Thing struct{ _ struct{} }
