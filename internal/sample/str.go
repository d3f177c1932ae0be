package sample

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp/syntax"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wotgen/wotgen/runtime/td"
)

// patternAttempts is how many strings are made from a pattern before giving up on it.
const patternAttempts = 24

var words = []string{"sample", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"}

// epoch anchors generated dates so samples are reproducible.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *Generator) genString(s *td.DataSchema, ptr string, depth int) (any, error) {
	minL, maxL := 0, -1
	if s.MinLength != nil && *s.MinLength > 0 {
		minL = *s.MinLength
	}
	if s.MaxLength != nil && *s.MaxLength >= 0 {
		maxL = *s.MaxLength
	}
	if maxL >= 0 && minL > maxL {
		return "", errAt(ptr, "minLength %d is greater than maxLength %d", minL, maxL)
	}
	if minL > maxString {
		return "", errAt(ptr, "minLength %d is longer than the %d characters a sample may have", minL, maxString)
	}
	natural := g.UseDefaults
	var first *string
	ok := func(v string) bool {
		if first == nil {
			first = &v
		}
		return check(s, v, ptr, depth) == nil
	}
	if s.Format != "" {
		if v, known := g.formatValue(s.Format, natural); known && ok(v) {
			return v, nil
		}
	}
	if s.Pattern != "" {
		if re, err := syntax.Parse(s.Pattern, syntax.Perl); err == nil {
			for attempt := range patternAttempts {
				v, good := g.fromPattern(re, natural && attempt == 0, attempt+minL)
				if !good {
					continue
				}
				for _, c := range padded(v, minL) {
					if ok(c) {
						return c, nil
					}
				}
			}
		}
	}
	for variant := range maxAttempts {
		if variant == 0 && !natural {
			continue
		}
		v := g.plainString(minL, maxL, variant)
		if s.ContentEncoding != "" || s.ContentMediaType != "" {
			if c := encodeContent(s, v); ok(c) {
				return c, nil
			}
		}
		if ok(v) {
			return v, nil
		}
	}
	return *first, errAt(ptr, "no string found that satisfies %s", describeString(s))
}

// encodeContent wraps text as the schema's content says: JSON text for application/json, then
// base64 for the base64 encoding.
func encodeContent(s *td.DataSchema, text string) string {
	if isJSONMedia(s.ContentMediaType) {
		b, _ := json.Marshal(text)
		text = string(b)
	}
	if s.ContentEncoding == "base64" {
		text = base64.StdEncoding.EncodeToString([]byte(text))
	}
	return text
}

func isJSONMedia(mt string) bool {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.TrimSpace(strings.ToLower(mt)) == "application/json"
}

func describeString(s *td.DataSchema) string {
	var parts []string
	if s.Pattern != "" {
		parts = append(parts, fmt.Sprintf("pattern %q", s.Pattern))
	}
	if s.Format != "" {
		parts = append(parts, fmt.Sprintf("format %q", s.Format))
	}
	if s.MinLength != nil {
		parts = append(parts, fmt.Sprintf("minLength %d", *s.MinLength))
	}
	if s.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("maxLength %d", *s.MaxLength))
	}
	if len(parts) == 0 {
		return "the schema"
	}
	return strings.Join(parts, ", ")
}

// padded returns v and, when it is shorter than minL, v padded at the end and at the start with a
// character it already contains, which keeps most unanchored and repetitive patterns matching.
func padded(v string, minL int) []string {
	n := utf8.RuneCountInString(v)
	if n >= minL {
		return []string{v}
	}
	last, first := 'a', 'a'
	if n > 0 {
		last, _ = utf8.DecodeLastRuneInString(v)
		first, _ = utf8.DecodeRuneInString(v)
	}
	return []string{
		v,
		v + strings.Repeat(string(last), minL-n),
		strings.Repeat(string(first), minL-n) + v,
	}
}

// plainString returns a readable string with a length in [minL, maxL] (maxL < 0: unbounded).
func (g *Generator) plainString(minL, maxL, variant int) string {
	w := words[0]
	if variant > 0 {
		w = fmt.Sprintf("%s-%d", words[g.rng.IntN(len(words))], g.rng.IntN(1000))
	}
	if n := utf8.RuneCountInString(w); n < minL {
		var b strings.Builder
		b.WriteString(w)
		for i := 0; n < minL; i, n = i+1, n+1 {
			b.WriteByte(byte('a' + i%26))
		}
		w = b.String()
	}
	if maxL >= 0 && len(w) > maxL {
		w = w[:maxL] // ASCII, so bytes are runes
	}
	return w
}

