package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
)

// frame encodes one frame with opcode op (fin set), masked as clients must.
func frame(op byte, fin bool, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	f = append(f, 1, 2, 3, 4)
	for i, b := range payload {
		f = append(f, b^[]byte{1, 2, 3, 4}[i%4])
	}
	return f
}

func TestFrameBuffered(t *testing.T) {
	text := frame(0x1, true, []byte(`{"a":1}`))
	long := frame(0x1, true, bytes.Repeat([]byte("x"), 300))
	for _, tc := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"nothing", nil, false},
		{"one byte", text[:1], false},
		{"a whole text frame", text, true},
		{"a partial text frame", text[:len(text)-1], false},
		{"a whole 16-bit length frame", long, true},
		{"a 16-bit length frame, length incomplete", long[:3], false},
		{"a 16-bit length frame, payload incomplete", long[:len(long)-1], false},
		{"a 64-bit length frame", frame(0x1, true, bytes.Repeat([]byte("x"), 1<<16)), false},
		// A control frame is handled inside the library: the reader would then block for the
		// next request with responses held back (the case that once stalled the soak test).
		{"a ping", frame(0x9, true, []byte("ka")), false},
		{"a pong", frame(0xA, true, nil), false},
		{"a close", frame(0x8, true, []byte{3, 232}), false},
		{"a non-final text fragment", frame(0x1, false, []byte("x")), false},
		{"a binary frame", frame(0x2, true, []byte("x")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(bytes.NewReader(tc.in), 1<<17)
			br.Peek(len(tc.in)) // fill the buffer as the library's reads would
			if got := frameBuffered(br); got != tc.want {
				t.Errorf("frameBuffered = %v, want %v", got, tc.want)
			}
		})
	}
}

// corkConn records each Write as one system call would be.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *corkConn) SetWriteDeadline(time.Time) error { return nil }

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestCorkBatchesAndKeepsOrder(t *testing.T) {
	nc := &corkConn{}
	w := &corkWriter{nc: nc}
	w.Write([]byte("a"))
	w.hold()
	w.Write([]byte("b"))
	w.Write([]byte("c")) // say a pong the library writes meanwhile
	w.Write([]byte("d"))
	if len(nc.writes) != 1 {
		t.Fatalf("held writes went out: %q", nc.writes)
	}
	if err := w.release(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("e"))
	got := []string{}
	for _, b := range nc.writes {
		got = append(got, string(b))
	}
	if strings.Join(got, "|") != "a|bcd|e" {
		t.Fatalf("writes %q, want a, bcd in one, e", got)
	}
	w.hold()
	if err := w.release(); err != nil || len(nc.writes) != 3 {
		t.Fatalf("an empty batch wrote: %q %v", nc.writes, err)
	}
}

// deadlineConn records write deadlines.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error { d.set = append(d.set, t); return nil }

// In a synctest bubble, so the half timeout passes exactly when the test says.
func TestWriteDeadlineRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc := &deadlineConn{}
		c := &Conn{nc: nc, timeout: 40 * time.Millisecond}
		c.deadline()
		c.deadline()
		if len(nc.set) != 1 || nc.set[0].IsZero() {
			t.Fatalf("deadlines set: %v, want one (renewed too early)", nc.set)
		}
		time.Sleep(25 * time.Millisecond) // past half the timeout
		c.deadline()
		if len(nc.set) != 2 || !nc.set[1].After(nc.set[0]) {
			t.Fatalf("deadline not renewed after half its time: %v", nc.set)
		}
		c.EndWrites()
		if len(nc.set) != 3 || !nc.set[2].IsZero() {
			t.Fatalf("deadline not cleared when the writer stops: %v", nc.set)
		}
		c.EndWrites()
		if len(nc.set) != 3 {
			t.Fatalf("cleared twice: %v", nc.set)
		}
	})
}

// serve accepts one connection with Accept and hands it to f on the server's goroutine.
func serve(t *testing.T, timeout time.Duration, f func(c *Conn)) *httptest.Server {
	t.Helper()
	var wg sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil, timeout)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		wg.Go(func() { f(c) })
	}))
	t.Cleanup(func() { hs.Close(); wg.Wait() })
	return hs
}

func dial(t *testing.T, hs *httptest.Server, readBuffer int) *websocket.Conn {
	t.Helper()
	opts := &websocket.DialOptions{}
	if readBuffer > 0 {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				c.(*net.TCPConn).SetReadBuffer(readBuffer)
			}
			return c, err
		}}}
	}
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// Over a real socket: echo through Read and a batch of Writes; the library's own frames still
// work (Close).
func TestEchoAndBatch(t *testing.T) {
	hs := serve(t, 5*time.Second, func(c *Conn) {
		for {
			data, text, err := c.Read()
			if err != nil {
				return
			}
			if !text {
				c.Close(websocket.StatusUnsupportedData, "binary")
				return
			}
			msg := string(data)
			if !c.Hold() {
				t.Error("no batching on a hijacked connection")
			}
			for i := range 3 {
				c.Write([]byte(msg + string(rune('0'+i))))
			}
			if err := c.Release(); err != nil {
				t.Error(err)
			}
			c.EndWrites()
		}
	})
	ws := dial(t, hs, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws.Write(ctx, websocket.MessageText, []byte("m"))
	for i := range 3 {
		_, b, err := ws.Read(ctx)
		if err != nil || string(b) != "m"+string(rune('0'+i)) {
			t.Fatalf("read %d: %q %v", i, b, err)
		}
	}
	ws.Write(ctx, websocket.MessageBinary, []byte{1})
	_, _, err := ws.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("want the server's close 1003, got %v", err)
	}
}

