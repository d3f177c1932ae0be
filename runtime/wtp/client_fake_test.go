package wtp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/runtime/td"
)

// fakeServer is a scriptable WTP peer for the cases a well-behaved server cannot
// produce: garbage, silence, credential inspection. Each request goes to handle.
type fakeServer struct {
	srv      *httptest.Server
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []*fakeConn
	headers  []http.Header
	queries  []string
	auth     func(r *http.Request) bool
	handle   func(fc *fakeConn, m *Message)
	noProto  bool // do not negotiate the sub-protocol
}

type fakeConn struct {
	ws  *websocket.Conn
	ctx context.Context
	mu  sync.Mutex
	obs map[string]string // name → correlationID of observations
}

func newFakeServer(t *testing.T, handle func(fc *fakeConn, m *Message)) *fakeServer {
	t.Helper()
	fs := &fakeServer{handle: handle}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.close)
	return fs
}

func (fs *fakeServer) wsURL() string { return "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/wtp" }

func (fs *fakeServer) close() {
	fs.dropAll()
	fs.srv.Close()
}

// dropAll cuts every WebSocket abruptly (a crash, not a goodbye).
func (fs *fakeServer) dropAll() {
	fs.mu.Lock()
	cs := fs.conns
	fs.conns = nil
	fs.mu.Unlock()
	for _, c := range cs {
		c.ws.CloseNow()
	}
}

// handshakes counts the upgrade requests that reached the server, accepted or not.
func (fs *fakeServer) handshakes() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.headers)
}

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.headers = append(fs.headers, r.Header.Clone())
	fs.queries = append(fs.queries, r.URL.RawQuery)
	auth := fs.auth
	fs.mu.Unlock()
	if auth != nil && !auth(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	opts := &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}}
	if fs.noProto {
		opts = nil
	}
	ws, err := websocket.Accept(w, r, opts)
	if err != nil {
		return
	}
	fs.accepted.Add(1)
	fc := &fakeConn{ws: ws, ctx: context.Background(), obs: map[string]string{}}
	fs.mu.Lock()
	fs.conns = append(fs.conns, fc)
	fs.mu.Unlock()
	defer ws.CloseNow()
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		m, err := DecodeMessage(data)
		if err != nil {
			continue
		}
		fs.handle(fc, m)
	}
}

func (fc *fakeConn) send(m *Message) {
	b, err := AppendMessage(nil, m)
	if err != nil {
		panic(err)
	}
	fc.sendRaw(b)
}

func (fc *fakeConn) sendRaw(b []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = fc.ws.Write(ctx, websocket.MessageText, b)
}

func fakeResponse(req *Message) *Message {
	return &Message{ThingID: req.ThingID, MessageID: NewUUID(), MessageType: MessageTypeResponse,
		Operation: req.Operation, CorrelationID: req.CorrelationID, Name: req.Name}
}

// answerAll is a minimal honest Thing: every property reads 42, writes echo, subscriptions
// are acknowledged and remembered.
func answerAll(fc *fakeConn, m *Message) {
	r := fakeResponse(m)
	switch m.Operation {
	case OpReadProperty:
		r.Value = json.RawMessage(`42`)
	case OpWriteProperty:
		r.Value = m.Value
	case OpObserveProperty, OpSubscribeEvent:
		fc.mu.Lock()
		fc.obs[m.Name] = m.CorrelationID
		fc.mu.Unlock()
	}
	fc.send(r)
}

func (fs *fakeServer) conn(i int) *fakeConn {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.conns[i]
}

// noLeaks fails if goroutines of this package outlive the test (polling briefly: some
// exit just after Close returns, e.g. a callback that was running).
func consumerNoLeaks(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		var leaked []string
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "wotgen/runtime/wtp.(*clientConn)") ||
				strings.Contains(g, "wotgen/runtime/wot.(*Subscription)") ||
				strings.Contains(g, "wotgen/runtime/wtp.(*stateListener)") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d consumer goroutines still running after Close:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testTD is a TD whose WTP forms point at wsURL.
func consumerTD(t testing.TB, id, wsURL string, extra string) *td.Thing {
	t.Helper()
	doc := fmt.Sprintf(`{
 "@context": "https://www.w3.org/2022/wot/td/v1.1", "id": %q, "title": "T",
 "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc" %s,
 "properties": {
  "temp": {"type": "number", "minimum": -50, "maximum": 100, "forms": [{"href": %q, "subprotocol": "webthingprotocol", "op": ["readproperty", "writeproperty", "observeproperty", "unobserveproperty"]}]},
  "ro": {"type": "integer", "readOnly": true, "forms": [{"href": %q, "subprotocol": "webthingprotocol"}]},
  "pin": {"type": "string", "writeOnly": true, "forms": [{"href": %q, "subprotocol": "webthingprotocol"}]}},
 "actions": {
  "slow": {"synchronous": false, "input": {"type": "integer", "minimum": 0}, "output": {"type": "integer"}, "forms": [{"href": %q, "subprotocol": "webthingprotocol", "op": ["invokeaction", "queryaction", "cancelaction"]}]},
  "quick": {"synchronous": true, "output": {"type": "boolean"}, "forms": [{"href": %q, "subprotocol": "webthingprotocol"}]}},
 "events": {"alarm": {"data": {"type": "string"}, "forms": [{"href": %q, "subprotocol": "webthingprotocol"}]}},
 "forms": [{"href": %q, "subprotocol": "webthingprotocol", "op": ["readallproperties", "writeallproperties", "readmultipleproperties", "writemultipleproperties", "observeallproperties", "unobserveallproperties", "queryallactions", "subscribeallevents", "unsubscribeallevents"]}]}`,
		id, extra, wsURL, wsURL, wsURL, wsURL, wsURL, wsURL, wsURL)
	th, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("test TD: %v", err)
	}
	return th
}

func consumerCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
