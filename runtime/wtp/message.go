// Package wtp implements the W3C Web Thing Protocol (WTP, a WebSocket sub-protocol) on
// github.com/coder/websocket.
//
// It is a protocol binding of runtime/wot: importing it (generated code does, for effect)
// registers both sides with the core.
//
// The codec (Message, DecodeMessage, AppendMessage) is pure and fuzzable. It accepts the
// deviations of the draft's own examples (listed at DecodeMessage) and sends exactly what the
// draft's tables describe: fresh UUIDv4 messageIDs for responses, one messageID per notified
// change or event shared by every connection and the history, correlationIDs echoed verbatim,
// RFC 3339 UTC timestamps with milliseconds.
//
// The server side is a wot.ServerBinding: every wot.Server serves its Things over WTP at the
// endpoints their TDs' WTP forms name (or at /wtp, with forms added to the served TD, when a
// TD has none); options such as WithReadLimit and WithSendBuffer configure it. The consumer
// side is Binding, which wot.Dial and wot.Consume use for forms with the WTP subprotocol: one
// pooled WebSocket per endpoint and credentials, reconnect with catch-up (WithReconnect).
package wtp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wotgen/wotgen/runtime/wot"
)

// hexDigits spells bytes in hexadecimal for the string escapes the encoder writes.
const hexDigits = "0123456789abcdef"

// Subprotocol is the WebSocket sub-protocol name negotiated in the handshake.
const Subprotocol = "webthingprotocol"

// Message types.
const (
	MessageTypeRequest      = "request"
	MessageTypeResponse     = "response"
	MessageTypeNotification = "notification"
)

// Message is the WTP envelope plus every operation-specific member. Nil/empty fields are
// absent on the wire; a json.RawMessage holding "null" is a present JSON null.
type Message struct {
	ThingID       string
	MessageID     string
	MessageType   string
	Operation     string
	CorrelationID string

	Name               string
	Names              []string
	Value              json.RawMessage
	Values             map[string]json.RawMessage
	Input              json.RawMessage
	Output             json.RawMessage
	Data               json.RawMessage
	Status             *wot.ActionStatus // encoded with "state" (Href and Name are not sent)
	Statuses           map[string][]wot.ActionStatus
	ActionID           string
	LastNotificationID string
	Error              *wot.Error // an empty Type of a 400, 403, 404, 500 or 503 is sent as the WTP problem type
	Timestamp          time.Time  // zero = absent
}

func validState(s wot.ActionState) bool {
	return s == wot.ActionPending || s == wot.ActionRunning || s == wot.ActionCompleted || s == wot.ActionFailed
}

