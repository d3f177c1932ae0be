package bench

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// frameClient is a minimal WebSocket client over a bare TCP connection: it writes one
// pre-encoded, pre-masked request frame and reads the response frame into a reused buffer.
// It allocates nothing per round trip, so the allocations a benchmark counts are the server's.
type frameClient struct {
	c     net.Conn
	r     *bufio.Reader
	frame []byte // the masked request frame
	buf   []byte
	hdr   [8]byte // frame header scratch (a local array would escape into io.ReadFull)
}

func dialFrames(tb testing.TB, t target, req []byte) *frameClient {
	tb.Helper()
	u, err := url.Parse(t.url())
	if err != nil {
		tb.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: webthingprotocol\r\n\r\n",
		u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key[:]))
	r := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		tb.Fatalf("handshake: %v %v", resp, err)
	}
	return &frameClient{c: c, r: r, frame: maskedFrame(req), buf: make([]byte, 0, 64<<10)}
}

// maskedFrame encodes payload as one final text frame with a client mask (RFC 6455 §5.2).
func maskedFrame(payload []byte) []byte {
	f := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i%4])
	}
	return f
}

// roundTrip writes the request and reads data frames until one text frame arrives, skipping
// control frames; it returns the response payload (valid until the next call).
func (f *frameClient) roundTrip(tb testing.TB) []byte {
	if _, err := f.c.Write(f.frame); err != nil {
		tb.Fatal(err)
	}
	return f.read(tb)
}

func (f *frameClient) read(tb testing.TB) []byte {
	for {
		h := f.hdr[:2]
		if _, err := io.ReadFull(f.r, h); err != nil {
			tb.Fatal(err)
		}
		op, n := h[0], uint64(h[1]&0x7f)
		switch n {
		case 126:
			l := f.hdr[2:4]
			if _, err := io.ReadFull(f.r, l); err != nil {
				tb.Fatal(err)
			}
			n = uint64(binary.BigEndian.Uint16(l))
		case 127:
			l := f.hdr[:8]
			if _, err := io.ReadFull(f.r, l); err != nil {
				tb.Fatal(err)
			}
			n = binary.BigEndian.Uint64(l)
		}
		if n > uint64(cap(f.buf)) {
			tb.Fatalf("frame of %d bytes", n)
		}
		p := f.buf[:n]
		if _, err := io.ReadFull(f.r, p); err != nil {
			tb.Fatal(err)
		}
		if op&0x0f == 0x1 {
			return p
		}
		if op&0x0f == 0x8 {
			tb.Fatalf("server closed: %q", p)
		}
	}
}

// serverRoundTrip: n sequential readproperty round trips from the zero-allocation frame client;
// allocs/op is what the server allocates per round trip (request decode, dispatch, response).
func serverRoundTrip(tb testing.TB, t target, n int, prepare func()) {
	f := dialFrames(tb, t, request(t, "readproperty"))
	defer f.c.Close()
	for range 100 {
		f.roundTrip(tb) // warm pools and buffers
	}
	prepare()
	for range n {
		f.roundTrip(tb)
	}
}
