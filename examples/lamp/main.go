// Command lamp serves the dimmable lamp of the Web Thing Protocol draft through the code wotgen
// generated from lamp.td.json (package lampwot):
//
//	go run ./examples/lamp -addr 127.0.0.1:8080 [-token T]
//
// The TD is at / and /.well-known/wot, the WTP endpoint where its forms say (/wtp), and the Thing
// console at /console/. Try it with go run ./examples/lamp/client -url http://127.0.0.1:8080/ [-token T].
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/runtime/console"
	"github.com/wotgen/wotgen/runtime/wtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	token := flag.String("token", "", "require this bearer `token` on the WebSocket handshake (default: no security)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *token, log); err != nil {
		fmt.Fprintln(os.Stderr, "lamp:", err)
		os.Exit(1)
	}
}

func run(addr, token string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, srv, err := device.New(device.Options{Token: token, Logger: log})
	if err != nil {
		return err
	}
	hs := wtp.NewHTTPServer(addr, console.With(srv)) // the Thing console at /console/
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("lamp: serving", "td", "http://"+addr+"/", "wtp", "ws://"+addr+"/wtp", "console", "http://"+addr+console.Prefix, "auth", token != "")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("lamp: shutdown", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
