package wothttp

import (
	"fmt"
	"net/url"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func init() {
	wot.RegisterServer(func() wot.ServerBinding { return newServerBinding(ServerLimits{}) })
}

// limitsKey is the wot.ServerSetting key of WithServerLimits.
type limitsKey struct{}

// WithServerLimits sets the HTTP server binding's limits on a wot.Server.
func WithServerLimits(l ServerLimits) wot.ServerOption { return wot.ServerSetting(limitsKey{}, l) }

// Start implements wot.ServerBinding.
func (s *server) Start(srv *wot.Server) error {
	if v := srv.Setting(limitsKey{}); v != nil {
		l, ok := v.(ServerLimits)
		if !ok {
			return fmt.Errorf("wothttp: the limits setting holds a %T; set it with WithServerLimits", v)
		}
		s.lim = l.withDefaults()
	}
	s.log = srv.Logger()
	s.base = srv.BaseURL
	s.thingAt = func(p string) exposed {
		if t := srv.ThingAt(p); t != nil {
			return t
		}
		return nil
	}
	return nil
}

// AddForms implements wot.ServerBinding (see addForms).
func (s *server) AddForms(d *td.Thing, t *wot.Thing, base *url.URL) {
	addForms(d, s.entryOf(t), base)
}

var (
	_ wot.ServerBinding = (*server)(nil)
	_ exposed           = (*wot.Thing)(nil)
)

// ThingAdded prepares t's routes when the Server starts serving it, so the first request
// does not pay for them (wot.Server calls it under its lock; it only reads t).
func (s *server) ThingAdded(t *wot.Thing) { s.entryOf(t) }
