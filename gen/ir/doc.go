package ir

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDocLine and maxDocLines bound what TD text can put into a comment.
const (
	maxDocLine  = 100
	maxDocLines = 40
)

// Sanitize turns untrusted TD text into comment lines. Every line is emitted after "// ", so a line
// can only break the comment by containing a line terminator; Sanitize removes every line and
// paragraph separator Go or editors honour, NUL and other control characters, bidi overrides and
// zero-width characters (Trojan Source), and invalid UTF-8. "*/" is harmless inside a line comment but
// is spelled "* /" anyway so the text survives being moved into a block comment. Long lines are
// wrapped at word boundaries; blank lines in the text are kept as paragraph breaks (at most one).
func Sanitize(text string) Doc {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085' || r == '\v' || r == '\f':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
			// dropped: NUL, escapes, bidi overrides, zero-width joiners, BOM
		default:
			b.WriteRune(r)
		}
	}
	s := strings.ReplaceAll(b.String(), "*/", "* /")
	s = strings.ReplaceAll(s, "/*", "/ *")
	var out Doc
	blank := false
	for _, para := range strings.Split(s, "\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, wrap(para)...)
		if len(out) >= maxDocLines {
			out = append(out[:maxDocLines], "…")
			break
		}
	}
	return out
}

func wrap(s string) []string {
	var lines []string
	for utf8.RuneCountInString(s) > maxDocLine {
		rs := []rune(s)
		cut := -1
		for i := maxDocLine; i > maxDocLine/2; i-- {
			if rs[i] == ' ' {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = maxDocLine
		}
		lines = append(lines, strings.TrimSpace(string(rs[:cut])))
		s = strings.TrimSpace(string(rs[cut:]))
	}
	if s != "" {
		lines = append(lines, s)
	}
	return lines
}

// With returns d followed by a paragraph of extra lines (already safe: generated text).
func (d Doc) With(lines ...string) Doc {
	var out, extra Doc
	out = append(out, d...)
	for _, l := range lines {
		extra = append(extra, Sanitize(l)...)
	}
	if len(extra) == 0 {
		return out
	}
	if len(out) > 0 {
		out = append(out, "")
	}
	return append(out, extra...)
}

// Prefixed returns d with its first line starting with name (Go doc convention), or a single
// "name is …" line from fallback when d is empty.
func (d Doc) Prefixed(name, fallback string) Doc {
	if len(d) == 0 {
		if fallback == "" {
			return nil
		}
		return Doc{name + " " + fallback}
	}
	out := append(Doc{}, d...)
	first := out[0]
	if !strings.HasPrefix(first, name+" ") {
		out[0] = name + ": " + first
		// keep the wrap bound
		if utf8.RuneCountInString(out[0]) > maxDocLine+40 {
			out = append(Doc{name + ":"}, d...)
		}
	}
	return out
}

// String joins the lines with spaces.
func (d Doc) String() string { return strings.Join(d, " ") }
