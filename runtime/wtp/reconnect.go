package wtp

import (
	"math/rand/v2"
	"time"
)

// ReconnectPolicy says how a lost connection is re-established: exponential backoff with
// jitter, bounded by MaxDelay and MaxAttempts. Zero fields take DefaultReconnectPolicy's
// values; set Disabled to not reconnect at all (subscriptions then end with
// ErrConnectionLost).
type ReconnectPolicy struct {
	Disabled    bool
	MinDelay    time.Duration // delay before the first redial
	MaxDelay    time.Duration // upper bound of any delay
	Multiplier  float64       // growth per failed attempt (>= 1)
	Jitter      float64       // fraction of each delay that is randomised, 0..1
	MaxAttempts int           // failed redials before giving up; 0 = never give up
}

// DefaultReconnectPolicy is used when no WithReconnect option is given.
var DefaultReconnectPolicy = ReconnectPolicy{
	MinDelay:   100 * time.Millisecond,
	MaxDelay:   30 * time.Second,
	Multiplier: 2,
	Jitter:     0.5,
}

func (p ReconnectPolicy) withDefaults() ReconnectPolicy {
	d := DefaultReconnectPolicy
	if p.MinDelay <= 0 {
		p.MinDelay = d.MinDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = max(d.MaxDelay, p.MinDelay)
	}
	if p.MaxDelay < p.MinDelay {
		p.MaxDelay = p.MinDelay
	}
	if p.Multiplier < 1 {
		p.Multiplier = d.Multiplier
	}
	if p.Jitter <= 0 || p.Jitter > 1 {
		p.Jitter = d.Jitter
	}
	if p.MaxAttempts < 0 {
		p.MaxAttempts = 0
	}
	return p
}

// delay returns the wait before redial attempt n (0-based). Jitter spreads consumers that
// lost the same server apart so they do not all come back in the same millisecond.
func (p ReconnectPolicy) delay(n int) time.Duration {
	d := float64(p.MinDelay)
	for i := 0; i < n && d < float64(p.MaxDelay); i++ {
		d *= p.Multiplier
	}
	d = min(d, float64(p.MaxDelay))
	d -= d * p.Jitter * rand.Float64()
	return time.Duration(d)
}
