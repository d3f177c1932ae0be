package validate

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wotgen/wotgen/internal/jsonvalue"
)

// maxDepth bounds nesting. Real TDs rarely go past 20 levels; the bound keeps recursion in the parser,
// the schema validator and the rules finite on hostile input.
const maxDepth = 512

// parseProblem is a finding of the token-level pass: a syntax error (fatal) or a duplicate key,
// an out-of-range number or a BOM (non-fatal).
type parseProblem struct {
	code    string
	offset  int    // byte offset in the original data
	pointer string // JSON pointer of the member or value concerned ("" = none known)
	msg     string
	warning bool // downgrade the code's default severity
}

// segment is one step of the current path while parsing: an object key or an array index.
type segment struct {
	key   string
	index int
	isKey bool
}

// parser is a strict RFC 8259 parser over the original bytes. It builds the generic tree
// (map[string]any, []any, string, json.Number, bool, nil) that the JSON Schema library and the rules
// read, and, unlike encoding/json, reports duplicate keys and positions. One pass, no reflection.
type parser struct {
	data     []byte
	pos      int
	path     []segment
	problems []parseProblem
	fatal    *parseProblem
	buf      []byte // scratch for unescaping
}

// parseJSON parses data (a leading UTF-8 BOM is tolerated and reported). ok is false when a fatal
// problem was found; problems hold every finding, the fatal one last.
func parseJSON(data []byte) (v any, problems []parseProblem, ok bool) {
	p := &parser{data: data}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		p.problems = append(p.problems, parseProblem{code: CodeBOM, offset: 0,
			msg: "the file starts with a UTF-8 byte order mark; TD producers must not write one: save the file as UTF-8 without BOM"})
		p.pos = 3
	}
	v, ok = p.value(0)
	if ok {
		p.skipSpace()
		if p.pos < len(p.data) {
			p.fail(p.pos, fmt.Sprintf("unexpected %s after the end of the JSON value: a TD is exactly one JSON object; remove the trailing content", p.describe(p.pos)))
			ok = false
		}
	}
	if !ok {
		return nil, append(p.problems, *p.fatal), false
	}
	return v, p.problems, true
}

func (p *parser) fail(off int, msg string) {
	if p.fatal == nil {
		p.fatal = &parseProblem{code: CodeSyntax, offset: off, pointer: p.pointer(), msg: msg}
	}
}

func (p *parser) pointer() string {
	var b strings.Builder
	for _, s := range p.path {
		b.WriteByte('/')
		if s.isKey {
			b.WriteString(escapePointerToken(s.key))
		} else {
			b.WriteString(strconv.Itoa(s.index))
		}
	}
	return b.String()
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// describe names what is at off for an error message.
func (p *parser) describe(off int) string {
	if off >= len(p.data) {
		return "end of input"
	}
	c := p.data[off]
	switch {
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("character %q", rune(c))
	case c < 0x20:
		return fmt.Sprintf("control character 0x%02x", c)
	default:
		r, _ := utf8.DecodeRune(p.data[off:])
		if r == utf8.RuneError {
			return fmt.Sprintf("byte 0x%02x (not UTF-8 text; is this a binary file?)", c)
		}
		return fmt.Sprintf("character %q", r)
	}
}

func (p *parser) value(depth int) (any, bool) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		if depth == 0 {
			p.fail(p.pos, "the input is empty: a TD or TM is a JSON object, starting with '{'")
		} else {
			p.fail(p.pos, "unexpected end of input: the file is truncated; complete the JSON value")
		}
		return nil, false
	}
	if depth >= maxDepth {
		p.fail(p.pos, fmt.Sprintf("the document is nested deeper than %d levels; no TD needs that, flatten the data schemas", maxDepth))
		return nil, false
	}
	switch c := p.data[p.pos]; c {
	case '{':
		return p.object(depth)
	case '[':
		return p.array(depth)
	case '"':
		s, ok := p.str()
		return s, ok
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return nil, p.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return p.number()
		}
		msg := fmt.Sprintf("unexpected %s: expected a JSON value (object, array, string, number, true, false or null)", p.describe(p.pos))
		if c == '\'' {
			msg += "; JSON strings use double quotes"
		}
		p.fail(p.pos, msg)
		return nil, false
	}
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	end := p.pos
	for end < len(p.data) && end-p.pos < 12 && p.data[end] > ' ' && p.data[end] != ',' && p.data[end] != '}' && p.data[end] != ']' {
		end++
	}
	p.fail(p.pos, fmt.Sprintf("unexpected text %q: expected a JSON value (strings need double quotes; the literals are true, false and null)", p.data[p.pos:end]))
	return false
}

