package wtp

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const valve = "https://farm.example.org/things/valve-7"

func TestDecodeMessageSpecExamples(t *testing.T) {
	// Valid messages shaped like the operation examples of https://w3c.github.io/web-thing-protocol/#message-format
	// (the draft's own error examples are not valid JSON: commas are missing).
	tests := []struct {
		in    string
		check func(t *testing.T, m *Message)
	}{
		{`{"thingID": "https://farm.example.org/things/valve-7", "messageID": "99a3c621-ad73-44f0-a1b4-854b7ce367f3", "messageType": "response", "operation": "readproperty", "name": "flowRate", "value": 12.5, "timestamp": "2025-11-03T09:15:00.250Z", "correlationID": "11da6584-df70-4612-8717-25ada44c9d88"}`,
			func(t *testing.T, m *Message) {
				want := time.Date(2025, 11, 3, 9, 15, 0, 250e6, time.UTC)
				if m.ThingID != valve || m.Name != "flowRate" || string(m.Value) != "12.5" || !m.Timestamp.Equal(want) ||
					m.CorrelationID != "11da6584-df70-4612-8717-25ada44c9d88" || m.MessageType != MessageTypeResponse {
					t.Errorf("got %+v", m)
				}
			}},
		{`{"thingID": "x:y", "messageID": "fc13b2a9-4141-4821-aa05-445e51d26478", "messageType": "response", "operation": "queryaction", "name": "flush", "status": {"actionID": "d4c58d02-b829-4808-baa2-9554e31fcb88", "state": "failed", "error": {"status": 503, "type": "https://w3c.github.io/web-thing-protocol/errors#503", "title": "Service Unavailable", "detail": "supply pressure too low to flush"}, "timeRequested": "2025-11-03T09:16:00.000Z", "timeEnded": "2025-11-03T09:16:00.900Z"}}`,
			func(t *testing.T, m *Message) {
				s := m.Status
				if s == nil || s.State != ActionFailed || s.Error == nil || s.Error.Status != 503 || s.TimeEnded.IsZero() ||
					s.ActionID != "d4c58d02-b829-4808-baa2-9554e31fcb88" {
					t.Errorf("status %+v", s)
				}
			}},
		{`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"queryallactions","statuses":{"flush":[{"actionID":"1","state":"completed","output":{"litres":41.2},"timeRequested":"2025-11-03T09:15:15.000Z"}],"selfTest":[]}}`,
			func(t *testing.T, m *Message) {
				if len(m.Statuses) != 2 || len(m.Statuses["flush"]) != 1 || m.Statuses["selfTest"] == nil ||
					string(m.Statuses["flush"][0].Output) != `{"litres":41.2}` {
					t.Errorf("statuses %+v", m.Statuses)
				}
			}},
		{`{"thingID":"x:y","messageID":"a","messageType":"request","operation":"readmultipleproperties","names":["open","flowRate"]}`,
			func(t *testing.T, m *Message) {
				if !reflect.DeepEqual(m.Names, []string{"open", "flowRate"}) {
					t.Errorf("names %v", m.Names)
				}
			}},
		{`{"thingID":"x:y","messageID":"a","messageType":"request","operation":"writeproperty","name":"n","value":null}`,
			func(t *testing.T, m *Message) {
				if string(m.Value) != "null" {
					t.Errorf("a present null must stay distinguishable from absent, got %q", m.Value)
				}
			}},
	}
	for _, tt := range tests {
		m, err := DecodeMessage([]byte(tt.in))
		if err != nil {
			t.Fatalf("DecodeMessage(%s): %v", tt.in, err)
		}
		tt.check(t, m)
	}
}

