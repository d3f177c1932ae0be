package wtp_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wotgen/wotgen/runtime/wtp"
)

// A dynamic consumer: fetch the TD, read, observe and run an asynchronous action.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	lamp, err := wtp.Dial(ctx, "https://lamp.example/things/lamp",
		wtp.WithBearerToken("…"),
		wtp.WithValidation(true), // check writes against the TD before sending them
		wtp.WithConnStateFunc(func(s wtp.ConnState) { log.Println("lamp connection:", s) }))
	if err != nil {
		log.Fatal(err) // the message says what to fix (URL, credentials, …)
	}
	defer lamp.Close()

	on, err := lamp.ReadProperty(ctx, "on")
	if wtp.IsNotFound(err) {
		log.Fatal("this lamp has no 'on' property")
	}
	fmt.Println("on:", string(on))

	sub, err := lamp.ObserveProperty(ctx, "brightness", func(n wtp.Notification) {
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
	fade := wtp.NewAction[bool](lamp, inv)
	done, err := fade.Wait(ctx) // polls queryaction until completed or failed
	fmt.Println("fade done:", done, err)
}
