// Package validate checks W3C WoT Thing Descriptions (TD 1.1, TD 1.0) and Thing Models.
//
// A Validator runs three passes over the original bytes:
//
//  1. a strict token-level JSON pass (syntax errors with positions, duplicate keys, BOM, numbers out
//     of range) that also builds the generic tree the other passes read;
//  2. wotgen's own JSON Schema for TDs or TMs (embedded, compiled once);
//  3. semantic rules the schema cannot express (security references, op values per affordance kind,
//     URIs, data schema consistency, Thing Model placeholders, tm:ref and tm:optional, ...).
//
// Every finding is a Diagnostic with a stable code (see Rules), a severity, a message that says how to
// fix it, and the JSON pointer, line and column it refers to.
//
//	v, err := validate.New(validate.Options{})
//	res := v.Validate("lamp.td.json", data)
//	if !res.Valid { ... res.Diagnostics ... }
package validate

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kind says whether a document is a Thing Description or a Thing Model.
type Kind string

// Document kinds.
const (
	KindTD Kind = "td"
	KindTM Kind = "tm"
)

// Severity of a Diagnostic.
type Severity string

// Severities. Errors make a document invalid; warnings only fail under strict mode.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one finding. Line and Column are 1-based (columns count Unicode code points);
// they are 0 when the finding has no position (e.g. the file could not be read).
type Diagnostic struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	File     string   `json:"-"`
	Pointer  string   `json:"pointer"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`

	offset int // byte offset in the original data, -1 = unknown
}

// String formats the diagnostic as file:line:col: severity code: message.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Column)
	}
	fmt.Fprintf(&b, ": %s %s: %s", d.Severity, d.Code, d.Message)
	if d.Pointer != "" {
		fmt.Fprintf(&b, " (at %s)", d.Pointer)
	}
	return b.String()
}