// formatValue returns a value of a known format; known is false for formats it does not know.
func (g *Generator) formatValue(format string, natural bool) (v string, known bool) {
	n := 0
	if !natural {
		n = 1 + g.rng.IntN(999)
	}
	t := epoch.Add(time.Duration(n) * 7 * time.Hour)
	switch format {
	case "date-time":
		return t.Format("2006-01-02T15:04:05Z"), true
	case "date":
		return t.Format("2006-01-02"), true
	case "time":
		return t.Format("15:04:05Z"), true
	case "duration":
		return fmt.Sprintf("PT%dM", n+1), true
	case "uri", "iri":
		return fmt.Sprintf("https://example.com/sample/%d", n), true
	case "uri-reference", "iri-reference", "uriref":
		return fmt.Sprintf("/sample/%d", n), true
	case "uri-template":
		return "https://example.com/sample/{id}", true
	case "email", "idn-email":
		return fmt.Sprintf("user%d@example.com", n), true
	case "hostname", "idn-hostname":
		return fmt.Sprintf("host%d.example.com", n), true
	case "ipv4", "ip-address":
		return fmt.Sprintf("192.0.2.%d", n%256), true
	case "ipv6":
		return fmt.Sprintf("2001:db8::%x", n), true
	case "uuid":
		return g.uuid(), true
	case "json-pointer":
		return fmt.Sprintf("/sample/%d", n), true
	case "relative-json-pointer":
		return "0/sample", true
	case "regex":
		return "^[a-z]+$", true
	}
	return "", false
}

// uuid returns a version 4 UUID drawn from the generator (not crypto/rand: samples are reproducible).
func (g *Generator) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// fromPattern makes a string from a parsed regular expression: the shortest choices when natural,
// random ones (repetitions up to extra beyond their minimum) otherwise. good is false when the
// expression cannot match anything or the string grew too long.
func (g *Generator) fromPattern(re *syntax.Regexp, natural bool, extra int) (string, bool) {
	p := patGen{g: g, natural: natural, extra: extra}
	p.walk(re, 0)
	return p.b.String(), !p.fail
}

type patGen struct {
	g       *Generator
	natural bool
	extra   int
	b       strings.Builder
	fail    bool
}

func (p *patGen) walk(re *syntax.Regexp, depth int) {
	if p.fail || depth > 1000 || p.b.Len() > 4*maxString {
		p.fail = true
		return
	}
	switch re.Op {
	case syntax.OpNoMatch:
		p.fail = true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			p.b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) < 2 {
			p.fail = true
			return
		}
		p.b.WriteRune(p.pick(re.Rune))
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		p.b.WriteRune(p.pick([]rune{'a', 'z'}))
	case syntax.OpCapture:
		p.walk(re.Sub[0], depth+1)
	case syntax.OpStar:
		p.repeat(re.Sub[0], 0, -1, depth)
	case syntax.OpPlus:
		p.repeat(re.Sub[0], 1, -1, depth)
	case syntax.OpQuest:
		p.repeat(re.Sub[0], 0, 1, depth)
	case syntax.OpRepeat:
		p.repeat(re.Sub[0], re.Min, re.Max, depth)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			p.walk(sub, depth+1)
		}
	case syntax.OpAlternate:
		i := 0
		if !p.natural {
			i = p.g.rng.IntN(len(re.Sub))
		}
		p.walk(re.Sub[i], depth+1)
	}
	// Anchors and word boundaries add no characters; the final check catches a mismatch.
}

func (p *patGen) repeat(sub *syntax.Regexp, lo, hi, depth int) {
	n := lo
	if !p.natural {
		top := hi
		if top < 0 || top > lo+p.extra {
			top = lo + p.extra
		}
		if top > lo {
			n = lo + p.g.rng.IntN(top-lo+1)
		}
	}
	for range n {
		if p.fail {
			return
		}
		p.walk(sub, depth+1)
	}
}

// pick chooses a rune from a class given as [lo, hi] pairs: a letter or digit when the class has one
// (the first when natural), otherwise printable ASCII, otherwise any valid rune.
func (p *patGen) pick(class []rune) rune {
	prefer := [][2]rune{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'!', '~'}, {' ', ' '}}
	for _, pr := range prefer {
		var in []rune
		for i := 0; i+1 < len(class); i += 2 {
			lo, hi := max(class[i], pr[0]), min(class[i+1], pr[1])
			for r := lo; r <= hi; r++ {
				in = append(in, r)
			}
		}
		if len(in) > 0 {
			if p.natural {
				return in[0]
			}
			return in[p.g.rng.IntN(len(in))]
		}
	}
	for i := 0; i+1 < len(class); i += 2 {
		for r := class[i]; r <= class[i+1] && r <= utf8.MaxRune; r++ {
			if utf8.ValidRune(r) {
				return r
			}
		}
	}
	p.fail = true
	return 'a'
}
