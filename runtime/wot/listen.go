package wot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds how long ListenAndServe and Serve wait for sessions and handlers
// to end once their context is done.
const shutdownTimeout = 5 * time.Second

// ListenAndServe listens on the TCP address addr and serves h until ctx ends; see Serve.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, h)
}

// Serve serves h on ln with every HTTP timeout set, so slow or idle clients cannot hold
// connections forever (upgraded WebSocket connections are exempt: net/http clears deadlines
// on hijack, and the WTP binding applies its own limits). When ctx ends it shuts h down
// first, if h has a Shutdown(context.Context) error method (a *Server does: its bindings'
// sessions end, hijacked connections included, which http.Server does not track), then the
// HTTP server, both within 5 seconds. It returns nil after a shutdown ctx asked for,
// or the error that stopped serving.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	hs := newHTTPServer(h)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var err error
	if s, ok := h.(interface{ Shutdown(context.Context) error }); ok {
		err = s.Shutdown(sctx)
	}
	if e := hs.Shutdown(sctx); e != nil && err == nil {
		err = e
	}
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// newHTTPServer returns an http.Server for h with every timeout set.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
