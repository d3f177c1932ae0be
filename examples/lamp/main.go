// Command lamp serves the dimmable lamp of the Web Thing Protocol draft through the code wotgen
// generated from lamp.td.json (package lampwot):
//
//	go run ./examples/lamp -addr 127.0.0.1:8080 [-token T]
//
// The TD is at / and /.well-known/wot; its forms name the Web Thing Protocol endpoint (/wtp) and
// the HTTP resources of every affordance; the Thing console is at /console/. Try it with
// go run ./examples/lamp/client -url http://127.0.0.1:8080/ [-binding http|wtp] [-token T].
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/runtime/console"
	"github.com/wotgen/wotgen/runtime/wot"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	token := flag.String("token", "", "require this bearer `token` on every request (default: no security)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, srv, err := device.New(device.Options{Token: *token, Logger: log})
	if err == nil {
		log.Info("lamp: serving", "td", "http://"+*addr+"/", "console", "http://"+*addr+console.Prefix, "auth", *token != "")
		err = wot.ListenAndServe(ctx, *addr, console.With(srv))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lamp:", err)
		os.Exit(1)
	}
}
