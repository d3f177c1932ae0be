package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/internal/bench/burst"
	"github.com/wotgen/wotgen/internal/bench/rawthing"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// benchThingID is the raw server's thingID.
const benchThingID = rawthing.ThingID

func serve(kind string) error {
	mux := http.NewServeMux()
	var notify func(v int)
	dropped := func() uint64 { return 0 }
	switch kind {
	case "raw":
		r := rawthing.New()
		mux.Handle("/", r.Handler())
		notify = r.Notify
	case "lamp":
		lamp, srv, err := device.New(device.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		mux.Handle("/", srv)
		notify = func(v int) { lamp.Exposed().NotifyLevel(lampwot.Level(v % 101)) }
		dropped = func() uint64 { return wtp.ServerStats(srv).DroppedSlowConsumers }
		// Only the burst records the changes (a subscriber of its own would cost the other
		// scenarios).
		mux.HandleFunc("POST /bench/record", func(w http.ResponseWriter, r *http.Request) {
			if err := lamp.Exposed().Exposed().Subscribe(context.Background(), levels, td.KindProperty, []string{"level"}, nil, ""); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	default:
		return fmt.Errorf("unknown server %q; want raw or lamp", kind)
	}
	mux.HandleFunc("POST /bench/notify", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for i := range n {
			notify(i)
		}
	})
	mux.HandleFunc("GET /bench/mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		rss, hwm := procMemory()
		json.NewEncoder(w).Encode(map[string]uint64{"inuse": m.HeapInuse + m.StackInuse, "mallocs": m.Mallocs,
			"rss": rss, "hwm": hwm, "dropped": dropped(), "changes": levels.count(), "hash": levels.hash()})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Printf("ADDR %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // until the driver closes our stdin
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return hs.Shutdown(ctx)
}

// levels records the changes of the lamp's level as the Thing notifies them (in its order), for
// checking what the burst's observer received.
var levels = &levelRecord{}

type levelRecord struct {
	mu     sync.Mutex
	values []int
}

func (r *levelRecord) Notify(n *wot.Notification, _ any) {
	var v int
	json.Unmarshal(n.Value, &v)
	r.mu.Lock()
	r.values = append(r.values, v)
	r.mu.Unlock()
}

func (r *levelRecord) count() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint64(len(r.values))
}

// hash is the digest of every change since start. The burst's driver compares it with what its
// observer received; it starts from a fresh server.
func (r *levelRecord) hash() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return burst.Hash(r.values)
}

// procMemory returns the process's resident set size and its peak, in bytes (0 where /proc is
// not available).
func procMemory() (rss, hwm uint64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		var kb uint64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			rss = kb << 10
		} else if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			hwm = kb << 10
		}
	}
	return rss, hwm
}
