package wtp

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkReadPropertyRoundTrip: one consumer, sequential readproperty requests.
func BenchmarkReadPropertyRoundTrip(b *testing.B) {
	th := newValve(b)
	_, hs := serve(b, []*Thing{th})
	ws, _, err := websocket.Dial(context.Background(), wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	req := []byte(`{"thingID":"` + valveID + `","messageID":"6f3c1a52-8d0e-4a8b-9c1e-2b7d4e5f6a7b","messageType":"request","operation":"readproperty","name":"flowRate","correlationID":"0e8a4f6b-2c1d-4e3f-8a9b-7c6d5e4f3a2b"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.Write(ctx, websocket.MessageText, req); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanout: each property change delivered to 100 observers.
func BenchmarkFanout(b *testing.B) {
	th := newValve(b)
	_, hs := serve(b, []*Thing{th}, WithSendBuffer(64<<20))
	const k = 100
	var got atomic.Int64
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, k)
	for i := range conns {
		ws, _, err := websocket.Dial(context.Background(), wsURLOf(hs, "/wtp"), &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = ws
		req := fmt.Appendf(nil, `{"thingID":%q,"messageID":"m","messageType":"request","operation":"observeproperty","name":"flowRate","correlationID":"c"}`, valveID)
		ws.Write(context.Background(), websocket.MessageText, req)
		ws.Read(context.Background())
		wg.Go(func() {
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
				got.Add(1)
			}
		})
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		th.SetProperty("flowRate", n)
	}
	for got.Load() < int64(n*k) {
		runtime.Gosched() // until every observer has every notification
	}
	for _, c := range conns {
		c.CloseNow()
	}
	wg.Wait()
}
