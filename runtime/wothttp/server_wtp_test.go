package wothttp_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	_ "github.com/wotgen/wotgen/runtime/wothttp"
	"github.com/wotgen/wotgen/runtime/wtp"
)

// TestSSEIDsAreWTPNotificationIDs serves one Thing over both bindings (the registered
// defaults), observes a property over WTP and over SSE, and checks that the SSE ids are the
// WTP notification ids, so either consumer may resume with an id the other saw.
func TestServerSSEIDsAreWTPNotificationIDs(t *testing.T) {
	d, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:test:both", "title": "Both",
	  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
	  "properties": {"level": {"type": "integer", "observable": true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	th, err := wot.NewThing(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := wot.NewServer()
	if err := srv.AddThing(th); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// WTP: observeproperty, wait for its response.
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/wtp", &websocket.DialOptions{Subprotocols: []string{wtp.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	req, _ := wtp.AppendMessage(nil, &wtp.Message{ThingID: "urn:test:both", MessageID: "m1", MessageType: "request",
		Operation: td.OpObserveProperty, Name: "level", CorrelationID: "c1"})
	if err := ws.Write(ctx, websocket.MessageText, req); err != nil {
		t.Fatal(err)
	}
	next := func() *wtp.Message {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wtp.DecodeMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := next(); m.MessageType != "response" || m.Error != nil {
		t.Fatalf("observeproperty response: %+v", m)
	}

	// SSE on the href of the served TD.
	resp, err := http.Get(hs.URL + "/things/urn:test:both")
	if err != nil {
		t.Fatal(err)
	}
	var href string
	if served, err := td.Parse(readAll(t, resp)); err != nil {
		t.Fatal(err)
	} else {
		for _, f := range served.Properties["level"].Forms {
			if f.Subprotocol == "sse" {
				href = f.Href
			}
		}
	}
	sreq, _ := http.NewRequestWithContext(ctx, "GET", href, nil)
	sreq.Header.Set("Accept", "text/event-stream")
	sresp, err := http.DefaultClient.Do(sreq)
	if err != nil || sresp.StatusCode != 200 {
		t.Fatalf("SSE %s: %v %v", href, err, sresp)
	}
	defer sresp.Body.Close()
	br := bufio.NewReader(sresp.Body)
	sseIDs := func(n int) []string {
		var ids []string
		for len(ids) < n {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
				ids = append(ids, id)
			}
		}
		return ids
	}

	for i := 1; i <= 3; i++ {
		th.SetProperty("level", i)
	}
	got := sseIDs(3)
	for i := 0; i < 3; i++ {
		m := next()
		if m.MessageType != "notification" || m.MessageID != got[i] {
			t.Fatalf("notification %d: WTP messageID %q, SSE id %q", i, m.MessageID, got[i])
		}
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}
