package wtp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wotgen/wotgen/runtime/wot"
	"sync"
	"time"
)

// Notification is one property change or event occurrence.
type Notification struct {
	Name      string          // property or event name
	Value     json.RawMessage // the new property value, or the event data (nil: no data)
	Timestamp time.Time       // when it happened; zero if the Thing did not say
	MessageID string          // the notification's messageID (unique; used for catch-up)
}

// Subscription is an active observation (ObserveProperty, ObserveAllProperties) or event
// subscription (SubscribeEvent, SubscribeAllEvents).
//
// Notifications are delivered to the callback on the Subscription's own goroutine, one at
// a time and in the order the Thing sent them, so a slow callback never stalls the
// connection or other subscriptions. After a reconnect the subscription is restored with
// lastNotificationID, so notifications the Thing still holds in its history are replayed;
// duplicates are dropped by messageID. A subscription that had received no notification
// before the connection was lost has no ID to resume from, so what happened during the
// outage is not replayed; read the property after ConnConnected if that matters.
//
// Overflow policy: up to WithSubscriptionQueue notifications (default 1024, and at most
// 16 MiB of values) wait for a slow callback. One more ends the subscription: the queued notifications are still
// delivered, then Err returns an error wrapping ErrSlowConsumer and Done is closed. Nothing
// is ever dropped silently.
type Subscription struct {
	conn  *clientConn
	owner *ConsumedThing
	key   topicKey
	fn    func(Notification)
	max   int

	mu      sync.Mutex
	queue   []Notification
	queued  int  // bytes of the values in queue
	stopped bool // Stop or Close: no further callbacks
	ending  bool // failed: deliver what is queued, then stop
	err     error
	wake    chan struct{}
	done    chan struct{}
}

// maxSubQueueBytes bounds the memory a stuck callback can pin, whatever the count limit.
const maxSubQueueBytes = 16 << 20

func newSubscription(owner *ConsumedThing, conn *clientConn, key topicKey, fn func(Notification)) *Subscription {
	s := &Subscription{
		conn:  conn,
		owner: owner,
		key:   key,
		fn:    fn,
		max:   owner.cfg.subQueue,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	go s.deliver()
	return s
}

// Stop ends the subscription and tells the Thing, unless another Subscription on the same
// connection still needs the same notifications. No callback starts after Stop returns (a
// running one is not interrupted; wait on Done for it, but not from inside the callback).
// Stop is idempotent; it returns an error only if the Thing could not be told.
func (s *Subscription) Stop(ctx context.Context) error {
	s.mu.Lock()
	already := s.stopped || s.ending
	s.stopped = true
	s.queue = nil
	s.mu.Unlock()
	s.signal()
	if s.owner != nil {
		s.owner.forgetSub(s)
	}
	if already {
		return nil
	}
	return s.conn.removeSub(ctx, s)
}

// Err returns why the subscription ended on its own: an error wrapping ErrSlowConsumer
// or ErrConnectionLost, or the Thing's *wot.Error when it refused to restore the
// subscription after a reconnect. It is nil while the subscription is active and after
// Stop.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Done is closed when the subscription has ended and its last callback has returned.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// enqueue is called by the read loop (under the connection lock) and never blocks. It
// reports false when the queue overflowed and the subscription must be torn down.
func (s *Subscription) enqueue(n Notification) bool {
	s.mu.Lock()
	if s.stopped || s.ending {
		s.mu.Unlock()
		return true
	}
	if len(s.queue) >= s.max || s.queued+len(n.Value) > maxSubQueueBytes {
		s.ending = true
		s.err = fmt.Errorf("%w: more than %d notifications (or %d MiB) of %q waited for the callback; the subscription was ended (raise WithSubscriptionQueue or make the callback faster, then subscribe again)", ErrSlowConsumer, s.max, maxSubQueueBytes>>20, s.label())
		s.mu.Unlock()
		s.signal()
		return false
	}
	s.queue = append(s.queue, n)
	s.queued += len(n.Value)
	s.mu.Unlock()
	s.signal()
	return true
}

// end finishes the subscription from the connection's side; err == nil means a deliberate
// close (no error to report).
func (s *Subscription) end(err error) {
	s.mu.Lock()
	if s.stopped || s.ending {
		s.mu.Unlock()
		return
	}
	if err == nil {
		s.stopped = true
		s.queue = nil
	} else {
		s.ending = true
		s.err = err
	}
	s.mu.Unlock()
	s.signal()
	if s.owner != nil {
		s.owner.forgetSub(s)
	}
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Subscription) label() string {
	if s.key.name == "" {
		if s.key.kind == kindProperty {
			return "all properties"
		}
		return "all events"
	}
	return s.key.name
}

func (s *Subscription) deliver() {
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

// --- server-side subscription state, on the connection ---

func subscribeOp(k topicKey) string {
	switch {
	case k.kind == kindProperty && k.name != "":
		return OpObserveProperty
	case k.kind == kindProperty:
		return OpObserveAllProperties
	case k.name != "":
		return OpSubscribeEvent
	}
	return OpSubscribeAllEvents
}

func unsubscribeOp(k topicKey) string {
	switch {
	case k.kind == kindProperty && k.name != "":
		return OpUnobserveProperty
	case k.kind == kindProperty:
		return OpUnobserveAllProperties
	case k.name != "":
		return OpUnsubscribeEvent
	}
	return OpUnsubscribeAllEvents
}

func (c *clientConn) lockSubs(ctx context.Context) error {
	select {
	case c.subCtl <- struct{}{}:
		return nil
	case <-c.ctx.Done():
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("wtp: waiting to change subscriptions on %s: %w", c.spec.display, ctx.Err())
	}
}

func (c *clientConn) unlockSubs() { <-c.subCtl }

// subscribe registers s locally first (so no notification that follows the response can
// be missed) and then asks the Thing.
func (c *clientConn) subscribe(ctx context.Context, s *Subscription) error {
	if err := c.lockSubs(ctx); err != nil {
		return err
	}
	defer c.unlockSubs()
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	t := c.topics[s.key]
	if t == nil {
		t = &topic{key: s.key, subs: map[*Subscription]struct{}{}}
		c.topics[s.key] = t
	}
	t.subs[s] = struct{}{}
	c.mu.Unlock()

	resp, err := c.roundTrip(ctx, &Message{ThingID: s.key.thingID, Operation: subscribeOp(s.key), Name: s.key.name})
	if err == nil && resp.Error != nil {
		err = resp.Error
	}
	if err != nil {
		c.detach(s)
		var pe *wot.Error
		if !errors.As(err, &pe) {
			// The request may have reached the Thing: undo it unless still wanted.
			if e := c.syncTopicLocked(ctx, s.key); e != nil {
				c.log.Debug("wtp: could not undo an abandoned subscription", "err", e)
			}
		}
		return err
	}
	return nil
}

// detach removes s from the routing table; it reports whether its topic became empty.
func (c *clientConn) detach(s *Subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.topics[s.key]
	if t == nil {
		return
	}
	delete(t.subs, s)
	if len(t.subs) == 0 {
		delete(c.topics, s.key)
	}
}

// removeSub ends s and brings the Thing's subscription state in line.
func (c *clientConn) removeSub(ctx context.Context, s *Subscription) error {
	c.detach(s)
	if err := c.lockSubs(ctx); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil // the connection is gone, and the Thing's state with it
		}
		return err
	}
	defer c.unlockSubs()
	return c.syncTopicLocked(ctx, s.key)
}

