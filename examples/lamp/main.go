// Command lamp serves the dimmable lamp of the Web Thing Protocol draft through the code wotgen
// generated from lamp.td.json (package lampwot):
//
//	go run ./examples/lamp -addr 127.0.0.1:8080 [-token T] [-announce] [-register DIRECTORY_URL]
//
// The TD is at / and /.well-known/wot; its forms name the Web Thing Protocol endpoint (/wtp) and
// the HTTP resources of every affordance; the Thing console is at /console/. Try it with
// go run ./examples/lamp/client -url http://127.0.0.1:8080/ [-binding http|wtp] [-token T].
// -announce and -register make it findable with wotgen discover (DNS-SD, a Thing Description
// Directory).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/runtime/console"
	"github.com/wotgen/wotgen/runtime/discovery"
	"github.com/wotgen/wotgen/runtime/wot"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	token := flag.String("token", "", "require this bearer `token` on every request (default: no security)")
	find := &discovery.Findable{Instance: "Lamp"}
	flag.BoolVar(&find.Announce, "announce", false, "announce the lamp over DNS-SD while it runs (listen on a LAN address or 0.0.0.0)")
	flag.StringVar(&find.Directory, "register", "", "keep the lamp registered in the Thing Description Directory at this base `URL`")
	flag.StringVar(&find.Token, "register-token", os.Getenv("WOTGEN_REGISTER_TOKEN"), "bearer `token` for the directory (default $WOTGEN_REGISTER_TOKEN)")
	flag.DurationVar(&find.TTL, "ttl", time.Minute, "lifetime of the directory entry, renewed every ttl/2")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *token, find, log); err != nil {
		fmt.Fprintln(os.Stderr, "lamp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, token string, find *discovery.Findable, log *slog.Logger) error {
	_, srv, err := device.New(device.Options{Token: token, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("lamp: serving", "td", "http://"+ln.Addr().String()+"/", "console", "http://"+ln.Addr().String()+console.Prefix, "auth", token != "")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- wot.Serve(ctx, ln, console.With(srv)) }()
	wait, err := find.Start(ctx, ln.Addr(), log) // the TD is served by now
	if err != nil {
		cancel()
		<-errc
		return err
	}
	err = <-errc
	wait()
	return err
}
