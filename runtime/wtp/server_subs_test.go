package wtp

import (
	"fmt"
	"testing"
)

// expectNote receives a notification and checks it.
func (c *rawClient) expectNote(op, corr, name, payload string) *Message {
	c.t.Helper()
	m := c.recv()
	got := string(m.Value)
	if op == OpSubscribeEvent || op == OpSubscribeAllEvents {
		got = string(m.Data)
	}
	if m.MessageType != MessageTypeNotification || m.Operation != op || m.CorrelationID != corr || m.Name != name || got != payload {
		c.t.Fatalf("want notification %s %s %s=%s, got %+v (value %s data %s)", op, corr, name, payload, m, m.Value, m.Data)
	}
	if !isUUID(m.MessageID) || m.Timestamp.IsZero() || m.ThingID != valveID {
		c.t.Fatalf("notification envelope %+v", m)
	}
	return m
}

func TestObserveProperty(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	r1 := c.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	if r1.Name != "flowRate" {
		t.Fatalf("response %+v", r1)
	}
	th.SetProperty("flowRate", 13.1)
	c.expectNote(OpObserveProperty, r1.CorrelationID, "flowRate", "13.1")

	// SetProperty always notifies; a consumer writing the stored value again does not.
	th.SetProperty("flowRate", 13.1)
	c.expectNote(OpObserveProperty, r1.CorrelationID, "flowRate", "13.1")
	th.NotifyPropertyChange("flowRate", 13.1)
	c.expectNote(OpObserveProperty, r1.CorrelationID, "flowRate", "13.1")

	// Last subscription wins: the new correlationID, still one notification.
	r2 := c.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	th.SetProperty("flowRate", 14)
	c.expectNote(OpObserveProperty, r2.CorrelationID, "flowRate", "14")
	c.expectNone()

	// A consumer write notifies observers too (here: the writer itself).
	c.ok(OpObserveProperty, func(m *Message) { m.Name = "open" })
	req := c.request(OpWriteProperty, func(m *Message) { m.Name = "open"; m.Value = raw("true") })
	c.send(req)
	note, resp := c.recv(), c.recv()
	if note.MessageType != MessageTypeNotification || string(note.Value) != "true" {
		t.Fatalf("want the notification first, got %+v", note)
	}
	checkResponse(t, req, resp)
	c.ok(OpWriteProperty, func(m *Message) { m.Name = "open"; m.Value = raw("true") }) // unchanged: no notification
	c.expectNone()

	c.ok(OpUnobserveProperty, func(m *Message) { m.Name = "flowRate" })
	c.ok(OpUnobserveProperty, func(m *Message) { m.Name = "flowRate" }) // not observed: still success
	th.SetProperty("flowRate", 15)
	c.expectNone()

	c.fails(OpObserveProperty, func(m *Message) { m.Name = "nope" }, 404, `no property "nope"`)
	c.fails(OpUnobserveProperty, func(m *Message) { m.Name = "nope" }, 404, `no property "nope"`)
	c.fails(OpObserveProperty, nil, 400, `missing member "name"`)
	c.fails(OpObserveProperty, func(m *Message) { m.Name = "targetFlow" }, 400, "does not offer observeproperty")
	c.fails(OpObserveProperty, func(m *Message) { m.Name = "servicePin" }, 400, "write-only")
}

func TestObserveAllPropertiesInterplay(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	all := c.ok(OpObserveAllProperties, nil)
	if all.Name != "" {
		t.Fatalf("observeallproperties response has a name: %+v", all)
	}
	th.SetProperty("open", true)
	c.expectNote(OpObserveAllProperties, all.CorrelationID, "open", "true")
	th.SetProperty("targetFlow", 3) // observeallproperties covers every readable property
	c.expectNote(OpObserveAllProperties, all.CorrelationID, "targetFlow", "3")
	th.SetProperty("servicePin", "1") // ... but not write-only ones
	c.expectNone()

	// A single observation replaces only its own entry; still one notification per change.
	one := c.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	th.SetProperty("flowRate", 1)
	c.expectNote(OpObserveProperty, one.CorrelationID, "flowRate", "1")
	th.SetProperty("open", false)
	c.expectNote(OpObserveAllProperties, all.CorrelationID, "open", "false")
	c.expectNone()

	// Unobserving one property leaves the others from observeallproperties alone.
	c.ok(OpUnobserveProperty, func(m *Message) { m.Name = "open" })
	th.SetProperty("open", true)
	th.SetProperty("flowRate", 2)
	c.expectNote(OpObserveProperty, one.CorrelationID, "flowRate", "2")

	// observeallproperties again replaces every entry, the single one included.
	all2 := c.ok(OpObserveAllProperties, nil)
	th.SetProperty("flowRate", 3)
	c.expectNote(OpObserveAllProperties, all2.CorrelationID, "flowRate", "3")

	// unobserveallproperties removes every entry, whichever op created it.
	c.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	c.ok(OpUnobserveAllProperties, nil)
	c.ok(OpUnobserveAllProperties, nil) // nothing observed: still success
	th.SetProperty("flowRate", 4)
	th.SetProperty("open", false)
	c.expectNone()
}