// Result is the outcome for one document.
type Result struct {
	File        string       `json:"file"`
	Kind        Kind         `json:"kind"`
	Valid       bool         `json:"valid"` // no error-severity diagnostics
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Failed reports whether the result fails a CI run: any error, or any warning when strict.
func (r *Result) Failed(strict bool) bool {
	if !r.Valid {
		return true
	}
	if strict {
		for _, d := range r.Diagnostics {
			if d.Severity == SeverityWarning {
				return true
			}
		}
	}
	return false
}

// Counts returns the number of errors and warnings.
func (r *Result) Counts() (errors, warnings int) {
	for _, d := range r.Diagnostics {
		if d.Severity == SeverityError {
			errors++
		} else {
			warnings++
		}
	}
	return
}

// Options configure a Validator. The zero value is ready to use.
type Options struct {
	// Kind forces how documents are read. Empty means detect: a document whose @type contains
	// "tm:ThingModel", or whose name ends in .tm.json / .tm.jsonld, is a Thing Model; anything else a TD.
	Kind Kind
	// Disable lists rule codes (e.g. "TD037") whose findings are dropped.
	Disable []string
}

// Validator validates TDs and TMs. Create it once with New; it is safe for concurrent use.
type Validator struct {
	opts     Options
	td, tm   *compiledSchema
	disabled map[string]bool
}

// New compiles the embedded schemas. It fails only if the embedded schemas are broken, which tests
// rule out, so callers may treat an error as a bug.
func New(opts Options) (*Validator, error) {
	if opts.Kind != "" && opts.Kind != KindTD && opts.Kind != KindTM {
		return nil, fmt.Errorf("validate: unknown kind %q: use %q, %q or leave it empty to detect", opts.Kind, KindTD, KindTM)
	}
	td, tm, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	v := &Validator{opts: opts, td: td, tm: tm, disabled: map[string]bool{}}
	for _, c := range opts.Disable {
		v.disabled[strings.ToUpper(strings.TrimSpace(c))] = true
	}
	return v, nil
}

// Validate checks one document. name is used for messages and kind detection only; data is the
// original bytes (positions refer to them). It never panics on hostile input.
func (v *Validator) Validate(name string, data []byte) Result {
	res := Result{File: name, Kind: v.opts.Kind}
	if res.Kind == "" {
		res.Kind = sniffKind(name, data)
	}
	tree, problems, parsed := parseJSON(data)
	var diags []Diagnostic
	for _, p := range problems {
		d := newDiag(p.code, p.msg)
		d.Pointer, d.offset = p.pointer, p.offset
		if p.warning {
			d.Severity = SeverityWarning
		}
		diags = append(diags, d)
	}
	if parsed {
		if obj, ok := tree.(map[string]any); ok && v.opts.Kind == "" {
			res.Kind = kindOf(name, obj)
		}
		schema := v.td
		if res.Kind == KindTM {
			schema = v.tm
		}
		diags = append(diags, schema.validate(tree)...)
		if obj, ok := tree.(map[string]any); ok {
			c := &checker{doc: obj, kind: res.Kind}
			c.run()
			diags = append(diags, c.diags...)
		}
	}
	res.Diagnostics = v.finish(name, data, diags)
	res.Valid = true
	for _, d := range res.Diagnostics {
		if d.Severity == SeverityError {
			res.Valid = false
		}
	}
	if n := len(res.Diagnostics); n > MaxDiagnostics {
		res.Diagnostics = append(res.Diagnostics[:MaxDiagnostics:MaxDiagnostics], Diagnostic{
			Code: CodeTooMany, Severity: SeverityWarning, File: name, offset: -1,
			Message: fmt.Sprintf("%d more findings are not shown; fix the ones above first (they often cause the rest)", n-MaxDiagnostics),
		})
	}
	return res
}

// MaxDiagnostics bounds the findings reported per document; the rest are summarised in one TD009.
const MaxDiagnostics = 1000

// Unreadable builds the result for a document that could not be read at all (e.g. a missing file).
func Unreadable(name string, err error) Result {
	d := newDiag(CodeUnreadable, err.Error())
	d.File = name
	return Result{File: name, Kind: KindTD, Valid: false, Diagnostics: []Diagnostic{d}}
}

// NewDiagnostic makes a finding from a check outside this package (for example Thing Model
// conformance) for Add; its position is found from the pointer.
func NewDiagnostic(code string, sev Severity, pointer, message string) Diagnostic {
	return Diagnostic{Code: code, Severity: sev, Pointer: pointer, Message: message, offset: -1}
}

// Add merges extra findings into res, positions them in data (the document res came from) and
// updates res.Valid.
func (v *Validator) Add(res *Result, data []byte, extra ...Diagnostic) {
	if len(extra) == 0 {
		return
	}
	res.Diagnostics = v.finish(res.File, data, append(res.Diagnostics, extra...))
	res.Valid = true
	for _, d := range res.Diagnostics {
		if d.Severity == SeverityError {
			res.Valid = false
		}
	}
}

// finish drops disabled and duplicate findings, resolves positions and sorts by position.
func (v *Validator) finish(name string, data []byte, diags []Diagnostic) []Diagnostic {
	out := diags[:0]
	seen := map[string]bool{}
	want := map[string]bool{}
	for _, d := range diags {
		if v.disabled[d.Code] {
			continue
		}
		key := d.Code + "\x00" + d.Pointer + "\x00" + d.Message + "\x00" + strconv.Itoa(d.offset)
		if seen[key] {
			continue
		}
		seen[key] = true
		if d.offset < 0 {
			// A missing member is reported at its nearest existing ancestor.
			for p := d.Pointer; ; p = parentPointer(p) {
				want[p] = true
				if p == "" {
					break
				}
			}
		}
		out = append(out, d)
	}
	var offs map[string]int
	if len(want) > 0 {
		offs = locate(data, want)
	}
	for i := range out {
		d := &out[i]
		d.File = name
		if d.offset >= 0 {
			continue
		}
		for p := d.Pointer; ; p = parentPointer(p) {
			if off, ok := offs[p]; ok {
				d.offset = off
				break
			}
			if p == "" {
				break
			}
		}
	}
	// Line/column in one sweep over the data, in offset order.
	// Rules visit maps in random order; sorting by position, then code, pointer and message makes
	// the output deterministic.
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		switch {
		case a.offset != b.offset:
			return a.offset < b.offset
		case a.Code != b.Code:
			return a.Code < b.Code
		case a.Pointer != b.Pointer:
			return a.Pointer < b.Pointer
		}
		return a.Message < b.Message
	})
	line, lineStart, pos := 1, 0, 0
	for i := range out {
		d := &out[i]
		if d.offset < 0 {
			continue
		}
		off := min(d.offset, len(data))
		for pos < off {
			if nl := bytes.IndexByte(data[pos:off], '\n'); nl >= 0 {
				line++
				pos += nl + 1
				lineStart = pos
			} else {
				pos = off
			}
		}
		d.Line = line
		d.Column = runeCount(data[lineStart:off]) + 1
	}
	out = capWarnings(out)
	if out == nil {
		out = []Diagnostic{}
	}
	return out
}