// A client that sends its first frames with the handshake, before the 101 (as a client that
// writes the moment it has the 101 may, when net/http reads ahead): the bytes net/http read
// ahead are delivered in order, and the connection still gets the small buffers and batching.
func TestFramesReadAheadAtHijack(t *testing.T) {
	type got struct {
		msgs []string
		hold bool
	}
	result := make(chan got, 1)
	hs := serve(t, 5*time.Second, func(c *Conn) {
		var g got
		for range 3 {
			data, _, err := c.Read()
			if err != nil {
				t.Errorf("read: %v", err)
				break
			}
			g.msgs = append(g.msgs, string(data))
		}
		g.hold = c.Hold()
		c.Write([]byte("ok"))
		c.Release()
		c.EndWrites()
		result <- g
	})
	nc, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	out := []byte(req)
	// The third message is longer than the small read buffer, so it spans what was read
	// ahead and what comes from the socket.
	third := strings.Repeat("z", 3000)
	for _, m := range []string{"first", "second", third} {
		out = append(out, frame(0x1, true, []byte(m))...)
	}
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	var g got
	select {
	case g = <-result:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not read the three messages")
	}
	if len(g.msgs) != 3 || g.msgs[0] != "first" || g.msgs[1] != "second" || g.msgs[2] != third {
		t.Errorf("messages = %.20q, want first, second and the long one", g.msgs)
	}
	if !g.hold {
		t.Error("no batching on a connection whose first bytes net/http read ahead")
	}
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(br, hdr); err != nil || string(hdr[2:]) != "ok" {
		t.Errorf("reply = %q %v, want a frame with ok", hdr, err)
	}
}

// A peer that reads nothing: writes fail with a timeout once nothing moved for the write
// timeout, and Abort cuts a write in progress at once.
func TestStalledPeerTimeoutAndAbort(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 64<<10)
	result := make(chan error, 1)
	hs := serve(t, 300*time.Millisecond, func(c *Conn) {
		var err error
		for err == nil {
			err = c.Write(big)
		}
		result <- err
	})
	dial(t, hs, 4096) // never reads
	select {
	case err := <-result:
		if !IsTimeout(err) {
			t.Fatalf("want a timeout, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a peer that reads nothing never failed")
	}

	aborted := make(chan error, 1)
	started := make(chan *Conn, 1)
	hs2 := serve(t, time.Minute, func(c *Conn) {
		started <- c
		var err error
		for err == nil {
			err = c.Write(big)
		}
		aborted <- err
	})
	dial(t, hs2, 4096)
	c := <-started
	time.Sleep(50 * time.Millisecond) // let the writes fill the socket buffers and block
	c.Abort()
	select {
	case err := <-aborted:
		if err == nil || IsTimeout(err) {
			t.Fatalf("want the write cut, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Abort did not cut a blocked write")
	}
	if err := c.Write([]byte("x")); !errors.Is(err, ErrAborted) {
		t.Fatalf("a write after Abort: %v", err)
	}
}

// A peer that never answers pings: KeepAlive reports it; StopKeepAlive then returns.
func TestKeepAlive(t *testing.T) {
	failed := make(chan error, 1)
	stop := make(chan struct{})
	hs := serve(t, time.Second, func(c *Conn) {
		c.KeepAlive(50*time.Millisecond, func(err error) { failed <- err })
		<-stop
		c.StopKeepAlive()
		c.Cut()
	})
	defer close(stop)
	nc, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// A bare handshake, then silence: nothing reads, so no pong is ever sent.
	nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("failed called without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an unanswered ping was not reported")
	}
}

// deadlineWriter records write deadlines and accepts writes.
type deadlineWriter struct{ deadlineConn }

func (d *deadlineWriter) Write(p []byte) (int, error) { return len(p), nil }

// Every write through the cork (the library's pongs included) has at least half the timeout
// left, the deadline moves once per half timeout, and it is never cleared.
func TestCorkRenewsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc := &deadlineWriter{}
		w := &corkWriter{nc: nc, timeout: 40 * time.Millisecond}
		w.Write([]byte("a"))
		w.Write([]byte("b"))
		w.hold()
		w.Write([]byte("c"))
		w.release()
		if len(nc.set) != 1 || nc.set[0].IsZero() {
			t.Fatalf("deadlines set: %v, want one", nc.set)
		}
		time.Sleep(25 * time.Millisecond) // past half the timeout
		w.Write([]byte("d"))
		if len(nc.set) != 2 || !nc.set[1].After(nc.set[0]) {
			t.Fatalf("deadline not renewed after half its time: %v", nc.set)
		}
	})
}