func TestEvents(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	sub := c.ok(OpSubscribeEvent, func(m *Message) { m.Name = "leak" })
	if sub.Name != "leak" {
		t.Fatalf("response %+v", sub)
	}
	th.EmitEvent("leak", map[string]any{"zone": "B2", "severity": 3})
	c.expectNote(OpSubscribeEvent, sub.CorrelationID, "leak", `{"severity":3,"zone":"B2"}`)
	th.EmitEvent("lowPressure", 180.5) // not subscribed
	c.expectNone()

	all := c.ok(OpSubscribeAllEvents, nil)
	th.EmitEvent("lowPressure", 180.5)
	c.expectNote(OpSubscribeAllEvents, all.CorrelationID, "lowPressure", "180.5")
	th.EmitEvent("leak", nil) // no data member at all
	m := c.expectNote(OpSubscribeAllEvents, all.CorrelationID, "leak", "")
	if m.Data != nil {
		t.Fatalf("data %s", m.Data)
	}

	one := c.ok(OpSubscribeEvent, func(m *Message) { m.Name = "leak" })
	th.EmitEvent("leak", 1)
	c.expectNote(OpSubscribeEvent, one.CorrelationID, "leak", "1")
	c.expectNone()

	c.ok(OpUnsubscribeEvent, func(m *Message) { m.Name = "leak" })
	th.EmitEvent("leak", 2)
	th.EmitEvent("lowPressure", 3)
	c.expectNote(OpSubscribeAllEvents, all.CorrelationID, "lowPressure", "3")
	c.ok(OpUnsubscribeAllEvents, nil)
	c.ok(OpUnsubscribeAllEvents, nil)
	th.EmitEvent("lowPressure", 4)
	c.expectNone()

	c.fails(OpSubscribeEvent, func(m *Message) { m.Name = "fire" }, 404, `no event "fire"`)
	c.fails(OpUnsubscribeEvent, func(m *Message) { m.Name = "fire" }, 404, `no event "fire"`)
	c.fails(OpSubscribeEvent, nil, 400, `missing member "name"`)
	if err := th.EmitEvent("fire", 1); !IsNotFound(err) {
		t.Fatalf("EmitEvent of an unknown event: %v", err)
	}
	if err := th.SetProperty("nope", 1); !IsNotFound(err) {
		t.Fatalf("SetProperty of an unknown property: %v", err)
	}
}

// Two connections observing the same property each get exactly one notification per change.
func TestTwoObserversOneNotificationEach(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	a, b := dial(t, hs), dial(t, hs)
	ra := a.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	a.ok(OpObserveAllProperties, nil) // replaces the single entry; still one per change
	rb := b.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	_ = ra

	const n = 20
	ids := map[string]bool{}
	for i := range n {
		th.SetProperty("flowRate", i+1)
	}
	for i := range n {
		ma := a.recv()
		mb := b.recv()
		want := fmt.Sprint(i + 1)
		if string(ma.Value) != want || string(mb.Value) != want {
			t.Fatalf("change %d: a got %s, b got %s", i, ma.Value, mb.Value)
		}
		if ma.Operation != OpObserveAllProperties || mb.Operation != OpObserveProperty || mb.CorrelationID != rb.CorrelationID {
			t.Fatalf("origin op/correlation: a %+v b %+v", ma, mb)
		}
		// One messageID per change, shared by the connections (the policy in the package
		// doc; the draft allows either).
		if ma.MessageID != mb.MessageID || ids[ma.MessageID] {
			t.Fatalf("messageIDs a %s b %s", ma.MessageID, mb.MessageID)
		}
		ids[ma.MessageID] = true
	}
	a.expectNone()
	b.expectNone()
	if st := ServerStats(s); st.Notifications != 2*n {
		t.Errorf("Stats.Notifications = %d, want %d", st.Notifications, 2*n)
	}
}

