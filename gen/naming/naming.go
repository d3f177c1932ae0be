// Package naming turns JSON names from Thing Descriptions into Go identifiers.
//
// The rules (documented in the README):
//   - split on every rune that is not a letter or digit, and on case changes
//     ("onOff", "on-off", "on_off" and "ON OFF" all become On Off);
//     digits stay attached to the word they follow ("co2Level" → co2 Level);
//   - each word is capitalised; a word found in the initialism table (ID, URL, CO2 …) is replaced by
//     its spelling in the table, and the table can be extended per run;
//   - a few symbols carry meaning and become words ("%" Percent, "+" Plus, "@" At, "&" And, "#" Hash,
//     "*" Star, "$" Dollar, "=" Eq, "<" Lt, ">" Gt, "!" Not, "~" Tilde); a leading "-" before a digit is
//     "Minus"; a name made only of other symbols spells each of them out;
//   - a name that starts with a digit gets the prefix "N" (exported) or "n" (unexported);
//     a name that starts with a letter without case (e.g. CJK) gets "X" so it is exported;
//   - an empty name becomes "Empty";
//   - unexported names that are Go keywords or predeclared identifiers get a trailing "_";
//   - non-ASCII letters and digits are kept; every result passes go/token.IsIdentifier.
package naming

import (
	"go/token"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultInitialisms are the words spelled in upper (or fixed mixed) case in Go names.
var DefaultInitialisms = []string{
	"ACL", "API", "ASCII", "CO2", "CPU", "CSS", "CSV", "DNS", "EOF", "GPS", "GUID", "HSV", "HTML", "HTTP",
	"HTTPS", "ID", "IP", "IPv4", "IPv6", "JSON", "JWT", "LED", "MAC", "MQTT", "NFC", "OTA", "PIN", "QoS",
	"RAM", "RGB", "RGBW", "RPC", "RSSI", "SDK", "SKU", "SQL", "SSH", "SSID", "TCP", "TD", "TLS", "TTL",
	"UDP", "UI", "UID", "URI", "URL", "URN", "USB", "UTC", "UTF8", "UUID", "VM", "VOC", "WoT", "XML",
}

// maxIdentLen bounds generated identifiers; longer names are cut and keep a short hash of the rest
// so that two long names differing only at the end stay distinct.
const maxIdentLen = 80

// Namer converts names using an initialism table. The zero value is not usable; call New.
type Namer struct {
	initialisms map[string]string // lower-case word → spelling
}

// New returns a Namer with DefaultInitialisms plus extra (e.g. "CoAP", "PM25"). An extra entry replaces a
// default with the same lower-case spelling.
func New(extra ...string) *Namer {
	n := &Namer{initialisms: make(map[string]string, len(DefaultInitialisms)+len(extra))}
	for _, s := range DefaultInitialisms {
		n.initialisms[strings.ToLower(s)] = s
	}
	for _, s := range extra {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n.initialisms[strings.ToLower(s)] = s
	}
	return n
}

var symbolWords = map[rune]string{
	'%': "Percent", '+': "Plus", '@': "At", '&': "And", '#': "Hash", '*': "Star", '$': "Dollar",
	'=': "Eq", '<': "Lt", '>': "Gt", '!': "Not", '~': "Tilde",
}

// spelledSymbols are used only when a name has no letters or digits at all.
var spelledSymbols = map[rune]string{
	'-': "Minus", '_': "Underscore", '.': "Dot", '/': "Slash", '\\': "Backslash", ':': "Colon",
	',': "Comma", ';': "Semicolon", '?': "Question", '^': "Caret", '|': "Pipe", '(': "LParen",
	')': "RParen", '[': "LBracket", ']': "RBracket", '{': "LBrace", '}': "RBrace", '\'': "Quote",
	'"': "DoubleQuote", '`': "Backquote", ' ': "Space",
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Words splits s into words (see the package comment). Symbol words are included.
func Words(s string) []string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	hasWordRune := strings.ContainsFunc(s, isWordRune)
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		if !isWordRune(r) {
			flush()
			if w, ok := symbolWords[r]; ok {
				words = append(words, w)
			} else if r == '-' && i == 0 && len(rs) > 1 && unicode.IsDigit(rs[1]) {
				words = append(words, "Minus")
			} else if !hasWordRune {
				if w, ok := spelledSymbols[r]; ok {
					words = append(words, w)
				} else if unicode.IsPrint(r) && !unicode.IsSpace(r) {
					words = append(words, "U"+strings.ToUpper(strconvHex(r)))
				}
			}
			continue
		}
		if len(cur) > 0 {
			prev := cur[len(cur)-1]
			switch {
			case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
				// fooBar, co2Level → split before the upper-case letter
				flush()
			case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
				// HTTPServer → HTTP Server: the last upper-case letter starts the next word
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

func strconvHex(r rune) string {
	const digits = "0123456789abcdef"
	if r == 0 {
		return "0"
	}
	var b []byte
	for v := uint32(r); v > 0; v >>= 4 {
		b = append([]byte{digits[v&0xf]}, b...)
	}
	return string(b)
}

// word returns the Go spelling of one word: initialism or capitalised.
func (n *Namer) word(w string) string {
	rs := []rune(strings.ToLower(w))
	if s, ok := n.initialisms[strings.ToLower(w)]; ok {
		rs = []rune(s)
	}
	rs[0] = unicode.ToUpper(rs[0])
	return string(rs)
}

// Exported returns the exported Go identifier for the JSON name s, e.g. "on-off" → "OnOff",
// "device_id" → "DeviceID", "2ndFloor" → "N2ndFloor", "" → "Empty".
func (n *Namer) Exported(s string) string {
	words := Words(s)
	if len(words) == 0 {
		return "Empty"
	}
	var b strings.Builder
	for _, w := range words {
		b.WriteString(n.word(w))
	}
	id := b.String()
	first, _ := utf8.DecodeRuneInString(id)
	switch {
	case unicode.IsDigit(first):
		id = "N" + id
	case !unicode.IsUpper(first):
		// letters without case (CJK, …) cannot start an exported name
		id = "X" + id
	}
	id = limit(id)
	if !token.IsIdentifier(id) || !token.IsExported(id) {
		// unreachable by construction (words hold only letters and digits); kept as a hard guarantee
		return "X" + padHex(fnv(id))
	}
	return id
}

// Unexported returns a lower-camel-case Go identifier for s, safe to use as a local variable or
// parameter: keywords and predeclared identifiers get a trailing "_" ("type" → "type_").
func (n *Namer) Unexported(s string) string {
	words := Words(s)
	if len(words) == 0 {
		return "empty"
	}
	var b strings.Builder
	for i, w := range words {
		if i == 0 {
			if init, ok := n.initialisms[strings.ToLower(w)]; ok {
				b.WriteString(strings.ToLower(init))
			} else {
				b.WriteString(strings.ToLower(w))
			}
			continue
		}
		b.WriteString(n.word(w))
	}
	id := b.String()
	first, _ := utf8.DecodeRuneInString(id)
	if unicode.IsDigit(first) {
		id = "n" + id
	}
	id = limit(id)
	if IsReserved(id) {
		id += "_"
	}
	if !token.IsIdentifier(id) {
		return "x" + padHex(fnv(id)) // unreachable by construction; a hard guarantee
	}
	return id
}

// limit cuts an identifier to maxIdentLen runes, keeping a hash of the full text so distinct inputs stay
// distinct.
func limit(id string) string {
	if utf8.RuneCountInString(id) <= maxIdentLen {
		return id
	}
	rs := []rune(id)
	return string(rs[:maxIdentLen-9]) + "X" + padHex(fnv(id))
}

// fnv is the 32-bit FNV-1a hash of s.
func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func padHex(h uint32) string {
	s := strconvHex(rune(h & 0x7fffffff))
	for len(s) < 8 {
		s = "0" + s
	}
	return s
}

// predeclared lists Go's predeclared identifiers (universe scope).
var predeclared = map[string]bool{
	"any": true, "append": true, "bool": true, "byte": true, "cap": true, "clear": true, "close": true,
	"comparable": true, "complex": true, "complex64": true, "complex128": true, "copy": true, "delete": true,
	"error": true, "false": true, "float32": true, "float64": true, "imag": true, "int": true, "int8": true,
	"int16": true, "int32": true, "int64": true, "iota": true, "len": true, "make": true, "max": true,
	"min": true, "new": true, "nil": true, "panic": true, "print": true, "println": true, "real": true,
	"recover": true, "rune": true, "string": true, "true": true, "uint": true, "uint8": true,
	"uint16": true, "uint32": true, "uint64": true, "uintptr": true,
}

// IsReserved reports whether s is a Go keyword or a predeclared identifier.
func IsReserved(s string) bool { return token.IsKeyword(s) || predeclared[s] }

// IsValid reports whether s can be used as a (non-blank) Go identifier.
func IsValid(s string) bool { return token.IsIdentifier(s) && s != "_" }

// Package returns a Go package name for s: lower-case ASCII letters and digits only, never a keyword or
// predeclared name, "thing" when nothing usable remains. ("Smart Lamp" → "smartlamp").
func Package(s string) string {
	var b strings.Builder
	for _, w := range Words(s) {
		for _, r := range strings.ToLower(w) {
			if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				b.WriteRune(r)
			}
		}
	}
	p := b.String()
	if len(p) > 40 {
		p = p[:40]
	}
	switch {
	case p == "":
		return "thing"
	case p[0] >= '0' && p[0] <= '9':
		p = "thing" + p
	case IsReserved(p) || p == "main":
		p += "thing"
	}
	return p
}

// FileBase returns a snake-case, ASCII-only file-name stem for s ("Smart Lamp v2" → "smart_lamp_v2",
// "" → "thing"). The result is at most 48 bytes and never ends in "_test".
func FileBase(s string) string {
	var parts []string
	for _, w := range Words(s) {
		var b strings.Builder
		for _, r := range strings.ToLower(w) {
			if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				b.WriteRune(r)
			}
		}
		if b.Len() > 0 {
			parts = append(parts, b.String())
		}
	}
	f := strings.Join(parts, "_")
	if len(f) > 48 {
		f = strings.TrimRight(f[:48], "_")
	}
	if f == "" {
		return "thing"
	}
	if f[0] >= '0' && f[0] <= '9' {
		f = "thing_" + f
	}
	return f
}

// Kind names what a name belongs to; it is used for the kind suffix and in warnings.
type Kind string

// Kinds of names the resolver sees.
const (
	KindProperty Kind = "property"
	KindAction   Kind = "action"
	KindEvent    Kind = "event"
	KindMember   Kind = "member"
	KindType     Kind = "type"
	KindConst    Kind = "constant"
	KindVariable Kind = "uri variable"
)

// Suffix is the word appended for the kind stage of collision resolution.
func (k Kind) Suffix() string {
	switch k {
	case KindProperty:
		return "Property"
	case KindAction:
		return "Action"
	case KindEvent:
		return "Event"
	case KindMember:
		return "Field"
	case KindConst:
		return "Value"
	case KindVariable:
		return "Var"
	}
	return "Type"
}

// Entry is one name to resolve.
type Entry struct {
	Kind Kind
	JSON string // the name in the TD; used for ordering and warnings
	Go   string // the candidate Go identifier (already converted)
}

// Resolve settles collisions among entries sharing one Go scope and returns the final names in the order
// of entries. reserved holds names that are already taken (generated methods such as Validate, Close).
// The result does not depend on the order of entries. Stages:
//  1. entries of different kinds whose candidates collide get their kind suffix (Property/Action/Event);
//  2. an entry whose candidate is reserved gets its kind suffix;
//  3. remaining duplicates get numeric suffixes 2, 3, … in sorted (kind, JSON name) order; the first keeps
//     its name.
//
// Every rename is reported through warn (which may be nil).
func Resolve(entries []Entry, reserved map[string]bool, warn func(string)) []string {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ea, eb := entries[order[a]], entries[order[b]]
		if ea.Go != eb.Go {
			return ea.Go < eb.Go
		}
		if ea.Kind != eb.Kind {
			return ea.Kind < eb.Kind
		}
		return ea.JSON < eb.JSON
	})
	out := make([]string, len(entries))
	why := make([]string, len(entries))
	// Stage 1: kind suffixes when different kinds share a candidate.
	kinds := map[string]map[Kind]bool{}
	for _, e := range entries {
		if kinds[e.Go] == nil {
			kinds[e.Go] = map[Kind]bool{}
		}
		kinds[e.Go][e.Kind] = true
	}
	for _, i := range order {
		e := entries[i]
		out[i] = e.Go
		if len(kinds[e.Go]) > 1 {
			out[i] = e.Go + e.Kind.Suffix()
			why[i] = "shares its name with another kind"
		}
	}
	// Stage 2: reserved names.
	for _, i := range order {
		for reserved[out[i]] {
			why[i] = "would clash with the generated " + out[i]
			out[i] += entries[i].Kind.Suffix()
		}
	}
	// Stage 3: numeric suffixes in sorted order.
	taken := map[string]bool{}
	for k := range reserved {
		taken[k] = true
	}
	byName := map[string][]int{}
	for _, i := range order {
		byName[out[i]] = append(byName[out[i]], i)
	}
	final := make([]string, len(entries))
	// First every uncontested name is taken, so numbered names never steal one.
	for _, i := range order {
		if g := byName[out[i]]; g[0] == i {
			final[i] = out[i]
			taken[out[i]] = true
		}
	}
	for _, i := range order {
		if final[i] != "" {
			continue
		}
		base := out[i]
		for n := 2; ; n++ {
			c := base + itoa(n)
			if !taken[c] {
				final[i] = c
				taken[c] = true
				break
			}
		}
		first := entries[byName[base][0]]
		why[i] = "collides with " + string(first.Kind) + " " + quote(first.JSON)
	}
	if warn != nil {
		for _, i := range order {
			if final[i] != entries[i].Go {
				warn(string(entries[i].Kind) + " " + quote(entries[i].JSON) + " is named " + final[i] +
					" in Go: " + entries[i].Go + " " + why[i])
			}
		}
	}
	return final
}

