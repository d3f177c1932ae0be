package wtp

import (
	"context"
	"errors"
	"fmt"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// wsub is one consumer subscription on a connection: the core's Sink and the server-side
// entry it needs.
type wsub struct {
	sink wot.Sink
	key  topicKey
}

// resumeID is the lastNotificationID for subscribing to t again: the newest messageID routed
// to it, else the newest any of its subscribers has seen (a subscriber that moved here).
func (t *topic) resumeID() string {
	if t.lastID != "" {
		return t.lastID
	}
	for s := range t.subs {
		if id := s.sink.LastID(); id != "" {
			return id
		}
	}
	return ""
}

func (s *wsub) label() string {
	if s.key.name == "" {
		if s.key.kind == td.KindProperty {
			return "all properties"
		}
		return "all events"
	}
	return s.key.name
}

// --- server-side subscription state, on the connection ---

func subscribeOp(k topicKey) string {
	switch {
	case k.kind == td.KindProperty && k.name != "":
		return OpObserveProperty
	case k.kind == td.KindProperty:
		return OpObserveAllProperties
	case k.name != "":
		return OpSubscribeEvent
	}
	return OpSubscribeAllEvents
}

func unsubscribeOp(k topicKey) string {
	switch {
	case k.kind == td.KindProperty && k.name != "":
		return OpUnobserveProperty
	case k.kind == td.KindProperty:
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
		return wot.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("wtp: waiting to change subscriptions on %s: %w", c.spec.display, ctx.Err())
	}
}

func (c *clientConn) unlockSubs() { <-c.subCtl }

// subscribe registers s locally first (so no notification that follows the response can
// be missed) and then asks the Thing.
func (c *clientConn) subscribe(ctx context.Context, s *wsub) error {
	if err := c.lockSubs(ctx); err != nil {
		return err
	}
	defer c.unlockSubs()
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return wot.ErrClosed
	}
	t := c.topics[s.key]
	if t == nil {
		t = &topic{key: s.key, subs: map[*wsub]struct{}{}}
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
func (c *clientConn) detach(s *wsub) {
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
func (c *clientConn) removeSub(ctx context.Context, s *wsub) error {
	c.detach(s)
	if err := c.lockSubs(ctx); err != nil {
		if errors.Is(err, wot.ErrClosed) {
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
				restore = append(restore, topic{key: key, lastID: t.resumeID()})
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
			alls = append(alls, topic{key: k, lastID: t.resumeID()})
		} else if _, ok := c.topics[topicKey{k.thingID, k.kind, ""}]; !ok {
			singles = append(singles, topic{key: k, lastID: t.resumeID()})
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
			sub.sink.Fail(fmt.Errorf("wtp: restoring the subscription to %q after a reconnect: %w", sub.label(), pe))
		}
	}
	return true
}
