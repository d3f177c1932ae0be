package wtp

import (
	"github.com/wotgen/wotgen/runtime/wot"
)

// Conversions between the WTP codec's types and the core's. They go away once the codec
// speaks wot.Error and wot.ActionStatus itself.

func fromWireError(e *Error) *wot.Error {
	if e == nil {
		return nil
	}
	return &wot.Error{Type: e.Type, Status: e.Status, Title: e.Title, Detail: e.Detail, Instance: e.Instance, Extra: e.Extra}
}

func fromWireStatus(s *ActionStatus, name string) *wot.ActionStatus {
	if s == nil {
		return nil
	}
	return &wot.ActionStatus{
		ActionID:      s.ActionID,
		Name:          name,
		State:         wot.ActionState(s.State),
		Output:        s.Output,
		Error:         fromWireError(s.Error),
		TimeRequested: s.TimeRequested,
		TimeEnded:     s.TimeEnded,
	}
}

func fromWireStatuses(m map[string][]ActionStatus) map[string][]wot.ActionStatus {
	if m == nil {
		return nil
	}
	out := make(map[string][]wot.ActionStatus, len(m))
	for name, list := range m {
		l := make([]wot.ActionStatus, len(list))
		for i := range list {
			l[i] = *fromWireStatus(&list[i], name)
		}
		out[name] = l
	}
	return out
}
