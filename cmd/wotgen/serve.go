package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wotgen/wotgen/runtime/console"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func init() {
	register(command{name: "serve", summary: "serve a simulated Thing from any TD over the Web Thing Protocol", run: runServe})
}

const serveSynopsis = `[flags] INPUT

INPUT is a TD file or an http(s) URL. The simulator serves the TD at / and /.well-known/wot with
every form pointing at its own Web Thing Protocol endpoint (ws://ADDR/wtp): properties hold
schema-valid values (defaults, consts, enums and ranges respected), writes are validated and
notified to observers, actions complete with schema-valid output after -delay (those that are
asynchronous can be queried and cancelled meanwhile), events carry schema-valid data.

Emit events and change properties on demand (read-only ones too), either over HTTP:
    curl -X POST http://ADDR/simulator/events/NAME [-d JSON]        (no body: sample data)
    curl -X POST http://ADDR/simulator/properties/NAME [-d JSON]    (no body: a new sample value)
or by typing lines on standard input:
    emit NAME [JSON]
    set NAME [JSON]
With -token, the control endpoints need the same "Authorization: Bearer TOKEN" header.

The Thing console at http://ADDR/console/ shows every property live and lets you write properties,
invoke actions and watch events from a browser (-console=false turns it off). With -token it asks for
the token and sends it as the access_token query parameter, since browsers cannot set headers on a
WebSocket handshake.`


