package wot

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Errors of the consumer side. Problems the Thing reports are *Error values instead.
var (
	// ErrClosed: the ConsumedThing (or its connection) was closed.
	ErrClosed = errors.New("wot: consumer closed")
	// ErrConnectionLost: the connection broke before a response arrived, or broke for good.
	// A request that failed this way may or may not have been carried out by the Thing.
	ErrConnectionLost = errors.New("wot: connection lost")
	// ErrSlowConsumer ends a Subscription whose callback fell behind by more than its queue
	// (WithSubscriptionQueue).
	ErrSlowConsumer = errors.New("wot: subscription callback too slow")
)

// maxSubQueueBytes bounds the memory a stuck callback can pin, whatever the count limit.
const maxSubQueueBytes = 16 << 20

// Subscription is an active observation (ObserveProperty, ObserveAllProperties) or event
// subscription (SubscribeEvent, SubscribeAllEvents). It is the Sink its binding delivers to.
//
// Notifications reach the callback on the Subscription's own goroutine, one at a time and in
// the order the binding delivered them, so a slow callback never stalls the connection or
// other subscriptions. Bindings that can resume after a reconnect (WTP lastNotificationID, SSE
// Last-Event-ID) resume after LastID and drop duplicates.
//
// Overflow policy: up to WithSubscriptionQueue notifications (default 1024, and at most 16
// MiB of values) wait for a slow callback. One more ends the subscription: the queued
// notifications are still delivered, then Err returns an error wrapping ErrSlowConsumer and
// Done is closed. Nothing is ever dropped silently.
type Subscription struct {
	label string
	fn    func(Notification)
	max   int

	mu      sync.Mutex
	queue   []Notification
	queued  int  // bytes of the values in queue
	stopped bool // Stop or Close: no further callbacks
	ending  bool // failed: deliver what is queued, then stop
	err     error
	lastID  string
	stop    func(context.Context) error // ends it on the wire; nil until the binding accepted it
	onEnd   func(*Subscription)         // tells the ConsumedThing to forget it
	wake    chan struct{}
	done    chan struct{}
}

func newSubscription(label string, fn func(Notification), max int, onEnd func(*Subscription)) *Subscription {
	s := &Subscription{label: label, fn: fn, max: max, onEnd: onEnd, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.run()
	return s
}

// Stop ends the subscription and tells the Thing. No callback starts after Stop returns (a
// running one is not interrupted; wait on Done for it, but not from inside the callback).
// Stop is idempotent; it returns an error only if the Thing could not be told.
func (s *Subscription) Stop(ctx context.Context) error {
	s.mu.Lock()
	already := s.stopped || s.ending
	s.stopped = true
	s.queue = nil
	stop := s.stop
	s.stop = nil
	s.mu.Unlock()
	s.signal()
	s.forget()
	if stop == nil {
		return nil
	}
	if already {
		// Ended on its own (overflow, failure): the binding may still hold it on the wire.
		_ = stop(ctx)
		return nil
	}
	return stop(ctx)
}

// Err returns why the subscription ended on its own: an error wrapping ErrSlowConsumer or
// ErrConnectionLost, or the Thing's *Error when it refused to restore the subscription after a
// reconnect. It is nil while the subscription is active and after Stop.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Done is closed when the subscription has ended and its last callback has returned.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Deliver implements Sink: it queues n for the callback without blocking.
func (s *Subscription) Deliver(n Notification) bool {
	s.mu.Lock()
	if s.stopped || s.ending {
		s.mu.Unlock()
		return false
	}
	if len(s.queue) >= s.max || s.queued+len(n.Value) > maxSubQueueBytes {
		s.ending = true
		s.err = fmt.Errorf("%w: more than %d notifications (or %d MiB) of %s waited for the callback; the subscription was ended (raise WithSubscriptionQueue or make the callback faster, then subscribe again)", ErrSlowConsumer, s.max, maxSubQueueBytes>>20, s.label)
		stop := s.stop
		s.stop = nil
		s.mu.Unlock()
		s.signal()
		s.forget()
		if stop != nil {
			// Tell the Thing on another goroutine: Deliver runs on the binding's reader.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
				defer cancel()
				_ = stop(ctx)
			}()
		}
		return false
	}
	s.queue = append(s.queue, n)
	s.queued += len(n.Value)
	if n.ID != "" {
		s.lastID = n.ID
	}
	s.mu.Unlock()
	s.signal()
	return true
}

// Fail implements Sink: the subscription ends with err once the queued notifications are
// delivered.
func (s *Subscription) Fail(err error) {
	if err == nil {
		err = ErrConnectionLost
	}
	s.mu.Lock()
	if s.stopped || s.ending {
		s.mu.Unlock()
		return
	}
	s.ending = true
	s.err = err
	s.stop = nil // the binding has let go of it already
	s.mu.Unlock()
	s.signal()
	s.forget()
}

// LastID implements Sink.
func (s *Subscription) LastID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// end stops delivery without telling the Thing (ConsumedThing.Close does that through the
// clients) and returns the stop function that still has to run, if any.
func (s *Subscription) end() func(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := s.stop
	s.stop = nil
	if !s.stopped && !s.ending {
		s.stopped = true
		s.queue = nil
	}
	s.signal()
	return stop
}

// started records the binding's stop function; false if the subscription already ended
// meanwhile (the caller then stops it on the wire).
func (s *Subscription) started(stop func(context.Context) error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.ending {
		return false
	}
	s.stop = stop
	return true
}

func (s *Subscription) forget() {
	if s.onEnd != nil {
		s.onEnd(s)
	}
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Subscription) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.stopped && !s.ending {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if s.stopped || len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		n := s.queue[0]
		s.queue[0] = Notification{}
		s.queue = s.queue[1:]
		s.queued -= len(n.Value)
		s.mu.Unlock()
		s.fn(n)
	}
}
