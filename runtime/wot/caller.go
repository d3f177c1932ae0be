package wot

import "context"

// Caller identifies who performs an operation, for the Authorizer and for the visibility
// of asynchronous actions. Session is a comparable value naming the session (a WTP
// connection); nil when the binding has none (HTTP): an unauthenticated caller without a
// session then reaches action instances only through their (unguessable) ids.
type Caller struct {
	Principal string
	Session   any
}

type callerKey struct{}

// WithCaller returns ctx carrying c; bindings call it for every request (the Server has
// already put the authenticated principal there: keep it, and add the session).
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries (the zero Caller when none).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
