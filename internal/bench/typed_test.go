package bench

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/runtime/wot"
)

// The generated typed code (examples/lamp/lampwot) against the dynamic API it wraps, over the
// same runtime: readproperty "level" from a handler, client to server, sequential.

type lampHandler struct{ lampwot.UnimplementedHandler }

func (lampHandler) ReadLevel(context.Context) (lampwot.Level, error) { return 42, nil }

// startLamp serves the lamp Thing, typed (generated server over a Handler) or dynamic (a
// wot.Thing with the equivalent HandleRead), and returns the WebSocket endpoint.
func startLamp(tb testing.TB, typed bool) (url string, stop func()) {
	desc, err := lampwot.ThingDescription()
	if err != nil {
		tb.Fatal(err)
	}
	var th *wot.Thing
	if typed {
		t, err := lampwot.NewThing(lampHandler{})
		if err != nil {
			tb.Fatal(err)
		}
		th = t.Exposed()
	} else {
		if th, err = wot.NewThing(desc); err != nil {
			tb.Fatal(err)
		}
		th.HandleRead("level", func(context.Context) (any, error) { return 42, nil })
	}
	srv := wot.NewServer()
	if err := srv.AddThing(th); err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	return "ws" + hs.URL[len("http"):] + "/wtp", func() { srv.Close(); hs.Close() }
}

// readLampLevel runs n reads: typed through lampwot.Client.ReadLevel, dynamic through
// ConsumedThing.ReadProperty.
func readLampLevel(tb testing.TB, typed bool, n int, prepare func()) {
	url, stop := startLamp(tb, typed)
	defer stop()
	ctx := context.Background()
	c, err := lampwot.Dial(ctx, url) // a ws:// URL: the generated Dial supplies the thingID
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	read := func() error {
		if typed {
			_, err := c.ReadLevel(ctx)
			return err
		}
		_, err := c.Thing().ReadProperty(ctx, "level")
		return err
	}
	if err := read(); err != nil {
		tb.Fatal(err)
	}
	prepare()
	for range n {
		if err := read(); err != nil {
			tb.Fatal(err)
		}
	}
}

func BenchmarkTypedVsDynamic(b *testing.B) {
	for _, v := range []struct {
		name  string
		typed bool
	}{{"dynamic", false}, {"typed", true}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			readLampLevel(b, v.typed, b.N, b.ResetTimer)
		})
	}
}

func TestTypedVsDynamicRuns(t *testing.T) {
	readLampLevel(t, false, 5, func() {})
	readLampLevel(t, true, 5, func() {})
}
