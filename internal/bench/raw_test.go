package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

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

func rawNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// rawServer is the baseline: one property "level", readproperty and observeproperty only.
type rawServer struct {
	srv *httptest.Server

	mu        sync.Mutex
	level     int
	observers map[*websocket.Conn]string // conn → correlationID
}

func startRaw(tb testing.TB) target {
	r := &rawServer{observers: map[*websocket.Conn]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *rawServer) url() string     { return "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/wtp" }
func (r *rawServer) thingID() string { return benchThingID }
func (r *rawServer) close()          { r.srv.CloseClientConnections(); r.srv.Close() }

func (r *rawServer) serve(w http.ResponseWriter, req *http.Request) {
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

// notify sets the level and writes one notification to every observer, in turn.
func (r *rawServer) notify(v int) {
	r.mu.Lock()
	r.level = v
	obs := make(map[*websocket.Conn]string, len(r.observers))
	for c, cid := range r.observers {
		obs[c] = cid
	}
	r.mu.Unlock()
	val, _ := json.Marshal(v)
	for c, cid := range obs {
		out, _ := json.Marshal(rawMessage{ThingID: benchThingID, MessageID: rawUUID(), MessageType: "notification",
			Operation: "observeproperty", Name: "level", Value: val, Timestamp: rawNow(), CorrelationID: cid})
		c.Write(context.Background(), websocket.MessageText, out)
	}
}