func TestDecodeMessageDeviations(t *testing.T) {
	t.Run("status as string (draft invokeaction example)", func(t *testing.T) {
		m, err := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"invokeaction","error":{"status":"500","title":"Internal Server Error"}}`))
		if err != nil || m.Error.Status != 500 {
			t.Fatalf("err=%v m=%+v", err, m)
		}
	})
	t.Run("event messageType and subscribeproperty (draft subscribeevent example)", func(t *testing.T) {
		m, err := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"event","operation":"subscribeproperty","name":"leak","data":{"zone":"B2"}}`))
		if err != nil || m.MessageType != MessageTypeNotification || m.Operation != OpSubscribeEvent || string(m.Data) != `{"zone":"B2"}` {
			t.Fatalf("err=%v m=%+v", err, m)
		}
	})
	t.Run("subscribeproperty on a request stays unknown", func(t *testing.T) {
		m, _ := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"request","operation":"subscribeproperty"}`))
		if m.Operation != "subscribeproperty" {
			t.Fatalf("got %q", m.Operation)
		}
	})
	t.Run("event payload in value (draft subscribeallevents example)", func(t *testing.T) {
		m, err := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"notification","operation":"subscribeallevents","name":"lowPressure","value":180.5}`))
		if err != nil || string(m.Data) != "180.5" || m.Value != nil {
			t.Fatalf("err=%v m=%+v", err, m)
		}
	})
	t.Run("status instead of state (draft queryallactions example)", func(t *testing.T) {
		m, err := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"queryallactions","statuses":{"f":[{"actionID":"1","status":"completed"}]}}`))
		if err != nil || m.Statuses["f"][0].State != ActionCompleted {
			t.Fatalf("err=%v m=%+v", err, m)
		}
	})
	t.Run("actionID fallbacks (draft queryaction example)", func(t *testing.T) {
		m, err := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"queryaction","status":{"state":"failed","error":{"status":503,"actionID":"in-error"}}}`))
		if err != nil || m.Status.ActionID != "in-error" {
			t.Fatalf("err=%v m=%+v", err, m.Status)
		}
		m, err = DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"queryaction","actionID":"top","status":{"state":"running"}}`))
		if err != nil || m.Status.ActionID != "top" {
			t.Fatalf("err=%v m=%+v", err, m.Status)
		}
	})
	t.Run("timestamps with offsets and precision", func(t *testing.T) {
		for in, want := range map[string]time.Time{
			"2025-11-03T10:15:00+01:00":         time.Date(2025, 11, 3, 9, 15, 0, 0, time.UTC),
			"2025-11-03t09:15:00.123456789z":    time.Date(2025, 11, 3, 9, 15, 0, 123456789, time.UTC),
			"2025-11-03T09:15:00.5Z":            time.Date(2025, 11, 3, 9, 15, 0, 5e8, time.UTC),
			"not a time":                        {},
			"2025-11-03T25:15:00Z":              {},
			"0000-01-01T00:00:00+01:00":         {}, // year -1 in UTC
			"9999-12-31T23:59:59-01:00":         {}, // year 10000 in UTC
			"2025-11-03T09:15:00.250000000000Z": time.Date(2025, 11, 3, 9, 15, 0, 250e6, time.UTC),
		} {
			m, err := DecodeMessage([]byte(`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"readproperty","timestamp":"` + in + `"}`))
			if err != nil || !m.Timestamp.Equal(want) {
				t.Errorf("%s: err=%v got %v want %v", in, err, m.Timestamp, want)
			}
		}
	})
}

func TestDecodeMessageErrors(t *testing.T) {
	tests := []struct {
		in, wantErr, wantThingID string
	}{
		{``, "empty message", ""},
		{`not json`, "not valid JSON", ""},
		{`[1,2]`, "must be a JSON object", ""},
		{`"s"`, "must be a JSON object", ""},
		{`{"thingID":"x:y",`, "not valid JSON", ""},
		{`{"thingID":"x:y","messageID":"a","names":"open"}`, `"names" must be an array of strings`, "x:y"},
		{`{"name":5,"thingID":"x:y","correlationID":"c"}`, `"name" must be a string`, "x:y"},
		{`{"thingID":"x:y","status":[1]}`, `"status"`, "x:y"},
		{`{"thingID":"x:y","error":{"status":"abc"}}`, "not an integer", "x:y"},
		{`{"thingID":"x:y","statuses":{"a":5}}`, "statuses.a", "x:y"},
	}
	for _, tt := range tests {
		m, err := DecodeMessage([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("DecodeMessage(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantThingID != "" && (m == nil || m.ThingID != tt.wantThingID) {
			t.Errorf("DecodeMessage(%q): partial message %+v lacks thingID %q", tt.in, m, tt.wantThingID)
		}
	}
	if _, err := DecodeMessage([]byte(`[]`)); !errors.Is(err, ErrNotObject) {
		t.Errorf("array: %v, want ErrNotObject", err)
	}
}

func TestAppendMessageStrict(t *testing.T) {
	ts := time.Date(2025, 11, 3, 10, 15, 2, 123456789, time.FixedZone("CET", 3600))
	m := &Message{
		ThingID: valve, MessageID: "m1", MessageType: MessageTypeResponse, Operation: OpWriteAllProperties,
		Values:        map[string]json.RawMessage{"z": json.RawMessage(`{ "a" : 1 }`), "a": json.RawMessage(`true`)},
		Timestamp:     ts,
		CorrelationID: "c1",
	}
	got, err := AppendMessage([]byte("prefix"), m)
	if err != nil {
		t.Fatal(err)
	}
	want := `prefix{"thingID":"https://farm.example.org/things/valve-7","messageID":"m1","messageType":"response","operation":"writeallproperties","values":{"a":true,"z":{"a":1}},"timestamp":"2025-11-03T09:15:02.123Z","correlationID":"c1"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	bad := []struct {
		name string
		m    Message
		want string
	}{
		{"no thingID", Message{MessageID: "a", MessageType: "request", Operation: OpReadProperty}, "thingID is empty"},
		{"no messageID", Message{ThingID: "x", MessageType: "request", Operation: OpReadProperty}, "messageID is empty"},
		{"bad type", Message{ThingID: "x", MessageID: "a", MessageType: "event", Operation: OpReadProperty}, "messageType"},
		{"bad op", Message{ThingID: "x", MessageID: "a", MessageType: "request", Operation: "observeaction"}, "observeaction"},
		{"bad raw", Message{ThingID: "x", MessageID: "a", MessageType: "request", Operation: OpWriteProperty, Value: json.RawMessage(`{`)}, "value is not valid JSON"},
		{"bad status", Message{ThingID: "x", MessageID: "a", MessageType: "response", Operation: OpQueryAction, Status: &ActionStatus{ActionID: "1", State: "done"}}, "state"},
		{"error response needs messageID", Message{MessageType: "response", Error: BadRequest("x")}, "messageID"},
		{"bad problem", Message{ThingID: "x", MessageID: "a", MessageType: "response", Operation: OpQueryAction, Error: &Error{Status: 0}}, "problem status"},
	}
	// An error response may answer a request whose thingID or operation was unreadable.
	if b, err := AppendMessage(nil, &Message{MessageID: "m", MessageType: MessageTypeResponse, Operation: "observeaction", Error: BadRequest("unknown operation")}); err != nil ||
		!strings.HasPrefix(string(b), `{"messageID":"m","messageType":"response","operation":"observeaction","error":{`) {
		t.Errorf("error response: %s %v", b, err)
	}
	for _, tt := range bad {
		out, err := AppendMessage([]byte("keep"), &tt.m)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want containing %q", tt.name, err, tt.want)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q on error", tt.name, out)
		}
	}
}

