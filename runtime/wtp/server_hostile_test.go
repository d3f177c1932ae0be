package wtp

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/wotgen/wotgen/runtime/td"
)

// Randomly damaged requests for every operation: each gets exactly one response, nothing
// panics, and the connection keeps working.
func TestHostileRequestsAlwaysAnswered(t *testing.T) {
	th := newValve(t)
	s, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	c.ok(OpObserveAllProperties, nil)
	c.ok(OpUnobserveAllProperties, nil)

	members := []string{"thingID", "messageID", "messageType", "operation", "name", "names", "value", "values",
		"input", "output", "data", "status", "statuses", "actionID", "lastNotificationID", "error", "timestamp", "correlationID"}
	junk := []any{nil, 1, -1.5e300, "x", "", "flowRate", "servicePin", []any{}, []any{"open", 1}, map[string]any{},
		map[string]any{"open": true, "flowRate": 1}, map[string]any{"state": 5, "actionID": []any{}}, true,
		map[string]any{"status": "abc"}, "2025-13-45T99:99:99Z", string(make([]byte, 300))}
	names := []string{"open", "flowRate", "targetFlow", "servicePin", "label", "flush", "selfTest", "leak", "lowPressure", "nope"}
	rng := rand.New(rand.NewPCG(1, 2))
	ops := td.AllOps()
	for i := range 600 {
		req := map[string]any{"thingID": valveID, "messageID": NewUUID(), "messageType": "request",
			"operation": ops[rng.IntN(len(ops))], "correlationID": NewUUID(), "name": names[rng.IntN(len(names))]}
		for range 1 + rng.IntN(3) {
			k := members[rng.IntN(len(members))]
			if rng.IntN(4) == 0 {
				delete(req, k)
			} else {
				req[k] = junk[rng.IntN(len(junk))]
			}
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		c.sendRaw(string(b))
		m := c.recv()
		for m.MessageType == MessageTypeNotification { // a junk write may notify a junk observation
			m = c.recv()
		}
		if m.MessageType != MessageTypeResponse {
			t.Fatalf("request %d %s: got %+v", i, b, m)
		}
		if corr, ok := req["correlationID"].(string); ok && m.CorrelationID != corr {
			t.Fatalf("request %d %s: answer for %q", i, b, m.CorrelationID)
		}
		if m.Error != nil && (m.Error.Status < 400 || m.Error.Status > 599) {
			t.Fatalf("request %d: status %d", i, m.Error.Status)
		}
		if m.Error != nil && m.Error.Status == 500 {
			t.Fatalf("request %d %s: internal error %v", i, b, m.Error)
		}
	}
	// Subscriptions made by the junk may now deliver; only responses may be pending.
	c.ok(OpUnobserveAllProperties, nil)
	c.ok(OpUnsubscribeAllEvents, nil)
	c.expectNone()
	c.stillWorks()
	if st := ServerStats(s); st.Connections != 1 {
		t.Fatalf("connections %d", st.Connections)
	}
}
