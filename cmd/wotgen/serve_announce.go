package main

import (
	"context"
	"fmt"
	"net"

	"github.com/wotgen/wotgen/runtime/discovery"
)

// announceServe advertises the served Thing over DNS-SD (serve -announce) until ctx ends: instance
// name the TD title, the listener's port, TXT td=/.well-known/wot, type=Thing, scheme=http. The
// returned wait blocks until the goodbye packets are sent.
func announceServe(ctx context.Context, ln net.Listener, title string, s stdio) (wait func(), err error) {
	an, err := discovery.AnnounceListener(ctx, ln.Addr(), discovery.Announcement{Instance: title, TDPath: discovery.WellKnownPath})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.out, "  announced: DNS-SD %s instance %q (td=%s)\n", discovery.ServiceThing, an.Instance(), discovery.WellKnownPath)
	return func() { <-an.Done() }, nil
}