// Scope hands out unique identifiers one at a time (type names in a package, locals in a function).
// It is deterministic as long as the calls are made in a deterministic order.
type Scope struct {
	taken map[string]bool
	warn  func(string)
}

// NewScope returns a Scope where reserved names are already taken.
func NewScope(warn func(string), reserved ...string) *Scope {
	s := &Scope{taken: map[string]bool{}, warn: warn}
	for _, r := range reserved {
		s.taken[r] = true
	}
	return s
}

// Taken reports whether name is in use.
func (s *Scope) Taken(name string) bool { return s.taken[name] }

// Reserve marks name as used without checking.
func (s *Scope) Reserve(name string) { s.taken[name] = true }

// Claim returns name, or name2, name3 … when it is taken; what describes the owner for the warning
// (empty: no warning, used for internal names).
func (s *Scope) Claim(name, what string) string {
	if !s.taken[name] {
		s.taken[name] = true
		return name
	}
	for n := 2; ; n++ {
		c := name + itoa(n)
		if !s.taken[c] {
			s.taken[c] = true
			if what != "" && s.warn != nil {
				s.warn(what + " is named " + c + " in Go: " + name + " is already used")
			}
			return c
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// quote quotes a JSON name for a warning, escaping anything unprintable and bounding its length.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:60]) + "…"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			b.WriteString("\\u{" + strconvHex(r) + "}")
		}
	}
	b.WriteByte('"')
	return b.String()
}
