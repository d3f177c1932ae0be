package wtp

import "log/slog"

// WithValidation makes the consumer validate outgoing values (writes, action inputs)
// against the TD's data schemas before sending them; a violation is returned as a 400
// *Error without a round trip. Off by default: the Thing validates anyway.
func WithValidation(on bool) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.validate = on })
}

// WithLogger sets where the consumer logs dropped messages, reconnects and other events
// that are not returned as errors (default: discarded).
func WithLogger(l *slog.Logger) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.logger = l })
}

// WithThingID names the Thing when Dial is given a ws:// or wss:// endpoint instead of a TD
// URL (the thingID of every message). With a TD it overrides the TD's id.
func WithThingID(id string) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.thingID = id })
}
