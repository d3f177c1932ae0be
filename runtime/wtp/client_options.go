package wtp

import (
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

// Consumer defaults. A consumer talking to a healthy Thing never meets them, while a dead or
// hostile peer is detected within seconds to minutes.
const (
	defaultDialTimeout        = 15 * time.Second
	defaultClientWriteTimeout = 10 * time.Second
	defaultClientPingInterval = 30 * time.Second
	defaultClientMessageLimit = 4 << 20 // one WTP message; readallproperties/queryallactions can be large
	closeHandshakeTimeout     = time.Second
	unsubscribeOnClose        = 2 * time.Second
)

// settingKey names the WTP consumer options stored in a wot.Config (wot.DialSetting).
type settingKey int

const (
	setReconnect settingKey = iota + 1
	setStateFunc
	setDialTimeout
	setKeepAlive
	setMessageLimit
)

// clientOptions are the WTP-specific consumer options, read from a wot.Config.
type clientOptions struct {
	reconnect    ReconnectPolicy
	stateFunc    func(ConnState)
	dialTimeout  time.Duration
	pingInterval time.Duration
	readLimit    int64
}

func optionsOf(cfg *wot.Config) *clientOptions {
	o := &clientOptions{dialTimeout: defaultDialTimeout, pingInterval: defaultClientPingInterval, readLimit: defaultClientMessageLimit}
	if v, ok := cfg.Setting(setReconnect).(ReconnectPolicy); ok {
		o.reconnect = v
	}
	o.reconnect = o.reconnect.withDefaults()
	if v, ok := cfg.Setting(setStateFunc).(func(ConnState)); ok {
		o.stateFunc = v
	}
	if v, ok := cfg.Setting(setDialTimeout).(time.Duration); ok && v > 0 {
		o.dialTimeout = v
	}
	if v, ok := cfg.Setting(setKeepAlive).(time.Duration); ok {
		o.pingInterval = max(v, 0)
	}
	if v, ok := cfg.Setting(setMessageLimit).(int64); ok && v > 0 {
		o.readLimit = v
	}
	return o
}

// WithReconnect sets how lost WebSocket connections are re-established; zero fields take the
// defaults of DefaultReconnectPolicy. Reconnecting is on by default.
func WithReconnect(p ReconnectPolicy) wot.DialOption { return wot.DialSetting(setReconnect, p) }

// WithConnStateFunc registers fn to learn about connection state changes: ConnConnected once
// Dial/Consume succeeds and after every reconnect, ConnReconnecting when a connection is
// lost, ConnClosed at the end. fn runs on its own goroutine, one call at a time, in order. A
// Thing whose forms name several endpoints reports the changes of each.
func WithConnStateFunc(fn func(ConnState)) wot.DialOption { return wot.DialSetting(setStateFunc, fn) }

// WithDialTimeout bounds each WebSocket handshake (default 15s).
func WithDialTimeout(d time.Duration) wot.DialOption { return wot.DialSetting(setDialTimeout, d) }

// WithKeepAlive sets the interval of WebSocket pings that detect dead connections (default
// 30s; 0 disables).
func WithKeepAlive(d time.Duration) wot.DialOption { return wot.DialSetting(setKeepAlive, d) }

// WithMessageLimit sets the largest message the consumer accepts (default 4 MiB). A larger
// message closes the connection (status 1009).
func WithMessageLimit(n int64) wot.DialOption { return wot.DialSetting(setMessageLimit, n) }

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