func (p *parser) object(depth int) (any, bool) {
	open := p.pos
	p.pos++ // {
	m := make(map[string]any)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, true
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) {
			p.fail(p.pos, fmt.Sprintf("unexpected end of input: the object opened at %s is not closed; the file is truncated or a '}' is missing", p.at(open)))
			return nil, false
		}
		if p.data[p.pos] != '"' {
			msg := fmt.Sprintf("unexpected %s: expected a member name in double quotes", p.describe(p.pos))
			if p.data[p.pos] == '}' {
				msg = "trailing comma before '}': JSON does not allow it; remove the comma"
			}
			p.fail(p.pos, msg)
			return nil, false
		}
		keyOff := p.pos
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			p.fail(p.pos, fmt.Sprintf("unexpected %s after member name %q: expected ':'", p.describe(p.pos), key))
			return nil, false
		}
		p.pos++
		p.path = append(p.path, segment{key: key, isKey: true})
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		if old, dup := m[key]; dup {
			pp := parseProblem{code: CodeDuplicateKey, offset: keyOff, pointer: p.pointer(),
				msg: fmt.Sprintf("duplicate member %q with a different value: ordinary JSON parsers silently keep only the last one, so readers disagree on its meaning; remove or rename one of them", key)}
			if jsonvalue.Equal(old, v) {
				pp.warning = true
				pp.msg = fmt.Sprintf("duplicate member %q (same value twice); remove one", key)
			}
			p.problems = append(p.problems, pp)
		}
		p.path = p.path[:len(p.path)-1]
		m[key] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			p.fail(p.pos, fmt.Sprintf("unexpected end of input: the object opened at %s is not closed; the file is truncated or a '}' is missing", p.at(open)))
			return nil, false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return m, true
		default:
			p.fail(p.pos, fmt.Sprintf("unexpected %s after member %q: expected ',' or '}' (is a comma missing?)", p.describe(p.pos), key))
			return nil, false
		}
	}
}

func (p *parser) array(depth int) (any, bool) {
	open := p.pos
	p.pos++ // [
	a := make([]any, 0, 4)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return a, true
	}
	for {
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.fail(p.pos, "trailing comma before ']': JSON does not allow it; remove the comma")
			return nil, false
		}
		p.path = append(p.path, segment{index: len(a)})
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		p.path = p.path[:len(p.path)-1]
		a = append(a, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			p.fail(p.pos, fmt.Sprintf("unexpected end of input: the array opened at %s is not closed; the file is truncated or a ']' is missing", p.at(open)))
			return nil, false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return a, true
		default:
			p.fail(p.pos, fmt.Sprintf("unexpected %s in array: expected ',' or ']' (is a comma missing?)", p.describe(p.pos)))
			return nil, false
		}
	}
}

// at formats an offset as "line L, column C" for messages that refer to a second position.
func (p *parser) at(off int) string {
	l, c := lineCol(p.data, off)
	return fmt.Sprintf("line %d, column %d", l, c)
}

