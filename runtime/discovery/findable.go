package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Findable says how a Thing served by a program makes itself findable by consumers that were
// never told its URL: a DNS-SD announcement on the local network, a registration in a Thing
// Description Directory, or both. The zero value does nothing.
type Findable struct {
	Announce  bool          // announce over DNS-SD (_wot._tcp) as Instance
	Instance  string        // the DNS-SD instance name, usually the TD title
	Directory string        // base URL of a Thing Description Directory to register in; "" = none
	Token     string        // bearer token the directory needs for writes
	TTL       time.Duration // lifetime of the directory entry (renewed every TTL/2); default one minute
}

// Start makes the Thing whose TD is served at /.well-known/wot on addr findable until ctx ends.
// The TD must already be served (registration fetches it). wait blocks until the goodbye packets
// are out and the directory entry is deleted; call it after ctx ended.
func (f Findable) Start(ctx context.Context, addr net.Addr, log *slog.Logger) (wait func(), err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var waits []func()
	wait = func() {
		for _, w := range waits {
			w()
		}
	}
	if f.Announce {
		an, err := AnnounceListener(ctx, addr, Announcement{Instance: f.Instance, TDPath: WellKnownPath})
		if err != nil {
			return wait, fmt.Errorf("discovery: announce: %w", err)
		}
		log.Info("announced", "service", ServiceThing, "instance", an.Instance())
		waits = append(waits, func() { <-an.Done() })
	}
	if f.Directory != "" {
		dir, err := NewDirectory(f.Directory)
		if err != nil {
			return wait, err
		}
		ttl := f.TTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		reg, err := Register(ctx, dir, "http://"+addr.String()+WellKnownPath, ttl, WithRegisterBearerToken(f.Token))
		if err != nil {
			return wait, fmt.Errorf("discovery: register in %s: %w", f.Directory, err)
		}
		log.Info("registered", "directory", f.Directory, "entry", dir.ThingURL(reg.ID()))
		waits = append(waits, func() { reg.Close() })
	}
	return wait, nil
}