func runServe(ctx context.Context, args []string, s stdio) int {
	fs := newFlagSet("serve", serveSynopsis, s)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` (host:port; port 0 picks a free port)")
	token := fs.String("token", "", "require \"Authorization: Bearer `TOKEN`\" on the WebSocket handshake and the control endpoints, and declare a bearer scheme in the served TD")
	delay := fs.Duration("delay", 2*time.Second, "how long each action runs before it completes")
	events := fs.Duration("events", 0, "emit every event with sample data at this `interval` (0: only on demand)")
	update := fs.Duration("update", 0, "give read-only properties new sample values at this `interval`, notifying observers (0: never)")
	async := fs.Bool("async", false, "answer actions whose TD does not say \"synchronous\" at once and run them in the background (queryable, cancellable)")
	seed := fs.Uint64("seed", 1, "seed of the sample values (the same seed gives the same values)")
	verbose := fs.Bool("v", false, "log connections and protocol details too")
	bindings := fs.String("bindings", "wtp,http", "serve the Thing over these protocol `bindings` (comma-separated: wtp, http)")
	announce := fs.Bool("announce", false, "announce the Thing on the local network with DNS-SD (_wot._tcp, td=/.well-known/wot) until it stops; needs -addr on a multicast-capable interface, e.g. 0.0.0.0:8080")
	reg := addRegisterFlags(fs) // -register, -register-token, -register-td, -ttl: see serve_register.go
	withConsole := fs.Bool("console", true, "serve the Thing console, a browser page that operates the Thing, at /console/")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(s.err, "wotgen serve: want exactly one INPUT (a TD file or an http(s) URL)")
		fs.Usage()
		return exitUsage
	}
	if *delay < 0 || *events < 0 || *update < 0 {
		fmt.Fprintln(s.err, "wotgen serve: -delay, -events and -update must not be negative")
		return exitUsage
	}
	without, err := withoutBindings(*bindings)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen serve: -bindings: %v\n", err)
		return exitUsage
	}
	src := fs.Arg(0)
	raw, _, err := td.ReadSource(ctx, src, td.FetchOptions{})
	if err != nil {
		fmt.Fprintf(s.err, "wotgen serve: %v\n", err)
		return exitUsage
	}
	thing, err := td.Parse(raw)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen serve: %s: %v\n", src, err)
		return exitUsage
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
	sim, notes, err := newSimulator(thing, raw, simOptions{token: *token, delay: *delay, events: *events,
		update: *update, async: *async, seed: *seed, log: log, without: without})
	if err != nil {
		fmt.Fprintf(s.err, "wotgen serve: %s: %v\n", src, err)
		return exitUsage
	}
	for _, n := range notes {
		fmt.Fprintf(s.err, "wotgen serve: note: %s\n", n)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen serve: cannot listen on %s: %v (pick another -addr)\n", *addr, err)
		return exitFindings
	}
	var handler http.Handler = sim
	if *withConsole {
		handler = console.With(sim)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(s.out, "wotgen serve: simulating %q (%s)\n", sim.desc.Title, sim.thing.ID())
	fmt.Fprintf(s.out, "  TD:        %s/  (also %s/.well-known/wot)\n", base, base)
	if !slices.Contains(without, "wtp") {
		fmt.Fprintf(s.out, "  endpoint:  ws://%s%s (Web Thing Protocol)\n", ln.Addr(), simEndpoint)
	}
	if !slices.Contains(without, "http") {
		fmt.Fprintf(s.out, "  HTTP:      the forms of the TD (%s/properties/NAME, …)\n", base)
	}
	if *withConsole {
		fmt.Fprintf(s.out, "  console:   %s%s\n", base, console.Prefix)
	}
	fmt.Fprintf(s.out, "  control:   POST %s/simulator/events/NAME, POST %s/simulator/properties/NAME, or stdin lines \"emit NAME [JSON]\", \"set NAME [JSON]\"\n", base, base)
	fmt.Fprintf(s.out, "  stop:      Ctrl-C\n")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	simDone := make(chan struct{})
	go func() { sim.run(ctx); close(simDone) }()
	if s.in != nil {
		// The reader cannot be interrupted; it ends with the process (or at EOF).
		go readCommands(ctx, sim, s)
	}

	// Serve first: registration fetches the served TD, and announcements point at it.
	serving, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	serveErr := make(chan error, 1)
	go func() { serveErr <- wot.Serve(serving, ln, handler) }()

	code := exitOK
	defer registerServe(ctx, cancel, reg, ln, s, &code)() // Thing Description Directory registration: see serve_register.go
	waitAnnounce := func() {}
	if *announce { // DNS-SD: see serve_announce.go
		w, err := announceServe(ctx, ln, sim.desc.Title, s)
		if err != nil {
			fmt.Fprintf(s.err, "wotgen serve: -announce: %v\n", err)
			code = exitFindings
			cancel()
		} else {
			waitAnnounce = w
		}
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		serveErr <- err // read again below
	}
	cancel()
	<-simDone
	waitAnnounce() // goodbye packets go out while the server still answers
	fmt.Fprintln(s.err, "wotgen serve: shutting down")
	stopServing()
	if err := <-serveErr; err != nil {
		fmt.Fprintf(s.err, "wotgen serve: %v\n", err)
		code = exitFindings
	}
	return code
}

// withoutBindings turns the -bindings list into the bindings to leave out.
func withoutBindings(list string) ([]string, error) {
	want := map[string]bool{}
	for _, b := range strings.Split(list, ",") {
		switch b = strings.TrimSpace(b); b {
		case "wtp", "http":
			want[b] = true
		case "":
		default:
			return nil, fmt.Errorf("unknown binding %q; want wtp, http or both", b)
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no binding left; want wtp, http or both")
	}
	var without []string
	for _, b := range []string{"wtp", "http"} {
		if !want[b] {
			without = append(without, b)
		}
	}
	return without, nil
}

// readCommands runs control lines from standard input until EOF or ctx is done.
func readCommands(ctx context.Context, sim *simulator, s stdio) {
	sc := bufio.NewScanner(s.in)
	sc.Buffer(make([]byte, 64<<10), maxControlBody)
	for sc.Scan() {
		if ctx.Err() != nil {
			return
		}
		if err := sim.command(sc.Text()); err != nil {
			fmt.Fprintf(s.err, "wotgen serve: %v\n", err)
		}
	}
}
