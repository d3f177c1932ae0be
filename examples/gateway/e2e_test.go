package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/examples/gateway/plugwot"
	"github.com/wotgen/wotgen/examples/gateway/thermostatwot"
	"github.com/wotgen/wotgen/runtime/wot"
)

func TestGateway(t *testing.T) {
	srv, err := newGateway()
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The thermostat through its TD URL.
	th, err := thermostatwot.Dial(ctx, hs.URL+"/things/urn:example:gateway:thermostat")
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	all, err := th.ReadAllProperties(ctx)
	if err != nil || all.Temperature != 19 || all.Target != 21 || all.Mode != thermostatwot.ModeEco {
		t.Fatalf("thermostat ReadAllProperties = %+v, %v", all, err)
	}
	reached := make(chan float64, 4)
	if _, err := th.SubscribeTargetReached(ctx, func(v float64, err error) {
		if err == nil {
			reached <- v
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := th.WriteTarget(ctx, 22.5); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-reached:
		if v != 22.5 {
			t.Errorf("targetReached %v, want 22.5", v)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no targetReached event")
	}
	if err := th.WriteTarget(ctx, 40); !wot.IsBadRequest(err) || !strings.Contains(err.Error(), "target: 40 is above the maximum 30") {
		t.Errorf("WriteTarget(40) = %v, want a 400 naming target", err)
	}
	if err := th.WriteMode(ctx, "cool"); !wot.IsBadRequest(err) {
		t.Errorf("WriteMode(cool) = %v, want a 400 (not one of the enum)", err)
	}
	if mode, err := th.Boost(ctx, thermostatwot.BoostInput{Minutes: 5}); err != nil || mode != "eco" {
		t.Errorf("Boost = %q, %v; want eco", mode, err)
	}
	if err := th.WriteMode(ctx, thermostatwot.ModeOff); err != nil {
		t.Fatal(err)
	}
	if _, err := th.Boost(ctx, thermostatwot.BoostInput{Minutes: 5}); wot.StatusOf(err) != 409 {
		t.Errorf("Boost while off = %v, want the handler's 409", err)
	}
	if _, err := th.Boost(ctx, thermostatwot.BoostInput{Minutes: 0}); !wot.IsBadRequest(err) {
		t.Errorf("Boost 0 minutes = %v, want a 400", err)
	}

	// Two plugs from one TD behind the same endpoint: one through its TD, one through the ws endpoint
	// with its thingID. Their state is separate.
	p1, err := plugwot.Dial(ctx, hs.URL+"/things/"+plugIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close()
	ws := "ws" + strings.TrimPrefix(hs.URL, "http") + "/wtp"
	p2, err := plugwot.Dial(ctx, ws, wot.WithThingID(plugIDs[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	powers := make(chan plugwot.Power, 8)
	if _, err := p2.ObservePower(ctx, func(v plugwot.Power, err error) {
		if err == nil {
			powers <- v
		}
	}); err != nil {
		t.Fatal(err)
	}
	if on, err := p1.Toggle(ctx); err != nil || !on {
		t.Fatalf("plug 1 Toggle = %v, %v", on, err)
	}
	if on, _ := p2.ReadOn(ctx); on {
		t.Errorf("plug 2 switched on with plug 1")
	}
	if err := p2.WriteMultipleProperties(ctx, &plugwot.SmartPlugProperties{On: true}, "on"); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-powers:
		if v != plugLoad {
			t.Errorf("plug 2 power %v, want %v", v, plugLoad)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("plug 2 power was not notified")
	}
	st1, err := p1.ReadAllProperties(ctx)
	if err != nil || !st1.On || st1.Power != plugLoad {
		t.Errorf("plug 1 = %+v, %v", st1, err)
	}
	if err := p1.WriteMultipleProperties(ctx, st1, "power"); !wot.IsBadRequest(err) {
		t.Errorf("writing the read-only power = %v, want a 400", err)
	}
	if _, err := p2.SubscribeOverload(ctx, func() {}); err != nil {
		t.Errorf("subscribe to a data-less event: %v", err)
	}
}
