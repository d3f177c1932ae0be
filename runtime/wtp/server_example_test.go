package wtp_test

import (
	"context"
	"encoding/json"
	"log"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// A dynamic Thing: properties live in the built-in store (writes validated against the TD),
// the action has a handler, and the device pushes changes and events from its own goroutine.
func ExampleNewThing() {
	desc, err := td.ParseFile("valve.td.json")
	if err != nil {
		log.Fatal(err)
	}
	valve, err := wtp.NewThing(desc, wtp.WithHistorySize(500))
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

	srv := wtp.NewServer(wtp.WithAuthenticator(wtp.BearerAuth("s3cret")))
	if err := srv.AddThing(valve); err != nil {
		log.Fatal(err)
	}
	httpSrv := wtp.NewHTTPServer(":8080", srv) // TD at /things/valve-7 and /.well-known/wot
	go httpSrv.ListenAndServe()

	// On SIGTERM: close WebSockets with 1001, cancel running actions, wait for goroutines.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	httpSrv.Shutdown(ctx)
}