// syncTopicLocked tells the Thing to drop the entry for k if no local Subscription needs
// it any more. Called with subCtl held.
//
// The Thing keeps one entry per affordance, and unobserveallproperties (or
// unsubscribeallevents) removes the single-affordance entries too, so ending an "all"
// subscription re-establishes the single ones that remain, with lastNotificationID so the
// gap is replayed.
func (c *clientConn) syncTopicLocked(ctx context.Context, k topicKey) error {
	c.mu.Lock()
	_, wanted := c.topics[k]
	_, coveredByAll := c.topics[topicKey{k.thingID, k.kind, ""}]
	connected := c.sess != nil && !c.dead && !c.closing
	var restore []topic
	if !wanted && k.name == "" {
		for key, t := range c.topics {
			if key.thingID == k.thingID && key.kind == k.kind {
				restore = append(restore, topic{key: key, lastID: t.lastID})
			}
		}
	}
	c.mu.Unlock()
	if wanted || (k.name != "" && coveredByAll) || !connected {
		return nil // nothing to tell; a down connection has no server state to clean
	}
	resp, err := c.roundTrip(ctx, &Message{ThingID: k.thingID, Operation: unsubscribeOp(k), Name: k.name})
	if err == nil && resp.Error != nil {
		err = resp.Error
	}
	if err != nil {
		return err
	}
	for _, t := range restore {
		c.resubscribeTopic(ctx, t.key, t.lastID)
	}
	return nil
}

// resubscribe restores every subscription after a reconnect: "all" entries first, then
// single entries not covered by one, each with the last messageID it saw.
func (c *clientConn) resubscribe(s *session) {
	defer c.wg.Done()
	if err := c.lockSubs(s.ctx); err != nil {
		return
	}
	defer c.unlockSubs()
	c.mu.Lock()
	if c.sess != s {
		c.mu.Unlock()
		return
	}
	var alls, singles []topic
	for k, t := range c.topics {
		if k.name == "" {
			alls = append(alls, topic{key: k, lastID: t.lastID})
		} else if _, ok := c.topics[topicKey{k.thingID, k.kind, ""}]; !ok {
			singles = append(singles, topic{key: k, lastID: t.lastID})
		}
	}
	c.mu.Unlock()
	for _, t := range append(alls, singles...) {
		if !c.resubscribeTopic(s.ctx, t.key, t.lastID) {
			return
		}
	}
}

// resubscribeTopic asks the Thing for k again. A refusal ends the local Subscriptions
// of k with the Thing's error; a connection problem is left to the next reconnect. It
// reports false if the connection is unusable.
func (c *clientConn) resubscribeTopic(ctx context.Context, k topicKey, lastID string) bool {
	resp, err := c.roundTrip(ctx, &Message{ThingID: k.thingID, Operation: subscribeOp(k), Name: k.name, LastNotificationID: lastID})
	if err == nil && resp.Error != nil {
		err = resp.Error
	}
	if err == nil {
		return true
	}
	var pe *wot.Error
	if !errors.As(err, &pe) {
		c.log.Warn("wtp: restoring a subscription failed; will retry after the next reconnect", "name", k.name, "err", err)
		return false
	}
	c.log.Error("wtp: the Thing refused to restore a subscription", "name", k.name, "err", err)
	c.mu.Lock()
	t := c.topics[k]
	delete(c.topics, k)
	c.mu.Unlock()
	if t != nil {
		for sub := range t.subs {
			sub.end(fmt.Errorf("wtp: restoring the subscription to %q after a reconnect: %w", sub.label(), pe))
		}
	}
	return true
}
