package wtp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/runtime/wot"
)

// handshake is the URL and headers of one WebSocket handshake, credentials included.
type handshake struct {
	url    *url.URL
	header http.Header
}

// connSpec is everything needed to (re)dial one endpoint with one identity.
type connSpec struct {
	target  *url.URL // ws/wss URL without credentials
	display string   // for errors and logs: no query, no user info
	cfg     *wot.Config
	opts    *clientOptions
	// auth returns the handshake with credentials; called again before each reconnect so a
	// WithCredentials provider can refresh tokens.
	auth func() (*handshake, error)
}

// poolKey identifies a shareable connection: the normalised endpoint URL (https://w3c.github.io/web-thing-protocol/#websocket-reuse) plus
// everything that makes two handshakes not interchangeable: the credentials and headers,
// the HTTP client (TLS) and the connection-shaping options.
type poolKey struct {
	url      string
	identity string // sha256 of the handshake headers and query
	client   *http.Client
	policy   ReconnectPolicy
	limits   [3]int64 // read limit, ping interval, dial timeout
}

// normalizeURL lower-cases scheme and host and drops a default port; path and query stay
// verbatim (https://w3c.github.io/web-thing-protocol/#websocket-reuse).
func normalizeURL(u *url.URL) string {
	n := *u
	n.Scheme = strings.ToLower(n.Scheme)
	host := strings.ToLower(n.Hostname())
	port := n.Port()
	if (n.Scheme == "ws" && port == "80") || (n.Scheme == "wss" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	n.Host = host
	n.User = nil
	n.Fragment, n.RawFragment = "", ""
	if n.Path == "" && n.RawPath == "" {
		n.Path = "/"
	}
	return n.String()
}

func (s *connSpec) key(h *handshake) (poolKey, error) {
	hc, err := s.cfg.HTTPClient()
	if err != nil {
		return poolKey{}, err
	}
	sum := sha256.New()
	keys := make([]string, 0, len(h.header))
	for k := range h.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(sum, "h:%s\x00", k)
		for _, v := range h.header[k] {
			fmt.Fprintf(sum, "%s\x00", v)
		}
	}
	fmt.Fprintf(sum, "q:%s\x00", h.url.RawQuery)
	return poolKey{
		url:      normalizeURL(s.target),
		identity: hex.EncodeToString(sum.Sum(nil)),
		client:   hc,
		policy:   s.opts.reconnect,
		limits:   [3]int64{s.opts.readLimit, int64(s.opts.pingInterval), int64(s.opts.dialTimeout)},
	}, nil
}

// dialWS performs the WebSocket handshake h.
func (s *connSpec) dialWS(ctx context.Context, h *handshake) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.dialTimeout)
	defer cancel()
	hc, err := s.cfg.HTTPClient()
	if err != nil {
		return nil, err
	}
	ws, resp, err := websocket.Dial(ctx, h.url.String(), &websocket.DialOptions{
		HTTPClient:   hc,
		HTTPHeader:   h.header,
		Subprotocols: []string{Subprotocol},
	})
	if err != nil {
		return nil, s.handshakeError(ctx, resp, err)
	}
	if ws.Subprotocol() != Subprotocol {
		ws.CloseNow()
		return nil, fmt.Errorf("wtp: %s accepted the WebSocket but did not agree to the %q sub-protocol; it is not a Web Thing Protocol endpoint (check the TD's forms)", s.display, Subprotocol)
	}
	ws.SetReadLimit(s.opts.readLimit)
	return ws, nil
}

func (s *connSpec) handshakeError(ctx context.Context, resp *http.Response, err error) error {
	if resp != nil {
		var body string
		if resp.Body != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			body = strings.TrimSpace(string(b))
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("wtp: %s rejected the handshake credentials (HTTP 401, WWW-Authenticate: %q); pass them with wot.WithBearerToken, WithBasicAuth, WithAPIKey or WithCredentials", s.display, resp.Header.Get("WWW-Authenticate"))
		case http.StatusForbidden:
			return fmt.Errorf("wtp: %s refused access (HTTP 403: %s); these credentials may not use this Thing, or the Origin is not allowed", s.display, body)
		case http.StatusNotFound:
			return fmt.Errorf("wtp: no WebSocket endpoint at %s (HTTP 404); check the TD's forms or the URL", s.display)
		case http.StatusSwitchingProtocols:
		default:
			return fmt.Errorf("wtp: %s refused the WebSocket upgrade (HTTP %s: %q); is it a Web Thing Protocol endpoint?", s.display, resp.Status, body)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("wtp: connecting to %s: no WebSocket handshake within the dial timeout or deadline: %w", s.display, ctx.Err())
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("wtp: connecting to %s: %w; is the Thing running and the address right?", s.display, err)
	}
	return fmt.Errorf("wtp: connecting to %s: %w", s.display, err)
}

// since formats an elapsed time for error messages.
func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
