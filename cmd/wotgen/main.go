// Command wotgen turns W3C Web of Things Thing Descriptions into typed Go, validates TDs and Thing
// Models, scaffolds Thing servers and simulates Things. Run "wotgen help" for the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// signalContext is cancelled on SIGINT or SIGTERM so long-running subcommands can stop cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
