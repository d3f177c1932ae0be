package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wotgen/wotgen/internal/directory"
)

func init() {
	register(command{name: "directory", summary: "run a Thing Description Directory (W3C WoT Discovery): store, list, search and watch TDs over HTTP", run: runDirectory})
}

// directoryAnnounce is the hook for announcing a running directory on the local network with
// DNS-SD (https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-sec: service _wot._tcp, subtype
// _directory, TXT td=/.well-known/wot type=Directory scheme=http). runDirectory calls it once the
// listener is bound when -announce is given, and calls the returned stop before the server shuts
// down. directory_announce.go sets it to discovery.Announce with Type discovery.TypeDirectory.
var directoryAnnounce func(ctx context.Context, a directoryAnnouncement) (stop func(), err error)

// directoryAnnouncement is what an announcer needs to know about the directory.
type directoryAnnouncement struct {
	Addr   net.Addr // the bound listener address
	TDPath string   // path of the directory's own TD
	Scheme string   // http
	Title  string   // the TD title, for the instance name
	Out    stdio
}

// newDirectoryHandler opens the store and builds the directory's http.Handler; close releases both.
func newDirectoryHandler(ctx context.Context, cfg directory.Config, dsn string) (h http.Handler, close func(), err error) {
	st, err := directory.OpenStore(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	cfg.Store = st
	srv, err := directory.New(cfg)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return srv, func() { srv.Close(); st.Close() }, nil
}

func runDirectory(ctx context.Context, args []string, s stdio) int {
	fs := newFlagSet("directory", "[-addr A] [-db FILE|postgres://…] [-token T] [-announce]\n\n"+
		"Serves the WoT Discovery directory API (https://www.w3.org/TR/wot-discovery/#exploration-directory-api):\n"+
		"/things (create, retrieve, update, patch, delete, list), /search/jsonpath, /events (SSE) and\n"+
		"the directory's own TD at /.well-known/wot. Writes need -token when it is set; reads are open.", s)
	addr := fs.String("addr", "127.0.0.1:8081", "listen `address` (host:port; :0 picks a free port)")
	db := fs.String("db", "wotgen-directory.db", "SQLite `file`, or a postgres://user@host/db URL to share one database between several instances")
	token := fs.String("token", "", "bearer `token` required for create, update and delete (default $WOTGEN_DIRECTORY_TOKEN, which keeps it out of process lists; empty: writes are open)")
	base := fs.String("base", "", "public base `URL` put in the directory's own TD (default: from each request's Host)")
	maxTTL := fs.Duration("max-ttl", 0, "longest registration lifetime accepted, e.g. 24h (0: no limit)")
	maxBody := fs.Int64("max-body", directory.DefaultMaxBodyBytes, "largest request body in `bytes`")
	pageSize := fs.Int("page-size", directory.DefaultMaxPageSize, "largest listing page (larger limits are clamped)")
	announce := fs.Bool("announce", false, "announce the directory on the local network with DNS-SD (_wot._tcp, subtype _directory, type=Directory) until it stops; needs -addr on a multicast-capable interface, e.g. 0.0.0.0:8081")
	poll := fs.Duration("poll", directory.DefaultPollInterval, "how often to look for changes made by other instances sharing the database (for /events)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.err, "wotgen directory: unexpected argument %q: the directory takes flags only\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	if *token == "" {
		*token = os.Getenv("WOTGEN_DIRECTORY_TOKEN")
	}
	if *maxBody <= 0 || *pageSize <= 0 || *poll <= 0 || *maxTTL < 0 {
		fmt.Fprintln(s.err, "wotgen directory: -max-body, -page-size and -poll must be positive, -max-ttl not negative")
		return exitUsage
	}
	handler, closeHandler, err := newDirectoryHandler(ctx, directory.Config{
		Token: *token, BaseURL: *base, MaxTTL: *maxTTL, MaxBodyBytes: *maxBody, MaxPageSize: *pageSize, PollInterval: *poll,
	}, *db)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen directory: %v\n", err)
		return exitFindings
	}
	defer closeHandler()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen directory: %v (choose another -addr)\n", err)
		return exitFindings
	}
	store := "SQLite file " + *db
	if directory.IsPostgresDSN(*db) {
		store = "PostgreSQL"
	}
	fmt.Fprintf(s.out, "wotgen directory: serving http://%s/ (own TD at /.well-known/wot, %s)\n", ln.Addr(), store)

	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Requests (SSE streams included) end when the command is asked to stop.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	stopAnnounce := func() {}
	if *announce && directoryAnnounce != nil {
		stop, err := directoryAnnounce(ctx, directoryAnnouncement{Addr: ln.Addr(), TDPath: "/.well-known/wot", Scheme: "http", Title: "wotgen Thing Description Directory", Out: s})
		if err != nil {
			fmt.Fprintf(s.err, "wotgen directory: announce: %v (serving without announcement)\n", err)
		} else {
			stopAnnounce = stop
		}
	}

	select {
	case err := <-served:
		stopAnnounce()
		fmt.Fprintf(s.err, "wotgen directory: %v\n", err)
		return exitFindings
	case <-ctx.Done():
	}
	stopAnnounce() // goodbyes go out while the directory still answers
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(s.err, "wotgen directory: shutdown: %v\n", err)
	}
	hs.Close()
	return exitOK
}
