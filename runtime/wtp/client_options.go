package wtp

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// Consumer defaults. They are chosen so that a consumer talking to a healthy Thing never
// meets them, while a dead or hostile peer is detected within seconds to minutes.
const (
	defaultRequestTimeout = 30 * time.Second
	defaultDialTimeout    = 15 * time.Second
	defaultWriteTimeout   = 10 * time.Second
	defaultPingInterval   = 30 * time.Second
	defaultReadLimit      = 4 << 20 // one WTP message; readallproperties/queryallactions can be large
	defaultMaxTDSize      = 4 << 20
	defaultMaxRedirects   = 5
	defaultSubQueue       = 1024
	closeHandshakeTimeout = time.Second
	unsubscribeOnClose    = 2 * time.Second
)

// DialOption configures Dial, Consume and RequestThingDescription.
type DialOption interface{ applyDial(*dialConfig) }

type dialOptionFunc func(*dialConfig)

func (f dialOptionFunc) applyDial(c *dialConfig) { f(c) }

// dialConfig is the resolved option set. It is copied per ConsumedThing and never mutated
// after Consume returns.
type dialConfig struct {
	bearer      string
	bearerSet   bool
	basicUser   string
	basicPass   string
	basicSet    bool
	apiKey      string
	apiKeySet   bool
	credentials func(*td.SecurityScheme) (Credentials, error)

	tlsConfig  *tls.Config
	header     http.Header
	httpClient *http.Client

	reconnect      ReconnectPolicy
	validate       bool
	stateFunc      func(ConnState)
	logger         *slog.Logger
	thingID        string
	requestTimeout time.Duration
	dialTimeout    time.Duration
	pingInterval   time.Duration
	readLimit      int64
	maxTDSize      int64
	subQueue       int

	clientOnce sync.Once
	hc         *http.Client
	hcErr      error
}

func newDialConfig(opts []DialOption) *dialConfig {
	c := &dialConfig{
		header:         http.Header{},
		requestTimeout: defaultRequestTimeout,
		dialTimeout:    defaultDialTimeout,
		pingInterval:   defaultPingInterval,
		readLimit:      defaultReadLimit,
		maxTDSize:      defaultMaxTDSize,
		subQueue:       defaultSubQueue,
	}
	for _, o := range opts {
		if o != nil {
			o.applyDial(c)
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.reconnect = c.reconnect.withDefaults()
	return c
}

// WithBearerToken sends tok for the TD's bearer (and oauth2) security schemes, by default
// as "Authorization: Bearer <tok>" in the WebSocket handshake. Without a TD (Dial with a ws
// URL) it is always sent that way.
func WithBearerToken(tok string) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.bearer, c.bearerSet = tok, true })
}

// WithBasicAuth sends user and password for the TD's basic security schemes.
func WithBasicAuth(user, password string) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.basicUser, c.basicPass, c.basicSet = user, password, true })
}

// WithAPIKey sends key for the TD's apikey security schemes, in the header, query
// parameter or cookie the scheme names.
func WithAPIKey(key string) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.apiKey, c.apiKeySet = key, true })
}

// WithCredentials asks fn for the credentials of each security scheme a WTP form needs
// (called at connect time, and again before every reconnect so tokens can be refreshed).
// It takes precedence over WithBearerToken, WithBasicAuth and WithAPIKey; a zero
// Credentials falls back to them.
func WithCredentials(fn func(scheme *td.SecurityScheme) (Credentials, error)) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.credentials = fn })
}

// WithTLSConfig sets the TLS configuration for wss:// endpoints and https:// TD URLs.
func WithTLSConfig(cfg *tls.Config) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.tlsConfig = cfg })
}

// WithHeader adds a header to the WebSocket handshake and to the TD request.
func WithHeader(key, value string) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.header.Add(key, value) })
}

// WithHTTPClient sets the HTTP client used to fetch TDs and to perform WebSocket
// handshakes. Its Transport must support HTTP/1.1 upgrades (net/http's Transport does).
func WithHTTPClient(hc *http.Client) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.httpClient = hc })
}

// WithReconnect sets how lost connections are re-established; zero fields take the
// defaults of DefaultReconnectPolicy. Reconnecting is on by default.
func WithReconnect(p ReconnectPolicy) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.reconnect = p })
}

// WithConnStateFunc registers fn to learn about connection state changes: ConnConnected
// once Dial/Consume succeeds and after every reconnect, ConnReconnecting when a connection
// is lost, ConnClosed at the end. fn runs on its own goroutine, one call at a time, in
// order. A Thing whose forms name several endpoints reports the changes of each.
func WithConnStateFunc(fn func(ConnState)) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.stateFunc = fn })
}

// WithRequestTimeout bounds each request whose context has no deadline (default 30s;
// 0 disables). It also bounds fetching a TD.
func WithRequestTimeout(d time.Duration) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.requestTimeout = d })
}

// WithDialTimeout bounds each WebSocket handshake (default 15s).
func WithDialTimeout(d time.Duration) DialOption {
	return dialOptionFunc(func(c *dialConfig) {
		if d > 0 {
			c.dialTimeout = d
		}
	})
}

// WithKeepAlive sets the interval of WebSocket pings that detect dead connections
// (default 30s; 0 disables).
func WithKeepAlive(d time.Duration) DialOption {
	return dialOptionFunc(func(c *dialConfig) { c.pingInterval = d })
}

// WithMessageLimit sets the largest message the consumer accepts (default 4 MiB). A larger
// message closes the connection (status 1009).
func WithMessageLimit(n int64) DialOption {
	return dialOptionFunc(func(c *dialConfig) {
		if n > 0 {
			c.readLimit = n
		}
	})
}

// WithMaxTDSize sets the largest TD that Dial and RequestThingDescription download
// (default 4 MiB).
func WithMaxTDSize(n int64) DialOption {
	return dialOptionFunc(func(c *dialConfig) {
		if n > 0 {
			c.maxTDSize = n
		}
	})
}

// WithSubscriptionQueue sets how many notifications a Subscription buffers for a slow
// callback before it is ended with ErrSlowConsumer (default 1024).
func WithSubscriptionQueue(n int) DialOption {
	return dialOptionFunc(func(c *dialConfig) {
		if n > 0 {
			c.subQueue = n
		}
	})
}

// Credentials are what a security scheme needs. Only the members the scheme uses matter:
// Token for bearer and oauth2, Username and Password for basic, APIKey for apikey.
type Credentials struct {
	Token    string
	Username string
	Password string
	APIKey   string
}

func (c Credentials) isZero() bool { return c == Credentials{} }

// ConnState is the state of a consumer's connection to a WTP endpoint.
type ConnState int

const (
	// ConnConnected: the WebSocket is open (first connect or reconnect).
	ConnConnected ConnState = iota + 1
	// ConnReconnecting: the connection was lost; the consumer is redialling. Requests wait
	// (within their context) and subscriptions are restored once connected.
	ConnReconnecting
	// ConnClosed: the connection is gone for good (Close, reconnect disabled or given up).
	ConnClosed
)

func (s ConnState) String() string {
	switch s {
	case ConnConnected:
		return "connected"
	case ConnReconnecting:
		return "reconnecting"
	case ConnClosed:
		return "closed"
	}
	return "ConnState(?)"
}
