package wtp

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// maskedFrame encodes one client frame (clients must mask) with opcode op.
func maskedFrame(op byte, payload []byte) []byte {
	var key [4]byte
	rand.Read(key[:])
	f := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// TestResponseNotHeldBehindControlFrame: a request followed at once by a ping (as a consumer's
// keep-alive may be) is answered straight away. Responses to pipelined requests are held back only
// while another request is already buffered; a buffered control frame is not one, and treating it
// as one left the response waiting for the consumer's next request.
func TestResponseNotHeldBehindControlFrame(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	u, _ := url.Parse(wsURLOf(hs, "/wtp"))
	nc, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key[:]), Subprotocol)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	req := fmt.Sprintf(`{"thingID":%q,"messageID":"6f3c1a52-8d0e-4a8b-9c1e-2b7d4e5f6a7b","messageType":"request","operation":"readproperty","name":"flowRate","correlationID":"c1"}`, valveID)
	// Both frames in one write, so the server finds the ping buffered after the request.
	batch := append(maskedFrame(0x1, []byte(req)), maskedFrame(0x9, []byte("ka"))...)
	if _, err := nc.Write(batch); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		h := make([]byte, 2)
		if _, err := readFull(br, h); err != nil {
			t.Fatalf("no response while the consumer waits (held behind the ping?): %v", err)
		}
		n := int(h[1] & 0x7f)
		if n == 126 {
			l := make([]byte, 2)
			readFull(br, l)
			n = int(l[0])<<8 | int(l[1])
		}
		payload := make([]byte, n)
		if _, err := readFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f == 0x1 {
			if !strings.Contains(string(payload), `"correlationID":"c1"`) {
				t.Fatalf("unexpected message %s", payload)
			}
			return
		}
	}
}

func readFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := br.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
