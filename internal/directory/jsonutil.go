package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// member is one top-level member of a JSON object, its value kept as written.
type member struct {
	key   string
	value json.RawMessage
}

// topLevel splits a JSON object into its members in document order, so the directory can add or
// drop top-level members (id, registration, @context) without reordering or reformatting the rest.
func topLevel(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

func findMember(ms []member, key string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// setMember replaces key's value, or inserts it after the member named after ("" = first).
func setMember(ms []member, key string, v json.RawMessage, after string) []member {
	for i := range ms {
		if ms[i].key == key {
			ms[i].value = v
			return ms
		}
	}
	at := 0
	if after != "" {
		for i := range ms {
			if ms[i].key == after {
				at = i + 1
			}
		}
	}
	ms = append(ms, member{})
	copy(ms[at+1:], ms[at:])
	ms[at] = member{key, v}
	return ms
}

func dropMember(ms []member, key string) []member {
	out := ms[:0]
	for _, m := range ms {
		if m.key != key {
			out = append(out, m)
		}
	}
	return out
}

// encodeMembers writes the members as one compact JSON object.
func encodeMembers(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		if err := json.Compact(&b, m.value); err != nil {
			b.Write(m.value)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// decodeJSON decodes with json.Number, so numbers survive a merge patch digit for digit.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// mergePatch applies an RFC 7396 JSON Merge Patch (https://www.rfc-editor.org/rfc/rfc7396#section-2).
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	} else {
		c := make(map[string]any, len(t))
		for k, v := range t {
			c[k] = v
		}
		t = c
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// mergeDiff returns the merge patch that turns old into new (both objects): removed members become
// null, changed objects recurse, anything else is replaced whole. Used for thing_updated events with
// diff=true (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-notification).
func mergeDiff(old, new map[string]any) map[string]any {
	out := map[string]any{}
	for k := range old {
		if _, ok := new[k]; !ok {
			out[k] = nil
		}
	}
	for k, nv := range new {
		ov, ok := old[k]
		if ok && jsonEqual(ov, nv) {
			continue
		}
		om, ok1 := ov.(map[string]any)
		nm, ok2 := nv.(map[string]any)
		if ok && ok1 && ok2 {
			out[k] = mergeDiff(om, nm)
			continue
		}
		if nv == nil {
			// A member whose value is null cannot be expressed in a merge patch: it would delete it.
			// TDs do not use null values, so this only drops information nobody can send.
			continue
		}
		out[k] = nv
	}
	return out
}

func jsonEqual(a, b any) bool {
	if an, ok := a.(json.Number); ok {
		if bn, ok := b.(json.Number); ok {
			af, err1 := an.Float64()
			bf, err2 := bn.Float64()
			if err1 == nil && err2 == nil {
				return af == bf
			}
			return an == bn
		}
	}
	return reflect.DeepEqual(a, b)
}

// marshalJSON encodes without HTML escaping (TDs carry URLs with & in them).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
