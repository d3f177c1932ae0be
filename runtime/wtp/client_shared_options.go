package wtp

import "log/slog"

// WithValidation validates outgoing values (writes, action inputs) against the TD's schemas
// before sending, returning a 400 *wot.Error without a round trip (off by default for
// consumers, the Thing validates anyway).
func WithValidation(on bool) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.validate = on })
}

// WithThingID names the Thing when Dial gets a ws:// URL (or overrides the TD's id).
func WithThingID(id string) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.thingID = id })
}

// WithLogger receives dropped messages, reconnects and other events that are not returned
// as errors.
func WithLogger(l *slog.Logger) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.logger = l })
}
