package wtp_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// A dynamic consumer over the Web Thing Protocol: importing wtp registers the binding, so
// wot.Dial uses the TD's WTP forms; wtp's own options shape the WebSocket.
func ExampleBinding() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	lamp, err := wot.Dial(ctx, "https://lamp.example/things/lamp",
		wot.WithBearerToken("…"),
		wot.WithOutgoingValidation(true), // check writes against the TD before sending them
		wtp.WithConnStateFunc(func(s wtp.ConnState) { log.Println("lamp connection:", s) }),
		wtp.WithKeepAlive(10*time.Second))
	if err != nil {
		log.Fatal(err) // the message says what to fix (URL, credentials, …)
	}
	defer lamp.Close()

	on, err := lamp.ReadProperty(ctx, "on")
	if wot.IsNotFound(err) {
		log.Fatal("this lamp has no 'on' property")
	}
	fmt.Println("on:", string(on))

	sub, err := lamp.ObserveProperty(ctx, "brightness", func(n wot.Notification) {
		fmt.Println("brightness is now", string(n.Value))
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Stop(context.Background())

	inv, err := lamp.InvokeAction(ctx, "fade", map[string]any{"to": 20, "seconds": 5})
	if err != nil {
		log.Fatal(err)
	}
	fade := wot.NewAction[bool](lamp, inv)
	done, err := fade.Wait(ctx) // polls queryaction until completed or failed
	fmt.Println("fade done:", done, err)
}

// Dial a WTP endpoint directly, without a TD: every message names the Thing, so its id is
// needed.
func ExampleBinding_DialURL() {
	ctx := context.Background()
	c, err := wot.Dial(ctx, "wss://farm.example.org/wtp", wot.WithThingID("urn:farm:valve-7"), wot.WithBearerToken("…"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	v, err := c.ReadProperty(ctx, "flow")
	fmt.Println(string(v), err)
}
