package wothttp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wotgen/wotgen/runtime/td"
)

// Values that are not JSON. The core speaks JSON values, so the client converts what a form
// says it carries (https://www.w3.org/TR/wot-thing-description11/#form-contentType):
//
//   - text/plain (RFC 2046 §4.1.3), which some Things use for a scalar affordance's value
//     (ECHONET Lite gateways describe every property that way): guided by the affordance's
//     data schema, a string is its text, a number or boolean its literal. Objects and arrays
//     have no plain text form.
//   - opaque bytes (image/*, audio/*, video/*, application/octet-stream: a camera's frame, a
//     recording): the JSON value is a string holding the bytes in base64 (RFC 4648 §4), as
//     JSON Schema's contentEncoding "base64" describes binary data.

// mediaKind is what the client makes of a media type.
type mediaKind int

const (
	kindOther mediaKind = iota // not decoded: the form is skipped
	kindJSON                   // application/json, a +json type, or none given (the TD default)
	kindText                   // text/plain
	kindBytes                  // image/*, audio/*, video/*, application/octet-stream
)

// mediaKindOf classifies a Content-Type or form contentType, parameters allowed, parsing it once
// (it runs for every response).
func mediaKindOf(ct string) mediaKind {
	if strings.TrimSpace(ct) == "" {
		return kindJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return kindOther
	}
	major, _, _ := strings.Cut(mt, "/")
	switch {
	case mt == "application/json" || major == "application" && strings.HasSuffix(mt, "+json"):
		return kindJSON
	case mt == "text/plain":
		return kindText
	case major == "image" || major == "audio" || major == "video" || mt == "application/octet-stream":
		return kindBytes
	}
	return kindOther
}

// isScalarMedia reports whether the client converts a value of media type ct (text/plain or
// opaque bytes) for the operations that carry one affordance's value (oneValueOp).
func isScalarMedia(ct string) bool { m := mediaKindOf(ct); return m == kindText || m == kindBytes }

// bytesFromJSON decodes the base64 string that stands for a body of opaque bytes.
func bytesFromJSON(v json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("give the bytes as a base64 string, not %s", jsonKind(bytes.TrimSpace(v)))
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the value is not base64: %w", err)
	}
	return b, nil
}

// jsonFromBytes is the base64 string that stands for a body of opaque bytes.
func jsonFromBytes(b []byte) json.RawMessage {
	v, _ := json.Marshal(base64.StdEncoding.EncodeToString(b))
	return v
}

// oneValueOp reports whether op carries one affordance's one value, so that it can carry it
// as text/plain or opaque bytes. Thing-level operations carry objects of values, and action
// statuses are objects.
func oneValueOp(op string) bool {
	switch op {
	case td.OpReadProperty, td.OpWriteProperty, td.OpObserveProperty, td.OpInvokeAction, td.OpSubscribeEvent:
		return true
	}
	return false
}

// textFromJSON is the plain text of a JSON value: a string's characters, a number's or a
// boolean's literal.
func textFromJSON(v json.RawMessage) ([]byte, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) > 0 && v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	case len(v) > 0 && (v[0] == '{' || v[0] == '['):
		return nil, fmt.Errorf("an %s has no text/plain form", jsonKind(v))
	}
	return v, nil
}

// jsonFromText is the JSON value of a text/plain answer, read as the schema's type says (a
// schema without a type reads the text as a string). expectJSON is set when the TD promised
// JSON and the Thing labelled its answer text/plain: a body that is JSON of the right kind
// is taken as it is.
func jsonFromText(b []byte, s *td.DataSchema, expectJSON bool) (json.RawMessage, error) {
	typ := ""
	if s != nil {
		typ = s.Type
	}
	if expectJSON {
		if t := bytes.TrimSpace(b); json.Valid(t) && (typ == "" || jsonKind(t) == typ || typ == "integer" && jsonKind(t) == "number") {
			return json.RawMessage(t), nil
		}
	}
	t := strings.TrimSpace(string(b))
	switch typ {
	case "", "string":
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("the text is not UTF-8 (%s)", snippet(b))
		}
		return json.Marshal(string(b))
	case "number", "integer":
		if _, err := strconv.ParseFloat(t, 64); err != nil || !json.Valid([]byte(t)) {
			return nil, fmt.Errorf("the text %s is not a number", snippet(b))
		}
		return json.RawMessage(t), nil
	case "boolean":
		if t != "true" && t != "false" {
			return nil, fmt.Errorf("the text %s is not true or false", snippet(b))
		}
		return json.RawMessage(t), nil
	case "null":
		if t != "" && t != "null" {
			return nil, fmt.Errorf("the text %s is not empty (the schema says null)", snippet(b))
		}
		return json.RawMessage("null"), nil
	}
	return nil, fmt.Errorf("an %s has no text/plain form", typ)
}

// jsonKind names the JSON type of a valid value as a data schema would.
func jsonKind(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// valueSchema is the schema of what op carries for the named affordance: the property, the
// action's input (sent) or output (answered), the event's data; nil when the TD has none.
func valueSchema(t *td.Thing, op, name string, sent bool) *td.DataSchema {
	switch op {
	case td.OpReadProperty, td.OpWriteProperty, td.OpObserveProperty:
		if p := t.Properties[name]; p != nil {
			return &p.DataSchema
		}
	case td.OpInvokeAction:
		if a := t.Actions[name]; a != nil {
			if sent {
				return a.Input
			}
			return a.Output
		}
	case td.OpSubscribeEvent:
		if e := t.Events[name]; e != nil {
			return e.Data
		}
	}
	return nil
}
