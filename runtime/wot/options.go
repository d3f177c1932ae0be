package wot

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// Consumer defaults: a consumer talking to a healthy Thing never meets them, while a dead or
// hostile peer is detected within seconds.
const (
	defaultRequestTimeout = 30 * time.Second
	defaultMaxTDSize      = 4 << 20
	defaultSubQueue       = 1024
)

// Config holds a consumer's options (DialOption). Bindings read it; they add options of
// their own with DialSetting and read them back with Setting. It is built once per Dial or
// Consume and must not be modified afterwards.
type Config struct {
	Header            http.Header   // WithHeader: sent with every request (and the TD fetch)
	RequestTimeout    time.Duration // WithRequestTimeout: bounds a request whose context has no deadline; 0 = none
	MaxTDSize         int64         // WithMaxTDSize
	SubscriptionQueue int           // WithSubscriptionQueue
	ThingID           string        // WithThingID
	Logger            *slog.Logger  // WithConsumerLogger; never nil after Dial/Consume

	bearer, basicUser, basicPass, apiKey string
	bearerSet, basicSet, apiKeySet       bool
	credentials                          func(*td.SecurityScheme) (Credentials, error)
	validate                             bool
	tlsConfig                            *tls.Config
	httpClient                           *http.Client
	bindings                             []Binding
	settings                             map[any]any

	clientOnce sync.Once
	hc         *http.Client
	hcErr      error
}

// DialOption configures Dial, Consume and RequestThingDescription.
type DialOption func(*Config)

