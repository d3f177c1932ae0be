package wtp

import (
	"time"

	"github.com/coder/websocket"
)

// Defaults of the server's safety limits. Each is configurable with a ServerOption.
const (
	DefaultReadLimit      = 1 << 20  // bytes per message
	DefaultSendBuffer     = 16 << 20 // bytes of queued outgoing messages per connection
	DefaultRateLimit      = 100_000  // messages per second per connection (https://w3c.github.io/web-thing-protocol/#error-response)
	DefaultRateBurst      = 100_000
	DefaultMalformedLimit = 100 // consecutive malformed frames before closing (https://w3c.github.io/web-thing-protocol/#error-response)
	DefaultPingInterval   = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxInFlight    = 64 // concurrent handler calls per connection

	// DefaultRateLimitGrace is how long a connection may stay over its rate limit (answered
	// with 503s) before it is closed with 1008 (https://w3c.github.io/web-thing-protocol/#error-response).
	DefaultRateLimitGrace = 5 * time.Second
)

// Close codes the server uses. They are part of the documented behaviour.
const (
	// CloseSlowConsumer closes a connection whose consumer does not keep up: its queue
	// exceeds WithSendBuffer, or it took nothing for WithWriteTimeout. 1013 "Try Again Later" tells it to reconnect (and catch up with
	// lastNotificationID) rather than to give up.
	CloseSlowConsumer = websocket.StatusTryAgainLater
	// CloseRateLimited closes a connection that stayed over its rate limit (1008).
	CloseRateLimited = websocket.StatusPolicyViolation
	// CloseMalformed closes a connection after too many consecutive malformed frames (1007).
	CloseMalformed = websocket.StatusInvalidFramePayloadData
	// CloseBinary closes a connection that sent a binary frame (1003).
	CloseBinary = websocket.StatusUnsupportedData
	// CloseShutdown closes every connection when the server shuts down (1001).
	CloseShutdown = websocket.StatusGoingAway
	// CloseTooBig is the code for a message over the read limit (1009); the WebSocket
	// library sends it itself.
	CloseTooBig = websocket.StatusMessageTooBig
)

// tokenBucket is a per-connection rate limiter; only the connection's reader uses it.
type tokenBucket struct {
	rate    float64 // tokens per second; 0 disables the limit
	burst   float64
	grace   time.Duration
	tokens  float64
	last    time.Time
	over    time.Time // when the current run of refusals started (zero = not limited)
	refused time.Time // the latest refusal
}

func newTokenBucket(rate float64, burst int, grace time.Duration, now time.Time) tokenBucket {
	if burst < 1 {
		burst = 1
	}
	return tokenBucket{rate: rate, burst: float64(burst), grace: grace, tokens: float64(burst), last: now}
}

// allow takes one token. It reports whether the message may be processed and, when not,
// whether the connection has been over the limit for longer than the grace period.
func (b *tokenBucket) allow(now time.Time) (ok, expel bool) {
	if b.rate <= 0 {
		return true, false
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		// A token that just trickled back does not end a run of refusals: a sustained
		// flood gets one through every 1/rate and would otherwise never be expelled. The
		// run ends after a quiet spell without refusals (1 s, or the grace if shorter).
		if !b.over.IsZero() && now.Sub(b.refused) >= min(time.Second, b.grace) {
			b.over = time.Time{}
		}
		b.tokens--
		return true, false
	}
	b.refused = now
	if b.over.IsZero() {
		b.over = now
	}
	return false, now.Sub(b.over) >= b.grace
}
