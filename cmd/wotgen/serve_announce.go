package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/wotgen/wotgen/runtime/discovery"
)

// announceServe advertises the served Thing over DNS-SD (serve -announce) until ctx ends: instance
// name the TD title, the listener's port, TXT td=/.well-known/wot, type=Thing, scheme=http. The
// returned wait blocks until the goodbye packets are sent.
func announceServe(ctx context.Context, ln net.Listener, title string, s stdio) (wait func(), err error) {
	an, err := announceListener(ctx, ln.Addr(), discovery.Announcement{Instance: title, TDPath: discovery.WellKnownPath})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.out, "  announced: DNS-SD %s instance %q (td=%s)\n", discovery.ServiceThing, an.Instance(), discovery.WellKnownPath)
	return func() { <-an.Done() }, nil
}

// announceListener announces a on the port of a bound listener. A listener on one address is
// announced with that address only, on the interfaces that hold it.
func announceListener(ctx context.Context, addr net.Addr, a discovery.Announcement) (*discovery.Announcer, error) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return nil, fmt.Errorf("listener address %s: %w", addr, err)
	}
	a.Port = int(ap.Port())
	if !ap.Addr().IsUnspecified() {
		a.Addrs = []netip.Addr{ap.Addr()}
	}
	return discovery.Announce(ctx, a)
}
