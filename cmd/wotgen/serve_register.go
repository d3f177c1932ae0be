package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/wotgen/wotgen/runtime/discovery"
)

// registerFlags are serve's flags for registering in a Thing Description Directory.
type registerFlags struct {
	dir, token, tdURL *string
	ttl               *time.Duration
}

// defaultRegisterTTL is the registration lifetime: a Thing that dies leaves the directory within a
// minute, for one small PATCH every 30 s while it lives.
const defaultRegisterTTL = time.Minute

func addRegisterFlags(fs *flag.FlagSet) registerFlags {
	return registerFlags{
		dir:   fs.String("register", "", "register the Thing in the Thing Description Directory at this base `URL` (e.g. http://127.0.0.1:8081/) until it stops: refreshed every ttl/2, updated when the TD changes, deleted at the end"),
		token: fs.String("register-token", "", "bearer `token` the directory needs for writes (default $WOTGEN_REGISTER_TOKEN, which keeps it out of process lists)"),
		ttl:   fs.Duration("ttl", defaultRegisterTTL, "lifetime of the registration in the directory (at least 1s)"),
		tdURL: fs.String("register-td", "", "TD `URL` to register, as consumers reach it (default: http://ADDR/.well-known/wot; needed when -addr is 0.0.0.0 or behind a proxy)"),
	}
}

// registerServe starts the registration when -register is set (serve.go calls it once the server
// answers). On a failure that retrying cannot fix it prints the reason, sets *code and calls stop.
// The returned wait blocks until the entry is deleted, which starts when ctx ends.
func registerServe(ctx context.Context, stop context.CancelFunc, f registerFlags, ln net.Listener, s stdio, code *int) (wait func()) {
	if *f.dir == "" {
		return func() {}
	}
	fail := func(format string, args ...any) func() {
		fmt.Fprintf(s.err, "wotgen serve: -register: "+format+"\n", args...)
		*code = exitFindings
		stop()
		return func() {}
	}
	tdURL := *f.tdURL
	if tdURL == "" {
		ap, err := netip.ParseAddrPort(ln.Addr().String())
		if err == nil && ap.Addr().IsUnspecified() {
			return fail("-addr %s listens on every address, so the TD URL consumers use is unknown: give -register-td http://HOST:%d%s", ln.Addr(), ap.Port(), discovery.WellKnownPath)
		}
		tdURL = "http://" + ln.Addr().String() + discovery.WellKnownPath
	}
	token := *f.token
	if token == "" {
		token = os.Getenv("WOTGEN_REGISTER_TOKEN")
	}
	dir, err := discovery.NewDirectory(*f.dir)
	if err != nil {
		return fail("%v", err)
	}
	notify := func(ev discovery.RegistrationEvent) {
		switch ev.Kind {
		case discovery.RegistrationFailed:
			next := ""
			if ev.Retry > 0 {
				next = fmt.Sprintf(" (next try in %v)", ev.Retry.Round(time.Millisecond))
			}
			fmt.Fprintf(s.err, "wotgen serve: registration %s: %v%s\n", orDash(ev.ID), ev.Err, next)
		case discovery.RegistrationDeleted:
			if ev.Err != nil {
				fmt.Fprintf(s.err, "wotgen serve: %v\n", ev.Err)
			}
		case discovery.RegistrationCreated, discovery.RegistrationUpdated:
			fmt.Fprintf(s.err, "wotgen serve: registration %s %s in %s (ttl %v)\n", ev.ID, ev.Kind, *f.dir, *f.ttl)
		}
	}
	reg, err := discovery.Register(ctx, dir, tdURL, *f.ttl, discovery.WithRegisterBearerToken(token), discovery.WithRegisterNotify(notify))
	if err != nil {
		return fail("%v", err)
	}
	if reg.Expires().IsZero() {
		fmt.Fprintf(s.out, "  registering: in %s (not reachable yet; retrying)\n", *f.dir)
	} else {
		fmt.Fprintf(s.out, "  registered: %s (ttl %v)\n", dir.ThingURL(reg.ID()), *f.ttl)
	}
	return func() { <-reg.Done() }
}
