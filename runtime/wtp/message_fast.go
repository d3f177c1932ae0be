package wtp

import (
	"encoding/json"
	"github.com/wotgen/wotgen/runtime/td"
)

// decodeWireFast fills w from b for the common shape of a message: one JSON object whose
// keys are the exact member names, whose string members are plain printable ASCII without
// escapes, and whose other members are valid JSON of the right kind. It reports false for
// anything else, and the caller then uses encoding/json, which handles every case (and
// whose results the fuzz test compares with this one). It exists because decoding is the
// largest per-request cost.
func decodeWireFast(b []byte, w *wireMessage) bool {
	d := fastDecoder{b: b}
	if !d.object(w) {
		return false
	}
	d.strings(w)
	return true
}

func (d *fastDecoder) object(w *wireMessage) bool {
	d.space()
	if !d.consume('{') {
		return false
	}
	d.space()
	if d.consume('}') {
		return d.end()
	}
	for {
		d.space()
		key, ok := d.plainString()
		if !ok {
			return false
		}
		d.space()
		if !d.consume(':') {
			return false
		}
		d.space()
		if !d.member(key, w) {
			return false
		}
		d.space()
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return d.end()
		}
		return false
	}
}

type fastDecoder struct {
	b []byte
	i int
	// The string members, copied out of b together by strings: one allocation for the
	// message's IDs and names rather than one each.
	strs [9]pendingString
	n    int
}

// pendingString is a string member found in b. It names its member by key rather than by
// pointer, which would make the wireMessage escape to the heap.
type pendingString struct {
	key        string // a constant: one of member's keys
	start, end int
}

// strings sets the pending string members of w from one copy of their bytes.
func (d *fastDecoder) strings(w *wireMessage) {
	var stack [512]byte
	buf := stack[:0]
	for _, p := range d.strs[:d.n] {
		buf = append(buf, d.b[p.start:p.end]...)
	}
	all := string(buf)
	at := 0
	for _, p := range d.strs[:d.n] {
		l := p.end - p.start
		*stringMember(w, p.key) = all[at : at+l]
		at += l
	}
}

// stringKey returns key as the constant string of its member, without allocating.
func stringKey(key []byte) string {
	for _, k := range [...]string{"thingID", "messageID", "correlationID", "name", "actionID", "lastNotificationID", "timestamp"} {
		if string(key) == k {
			return k
		}
	}
	return ""
}

// stringMember returns where the string member key goes (nil for other keys).
func stringMember(w *wireMessage, key string) *string {
	switch key {
	case "thingID":
		return &w.ThingID
	case "messageID":
		return &w.MessageID
	case "messageType":
		return &w.MessageType
	case "operation":
		return &w.Operation
	case "correlationID":
		return &w.CorrelationID
	case "name":
		return &w.Name
	case "actionID":
		return &w.ActionID
	case "lastNotificationID":
		return &w.LastNotificationID
	case "timestamp":
		return &w.Timestamp
	}
	return nil
}

func (d *fastDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDecoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *fastDecoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// plainString reads a string of printable ASCII without escapes and returns it as a slice
// of the input.
func (d *fastDecoder) plainString() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return s, true
		case c < 0x20 || c == '\\' || c >= 0x7f:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// rawValue returns the next JSON value, validated, as a copy (the input buffer is reused).
func (d *fastDecoder) rawValue() (json.RawMessage, bool) {
	start := d.i
	if !d.skipValue(0) {
		return nil, false
	}
	v := d.b[start:d.i]
	if !json.Valid(v) {
		return nil, false
	}
	return append(json.RawMessage(nil), v...), true
}

// skipValue moves past one JSON value, tracking only its extent; rawValue validates it.
func (d *fastDecoder) skipValue(depth int) bool {
	if depth > 64 || d.i >= len(d.b) {
		return false // deep nesting goes to encoding/json
	}
	switch c := d.b[d.i]; {
	case c == '"':
		d.i++
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case '\\':
				d.i += 2
				continue
			case '"':
				d.i++
				return true
			}
			d.i++
		}
		return false
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.i++
		for {
			d.space()
			if d.consume(closer) {
				return true
			}
			if !d.skipValue(depth + 1) {
				return false
			}
			d.space()
			if d.consume(':') || d.consume(',') {
				continue
			}
			if d.i < len(d.b) && d.b[d.i] == closer {
				continue
			}
			return false
		}
	default:
		start := d.i
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
				return d.i > start
			}
			d.i++
		}
		return d.i > start
	}
}

// member decodes one member into w; unknown keys and wrong kinds report false.
func (d *fastDecoder) member(key []byte, w *wireMessage) bool {
	if s := stringMember(w, string(key)); s != nil {
		v, ok := d.plainString()
		if !ok {
			return false
		}
		switch string(key) {
		case "messageType", "operation":
			*s = internWord(v)
			return true
		}
		// A repeated member replaces the earlier one: one entry per member.
		k := stringKey(key)
		i := 0
		for i < d.n && d.strs[i].key != k {
			i++
		}
		if i == len(d.strs) {
			return false // cannot happen: there are fewer string members
		}
		start := d.i - 1 - len(v) // v ends just before the closing quote
		d.strs[i] = pendingString{key: k, start: start, end: start + len(v)}
		if i == d.n {
			d.n++
		}
		return true
	}
	var dst *json.RawMessage
	switch string(key) {
	case "value":
		dst = &w.Value
	case "input":
		dst = &w.Input
	case "output":
		dst = &w.Output
	case "data":
		dst = &w.Data
	case "status":
		dst = &w.Status
	case "error":
		dst = &w.Error
	}
	if dst != nil {
		v, ok := d.rawValue()
		*dst = v
		return ok
	}
	// The maps and the list are rare in requests; encoding/json decodes them, and any
	// mismatch sends the whole message to the general path for its error text.
	start := d.i
	if !d.skipValue(0) {
		return false
	}
	v := d.b[start:d.i]
	// Decoding into locals keeps w on the caller's stack.
	switch string(key) {
	case "names": // like encoding/json: a repeated member replaces a list, merges a map
		var names []string
		if json.Unmarshal(v, &names) != nil {
			return false
		}
		w.Names = names
		return true
	case "values":
		var values map[string]json.RawMessage
		if json.Unmarshal(v, &values) != nil {
			return false
		}
		w.Values = mergeMap(w.Values, values)
		return true
	case "statuses":
		var statuses map[string]json.RawMessage
		if json.Unmarshal(v, &statuses) != nil {
			return false
		}
		w.Statuses = mergeMap(w.Statuses, statuses)
		return true
	}
	return false
}

// mergeMap mirrors encoding/json decoding into a map that may already hold entries: null
// clears it, an object adds to it.
func mergeMap(dst, src map[string]json.RawMessage) map[string]json.RawMessage {
	if src == nil || dst == nil {
		return src
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// knownWords holds the message types and operation names, so decoding them costs no
// allocation.
var knownWords = func() map[string]string {
	m := map[string]string{}
	for _, w := range append([]string{MessageTypeRequest, MessageTypeResponse, MessageTypeNotification}, td.AllOps()...) {
		m[w] = w
	}
	return m
}()

// internWord returns v as a string, shared when it is a known word.
func internWord(v []byte) string {
	if w, ok := knownWords[string(v)]; ok {
		return w
	}
	return string(v)
}
