package wot

import (
	"encoding/json"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// The values both sides share: a consumer receives them from a binding, an exposed Thing produces
// them for its bindings.

// Notification is one property change or event occurrence, on both sides.
type Notification struct {
	ID    string          // unique per Thing; where a consumer resumes (WTP lastNotificationID, SSE Last-Event-ID)
	Kind  td.Kind         // td.KindProperty or td.KindEvent
	Name  string          // property or event name
	Value json.RawMessage // the new property value or the event data (nil: an event without data)
	Time  time.Time       // when it happened; zero if the Thing did not say
}

// ActionState is the state of an asynchronous action instance.
type ActionState string

// The states of an action instance (pending → running → completed | failed).
const (
	ActionPending   ActionState = "pending"
	ActionRunning   ActionState = "running"
	ActionCompleted ActionState = "completed"
	ActionFailed    ActionState = "failed"
)

// ActionStatus describes one asynchronous action instance. Bindings encode it in their own
// wire format (WTP "state", HTTP Profile "status").
type ActionStatus struct {
	ActionID      string          // the instance id (WTP actionID; the last path segment of Href over HTTP)
	Href          string          // absolute URL of the status resource when the binding has one (HTTP Location), else ""
	Name          string          // the action's name, when known
	State         ActionState     // pending, running, completed or failed
	Output        json.RawMessage // when completed and the action has output
	Error         *Error          // when failed
	TimeRequested time.Time       // zero = absent
	TimeEnded     time.Time       // zero = absent
}

// Invocation is the result of invoking an action: Output for a synchronous action, Status
// (pending or running, sometimes already finished) for an asynchronous one.
type Invocation struct {
	Name   string
	Output json.RawMessage
	Status *ActionStatus
}