// timeLayout is what wotgen sends: RFC 3339, UTC, millisecond precision.
const timeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime returns t as wotgen sends timestamps: RFC 3339 in UTC with milliseconds.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// ParseTime parses any RFC 3339 date-time (any offset, any fractional precision, lower-case
// "t"/"z" allowed as RFC 3339 permits).
func ParseTime(s string) (time.Time, error) {
	if strings.ContainsAny(s, "tz") {
		s = strings.ToUpper(s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if y := t.UTC().Year(); err != nil || y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("wtp: %q is not an RFC 3339 date-time (e.g. 2025-11-03T09:15:00.250Z)", s)
	}
	return t, nil
}

// parseTimeLenient drops an unreadable optional timestamp instead of rejecting the whole
// message: a bad timestamp never changes what a message means.
func parseTimeLenient(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := ParseTime(s)
	return t
}

// wireMessage mirrors the JSON members; the members whose shape the draft gets wrong are
// kept raw and decoded by hand.
type wireMessage struct {
	ThingID            string                     `json:"thingID"`
	MessageID          string                     `json:"messageID"`
	MessageType        string                     `json:"messageType"`
	Operation          string                     `json:"operation"`
	CorrelationID      string                     `json:"correlationID"`
	Name               string                     `json:"name"`
	Names              []string                   `json:"names"`
	Value              json.RawMessage            `json:"value"`
	Values             map[string]json.RawMessage `json:"values"`
	Input              json.RawMessage            `json:"input"`
	Output             json.RawMessage            `json:"output"`
	Data               json.RawMessage            `json:"data"`
	Status             json.RawMessage            `json:"status"`
	Statuses           map[string]json.RawMessage `json:"statuses"`
	ActionID           string                     `json:"actionID"`
	LastNotificationID string                     `json:"lastNotificationID"`
	Error              json.RawMessage            `json:"error"`
	Timestamp          string                     `json:"timestamp"`
}

// ErrNotObject is returned (wrapped) by DecodeMessage for a frame that is valid JSON but
// not a JSON object.
var ErrNotObject = errors.New("wtp: a message must be a JSON object")

// DecodeMessage parses one WTP message liberally. It checks the JSON shape of members but
// not whether mandatory members are present; that is the receiver's job, because the
// answer (400 with which members echoed) depends on the role.
//
// On error the returned *Message, when non-nil, holds the members that could be read
// (for example thingID and correlationID), so an error response can still echo them.
//
// Accepted deviations, each from the draft's own tables or examples
// (https://w3c.github.io/web-thing-protocol/#subscribeevent, #subscribeallevents,
// #invokeaction, #queryallactions, #queryaction): messageType "event" for
// "notification"; operation "subscribeproperty" on notifications for "subscribeevent";
// event payload in "value" instead of "data"; problem "status" as a string of digits;
// ActionStatus "status" instead of "state"; ActionStatus actionID found in status.error
// or the message's actionID.
// Unreadable timestamps are dropped.
func DecodeMessage(b []byte) (*Message, error) {
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("wtp: empty message; send one JSON object per text frame")
	}
	if trimmed[0] != '{' {
		if json.Valid(trimmed) {
			return nil, ErrNotObject
		}
		return nil, errors.New("wtp: message is not valid JSON; send one JSON object per text frame")
	}
	var w wireMessage
	var uerr error
	if !decodeWireFast(b, &w) {
		slow, err := decodeWireSlow(b)
		if slow == nil {
			return nil, err
		}
		w, uerr = *slow, err
	}
	m := &Message{
		ThingID:            w.ThingID,
		MessageID:          w.MessageID,
		MessageType:        w.MessageType,
		Operation:          w.Operation,
		CorrelationID:      w.CorrelationID,
		Name:               w.Name,
		Names:              w.Names,
		Value:              w.Value,
		Values:             w.Values,
		Input:              w.Input,
		Output:             w.Output,
		Data:               w.Data,
		ActionID:           w.ActionID,
		LastNotificationID: w.LastNotificationID,
		Timestamp:          parseTimeLenient(w.Timestamp),
	}
	if m.MessageType == "event" { // the subscribeevent member table says "event"
		m.MessageType = MessageTypeNotification
	}
	if m.MessageType == MessageTypeNotification {
		if m.Operation == "subscribeproperty" { // the subscribeevent example's operation
			m.Operation = OpSubscribeEvent
		}
		if (m.Operation == OpSubscribeEvent || m.Operation == OpSubscribeAllEvents) && m.Data == nil {
			m.Data, m.Value = m.Value, nil // the subscribeallevents example uses value
		}
	}
	firstErr := error(nil)
	if uerr != nil {
		firstErr = describeJSONError(uerr)
	}
	if isPresent(w.Error) {
		e, err := decodeError(w.Error)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("member \"error\": %w", err)
		}
		m.Error = e
	}
	if isPresent(w.Status) {
		s, err := decodeActionStatus(w.Status)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("member \"status\": %w", err)
		}
		if s != nil && s.ActionID == "" {
			s.ActionID = m.ActionID // the queryaction "failed" example omits it: last fallback
		}
		m.Status = s
	}
	if w.Statuses != nil {
		m.Statuses = make(map[string][]wot.ActionStatus, len(w.Statuses))
		for name, raw := range w.Statuses {
			list, err := decodeActionStatusList(raw)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("member \"statuses.%s\": %w", name, err)
			}
			m.Statuses[name] = list
		}
	}
	if firstErr != nil {
		return m, fmt.Errorf("wtp: %w", firstErr)
	}
	return m, nil
}

// decodeWireSlow decodes any message with encoding/json. Type mismatches do not stop it:
// it fills the other members and reports the first mismatch (with a non-nil result), which
// is what a partial message needs.
func decodeWireSlow(b []byte) (*wireMessage, error) {
	w := new(wireMessage)
	err := json.Unmarshal(b, w)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return nil, fmt.Errorf("wtp: message is not valid JSON: %w", describeJSONError(err))
	}
	return w, err
}

func isPresent(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// describeJSONError turns encoding/json errors into messages that name the member and the
// expected JSON type rather than Go types.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(message)"
		}
		return fmt.Errorf("member %q must be %s, not %s", field, jsonKind(te.Type.String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s at byte %d", se.Error(), se.Offset)
	}
	return err
}

