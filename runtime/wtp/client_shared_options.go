package wtp

// Three option names are shared by the consumer and the server side (one package, one
// name): WithValidation and WithThingID return a ThingOption, WithLogger a ServerOption.
// Both types are also DialOptions, so the same call configures Dial and Consume:
//
//	wtp.Dial(ctx, url, wtp.WithValidation(true), wtp.WithLogger(l))
//
// For Dial they mean: WithValidation validates outgoing values (writes, action inputs)
// against the TD's schemas before sending, returning a 400 *Error without a round trip
// (off by default for consumers, the Thing validates anyway); WithThingID names the Thing
// when Dial gets a ws:// URL (or overrides the TD's id); WithLogger receives dropped
// messages, reconnects and other events that are not returned as errors. Other Thing and
// Server options have no meaning for a consumer and are ignored by Dial.

// applyDial reads the consumer-relevant settings out of a Thing option by applying it to
// two scratch configs: a setting that comes out the same from both was set by the option.
func (o ThingOption) applyDial(c *dialConfig) {
	if o == nil {
		return
	}
	var a, b thingConfig
	b.validate = true
	b.thingID = "\x00"
	o(&a)
	o(&b)
	if a.validate == b.validate {
		c.validate = a.validate
	}
	if a.thingID == b.thingID {
		c.thingID = a.thingID
	}
}

func (o ServerOption) applyDial(c *dialConfig) {
	if o == nil {
		return
	}
	var sc serverConfig
	o(&sc)
	if sc.log != nil {
		c.logger = sc.log
	}
}
