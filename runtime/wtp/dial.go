package wtp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
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

	"github.com/wotgen/wotgen/runtime/td"
)

// RequestThingDescription fetches and parses the TD at rawURL (http or https), the
// Scripting API's requestThingDescription, with td.Fetch's bounds: size (WithMaxTDSize),
// time (WithRequestTimeout, and the context) and redirects (at most 5, http/https only).
// WithHeader, WithHTTPClient and WithTLSConfig apply; static bearer/basic credentials are
// sent too, since TD directories usually sit behind the same authentication.
func RequestThingDescription(ctx context.Context, rawURL string, opts ...DialOption) (*td.Thing, error) {
	t, _, err := fetchTD(ctx, rawURL, newDialConfig(opts))
	return t, err
}

// fetchTD returns the TD and the URL it was finally served from (relative hrefs resolve
// against it).
func fetchTD(ctx context.Context, rawURL string, cfg *dialConfig) (*td.Thing, *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("wtp: TD URL %q must be http:// or https:// (to connect to a WTP endpoint directly, Dial a ws:// URL with WithThingID)", rawURL)
	}
	hc, err := cfg.client()
	if err != nil {
		return nil, nil, err
	}
	hdr := cfg.header.Clone()
	switch {
	case hdr.Get("Authorization") != "":
	case cfg.bearerSet:
		hdr.Set("Authorization", "Bearer "+cfg.bearer)
	case cfg.basicSet:
		hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.basicUser+":"+cfg.basicPass)))
	}
	body, final, err := td.Fetch(ctx, rawURL, td.FetchOptions{
		Client:  hc,
		MaxSize: cfg.maxTDSize,
		Timeout: cfg.requestTimeout,
		Header:  hdr,
	})
	if err != nil {
		hint := ""
		switch {
		case errors.Is(err, td.ErrTooLarge):
			hint = "; raise the limit with WithMaxTDSize if the TD is genuine"
		case strings.Contains(err.Error(), "HTTP 401"), strings.Contains(err.Error(), "HTTP 403"):
			hint = "; the TD needs credentials: pass WithBearerToken, WithBasicAuth or WithHeader"
		case errors.Is(err, context.DeadlineExceeded):
			hint = "; the server did not deliver the TD in time (WithRequestTimeout, or the context's deadline)"
		}
		return nil, nil, fmt.Errorf("wtp: requesting the TD: %w%s", err, hint)
	}
	t, err := td.Parse(body)
	if err != nil {
		return nil, nil, fmt.Errorf("wtp: the document at %s is not a valid TD: %w", redact(final), err)
	}
	return t, final, nil
}

// client returns the HTTP client for TD fetches and handshakes, built once per option
// set so that its Transport (and the TLS session cache in it) is shared by all of them.
func (cfg *dialConfig) client() (*http.Client, error) {
	cfg.clientOnce.Do(func() { cfg.hc, cfg.hcErr = cfg.buildClient() })
	return cfg.hc, cfg.hcErr
}

func (cfg *dialConfig) buildClient() (*http.Client, error) {
	if cfg.tlsConfig == nil {
		if cfg.httpClient != nil {
			return cfg.httpClient, nil
		}
		return http.DefaultClient, nil
	}
	if cfg.httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.tlsConfig
		return &http.Client{Transport: tr}, nil
	}
	c := *cfg.httpClient
	switch tr := c.Transport.(type) {
	case nil:
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.tlsConfig
		c.Transport = t
	case *http.Transport:
		tr = tr.Clone()
		tr.TLSClientConfig = cfg.tlsConfig
		c.Transport = tr
	default:
		return nil, fmt.Errorf("wtp: WithTLSConfig cannot be applied to the Transport (%T) of the WithHTTPClient client; configure TLS in that Transport instead", tr)
	}
	return &c, nil
}

// connSpec is everything needed to (re)dial one endpoint with one identity.
type connSpec struct {
	target  *url.URL // ws/wss URL without credentials
	display string   // for errors and logs: no query, no user info
	cfg     *dialConfig
	// auth returns the handshake credentials; called again before each reconnect so a
	// WithCredentials provider can refresh tokens.
	auth func() (*handshakeAuth, error)
}

// poolKey identifies a shareable connection: the normalised endpoint URL (spec §2.3) plus
// everything that makes two handshakes not interchangeable: the credentials and headers,
// the TLS and HTTP client configuration and the connection-shaping options.
type poolKey struct {
	url      string
	identity string // sha256 of the handshake headers and query credentials
	tls      *tls.Config
	client   *http.Client
	policy   ReconnectPolicy
	limits   [3]int64 // read limit, ping interval, write timeout
}

// normalizeURL lower-cases scheme and host and drops a default port; path and query stay
// verbatim (spec §2.3).
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

func redact(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery = ""
	r.ForceQuery = false
	r.Fragment = ""
	return r.String()
}

func (s *connSpec) key(a *handshakeAuth) poolKey {
	h := sha256.New()
	hdr := s.cfg.header.Clone()
	for k, vs := range a.header {
		hdr[k] = vs
	}
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "h:%s\x00", k)
		for _, v := range hdr[k] {
			fmt.Fprintf(h, "%s\x00", v)
		}
	}
	fmt.Fprintf(h, "q:%s\x00", a.query.Encode())
	for _, c := range a.cookies {
		fmt.Fprintf(h, "c:%s\x00", c)
	}
	return poolKey{
		url:      normalizeURL(s.target),
		identity: hex.EncodeToString(h.Sum(nil)),
		tls:      s.cfg.tlsConfig,
		client:   s.cfg.httpClient,
		policy:   s.cfg.reconnect,
		limits:   [3]int64{s.cfg.readLimit, int64(s.cfg.pingInterval), int64(defaultWriteTimeout)},
	}
}

// dialWS performs the WebSocket handshake for spec with credentials a.
func (s *connSpec) dialWS(ctx context.Context, a *handshakeAuth) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.dialTimeout)
	defer cancel()
	hc, err := s.cfg.client()
	if err != nil {
		return nil, err
	}
	u := *s.target
	if len(a.query) > 0 {
		q := u.Query()
		for k, vs := range a.query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	hdr := s.cfg.header.Clone()
	for k, vs := range a.header {
		hdr[k] = vs
	}
	if len(a.cookies) > 0 {
		hdr.Add("Cookie", strings.Join(a.cookies, "; "))
	}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient:   hc,
		HTTPHeader:   hdr,
		Subprotocols: []string{Subprotocol},
	})
	if err != nil {
		return nil, s.handshakeError(ctx, resp, err)
	}
	if ws.Subprotocol() != Subprotocol {
		ws.CloseNow()
		return nil, fmt.Errorf("wtp: %s accepted the WebSocket but did not agree to the %q sub-protocol; it is not a Web Thing Protocol endpoint (check the TD's forms)", s.display, Subprotocol)
	}
	ws.SetReadLimit(s.cfg.readLimit)
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
			return fmt.Errorf("wtp: %s rejected the handshake credentials (HTTP 401, WWW-Authenticate: %q); pass them with WithBearerToken, WithBasicAuth, WithAPIKey or WithCredentials", s.display, resp.Header.Get("WWW-Authenticate"))
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