func jsonKind(goType string) string {
	switch {
	case goType == "string" || strings.HasSuffix(goType, "ActionState"):
		return "a string"
	case goType == "[]string":
		return "an array of strings"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return "an object"
}

type wireActionStatus struct {
	ActionID      string          `json:"actionID"`
	State         string          `json:"state"`
	Status        json.RawMessage `json:"status"` // the queryallactions example's name for state
	Output        json.RawMessage `json:"output"`
	Error         json.RawMessage `json:"error"`
	TimeRequested string          `json:"timeRequested"`
	TimeEnded     string          `json:"timeEnded"`
}

func decodeActionStatus(b []byte) (*wot.ActionStatus, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("an ActionStatus must be a JSON object")
	}
	var w wireActionStatus
	uerr := json.Unmarshal(b, &w)
	var typeErr *json.UnmarshalTypeError
	if uerr != nil && !errors.As(uerr, &typeErr) {
		return nil, describeJSONError(uerr)
	}
	s := &wot.ActionStatus{
		ActionID:      w.ActionID,
		State:         wot.ActionState(w.State),
		Output:        w.Output,
		TimeRequested: parseTimeLenient(w.TimeRequested),
		TimeEnded:     parseTimeLenient(w.TimeEnded),
	}
	if s.State == "" && len(w.Status) > 1 && w.Status[0] == '"' {
		var st string
		if json.Unmarshal(w.Status, &st) == nil {
			s.State = wot.ActionState(st)
		}
	}
	var err error
	if uerr != nil {
		err = describeJSONError(uerr)
	}
	if isPresent(w.Error) {
		e, eerr := decodeError(w.Error)
		if eerr != nil && err == nil {
			err = eerr
		}
		s.Error = e
		if s.ActionID == "" && e != nil { // the queryaction "failed" example puts it in error
			var id string
			if raw, ok := e.Extra["actionID"]; ok && json.Unmarshal(raw, &id) == nil {
				s.ActionID = id
			}
		}
	}
	return s, err
}

func decodeActionStatusList(b []byte) ([]wot.ActionStatus, error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil, nil
	}
	if len(b) == 0 || b[0] != '[' {
		return nil, errors.New("must be an array of ActionStatus objects")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, describeJSONError(err)
	}
	list := make([]wot.ActionStatus, 0, len(raws))
	var first error
	for _, raw := range raws {
		s, err := decodeActionStatus(raw)
		if err != nil && first == nil {
			first = err
		}
		if s != nil {
			list = append(list, *s)
		}
	}
	return list, first
}

// AppendMessage appends the strict JSON encoding of m to dst. Members are written in a fixed
// order, maps with sorted keys, timestamps as RFC 3339 UTC milliseconds. It fails (leaving
// dst's old contents intact) when a mandatory envelope member is missing or invalid (an
// error response may lack thingID and operation, or echo an unknown operation), when a
// raw JSON member is not valid JSON, or when a problem or ActionStatus is malformed.
func AppendMessage(dst []byte, m *Message) ([]byte, error) {
	orig := len(dst)
	out, err := appendMessage(dst, m)
	if err != nil {
		return dst[:orig], fmt.Errorf("wtp: cannot encode %s message: %w", m.describe(), err)
	}
	return out, nil
}

func (m *Message) describe() string {
	if m == nil {
		return "nil"
	}
	if m.Operation == "" {
		return "a"
	}
	return "the " + m.Operation
}

