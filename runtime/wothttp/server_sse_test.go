package wothttp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func readN(t *testing.T, s *testSSEReader, n int) []testSSEEvent {
	t.Helper()
	out := make([]testSSEEvent, 0, n)
	for len(out) < n {
		ev, err := s.next()
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, ev)
	}
	return out
}

// TestSSEResume: ids are the Thing's notification ids; a reconnect with Last-Event-ID gets
// exactly what it missed, in order, then the live notifications, without duplicates.
func TestServerSSEResume(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	d := h.servedTD()
	href := formFor(t, d, td.KindProperty, "level", "observeproperty", "sse").Href
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	s := h.openSSE(ctx, href, "")
	for i := 1; i <= 3; i++ {
		h.thing.SetProperty("level", i)
	}
	got := readN(t, s, 3)
	seen := map[string]bool{}
	for i, ev := range got {
		if ev.event != "level" || ev.data != fmt.Sprint(i+1) || ev.id == "" || seen[ev.id] {
			t.Fatalf("event %d: %+v", i, ev)
		}
		seen[ev.id] = true
	}
	s.close()
	eventually(t, "the stream to end", func() bool { return h.bind.activeStreams() == 0 })

	for i := 4; i <= 6; i++ {
		h.thing.SetProperty("level", i)
	}
	h.thing.SetProperty("on", true) // another property: not on this stream
	s = h.openSSE(ctx, href, got[2].id)
	defer s.close()
	h.thing.SetProperty("level", 7)
	again := readN(t, s, 4)
	for i, ev := range again {
		if ev.event != "level" || ev.data != fmt.Sprint(i+4) || seen[ev.id] {
			t.Fatalf("resumed event %d: %+v", i, ev)
		}
		seen[ev.id] = true
	}

	// An unknown Last-Event-ID replays nothing (the history no longer has it).
	s2 := h.openSSE(ctx, href, "no-such-id")
	defer s2.close()
	h.thing.SetProperty("level", 8)
	if ev := readN(t, s2, 1)[0]; ev.data != "8" {
		t.Fatalf("unknown id: %+v", ev)
	}
}

func TestServerSSEThingLevelAndEvents(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	d := h.servedTD()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	props := h.openSSE(ctx, formFor(t, d, td.KindThing, "", "observeallproperties", "sse").Href, "")
	defer props.close()
	events := h.openSSE(ctx, formFor(t, d, td.KindThing, "", "subscribeallevents", "sse").Href, "")
	defer events.close()
	hostile := h.openSSE(ctx, formFor(t, d, td.KindEvent, "x/../y", "subscribeevent", "sse").Href, "")
	defer hostile.close()
	eventually(t, "three streams", func() bool { return h.bind.activeStreams() == 3 })

	h.thing.SetProperty("level", 5)
	h.thing.SetProperty("a/b c", 1.5)
	h.thing.SetProperty("status", "ok") // readOnly, not observable: not streamed
	h.thing.SetProperty("on", true)
	got := readN(t, props, 3)
	if got[0].event != "level" || got[1].event != "a/b c" || got[1].data != "1.5" || got[2].event != "on" {
		t.Errorf("observeallproperties: %+v", got)
	}
	h.thing.EmitEvent("alarm", "fire\nline")
	h.thing.EmitEvent("ping", nil)
	h.thing.EmitEvent("x/../y", 3)
	got = readN(t, events, 3)
	if got[0].event != "alarm" || got[0].data != `"fire\nline"` || got[1].event != "ping" || got[1].data != "" || got[2].event != "x/../y" {
		t.Errorf("subscribeallevents: %+v", got)
	}
	if ev := readN(t, hostile, 1)[0]; ev.event != "x/../y" || ev.data != "3" || ev.id != got[2].id {
		t.Errorf("event x/../y: %+v (all-events id %s)", ev, got[2].id)
	}

	// SSE negotiation and HEAD.
	h.expect(406, "GET", formFor(t, d, td.KindEvent, "alarm", "subscribeevent", "sse").Href, "", "Accept", "application/json")
	resp, _ := h.expect(200, "HEAD", formFor(t, d, td.KindEvent, "alarm", "subscribeevent", "sse").Href, "")
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: %v", resp.Header)
	}
}

func TestServerAppendEvent(t *testing.T) {
	for _, c := range []struct {
		n    wot.Notification
		want string
	}{
		{wot.Notification{ID: "1", Name: "t", Value: json.RawMessage(`21.5`)}, "event: t\ndata: 21.5\nid: 1\n\n"},
		{wot.Notification{ID: "2", Name: "e"}, "event: e\ndata:\nid: 2\n\n"},
		{wot.Notification{ID: "3", Name: "a\r\nb", Value: json.RawMessage("{\r\n \"x\": 1\n}")}, "event: a\uFFFD\uFFFDb\ndata: {\ndata:  \"x\": 1\ndata: }\nid: 3\n\n"},
	} {
		if got := string(appendEvent(nil, &c.n)); got != c.want {
			t.Errorf("appendEvent(%+v) = %q, want %q", c.n, got, c.want)
		}
	}
}

