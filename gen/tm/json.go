package tm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// decodeJSON parses one JSON value with numbers kept as json.Number (so 7 stays 7 and big integers
// stay exact) and rejects trailing data. Syntax errors carry line and column.
func decodeJSON(data []byte) (any, error) {
	// Consumers may ignore a BOM:
	// https://www.w3.org/TR/wot-thing-description11/#sec-td-serialization
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if off, ok := td.TooDeep(data, td.MaxDepth); ok {
		line, col := lineCol(data, int64(off))
		return nil, fmt.Errorf("%d:%d: JSON nested deeper than %d levels; no Thing Model needs that much", line, col, td.MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonPosError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		line, col := lineCol(data, off)
		return nil, fmt.Errorf("%d:%d: unexpected data after the JSON document; a model is exactly one JSON object", line, col)
	}
	return v, nil
}

func jsonPosError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("%d:%d: invalid JSON: %v", line, col, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%d:%d: invalid JSON: %v", line, col, te)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("empty document: expected a JSON object")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("%d:%d: invalid JSON: unexpected end of document (unclosed object, array or string)", line, col)
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func lineCol(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	return td.LineColumn(data, int(off))
}

// copier deep-copies JSON values and counts the nodes it creates, so that documents which expand
// exponentially through tm:ref (a "billion laughs" model) fail instead of exhausting memory.
type copier struct {
	nodes int
	limit int
}

var errTooLarge = errors.New("the resolved model is too large (more than the node limit after expanding tm:ref and tm:extends); check for references that import each other repeatedly")

func (c *copier) copy(v any) (any, error) {
	c.nodes++
	if c.limit > 0 && c.nodes > c.limit {
		return nil, errTooLarge
	}
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ce, err := c.copy(e)
			if err != nil {
				return nil, err
			}
			m[k] = ce
		}
		return m, nil
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			ce, err := c.copy(e)
			if err != nil {
				return nil, err
			}
			s[i] = ce
		}
		return s, nil
	default:
		return v, nil
	}
}

// deepCopy copies without a limit; only for values already bounded by a copier.
func deepCopy(v any) any {
	c := copier{}
	out, _ := c.copy(v)
	return out
}

// mergePatch applies an RFC 7396 JSON Merge Patch to target and returns the result. target is
// modified in place when it is an object; patch is not modified (its values are copied).
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return deepCopy(patch)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, pv := range p {
		if pv == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], pv)
	}
	return t
}

// pointerGet resolves an RFC 6901 JSON Pointer (without the leading '#') in v.
func pointerGet(v any, ptr string) (any, error) {
	val, _, err := pointerGetLenient(v, ptr, false)
	return val, err
}

// pointerGetLenient is pointerGet that, with lenient set, also accepts a token naming a member
// literally (some models write "~1" inside member names and point at them without escaping
// again); usedRaw reports that this fallback was used.
func pointerGetLenient(v any, ptr string, lenient bool) (val any, usedRaw bool, err error) {
	if ptr == "" {
		return v, false, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false, fmt.Errorf("JSON pointer %q must start with '/'", ptr)
	}
	cur := v
	toks := strings.Split(ptr[1:], "/")
	if len(toks) > maxPointerDepth {
		return nil, false, fmt.Errorf("JSON pointer %q is deeper than %d levels", ptr, maxPointerDepth)
	}
	for i, rawTok := range toks {
		tok := strings.ReplaceAll(strings.ReplaceAll(rawTok, "~1", "/"), "~0", "~")
		at := "/" + strings.Join(toks[:i], "/")
		switch x := cur.(type) {
		case map[string]any:
			e, ok := x[tok]
			if !ok && lenient && rawTok != tok {
				if e, ok = x[rawTok]; ok {
					usedRaw = true
				}
			}
			if !ok {
				return nil, false, fmt.Errorf("JSON pointer %q: no member %q at %q", ptr, tok, at)
			}
			cur = e
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(x) || (len(tok) > 1 && tok[0] == '0') {
				return nil, false, fmt.Errorf("JSON pointer %q: %q is not an index of the %d-element array at %q", ptr, tok, len(x), at)
			}
			cur = x[n]
		default:
			return nil, false, fmt.Errorf("JSON pointer %q: the value at %q is neither an object nor an array", ptr, at)
		}
	}
	return cur, usedRaw, nil
}

const maxPointerDepth = 256

// escapePointerToken encodes one reference token per RFC 6901.
func escapePointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func ptrJoin(base string, toks ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range toks {
		b.WriteByte('/')
		b.WriteString(escapePointerToken(t))
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toFloat returns the numeric value of a decoded JSON number (json.Number or any Go number).
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// marshalJSON renders v indented, without HTML escaping, with a trailing newline. Object keys come
// out sorted, so the output is deterministic.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// asStringList reads a JSON string or array of strings (the shape of @type, security, op).
func asStringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