func TestAppendDecodeRoundTrip(t *testing.T) {
	ts := time.Date(2025, 11, 3, 9, 15, 0, 250e6, time.UTC)
	m := &Message{
		ThingID: valve, MessageID: NewUUID(), MessageType: MessageTypeResponse, Operation: OpQueryAllActions,
		Name: "na\"me\n\u2028\x01", Names: []string{"a", "b"}, Value: json.RawMessage(`1`),
		Values: map[string]json.RawMessage{"x": json.RawMessage(`"y"`)},
		Input:  json.RawMessage(`[1,2]`), Output: json.RawMessage(`{"o":null}`), Data: json.RawMessage(`"d"`),
		Status:   &ActionStatus{ActionID: "s", State: ActionCompleted, Output: json.RawMessage(`5`), TimeRequested: ts, TimeEnded: ts},
		Statuses: map[string][]ActionStatus{"f": {{ActionID: "1", State: ActionFailed, Error: &Error{Type: ErrorTypeBase + "404", Status: 404, Title: "Not Found", Detail: "gone"}, TimeRequested: ts}}, "g": {}},
		ActionID: "act", LastNotificationID: "last",
		Error:         &Error{Type: "t:x", Status: 409, Title: "T", Detail: "D", Instance: "/i", Extra: map[string]json.RawMessage{"k": json.RawMessage(`[1]`)}},
		Timestamp:     ts,
		CorrelationID: "corr",
	}
	b, err := AppendMessage(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	got, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v\nwire %s", got, m, b)
	}
}

func TestActionStatusJSON(t *testing.T) {
	// Href and Name are the core's; WTP sends neither.
	s := ActionStatus{ActionID: "a", State: ActionRunning, Href: "http://x/a", Name: "flush"}
	b, err := appendActionStatus(nil, &s, "status")
	if err != nil || string(b) != `{"actionID":"a","state":"running"}` {
		t.Fatalf("%s %v", b, err)
	}
	back, err := decodeActionStatus([]byte(`{"actionID":"a","status":"pending"}`))
	if err != nil || back.State != ActionPending {
		t.Fatalf("%+v %v", back, err)
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\t\r\n", "é☃😀", "\u2028\u2029", "bad\xffutf8"} {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("%q -> %s -> %q", s, b, back)
		}
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	m := &Message{ThingID: valve, MessageID: NewUUID(), MessageType: MessageTypeNotification, Operation: OpObserveProperty,
		Name: "flowRate", Value: json.RawMessage(`13.1`), Timestamp: time.Now(), CorrelationID: NewUUID()}
	var buf []byte
	for b.Loop() {
		buf, _ = AppendMessage(buf[:0], m)
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	in := []byte(`{"thingID":"https://farm.example.org/things/valve-7","messageID":"aed5b912-bbcb-4b2a-a7fc-88863a0fc7bd","messageType":"request","operation":"readproperty","name":"flowRate","correlationID":"11da6584-df70-4612-8717-25ada44c9d88"}`)
	for b.Loop() {
		if _, err := DecodeMessage(in); err != nil {
			b.Fatal(err)
		}
	}
}