func newConfig(opts []DialOption) *Config {
	c := &Config{
		Header:            http.Header{},
		RequestTimeout:    defaultRequestTimeout,
		MaxTDSize:         defaultMaxTDSize,
		SubscriptionQueue: defaultSubQueue,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// WithBearerToken sends tok for the TD's bearer (and oauth2) security schemes, as the
// scheme says (by default "Authorization: Bearer <tok>").
func WithBearerToken(tok string) DialOption {
	return func(c *Config) { c.bearer, c.bearerSet = tok, true }
}

// WithBasicAuth sends user and password for the TD's basic security schemes.
func WithBasicAuth(user, password string) DialOption {
	return func(c *Config) { c.basicUser, c.basicPass, c.basicSet = user, password, true }
}

// WithAPIKey sends key for the TD's apikey security schemes, in the header, query
// parameter or cookie the scheme names.
func WithAPIKey(key string) DialOption {
	return func(c *Config) { c.apiKey, c.apiKeySet = key, true }
}

// WithCredentials asks fn for the credentials of each security scheme a request needs (at
// every request or connect, so tokens can be refreshed). It takes precedence over
// WithBearerToken, WithBasicAuth and WithAPIKey; a zero Credentials falls back to them.
func WithCredentials(fn func(scheme *td.SecurityScheme) (Credentials, error)) DialOption {
	return func(c *Config) { c.credentials = fn }
}

// WithTLSConfig sets the TLS configuration for https:// and wss:// URLs.
func WithTLSConfig(cfg *tls.Config) DialOption {
	return func(c *Config) { c.tlsConfig = cfg }
}

// WithHeader adds a header to every request, the TD fetch and WebSocket handshakes included.
func WithHeader(key, value string) DialOption {
	return func(c *Config) { c.Header.Add(key, value) }
}

// WithHTTPClient sets the HTTP client for TD fetches and for the bindings that use HTTP
// (WebSocket handshakes included, so its Transport must support HTTP/1.1 upgrades, as
// net/http's does).
func WithHTTPClient(hc *http.Client) DialOption {
	return func(c *Config) { c.httpClient = hc }
}

// WithRequestTimeout bounds each request whose context has no deadline (default 30s; 0
// disables). It also bounds fetching a TD.
func WithRequestTimeout(d time.Duration) DialOption {
	return func(c *Config) { c.RequestTimeout = max(d, 0) }
}

// WithMaxTDSize sets the largest TD that Dial and RequestThingDescription download
// (default 4 MiB).
func WithMaxTDSize(n int64) DialOption {
	return func(c *Config) {
		if n > 0 {
			c.MaxTDSize = n
		}
	}
}

// WithSubscriptionQueue sets how many notifications a Subscription buffers for a slow
// callback before it is ended with ErrSlowConsumer (default 1024).
func WithSubscriptionQueue(n int) DialOption {
	return func(c *Config) {
		if n > 0 {
			c.SubscriptionQueue = n
		}
	}
}

// WithThingID names the Thing when Dial gets a URL that is not a TD's (a WTP ws:// endpoint),
// or overrides the TD's id.
func WithThingID(id string) DialOption {
	return func(c *Config) { c.ThingID = id }
}

// WithOutgoingValidation checks written values and action inputs against the TD's schemas
// before sending them, returning a 400 *Error without a round trip (off by default: the
// Thing validates anyway).
func WithOutgoingValidation(on bool) DialOption {
	return func(c *Config) { c.validate = on }
}

// WithConsumerLogger receives what is not returned as an error: reconnects, dropped
// messages, ignored form members.
func WithConsumerLogger(l *slog.Logger) DialOption {
	return func(c *Config) { c.Logger = l }
}

// WithBindings sets the bindings to use instead of every registered one; the order breaks
// no ties (the TD's form order decides).
func WithBindings(bs ...Binding) DialOption {
	return func(c *Config) { c.bindings = append([]Binding(nil), bs...) }
}

// DialSetting returns an option that stores value under key, for a binding's own options
// (key is best an unexported type of the binding's package); Config.Setting reads it back.
func DialSetting(key, value any) DialOption {
	return func(c *Config) {
		if c.settings == nil {
			c.settings = map[any]any{}
		}
		c.settings[key] = value
	}
}

// Setting returns the value DialSetting stored under key, or nil.
func (c *Config) Setting(key any) any { return c.settings[key] }

func (c *Config) bindingList() []Binding {
	if c.bindings != nil {
		return c.bindings
	}
	return registeredBindings()
}

// HTTPClient returns the HTTP client to use: WithHTTPClient's (or http.DefaultClient) with
// WithTLSConfig applied. It is built once per Config, so its Transport (and TLS session
// cache) is shared by every request of the consumer.
func (c *Config) HTTPClient() (*http.Client, error) {
	c.clientOnce.Do(func() { c.hc, c.hcErr = c.buildClient() })
	return c.hc, c.hcErr
}

func (c *Config) buildClient() (*http.Client, error) {
	if c.tlsConfig == nil {
		if c.httpClient != nil {
			return c.httpClient, nil
		}
		return http.DefaultClient, nil
	}
	if c.httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = c.tlsConfig
		return &http.Client{Transport: tr}, nil
	}
	hc := *c.httpClient
	switch tr := hc.Transport.(type) {
	case nil:
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = c.tlsConfig
		hc.Transport = t
	case *http.Transport:
		tr = tr.Clone()
		tr.TLSClientConfig = c.tlsConfig
		hc.Transport = tr
	default:
		return nil, fmt.Errorf("wot: WithTLSConfig cannot be applied to the Transport (%T) of the WithHTTPClient client; configure TLS in that Transport instead", tr)
	}
	return &hc, nil
}

// TLSConfig returns the WithTLSConfig configuration (nil if none), for bindings that open
// connections without net/http.
func (c *Config) TLSConfig() *tls.Config { return c.tlsConfig }

// CallOption configures one operation of a ConsumedThing.
type CallOption func(*callConfig)

type callConfig struct {
	uriVars map[string]any
	err     error // a URI variables value that cannot be used
}

// WithURIVariables gives the values of the form's URI template variables (TD uriVariables;
// RFC 6570): a map[string]any, or a struct (generated …URIVariables types) whose JSON object
// names them; members left out are not expanded. They are checked against the TD's
// uriVariables schemas before expansion.
func WithURIVariables(vars any) CallOption {
	m, err := uriVariablesOf(vars)
	return func(c *callConfig) {
		if err != nil {
			c.err = cmpOr(c.err, err)
			return
		}
		if c.uriVars == nil {
			c.uriVars = make(map[string]any, len(m))
		}
		for k, v := range m {
			c.uriVars[k] = v
		}
	}
}

// uriVariablesOf turns the argument of WithURIVariables into a map.
func uriVariablesOf(vars any) (map[string]any, error) {
	switch v := vars.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return nil, BadRequest("URI variables: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers keep their JSON text in the URL
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, BadRequest("URI variables must be a map or a struct that encodes as a JSON object, not %T", vars)
	}
	return m, nil
}

func newCallConfig(opts []CallOption) *callConfig {
	c := &callConfig{}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}
