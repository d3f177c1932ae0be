package main

import (
	"context"
	"fmt"

	"github.com/wotgen/wotgen/runtime/discovery"
)

// `wotgen directory -announce` advertises the directory over DNS-SD as a _wot._tcp instance with the
// _directory subtype and TXT type=Directory
// (https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-sec), so `wotgen discover -mdns` finds
// and lists it with no URL given.
func init() { directoryAnnounce = announceDirectory }

func announceDirectory(ctx context.Context, a directoryAnnouncement) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	an, err := announceListener(ctx, a.Addr, discovery.Announcement{Instance: a.Title, TDPath: a.TDPath, Type: discovery.TypeDirectory, Scheme: a.Scheme})
	if err != nil {
		cancel()
		return nil, err
	}
	fmt.Fprintf(a.Out.out, "  announced: DNS-SD %s instance %q (td=%s, type=Directory)\n", discovery.ServiceDirectory, an.Instance(), a.TDPath)
	return func() { cancel(); <-an.Done() }, nil
}
