// Package device is the lamp behind examples/lamp: a lampwot.Handler with the behaviour the
// example promises (fades with notifications, overheating at full brightness) and the wiring into a
// wot.Server. It is a package of its own so the end-to-end tests can run the very same lamp.
package device

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// fadeTick is how often a fade moves the level (each change is notified).
const fadeTick = 20 * time.Millisecond

// Lamp implements lampwot.Handler. The zero value is not usable; use New.
type Lamp struct {
	thing *lampwot.Thing

	mu          sync.Mutex
	on          bool
	level       lampwot.Level
	temperature float64
	fadeGen     uint64 // the newest fade; older ones stop driving the level
}

var _ lampwot.Handler = (*Lamp)(nil)

// Options configure New.
type Options struct {
	// Token, when set, requires "Authorization: Bearer <Token>" (or, from browsers, the query
	// parameter access_token=<Token>) on the WebSocket handshake (HTTP 401 before any upgrade
	// otherwise) and declares a bearer security scheme in the TD.
	Token string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// ServerOptions are added to the server's options (say the WTP binding's limits).
	ServerOptions []wot.ServerOption
}

// New returns the lamp and the server that exposes it (TD at "/" and /.well-known/wot, WTP
// endpoint as the TD's forms say).
func New(o Options) (*Lamp, *wot.Server, error) {
	l := &Lamp{level: 50, temperature: temperatureAt(50)}
	desc, err := lampwot.ThingDescription()
	if err != nil {
		return nil, nil, err
	}
	var sopts []wot.ServerOption
	if o.Token != "" {
		desc.SecurityDefinitions = map[string]*td.SecurityScheme{
			"bearer_sc": {Scheme: "bearer", In: "header", Name: "Authorization"},
		}
		desc.Security = td.StringList{"bearer_sc"}
		// The header, or the access_token query parameter (RFC 6750 §2.3) for browsers, which
		// cannot set headers on a WebSocket handshake (the Thing console sends it that way).
		sopts = append(sopts, wot.WithAuthenticator(wot.BearerQueryAuth("", o.Token)))
	}
	if o.Logger != nil {
		sopts = append(sopts, wot.WithLogger(o.Logger))
	} else {
		sopts = append(sopts, wot.WithLogger(slog.New(slog.DiscardHandler)))
	}
	sopts = append(sopts, o.ServerOptions...)
	thing, err := lampwot.NewThingFrom(desc, l, wot.WithTDPath("/"))
	if err != nil {
		return nil, nil, err
	}
	l.thing = thing
	srv := wot.NewServer(sopts...)
	if err := srv.AddThing(thing.Exposed()); err != nil {
		return nil, nil, err
	}
	return l, srv, nil
}

// Exposed returns the generated Thing behind the lamp, for pushing changes without going through a
// handler (benchmarks do).
func (l *Lamp) Exposed() *lampwot.Thing { return l.thing }

// temperatureAt is the lamp head's temperature at a brightness: 20 °C off, 70 °C at full power.
func temperatureAt(level lampwot.Level) float64 { return 20 + float64(level)/2 }

// ReadOn implements lampwot.Handler.
func (l *Lamp) ReadOn(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on, nil
}

// WriteOn implements lampwot.Handler.
func (l *Lamp) WriteOn(_ context.Context, v bool) error {
	l.mu.Lock()
	changed := l.on != v
	l.on = v
	l.mu.Unlock()
	if changed {
		return l.thing.NotifyOn(v)
	}
	return nil
}

// ReadLevel implements lampwot.Handler.
func (l *Lamp) ReadLevel(context.Context) (lampwot.Level, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.level, nil
}

// WriteLevel implements lampwot.Handler. Writing 100 overheats the lamp: the overheated event is
// emitted once per such write.
func (l *Lamp) WriteLevel(_ context.Context, v lampwot.Level) error {
	l.mu.Lock()
	l.fadeGen++ // a write takes over from any running fade
	l.mu.Unlock()
	if err := l.setLevel(v); err != nil {
		return err
	}
	if v == 100 {
		return l.thing.EmitOverheated(temperatureAt(v))
	}
	return nil
}

// setLevel stores v and notifies the change of level (and of temperature).
func (l *Lamp) setLevel(v lampwot.Level) error { return l.setLevelIf(v, nil) }

// setLevelIf is setLevel when ok (called with l.mu held) allows it; the check and the store are one
// step, so a fade cancelled or superseded in between never moves the level afterwards.
func (l *Lamp) setLevelIf(v lampwot.Level, ok func() bool) error {
	l.mu.Lock()
	if (ok != nil && !ok()) || l.level == v {
		l.mu.Unlock()
		return nil
	}
	l.level = v
	temp := temperatureAt(v)
	tempChanged := temp != l.temperature
	l.temperature = temp
	l.mu.Unlock()
	if err := l.thing.NotifyLevel(v); err != nil {
		return err
	}
	if tempChanged {
		return l.thing.NotifyTemperature(temp)
	}
	return nil
}

// ReadTemperature implements lampwot.Handler.
func (l *Lamp) ReadTemperature(context.Context) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.temperature, nil
}

// Fade implements lampwot.Handler: it moves the level from where it is to in.Level over in.Duration
// milliseconds, notifying every change. ctx is cancelled by cancelaction, which stops the fade where
// it is. A newer fade (or a write of level) takes over; the older one stops driving the level and
// completes at its end time with false. The output is whether the level reached the target.
func (l *Lamp) Fade(ctx context.Context, in lampwot.FadeInput) (bool, error) {
	target := lampwot.Level(in.Level)
	l.mu.Lock()
	l.fadeGen++
	gen := l.fadeGen
	start := l.level
	l.mu.Unlock()
	// drives reports (with l.mu held) whether this fade still drives the level.
	drives := func() bool { return l.fadeGen == gen && ctx.Err() == nil }
	total := time.Duration(in.Duration) * time.Millisecond
	begin := time.Now()
	tick := time.NewTicker(fadeTick)
	defer tick.Stop()
	for {
		frac := 1.0
		if total > 0 {
			frac = min(float64(time.Since(begin))/float64(total), 1)
		}
		v := start + lampwot.Level(math.Round(float64(target-start)*frac))
		if err := l.setLevelIf(v, drives); err != nil {
			return false, fmt.Errorf("fade: %w", err)
		}
		if frac >= 1 {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.level == target && l.fadeGen == gen, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-tick.C:
		}
	}
}
