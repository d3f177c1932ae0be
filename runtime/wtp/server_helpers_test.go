package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wotgen/wotgen/runtime/td"
)

// valveTD is an irrigation valve over WTP (without security), plus a property offered for
// reading only and an event-less action for failure cases.
const valveTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "https://farm.example.org/things/valve-7", "title": "Irrigation valve 7", "base": "wss://farm.example.org/",
 "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
 "properties": {
  "open": {"type": "boolean", "observable": true, "forms": [{"href": "wtp", "subprotocol": "webthingprotocol", "op": ["readproperty", "writeproperty", "observeproperty", "unobserveproperty"]}]},
  "flowRate": {"type": "number", "unit": "L/min", "readOnly": true, "observable": true, "forms": [{"href": "wtp", "subprotocol": "webthingprotocol", "op": ["readproperty", "observeproperty", "unobserveproperty"]}]},
  "targetFlow": {"type": "integer", "minimum": 0, "maximum": 40, "unit": "L/min", "forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]},
  "servicePin": {"type": "string", "writeOnly": true, "forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]},
  "label": {"type": "string", "forms": [{"href": "wtp", "subprotocol": "webthingprotocol", "op": "readproperty"}, {"href": "http://farm.example.org/label", "op": "writeproperty"}]}},
 "actions": {
  "flush": {"synchronous": false, "input": {"type": "object", "properties": {"seconds": {"type": "integer", "minimum": 1}}, "required": ["seconds"]}, "output": {"type": "object", "properties": {"litres": {"type": "number"}}},
   "forms": [{"href": "wtp", "subprotocol": "webthingprotocol", "op": ["invokeaction", "queryaction", "cancelaction"]}]},
  "selfTest": {"synchronous": true, "output": {"type": "boolean"}, "forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]},
  "calibrate": {"forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]}},
 "events": {
  "leak": {"data": {"type": "object", "properties": {"zone": {"type": "string"}, "severity": {"type": "integer", "minimum": 1, "maximum": 5}}}, "forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]},
  "lowPressure": {"data": {"type": "number", "unit": "kPa"}, "forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]}},
 "forms": [{"href": "wtp", "subprotocol": "webthingprotocol", "op": ["readallproperties", "writeallproperties", "readmultipleproperties", "writemultipleproperties", "observeallproperties", "unobserveallproperties", "queryallactions", "subscribeallevents", "unsubscribeallevents"]}]}`

const valveID = "https://farm.example.org/things/valve-7"

func parseTD(t testing.TB, doc string) *td.Thing {
	t.Helper()
	d, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse TD: %v", err)
	}
	return d
}

func newValve(t testing.TB, opts ...ThingOption) *Thing {
	t.Helper()
	th, err := NewThing(parseTD(t, valveTD), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// serve starts a Server with the Things on an httptest server and stops both at the end.
func serve(t testing.TB, things []*Thing, opts ...ServerOption) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(opts...)
	for _, th := range things {
		if err := s.AddThing(th); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		hs.Close()
	})
	return s, hs
}

func wsURLOf(hs *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(hs.URL, "http") + path
}

// rawClient is a minimal WTP consumer for tests: it sends what it is told and records every
// message it receives, independent of the package's consumer code.
type rawClient struct {
	t       testing.TB
	ws      *websocket.Conn
	thingID string
	msgs    chan *Message
	done    chan struct{}
	stop    chan struct{} // closed at cleanup: a reader waiting for room in msgs gives up
	err     error         // the read error that ended the client (valid after done)
}

type dialOpts struct {
	header      http.Header
	noReader    bool // do not read at all (a stalled consumer)
	smallBuffer bool // a small socket receive buffer
}

func dial(t testing.TB, hs *httptest.Server, o ...dialOpts) *rawClient {
	t.Helper()
	var opt dialOpts
	if len(o) > 0 {
		opt = o[0]
	}
	c := dialWith(t, hs, opt)
	t.Cleanup(func() {
		close(c.stop)
		c.ws.CloseNow()
		<-c.done
	})
	return c
}

// dialNoCleanup is dial for tests that check the connection ends by itself.
func dialNoCleanup(t testing.TB, hs *httptest.Server) *rawClient {
	t.Helper()
	return dialWith(t, hs, dialOpts{})
}

func httpTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

func dialWith(t testing.TB, hs *httptest.Server, opt dialOpts) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dopts := &websocket.DialOptions{Subprotocols: []string{Subprotocol}, HTTPHeader: opt.header}
	if opt.smallBuffer {
		dopts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(4096)
			}
			return c, err
		}}}
	}
	ws, resp, err := websocket.Dial(ctx, wsURLOf(hs, "/wtp"), dopts)
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	if ws.Subprotocol() != Subprotocol {
		t.Fatalf("server negotiated sub-protocol %q", ws.Subprotocol())
	}
	ws.SetReadLimit(64 << 20)
	c := &rawClient{t: t, ws: ws, thingID: valveID, msgs: make(chan *Message, 10000), done: make(chan struct{}), stop: make(chan struct{})}
	if opt.noReader {
		close(c.done)
	} else {
		go c.readLoop()
	}
	return c
}

func (c *rawClient) readLoop() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		m, err := DecodeMessage(b)
		if err != nil {
			c.t.Errorf("client received an undecodable message %s: %v", b, err)
			continue
		}
		// A test that reads its messages slower than they come (a burst) slows this reader
		// down, as a consumer that keeps up but is behind would; one that never reads them is
		// a broken test.
		select {
		case c.msgs <- m:
		default:
			select {
			case c.msgs <- m:
			case <-c.stop:
				return
			case <-time.After(10 * time.Second):
				c.t.Errorf("client buffer full for 10 s: the test does not read its messages")
			}
		}
	}
}

func (c *rawClient) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// request builds a request for op with fresh IDs; mod fills in the members.
func (c *rawClient) request(op string, mod func(*Message)) *Message {
	m := &Message{ThingID: c.thingID, MessageID: NewUUID(), MessageType: MessageTypeRequest, Operation: op, CorrelationID: NewUUID()}
	if mod != nil {
		mod(m)
	}
	return m
}

func (c *rawClient) send(m *Message) {
	c.t.Helper()
	b, err := AppendMessage(nil, m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// recv returns the next message, failing the test after 5 s.
func (c *rawClient) recv() *Message {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no message within 5 s")
		return nil
	}
}

// call sends a request and returns the next message, which must be its response.
func (c *rawClient) call(op string, mod func(*Message)) *Message {
	c.t.Helper()
	req := c.request(op, mod)
	c.send(req)
	resp := c.recv()
	checkResponse(c.t, req, resp)
	return resp
}

func checkResponse(t testing.TB, req, resp *Message) {
	t.Helper()
	if resp.MessageType != MessageTypeResponse || resp.CorrelationID != req.CorrelationID || resp.Operation != req.Operation {
		t.Fatalf("want the response to %s %s, got %+v", req.Operation, req.CorrelationID, resp)
	}
	if !isUUID(resp.MessageID) || resp.MessageID == req.MessageID {
		t.Fatalf("response messageID %q is not a fresh UUID", resp.MessageID)
	}
	if resp.ThingID != req.ThingID && req.ThingID != "" {
		t.Fatalf("response thingID %q, want %q", resp.ThingID, req.ThingID)
	}
	if resp.Timestamp.IsZero() {
		t.Fatalf("response without timestamp")
	}
}

// ok calls and requires a success response.
func (c *rawClient) ok(op string, mod func(*Message)) *Message {
	c.t.Helper()
	resp := c.call(op, mod)
	if resp.Error != nil {
		c.t.Fatalf("%s failed: %v", op, resp.Error)
	}
	return resp
}

// fails calls and requires an error response with the status whose detail contains want.
func (c *rawClient) fails(op string, mod func(*Message), status int, want string) *Message {
	c.t.Helper()
	resp := c.call(op, mod)
	expectProblem(c.t, resp, status, want)
	return resp
}

func expectProblem(t testing.TB, resp *Message, status int, want string) {
	t.Helper()
	if resp.Error == nil {
		t.Fatalf("want error %d, got success %+v", status, resp)
	}
	e := resp.Error
	if e.Status != status || !strings.Contains(e.Detail, want) {
		t.Fatalf("want error %d containing %q, got %d %q", status, want, e.Status, e.Detail)
	}
	if commonErrorTypes[status] && (e.Title != http.StatusText(status) || e.Type != ErrorTypeBase+itoa(status)) {
		t.Fatalf("problem type/title %q %q do not follow the WTP table", e.Type, e.Title)
	}
	if resp.Value != nil || resp.Output != nil || resp.Status != nil {
		t.Fatalf("error response carries a result: %+v", resp)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// expectNone requires that nothing is due to c: it sends a request (a read of a property no
// Thing has) and the next message must be that request's answer. The server answers a
// connection's requests in order and queues a notification when it happens, so anything
// that was due before this call arrives first, without waiting for time to pass.
func (c *rawClient) expectNone() {
	c.t.Helper()
	req := c.request(OpReadProperty, func(m *Message) { m.Name = "expect-none-barrier" })
	c.send(req)
	if m := c.recv(); m.CorrelationID != req.CorrelationID || m.MessageType != MessageTypeResponse {
		c.t.Fatalf("unexpected message %+v", m)
	}
}

// closeStatus waits for the connection to end and returns the close code the server sent.
func (c *rawClient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("connection not closed within 10 s")
	}
	return websocket.CloseStatus(c.err)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errBoom = errors.New("sensor did not answer")

// record is a list appended to by server goroutines and read by the test.
type record struct {
	mu   sync.Mutex
	list []string
}

func (r *record) add(s string) {
	r.mu.Lock()
	r.list = append(r.list, s)
	r.mu.Unlock()
}

func (r *record) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}
