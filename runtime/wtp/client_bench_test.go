package wtp

import (
	"context"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

// BenchmarkConsumerReadProperty measures one readproperty round trip through the core
// (form selection, request building) and the WTP binding over a real socket.
func BenchmarkConsumerReadProperty(b *testing.B) {
	th := newLiveThing(b, "urn:bench", "/bench")
	if err := th.SetProperty("temp", 21.5); err != nil {
		b.Fatal(err)
	}
	ls := newLiveServer(b, th)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := wot.Dial(ctx, ls.url("/bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ReadProperty(ctx, "temp"); err != nil {
			b.Fatal(err)
		}
	}
}
