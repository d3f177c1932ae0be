// Package uritemplate expands URI templates (RFC 6570, https://www.rfc-editor.org/rfc/rfc6570),
// levels 1 to 4: the hrefs of Thing Description forms with uriVariables are URI templates
// (https://www.w3.org/TR/wot-thing-description11/#form-uriVariables).
package uritemplate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Expand expands template with vars. A variable's value is a string, a bool, a number (any Go
// integer or float type, or json.Number), a list ([]string, []any, …) or an associative array
// (map[string]string, map[string]any, …, expanded in key order); a variable that is absent or
// nil is undefined and expands to nothing (RFC 6570 §3.2.1). Literal text outside expressions
// is copied, with characters not allowed in a URI percent-encoded.
func Expand(template string, vars map[string]any) (string, error) {
	var b strings.Builder
	for i := 0; i < len(template); {
		c := template[i]
		switch c {
		case '{':
			end := strings.IndexByte(template[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("URI template %q: unclosed expression at offset %d", template, i)
			}
			if err := expandExpr(&b, template[i+1:i+end], vars); err != nil {
				return "", fmt.Errorf("URI template %q: %w", template, err)
			}
			i += end + 1
		case '}':
			return "", fmt.Errorf("URI template %q: unmatched '}' at offset %d", template, i)
		default:
			if c == '%' && i+2 < len(template) && isHex(template[i+1]) && isHex(template[i+2]) {
				b.WriteString(template[i : i+3])
				i += 3
				continue
			}
			encodeByte(&b, c, true)
			i++
		}
	}
	return b.String(), nil
}

// Variables returns the names of the variables template uses, in order of appearance.
func Variables(template string) []string {
	var out []string
	for {
		s := strings.IndexByte(template, '{')
		if s < 0 {
			return out
		}
		e := strings.IndexByte(template[s:], '}')
		if e < 0 {
			return out
		}
		expr := template[s+1 : s+e]
		if expr != "" && strings.IndexByte("+#./;?&", expr[0]) >= 0 {
			expr = expr[1:]
		}
		for _, spec := range strings.Split(expr, ",") {
			name, _, _ := strings.Cut(strings.TrimSuffix(spec, "*"), ":")
			if name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
		template = template[s+e+1:]
	}
}

// operator holds the expansion rules of one expression type (RFC 6570 Appendix A).
type operator struct {
	first    string
	sep      string
	named    bool
	ifEmpty  string
	reserved bool // allow reserved characters (+ and #)
}

var operators = map[byte]operator{
	0:   {"", ",", false, "", false},
	'+': {"", ",", false, "", true},
	'.': {".", ".", false, "", false},
	'/': {"/", "/", false, "", false},
	';': {";", ";", true, "", false},
	'?': {"?", "&", true, "=", false},
	'&': {"&", "&", true, "=", false},
	'#': {"#", ",", false, "", true},
}

func expandExpr(b *strings.Builder, expr string, vars map[string]any) error {
	if expr == "" {
		return fmt.Errorf("empty expression {}")
	}
	var op operator
	if o, ok := operators[expr[0]]; ok && expr[0] != 0 {
		op = o
		expr = expr[1:]
	} else if strings.IndexByte("=,!@|", expr[0]) >= 0 {
		return fmt.Errorf("operator %q is reserved for future extensions (RFC 6570 §2.2)", expr[0])
	} else {
		op = operators[0]
	}
	first := true
	for _, spec := range strings.Split(expr, ",") {
		name, explode, prefix, err := parseVarspec(spec)
		if err != nil {
			return err
		}
		v, ok := vars[name]
		if !ok || v == nil {
			continue
		}
		val, err := classify(v)
		if err != nil {
			return fmt.Errorf("variable %q: %w", name, err)
		}
		if val.undefined() {
			continue
		}
		if first {
			b.WriteString(op.first)
			first = false
		} else {
			b.WriteString(op.sep)
		}
		switch {
		case val.isScalar:
			s := val.scalar
			if prefix > 0 {
				s = truncateRunes(s, prefix)
			}
			if op.named {
				b.WriteString(name)
				if s == "" {
					b.WriteString(op.ifEmpty)
					continue
				}
				b.WriteByte('=')
			}
			encode(b, s, op.reserved)
		case prefix > 0:
			return fmt.Errorf("variable %q: a prefix modifier (:%d) applies only to strings, not to lists or maps (RFC 6570 §2.4.1)", name, prefix)
		case !explode:
			if op.named {
				b.WriteString(name)
				b.WriteByte('=')
			}
			if val.list != nil {
				for i, s := range val.list {
					if i > 0 {
						b.WriteByte(',')
					}
					encode(b, s, op.reserved)
				}
			} else {
				for i, kv := range val.pairs {
					if i > 0 {
						b.WriteByte(',')
					}
					encode(b, kv[0], op.reserved)
					b.WriteByte(',')
					encode(b, kv[1], op.reserved)
				}
			}
		default: // explode
			if val.list != nil {
				for i, s := range val.list {
					if i > 0 {
						b.WriteString(op.sep)
					}
					if op.named {
						b.WriteString(name)
						if s == "" {
							b.WriteString(op.ifEmpty)
							continue
						}
						b.WriteByte('=')
					}
					encode(b, s, op.reserved)
				}
			} else {
				for i, kv := range val.pairs {
					if i > 0 {
						b.WriteString(op.sep)
					}
					encode(b, kv[0], op.reserved)
					if op.named && kv[1] == "" {
						b.WriteString(op.ifEmpty)
						continue
					}
					b.WriteByte('=')
					encode(b, kv[1], op.reserved)
				}
			}
		}
	}
	return nil
}

func parseVarspec(spec string) (name string, explode bool, prefix int, err error) {
	name = spec
	if strings.HasSuffix(name, "*") {
		name, explode = name[:len(name)-1], true
	} else if n, p, ok := strings.Cut(name, ":"); ok {
		v, e := strconv.Atoi(p)
		if e != nil || v <= 0 || v >= 10000 {
			return "", false, 0, fmt.Errorf("variable %q: the prefix length must be 1 to 9999", spec)
		}
		name, prefix = n, v
	}
	if name == "" {
		return "", false, 0, fmt.Errorf("empty variable name in an expression")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2])
		if !ok {
			return "", false, 0, fmt.Errorf("variable name %q has a character RFC 6570 §2.3 does not allow", name)
		}
	}
	return name, explode, prefix, nil
}

