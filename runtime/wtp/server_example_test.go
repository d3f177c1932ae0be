package wtp_test

import (
	"context"
	"encoding/json"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// A dynamic Thing served over WTP: properties live in the built-in store (writes validated against the TD),
// the action has a handler, and the device pushes changes and events from its own goroutine.
func Example_server() {
	desc, err := td.ParseFile("valve.td.json")
	if err != nil {
		log.Fatal(err)
	}
	valve, err := wot.NewThing(desc, wot.WithHistory(500, 0))
	if err != nil {
		log.Fatal(err)
	}
	valve.HandleAction("flush", func(ctx context.Context, input json.RawMessage) (any, error) {
		select {
		case <-time.After(30 * time.Second): // flushing
			return map[string]float64{"litres": 41.2}, nil
		case <-ctx.Done(): // cancelaction or shutdown
			return nil, ctx.Err()
		}
	})
	go func() {
		for range time.Tick(time.Second) {
			valve.SetProperty("flowRate", 12.5) // notifies observers
		}
	}()

	// Every registered binding serves it: WTP at the endpoints its forms name.
	srv := wot.NewServer(wot.WithAuthenticator(wot.BearerAuth("s3cret")), wtp.WithSendBuffer(4<<20))
	if err := srv.AddThing(valve); err != nil {
		log.Fatal(err)
	}
	// TD at /things/valve-7 and /.well-known/wot. On SIGTERM: close WebSockets with 1001,
	// cancel running actions, wait for goroutines, then stop the HTTP server.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := wot.ListenAndServe(ctx, ":8080", srv); err != nil {
		log.Fatal(err)
	}
}