// maxWarningsPerCode keeps one noisy warning (e.g. a language missing from every affordance's titles)
// from drowning the rest: past it, one summary finding per code says how many more there are.
const maxWarningsPerCode = 10

func capWarnings(diags []Diagnostic) []Diagnostic {
	count := map[string]int{}
	for _, d := range diags {
		if d.Severity == SeverityWarning {
			count[d.Code]++
		}
	}
	over := false
	for _, n := range count {
		over = over || n > maxWarningsPerCode
	}
	if !over {
		return diags
	}
	shown := map[string]int{}
	out := diags[:0:0]
	for _, d := range diags {
		if d.Severity == SeverityWarning && count[d.Code] > maxWarningsPerCode {
			shown[d.Code]++
			if shown[d.Code] > maxWarningsPerCode {
				if shown[d.Code] == maxWarningsPerCode+1 {
					more := d
					more.Message = fmt.Sprintf("%d more %s warnings like the ones above are not shown", count[d.Code]-maxWarningsPerCode, d.Code)
					out = append(out, more)
				}
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

func runeCount(b []byte) int {
	n := 0
	for _, c := range b {
		if c&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

func parentPointer(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// sniffKind guesses the kind before parsing (used when the document does not parse).
func sniffKind(name string, data []byte) Kind {
	if isTMName(name) || bytes.Contains(data, []byte(`"tm:ThingModel"`)) {
		return KindTM
	}
	return KindTD
}

func isTMName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".tm.json") || strings.HasSuffix(n, ".tm.jsonld")
}

func kindOf(name string, doc map[string]any) Kind {
	switch t := doc["@type"].(type) {
	case string:
		if t == "tm:ThingModel" {
			return KindTM
		}
	case []any:
		for _, e := range t {
			if e == "tm:ThingModel" {
				return KindTM
			}
		}
	}
	if isTMName(name) {
		return KindTM
	}
	return KindTD
}

var jsonLDContextDoc = regexp.MustCompile(`^\{\s*"@context"\s*:\s*\{`)

// LooksLikeWoT reports whether a file looks like a TD or TM: by content (a JSON object with a WoT
// @context, tm:ThingModel, securityDefinitions, or forms next to affordances) or by a .td.json /
// .tm.json(ld) name. Directory walks use it to pick files whatever their extension. It is a cheap byte
// search, so malformed TDs are still picked (and then reported).
func LooksLikeWoT(name string, data []byte) bool {
	d := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), " \t\r\n")
	n := strings.ToLower(name)
	if isTMName(n) || strings.HasSuffix(n, ".td.json") || strings.HasSuffix(n, ".td.jsonld") {
		return true
	}
	if len(d) == 0 || d[0] != '{' {
		return false
	}
	// JSON Schemas (the TD schema itself mentions every TD term) and JSON-LD context documents are not TDs.
	if bytes.Contains(d, []byte(`json-schema.org/draft`)) || bytes.Contains(d, []byte(`"$schema"`)) || jsonLDContextDoc.Match(d) {
		return false
	}
	switch {
	case bytes.Contains(d, []byte(`tm:ThingModel`)),
		bytes.Contains(d, []byte(`"securityDefinitions"`)),
		bytes.Contains(d, []byte(`"@context"`)) && (bytes.Contains(d, []byte(`/wot`)) || bytes.Contains(d, []byte(`w3.org/ns/td`))),
		bytes.Contains(d, []byte(`"forms"`)) && (bytes.Contains(d, []byte(`"properties"`)) || bytes.Contains(d, []byte(`"actions"`)) || bytes.Contains(d, []byte(`"events"`))):
		return true
	}
	return false
}
