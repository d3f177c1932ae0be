package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/wotgen/wotgen/examples/gateway/plugwot"
	"github.com/wotgen/wotgen/examples/gateway/thermostatwot"
	"github.com/wotgen/wotgen/runtime/wot"
)

// thermostat implements thermostatwot.Handler: the room temperature jumps to the target (it is a
// simulation) and targetReached is emitted.
type thermostat struct {
	thing *thermostatwot.Thing

	mu     sync.Mutex
	temp   float64
	target thermostatwot.Target
	mode   thermostatwot.Mode
}

func (t *thermostat) ReadTemperature(context.Context) (float64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.temp, nil
}

func (t *thermostat) ReadTarget(context.Context) (thermostatwot.Target, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.target, nil
}

func (t *thermostat) WriteTarget(_ context.Context, v thermostatwot.Target) error {
	t.mu.Lock()
	t.target = v
	heating := t.mode != thermostatwot.ModeOff
	if heating {
		t.temp = float64(v)
	}
	t.mu.Unlock()
	if err := t.thing.NotifyTarget(v); err != nil {
		return err
	}
	if !heating {
		return nil
	}
	if err := t.thing.NotifyTemperature(float64(v)); err != nil {
		return err
	}
	return t.thing.EmitTargetReached(float64(v))
}

func (t *thermostat) ReadMode(context.Context) (thermostatwot.Mode, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mode, nil
}

func (t *thermostat) WriteMode(_ context.Context, v thermostatwot.Mode) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mode = v
	return nil
}

// Boost pretends to heat for in.Minutes and returns the mode it goes back to (at once: a simulation).
func (t *thermostat) Boost(_ context.Context, in thermostatwot.BoostInput) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mode == thermostatwot.ModeOff {
		return "", wot.NewError(409, "the thermostat is off; set mode to heat or eco first")
	}
	return string(t.mode), nil
}

// plug implements plugwot.Handler; a plug draws 60 W when on.
type plug struct {
	thing *plugwot.Thing

	mu sync.Mutex
	on bool
}

const plugLoad = plugwot.Power(60)

func (p *plug) ReadOn(context.Context) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.on, nil
}

func (p *plug) WriteOn(_ context.Context, v bool) error {
	p.mu.Lock()
	changed := p.on != v
	p.on = v
	p.mu.Unlock()
	if !changed {
		return nil
	}
	if err := p.thing.NotifyOn(v); err != nil {
		return err
	}
	return p.thing.NotifyPower(p.power(v))
}

func (p *plug) power(on bool) plugwot.Power {
	if on {
		return plugLoad
	}
	return 0
}

func (p *plug) ReadPower(context.Context) (plugwot.Power, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.power(p.on), nil
}

func (p *plug) Toggle(ctx context.Context) (bool, error) {
	p.mu.Lock()
	v := !p.on
	p.mu.Unlock()
	return v, p.WriteOn(ctx, v)
}

// plugIDs are the plugs behind the gateway: one TD, several Things, each with its own id.
var plugIDs = []string{"urn:example:gateway:plug:1", "urn:example:gateway:plug:2"}

// newGateway exposes the thermostat and every plug on one wot.Server: one WTP endpoint (/wtp, from
// the TDs' forms) for all of them, each TD at its own path (/things/<id>).
func newGateway(opts ...wot.ServerOption) (*wot.Server, error) {
	srv := wot.NewServer(opts...)
	th := &thermostat{temp: 19, target: 21, mode: thermostatwot.ModeEco}
	tt, err := thermostatwot.NewThing(th)
	if err != nil {
		return nil, err
	}
	th.thing = tt
	if err := srv.AddThing(tt.Exposed()); err != nil {
		return nil, err
	}
	for _, id := range plugIDs {
		p := &plug{}
		pt, err := plugwot.NewThing(p, wot.WithID(id))
		if err != nil {
			return nil, fmt.Errorf("plug %s: %w", id, err)
		}
		p.thing = pt
		if err := srv.AddThing(pt.Exposed()); err != nil {
			return nil, err
		}
	}
	return srv, nil
}
