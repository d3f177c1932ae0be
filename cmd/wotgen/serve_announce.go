package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/wotgen/wotgen/runtime/discovery"
)

// announceServe advertises the served Thing over DNS-SD (serve -announce) until ctx ends: instance
// name the TD title, the listener's port, TXT td=/.well-known/wot, type=Thing, scheme=http. A
// listener on one address is announced with that address only, on the interfaces that hold it.
// The returned wait blocks until the goodbye packets are sent.
func announceServe(ctx context.Context, ln net.Listener, title string, s stdio) (wait func(), err error) {
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("listener address %s: %w", ln.Addr(), err)
	}
	a := discovery.Announcement{Instance: title, Port: int(ap.Port()), TDPath: discovery.WellKnownPath}
	if !ap.Addr().IsUnspecified() {
		a.Addrs = []netip.Addr{ap.Addr()}
	}
	an, err := discovery.Announce(ctx, a)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.out, "  announced: DNS-SD %s instance %q (td=%s)\n", discovery.ServiceThing, an.Instance(), discovery.WellKnownPath)
	return func() { <-an.Done() }, nil
}