// str parses a string starting at the opening quote.
func (p *parser) str() (string, bool) {
	start := p.pos + 1
	i := start
	// Fast path: no escapes, ASCII or valid UTF-8.
	for i < len(p.data) {
		c := p.data[i]
		if c == '"' {
			s := p.data[start:i]
			if !isASCII(s) && !utf8.Valid(s) {
				break
			}
			p.pos = i + 1
			return string(s), true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	// Slow path.
	b := p.buf[:0]
	i = start
	for {
		if i >= len(p.data) {
			p.fail(p.pos, "unexpected end of input inside a string: the closing '\"' is missing")
			return "", false
		}
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = b
			return string(b), true
		case c < 0x20:
			p.fail(i, fmt.Sprintf("control character 0x%02x inside a string: write it escaped (\\n, \\t, \\u00XX)", c))
			return "", false
		case c == '\\':
			if i+1 >= len(p.data) {
				p.fail(i, "unexpected end of input inside a string escape")
				return "", false
			}
			e := p.data[i+1]
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b = append(b, '\b')
				i += 2
			case 'f':
				b = append(b, '\f')
				i += 2
			case 'n':
				b = append(b, '\n')
				i += 2
			case 'r':
				b = append(b, '\r')
				i += 2
			case 't':
				b = append(b, '\t')
				i += 2
			case 'u':
				r, ok := hex4(p.data, i+2)
				if !ok {
					p.fail(i, "invalid \\u escape: expected four hexadecimal digits")
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+1 < len(p.data) && p.data[i] == '\\' && p.data[i+1] == 'u' {
						if x, ok := hex4(p.data, i+2); ok {
							r2 = x
						}
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError // lone surrogate, as encoding/json does
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				p.fail(i, fmt.Sprintf("invalid escape \\%c in a string: JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX", e))
				return "", false
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(p.data[i:])
			if r == utf8.RuneError && size == 1 {
				p.fail(i, fmt.Sprintf("byte 0x%02x is not valid UTF-8: TDs must be UTF-8 encoded (is this a binary file or another encoding?)", c))
				return "", false
			}
			b = append(b, p.data[i:i+size]...)
			i += size
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number parses an RFC 8259 number into a json.Number. Numbers a 64-bit float cannot hold are
// reported and clamped: the schema library turns numbers into big.Rat, and 1e999999999 would
// otherwise cost gigabytes.
func (p *parser) number() (any, bool) {
	start := p.pos
	i := p.pos
	d := p.data
	if d[i] == '-' {
		i++
	}
	if i >= len(d) || d[i] < '0' || d[i] > '9' {
		p.fail(i, fmt.Sprintf("invalid number: expected a digit, found %s", p.describe(i)))
		return nil, false
	}
	if d[i] == '0' {
		i++
		if i < len(d) && d[i] >= '0' && d[i] <= '9' {
			p.fail(start, "invalid number: leading zeros are not allowed in JSON")
			return nil, false
		}
	} else {
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.fail(i, "invalid number: expected a digit after the decimal point")
			return nil, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	expDigits := 0
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.fail(i, "invalid number: expected a digit in the exponent")
			return nil, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			expDigits++
		}
	}
	p.pos = i
	lit := string(d[start:i])
	if expDigits <= 2 && len(lit) <= 40 {
		return json.Number(lit), true
	}
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case math.IsInf(f, 0):
		f = math.Copysign(math.MaxFloat64, f)
		p.problems = append(p.problems, parseProblem{code: CodeNumberRange, offset: start, pointer: p.pointer(),
			msg: fmt.Sprintf("number %s is outside the range of a 64-bit float (about ±1.8e308); Things and Consumers cannot represent it: use a smaller value", truncate(lit, 40))})
	case err != nil || expDigits > 3 || len(lit) > 400:
		// Underflow to zero, or within range but absurdly written (1e-99999, thousands of digits).
	default:
		return json.Number(lit), true
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// escapePointerToken escapes one JSON pointer reference token (RFC 6901).
func escapePointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// unescapePointerToken reverses escapePointerToken.
func unescapePointerToken(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// lineCol converts a byte offset to a 1-based line and a 1-based column counted in Unicode code
// points (what editors and SARIF's "unicodeCodePoints" column kind show).
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line, lineStart := 1, 0
	for i := 0; i < off; i++ {
		if data[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, utf8.RuneCount(data[lineStart:off]) + 1
}