// value is a variable's value in one of the three RFC 6570 shapes.
type value struct {
	isScalar bool
	scalar   string
	list     []string    // nil unless a list
	pairs    [][2]string // nil unless an associative array
}

// undefined: empty lists and maps count as undefined (RFC 6570 §2.3).
func (v value) undefined() bool { return !v.isScalar && len(v.list) == 0 && len(v.pairs) == 0 }

func classify(v any) (value, error) {
	if s, ok := scalar(v); ok {
		return value{isScalar: true, scalar: s}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := value{list: make([]string, 0, rv.Len())}
		for i := 0; i < rv.Len(); i++ {
			s, ok := scalar(rv.Index(i).Interface())
			if !ok {
				return value{}, fmt.Errorf("list element %d (%T) is not a string, number or boolean", i, rv.Index(i).Interface())
			}
			out.list = append(out.list, s)
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return value{}, fmt.Errorf("a map must have string keys, not %s", rv.Type().Key())
		}
		out := value{pairs: make([][2]string, 0, rv.Len())}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			e := rv.MapIndex(k).Interface()
			if e == nil {
				continue
			}
			s, ok := scalar(e)
			if !ok {
				return value{}, fmt.Errorf("map value %q (%T) is not a string, number or boolean", k.String(), e)
			}
			out.pairs = append(out.pairs, [2]string{k.String(), s})
		}
		return out, nil
	}
	return value{}, fmt.Errorf("a %T cannot be expanded; use a string, number, boolean, list or map", v)
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case fmt.Stringer:
		return x.String(), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), true
	case reflect.String:
		return rv.String(), true
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64), true
	}
	return "", false
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isReserved(c byte) bool { return strings.IndexByte(":/?#[]@!$&'()*+,;=", c) >= 0 }

// encode writes s percent-encoded: everything but unreserved characters, or with reserved
// also the reserved characters and existing pct-encoded triplets (RFC 6570 §3.2.1).
func encode(b *strings.Builder, s string, reserved bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if reserved && c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteString(s[i : i+3])
			i += 2
			continue
		}
		encodeByte(b, c, reserved)
	}
}

func encodeByte(b *strings.Builder, c byte, reserved bool) {
	if isUnreserved(c) || reserved && isReserved(c) {
		b.WriteByte(c)
		return
	}
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}