// smallBufListener shrinks the kernel send buffer of accepted connections, so that a
// consumer that stops reading blocks the server's writes quickly.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestSSEStalledVsSlow: a consumer that stops reading is cut off (the Thing never waits for
// it) while one that reads slowly receives every event, in order.
func TestServerSSEStalledVsSlow(t *testing.T) {
	d, _ := td.Parse([]byte(testTD))
	lim := ServerLimits{SSEQueueBytes: 1 << 20, StallTimeout: 300 * time.Millisecond}
	h := newHarnessTD(t, d, lim, nil)
	h.hs.Close() // serve again on a listener with small buffers
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h.srv}
	go hs.Serve(smallBufListener{ln})
	defer hs.Close()
	path := "/things/urn:test:lamp/events/alarm/sse"

	// The stalled consumer sends its request and never reads.
	stalled, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(stalled, "GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", path)

	// The slow consumer reads 4 KiB every 2 ms.
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", path)
	eventually(t, "two streams", func() bool { return h.bind.activeStreams() == 2 })

	const total = 2000
	results := make(chan error, 1)
	go func() {
		br := bufio.NewReaderSize(&throttled{r: slow}, 4096)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			results <- err
			return
		}
		s := &testSSEReader{resp: resp, br: bufio.NewReader(resp.Body)}
		ids := map[string]bool{}
		for i := 0; i < total; i++ {
			ev, err := s.next()
			if err != nil {
				results <- fmt.Errorf("slow consumer: after %d events: %v", i, err)
				return
			}
			var data string
			json.Unmarshal([]byte(ev.data), &data)
			if !strings.HasPrefix(data, fmt.Sprintf("%05d:", i)) || ids[ev.id] {
				results <- fmt.Errorf("slow consumer: event %d is %.20q (id %s)", i, data, ev.id)
				return
			}
			ids[ev.id] = true
		}
		results <- nil
	}()

	pad := strings.Repeat("x", 1000)
	var slowest time.Duration
	for i := 0; i < total; i++ {
		start := time.Now()
		h.thing.EmitEvent("alarm", fmt.Sprintf("%05d:%s", i, pad))
		slowest = max(slowest, time.Since(start))
		if i%20 == 19 {
			time.Sleep(10 * time.Millisecond) // about 2 MB/s
		}
	}
	if slowest > 200*time.Millisecond {
		t.Errorf("EmitEvent took %v: the Thing waited for a consumer", slowest)
	}
	eventually(t, "the stalled stream to be cut off", func() bool { return h.bind.activeStreams() == 1 })
	select {
	case err := <-results:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the slow consumer did not receive every event")
	}
}

// throttled reads at most 4 KiB every 2 ms.
type throttled struct{ r io.Reader }

func (t *throttled) Read(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	return t.r.Read(p[:min(len(p), 4096)])
}

// TestSSEOutlivesServerTimeouts: an idle stream gets heartbeat comments and stays open past
// the HTTP server's read and write timeouts.
func TestServerSSEOutlivesServerTimeouts(t *testing.T) {
	h := newHarness(t, ServerLimits{Heartbeat: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := h.openSSE(ctx, h.root()+"/properties/level/sse", "")
	defer s.close()
	beats := 0
	deadline := time.Now().Add(testWriteTimeout + testReadTimeout + 200*time.Millisecond)
	for time.Now().Before(deadline) {
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %d heartbeats: %v", beats, err)
		}
		if strings.HasPrefix(line, ":") {
			beats++
		}
	}
	if beats < 3 {
		t.Errorf("%d heartbeats", beats)
	}
	h.thing.SetProperty("level", 9)
	if ev := readN(t, s, 1)[0]; ev.data != "9" {
		t.Errorf("after idling: %+v", ev)
	}
}

// TestLongPollShutdown: a held poll is answered 503 when the server shuts down.
func TestServerLongPollShutdown(t *testing.T) {
	h := newHarness(t, ServerLimits{})
	c := make(chan int, 1)
	go func() {
		resp, err := pollClient.Get(h.root() + "/events/alarm")
		if err != nil {
			c <- 0
			return
		}
		resp.Body.Close()
		c <- resp.StatusCode
	}()
	eventually(t, "the poll to be held", func() bool { return h.bind.activeStreams() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := <-c; st != http.StatusServiceUnavailable {
		t.Errorf("held poll at shutdown: %d", st)
	}
}