// Subscription state dies with the connection.
func TestSubscriptionsDieWithConnection(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	c.ok(OpObserveAllProperties, nil)
	c.ok(OpSubscribeAllEvents, nil)
	c.ws.CloseNow()
	// A connection is counted closed only after it made its Things forget it.
	waitFor(t, "the connection to go", func() bool { return ServerStats(s).Connections == 0 })
	th.SetProperty("open", true)
	th.EmitEvent("leak", nil)
	if n := ServerStats(s).Notifications; n != 0 {
		t.Fatalf("%d notifications queued for a closed connection", n)
	}
}

// A reconnecting consumer passing lastNotificationID gets exactly the notifications it
// missed, in order, after the response, with their original messageIDs and timestamps.
func TestLastNotificationIDReplay(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})

	a := dial(t, hs)
	a.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	var seen []*Message
	for i := 1; i <= 3; i++ {
		th.SetProperty("flowRate", i)
		seen = append(seen, a.recv())
	}
	a.ws.Close(1000, "")
	<-a.done

	// Missed while disconnected: three flowRate changes, interleaved with other changes.
	var missed []string
	for i := 4; i <= 6; i++ {
		th.SetProperty("flowRate", i)
		th.SetProperty("open", i%2 == 0)
		th.EmitEvent("leak", i)
		missed = append(missed, fmt.Sprint(i))
	}

	b := dial(t, hs)
	req := b.request(OpObserveProperty, func(m *Message) { m.Name = "flowRate"; m.LastNotificationID = seen[2].MessageID })
	b.send(req)
	checkResponse(t, req, b.recv())
	var replayed []*Message
	for _, want := range missed {
		m := b.expectNote(OpObserveProperty, req.CorrelationID, "flowRate", want)
		replayed = append(replayed, m)
	}
	b.expectNone()

	// Replays keep their identity: the same messageIDs another observer saw live.
	c := dial(t, hs)
	c.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	th.SetProperty("flowRate", 7)
	live7 := c.recv()
	b.expectNote(OpObserveProperty, req.CorrelationID, "flowRate", "7")
	d := dial(t, hs)
	req2 := d.request(OpObserveAllProperties, func(m *Message) { m.LastNotificationID = replayed[2].MessageID })
	d.send(req2)
	checkResponse(t, req2, d.recv())
	d.expectNote(OpObserveAllProperties, req2.CorrelationID, "open", "true") // changed after flowRate=6
	if m := d.expectNote(OpObserveAllProperties, req2.CorrelationID, "flowRate", "7"); m.MessageID != live7.MessageID || !m.Timestamp.Equal(live7.Timestamp) {
		t.Fatalf("replay %+v differs from the live notification %+v", m, live7)
	}
	d.expectNone()

	// Re-subscribing on the same connection never resends what it already got.
	b.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate"; m.LastNotificationID = seen[0].MessageID })
	b.expectNone()

	// Unknown IDs are ignored.
	e := dial(t, hs)
	e.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate"; m.LastNotificationID = NewUUID() })
	e.expectNone()

	// Events: subscribeallevents with the last event seen replays the later ones.
	f := dial(t, hs)
	f.ok(OpSubscribeEvent, func(m *Message) { m.Name = "leak" })
	th.EmitEvent("leak", 100)
	last := f.recv()
	th.EmitEvent("lowPressure", 1)
	th.EmitEvent("leak", 101)
	g := dial(t, hs)
	req3 := g.request(OpSubscribeAllEvents, func(m *Message) { m.LastNotificationID = last.MessageID })
	g.send(req3)
	checkResponse(t, req3, g.recv())
	g.expectNote(OpSubscribeAllEvents, req3.CorrelationID, "lowPressure", "1")
	g.expectNote(OpSubscribeAllEvents, req3.CorrelationID, "leak", "101")
	g.expectNone()
}

func TestHistoryBounded(t *testing.T) {
	th := newValve(t, WithHistory(3, 0))
	_, hs := serve(t, []*Thing{th})
	a := dial(t, hs)
	a.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate" })
	th.SetProperty("flowRate", 1)
	first := a.recv()
	for i := 2; i <= 6; i++ {
		th.SetProperty("flowRate", i)
		a.recv()
	}
	// The first note has been evicted: its ID is unknown now, so nothing is replayed.
	b := dial(t, hs)
	b.ok(OpObserveProperty, func(m *Message) { m.Name = "flowRate"; m.LastNotificationID = first.MessageID })
	b.expectNone()
}
