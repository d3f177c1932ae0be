package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/internal/bench/burst"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// benchThingID is the raw server's thingID.
const benchThingID = "urn:wotgen:bench"

func serve(kind string) error {
	mux := http.NewServeMux()
	var notify func(v int)
	dropped := func() uint64 { return 0 }
	switch kind {
	case "raw":
		r := &rawServer{observers: map[*websocket.Conn]string{}, streams: map[chan []byte]struct{}{}}
		mux.HandleFunc("/wtp", r.serveWTP)
		mux.HandleFunc("GET /properties/level", r.serveLevel)
		mux.HandleFunc("GET /events/level", r.serveSSE)
		notify = r.notify
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

// rawMessage is the baseline's envelope: plain structs through encoding/json, as a hand-written
// server would do it.
type rawMessage struct {
	ThingID       string          `json:"thingID"`
	MessageID     string          `json:"messageID"`
	MessageType   string          `json:"messageType"`
	Operation     string          `json:"operation"`
	Name          string          `json:"name,omitempty"`
	Value         json.RawMessage `json:"value,omitempty"`
	Timestamp     string          `json:"timestamp,omitempty"`
	CorrelationID string          `json:"correlationID,omitempty"`
}

func rawUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func rawNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// rawServer is the baseline: one property "level", readproperty and observeproperty over WTP,
// GET over HTTP, and an SSE stream of its changes.
type rawServer struct {
	mu        sync.Mutex
	level     int
	observers map[*websocket.Conn]string // conn → correlationID
	streams   map[chan []byte]struct{}
}

func (r *rawServer) serveWTP(w http.ResponseWriter, req *http.Request) {
	c, err := websocket.Accept(w, req, &websocket.AcceptOptions{Subprotocols: []string{"webthingprotocol"}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := context.Background()
	defer func() {
		r.mu.Lock()
		delete(r.observers, c)
		r.mu.Unlock()
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m rawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		resp := rawMessage{ThingID: m.ThingID, MessageID: rawUUID(), MessageType: "response",
			Operation: m.Operation, Name: m.Name, CorrelationID: m.CorrelationID, Timestamp: rawNow()}
		switch m.Operation {
		case "readproperty":
			r.mu.Lock()
			resp.Value, _ = json.Marshal(r.level)
			r.mu.Unlock()
		case "observeproperty":
			r.mu.Lock()
			r.observers[c] = m.CorrelationID
			r.mu.Unlock()
		}
		out, _ := json.Marshal(resp)
		if err := c.Write(ctx, websocket.MessageText, out); err != nil {
			return
		}
	}
}

func (r *rawServer) serveLevel(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	v := r.level
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveSSE streams every change of level; a stream that falls 65,536 events behind is closed
// (more than a scenario's burst: the baseline must not fail its own benchmark).
func (r *rawServer) serveSSE(w http.ResponseWriter, req *http.Request) {
	ch := make(chan []byte, 1<<16)
	r.mu.Lock()
	r.streams[ch] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.streams, ch)
		r.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	for {
		select {
		case <-req.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			w.Write(ev)
			for more := true; more; {
				select {
				case ev, ok := <-ch:
					if !ok {
						return
					}
					w.Write(ev)
				default:
					more = false
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// notify sets the level and writes one notification to every observer, in turn.
func (r *rawServer) notify(v int) {
	r.mu.Lock()
	r.level = v
	obs := make(map[*websocket.Conn]string, len(r.observers))
	for c, cid := range r.observers {
		obs[c] = cid
	}
	val, _ := json.Marshal(v)
	id := rawUUID()
	ev := fmt.Appendf(nil, "event: level\ndata: %s\nid: %s\n\n", val, id)
	for ch := range r.streams {
		select {
		case ch <- ev:
		default:
			delete(r.streams, ch)
			close(ch)
		}
	}
	r.mu.Unlock()
	for c, cid := range obs {
		out, _ := json.Marshal(rawMessage{ThingID: benchThingID, MessageID: id, MessageType: "notification",
			Operation: "observeproperty", Name: "level", Value: val, Timestamp: rawNow(), CorrelationID: cid})
		c.Write(context.Background(), websocket.MessageText, out)
	}
}
