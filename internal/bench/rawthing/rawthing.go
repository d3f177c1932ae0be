// Package rawthing is the benchmarks' baseline: the thinnest Thing one can write by hand with
// github.com/coder/websocket, net/http and encoding/json, and no wotgen code. It has one integer
// property, "level": readproperty and observeproperty over the Web Thing Protocol
// (https://www.w3.org/community/reports/web-thing-protocol/), a GET of its value over HTTP, and a
// server-sent event stream of its changes.
//
// The in-process benchmarks of internal/bench and the out-of-process server of
// internal/bench/wotbench both measure against this one implementation.
package rawthing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// ThingID is the thingID of the baseline's notifications.
const ThingID = "urn:wotgen:bench"

// Server is the baseline Thing. The zero value is not ready; use New.
type Server struct {
	mu        sync.Mutex
	level     int
	observers map[*websocket.Conn]string // conn → correlationID
	streams   map[chan []byte]struct{}
}

// New returns a baseline Thing with level 0.
func New() *Server {
	return &Server{observers: map[*websocket.Conn]string{}, streams: map[chan []byte]struct{}{}}
}

// Handler serves the WTP endpoint at /wtp, the value at GET /properties/level and its changes at
// GET /events/level.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/wtp", s.serveWTP)
	mux.HandleFunc("GET /properties/level", s.serveLevel)
	mux.HandleFunc("GET /events/level", s.serveSSE)
	return mux
}

// message is the baseline's envelope: plain structs through encoding/json, as a hand-written
// server would do it.
type message struct {
	ThingID       string          `json:"thingID"`
	MessageID     string          `json:"messageID"`
	MessageType   string          `json:"messageType"`
	Operation     string          `json:"operation"`
	Name          string          `json:"name,omitempty"`
	Value         json.RawMessage `json:"value,omitempty"`
	Timestamp     string          `json:"timestamp,omitempty"`
	CorrelationID string          `json:"correlationID,omitempty"`
}

// newUUID returns a random (version 4) UUID, as every WTP message needs a messageID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// serveWTP answers one connection's requests in order, one goroutine per connection.
func (s *Server) serveWTP(w http.ResponseWriter, req *http.Request) {
	c, err := websocket.Accept(w, req, &websocket.AcceptOptions{Subprotocols: []string{"webthingprotocol"}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := context.Background()
	defer func() {
		s.mu.Lock()
		delete(s.observers, c)
		s.mu.Unlock()
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		resp := message{ThingID: m.ThingID, MessageID: newUUID(), MessageType: "response",
			Operation: m.Operation, Name: m.Name, CorrelationID: m.CorrelationID, Timestamp: now()}
		switch m.Operation {
		case "readproperty":
			s.mu.Lock()
			resp.Value, _ = json.Marshal(s.level)
			s.mu.Unlock()
		case "observeproperty":
			s.mu.Lock()
			s.observers[c] = m.CorrelationID
			s.mu.Unlock()
		}
		out, _ := json.Marshal(resp)
		if err := c.Write(ctx, websocket.MessageText, out); err != nil {
			return
		}
	}
}

func (s *Server) serveLevel(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	v := s.level
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveSSE streams every change of level; a stream that falls 65,536 events behind is closed
// (more than a scenario's burst: the baseline must not fail its own benchmark).
func (s *Server) serveSSE(w http.ResponseWriter, req *http.Request) {
	ch := make(chan []byte, 1<<16)
	s.mu.Lock()
	s.streams[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, ch)
		s.mu.Unlock()
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

// Notify sets the level to v and sends one notification to every WTP observer, in turn, and
// one event to every stream.
func (s *Server) Notify(v int) {
	s.mu.Lock()
	s.level = v
	obs := make(map[*websocket.Conn]string, len(s.observers))
	for c, cid := range s.observers {
		obs[c] = cid
	}
	val, _ := json.Marshal(v)
	id := newUUID()
	ev := fmt.Appendf(nil, "event: level\ndata: %s\nid: %s\n\n", val, id)
	for ch := range s.streams {
		select {
		case ch <- ev:
		default:
			delete(s.streams, ch)
			close(ch)
		}
	}
	s.mu.Unlock()
	for c, cid := range obs {
		out, _ := json.Marshal(message{ThingID: ThingID, MessageID: id, MessageType: "notification",
			Operation: "observeproperty", Name: "level", Value: val, Timestamp: now(), CorrelationID: cid})
		c.Write(context.Background(), websocket.MessageText, out)
	}
}