func appendMessage(dst []byte, m *Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("message is nil")
	}
	// An error response answers whatever arrived, so it may echo an unknown operation and
	// omit what could not be read from a malformed request (https://w3c.github.io/web-thing-protocol/#error-response).
	isError := m.MessageType == MessageTypeResponse && m.Error != nil
	switch {
	case m.ThingID == "" && !isError:
		return dst, errors.New("thingID is empty; set it to the TD id")
	case m.MessageID == "":
		return dst, errors.New("messageID is empty; use NewUUID")
	case m.MessageType != MessageTypeRequest && m.MessageType != MessageTypeResponse && m.MessageType != MessageTypeNotification:
		return dst, fmt.Errorf("messageType %q is not request, response or notification", m.MessageType)
	case !IsOperation(m.Operation) && !isError:
		return dst, fmt.Errorf("operation %q is not one of the 18 WTP operations", m.Operation)
	}
	var err error
	dst = append(dst, '{')
	if m.ThingID != "" {
		dst = append(dst, `"thingID":`...)
		dst = appendString(dst, m.ThingID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"messageID":`...)
	dst = appendString(dst, m.MessageID)
	dst = append(dst, `,"messageType":`...)
	dst = appendString(dst, m.MessageType)
	if m.Operation != "" {
		dst = append(dst, `,"operation":`...)
		dst = appendString(dst, m.Operation)
	}
	if m.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = appendString(dst, m.Name)
	}
	if m.Names != nil {
		dst = append(dst, `,"names":[`...)
		for i, n := range m.Names {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, n)
		}
		dst = append(dst, ']')
	}
	if m.Value != nil {
		dst = append(dst, `,"value":`...)
		if dst, err = appendRaw(dst, m.Value, "value"); err != nil {
			return dst, err
		}
	}
	if m.Values != nil {
		dst = append(dst, `,"values":{`...)
		for i, k := range sortedKeys(m.Values) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			if dst, err = appendRaw(dst, m.Values[k], "values."+k); err != nil {
				return dst, err
			}
		}
		dst = append(dst, '}')
	}
	for _, f := range [...]struct {
		key string
		raw json.RawMessage
	}{{"input", m.Input}, {"output", m.Output}, {"data", m.Data}} {
		if f.raw != nil {
			dst = append(dst, ',', '"')
			dst = append(dst, f.key...)
			dst = append(dst, '"', ':')
			if dst, err = appendRaw(dst, f.raw, f.key); err != nil {
				return dst, err
			}
		}
	}
	if m.Status != nil {
		dst = append(dst, `,"status":`...)
		if dst, err = appendActionStatus(dst, m.Status, "status"); err != nil {
			return dst, err
		}
	}
	if m.Statuses != nil {
		dst = append(dst, `,"statuses":{`...)
		for i, k := range sortedKeys(m.Statuses) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':', '[')
			for j := range m.Statuses[k] {
				if j > 0 {
					dst = append(dst, ',')
				}
				if dst, err = appendActionStatus(dst, &m.Statuses[k][j], "statuses."+k); err != nil {
					return dst, err
				}
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	if m.ActionID != "" {
		dst = append(dst, `,"actionID":`...)
		dst = appendString(dst, m.ActionID)
	}
	if m.LastNotificationID != "" {
		dst = append(dst, `,"lastNotificationID":`...)
		dst = appendString(dst, m.LastNotificationID)
	}
	if m.Error != nil {
		dst = append(dst, `,"error":`...)
		if dst, err = appendError(dst, m.Error); err != nil {
			return dst, err
		}
	}
	if !m.Timestamp.IsZero() {
		if dst, err = appendTime(dst, `,"timestamp":`, m.Timestamp); err != nil {
			return dst, err
		}
	}
	if m.CorrelationID != "" {
		dst = append(dst, `,"correlationID":`...)
		dst = appendString(dst, m.CorrelationID)
	}
	return append(dst, '}'), nil
}

// appendTime appends key and t as an RFC 3339 string in UTC with milliseconds.
func appendTime(dst []byte, key string, t time.Time) ([]byte, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("time %v is outside the years 0000-9999 RFC 3339 can express", t)
	}
	dst = append(dst, key...)
	dst = append(dst, '"')
	dst = u.AppendFormat(dst, timeLayout)
	return append(dst, '"'), nil
}

func appendActionStatus(dst []byte, s *wot.ActionStatus, where string) ([]byte, error) {
	if s.ActionID == "" {
		return dst, fmt.Errorf("%s: actionID is empty", where)
	}
	if !validState(s.State) {
		return dst, fmt.Errorf("%s: state %q is not pending, running, completed or failed", where, s.State)
	}
	var err error
	dst = append(dst, `{"actionID":`...)
	dst = appendString(dst, s.ActionID)
	dst = append(dst, `,"state":`...)
	dst = appendString(dst, string(s.State))
	if s.Output != nil {
		dst = append(dst, `,"output":`...)
		if dst, err = appendRaw(dst, s.Output, where+".output"); err != nil {
			return dst, err
		}
	}
	if s.Error != nil {
		dst = append(dst, `,"error":`...)
		if dst, err = appendError(dst, s.Error); err != nil {
			return dst, err
		}
	}
	if !s.TimeRequested.IsZero() {
		if dst, err = appendTime(dst, `,"timeRequested":`, s.TimeRequested); err != nil {
			return dst, err
		}
	}
	if !s.TimeEnded.IsZero() {
		if dst, err = appendTime(dst, `,"timeEnded":`, s.TimeEnded); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendRaw appends a raw JSON value compacted; it fails on invalid JSON so a broken handler
// value can never corrupt a frame. A nil value is written as null.
func appendRaw(dst []byte, raw json.RawMessage, where string) ([]byte, error) {
	if raw == nil {
		return append(dst, "null"...), nil
	}
	if isCompactJSON(raw) {
		return append(dst, raw...), nil
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, fmt.Errorf("%s is not valid JSON: %v", where, err)
	}
	return buf.Bytes(), nil
}

// isCompactJSON is a fast path for the common small scalar values (numbers, true, false,
// null, short strings without escapes), which are valid and already compact.
func isCompactJSON(b []byte) bool {
	switch string(b) {
	case "true", "false", "null":
		return true
	}
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	if b[0] == '"' {
		if len(b) < 2 || b[len(b)-1] != '"' {
			return false
		}
		for _, c := range b[1 : len(b)-1] {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	return false
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD; U+2028/U+2029 are
// escaped so the output is also safe to embed in JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
