// Package sample makes up JSON values that are valid against a Thing Description data schema: initial
// property values, action outputs and event data for the simulator (wotgen serve) and the scaffold
// (wotgen new).
//
// A Generator honours const, default, enum, oneOf, the numeric range (inclusive and exclusive bounds,
// multipleOf), string lengths, formats (date-time, date, time, uri, email, uuid, hostname, ipv4,
// ipv6, …) and patterns (best effort: a value is made from the regular expression and then checked),
// array lengths, tuples and unique items, object members (required ones always) and the JSON Schema
// keywords TDs sometimes carry beyond the TD vocabulary (additionalProperties, min/maxProperties,
// uniqueItems, additionalItems). Every value is checked with Check before it is returned; when no
// valid value can be found (an unsatisfiable or unsupported schema) Sample still returns its best
// attempt together with an *Error saying which constraint could not be met and where.
//
// Output is deterministic: the same seed and the same sequence of calls give the same values.
package sample

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// Limits that keep hostile schemas from exhausting memory or time.
const (
	maxDepth    = 64      // schema nesting
	maxItems    = 1000    // array elements generated
	maxString   = 1 << 16 // runes in a generated string
	maxBudget   = 50_000  // schema visits per Sample call
	maxAttempts = 8       // candidates tried per schema when a check fails
)

// Error says why no valid value was found. The value returned with it is the best attempt.
type Error struct {
	Pointer string // JSON pointer into the value, "" for the root
	Msg     string
}

func (e *Error) Error() string {
	if e.Pointer == "" {
		return "sample: " + e.Msg
	}
	return "sample: at " + e.Pointer + ": " + e.Msg
}

// Generator makes sample values. It is not safe for concurrent use; give each goroutine its own.
type Generator struct {
	rng *rand.Rand
	// UseDefaults makes Sample prefer a schema's (valid) default, the first enum value, the first oneOf
	// branch and values near zero: stable, unsurprising initial values. When false, values vary from
	// call to call (within the schema).
	UseDefaults bool

	budget   int
	fraction bool // prefer non-integers for "number"
}

// New returns a Generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Initial returns a stable valid value for s: its default when valid, else the simplest value that
// satisfies it. It is what a property holds before anybody writes it.
func Initial(s *td.DataSchema) (json.RawMessage, error) {
	g := New(1)
	g.UseDefaults = true
	return g.Sample(s)
}

// Sample returns a JSON value valid against s (JSON null for a nil schema, which allows anything).
// On error the value is still usable JSON: the best attempt.
func (g *Generator) Sample(s *td.DataSchema) (json.RawMessage, error) {
	g.budget = maxBudget
	v, err := g.gen(s, "", 0)
	b, merr := json.Marshal(v)
	if merr != nil { // cannot happen: values are built from JSON types only
		return json.RawMessage("null"), fmt.Errorf("sample: %w", merr)
	}
	return b, err
}

func errAt(ptr, format string, a ...any) *Error {
	return &Error{Pointer: ptr, Msg: fmt.Sprintf(format, a...)}
}

// gen returns a candidate value for s; the error is non-nil when the candidate is not valid.
func (g *Generator) gen(s *td.DataSchema, ptr string, depth int) (any, error) {
	if s == nil {
		return nil, nil
	}
	if depth > maxDepth {
		return nil, errAt(ptr, "schema nested deeper than %d levels", maxDepth)
	}
	if g.budget--; g.budget < 0 {
		return nil, errAt(ptr, "schema too large or too constrained to sample (gave up after %d steps)", maxBudget)
	}
	if s.Const != nil {
		v, err := decode(s.Const)
		if err != nil {
			return nil, errAt(ptr, "const is not JSON: %v", err)
		}
		return v, g.verdict(s, v, ptr, depth, "const does not satisfy the rest of the schema")
	}
	if g.UseDefaults && s.Default != nil {
		if v, err := decode(s.Default); err == nil && check(s, v, ptr, depth) == nil {
			return v, nil
		}
	}
	if len(s.Enum) > 0 {
		return g.genEnum(s, ptr, depth)
	}
	if len(s.OneOf) > 0 {
		return g.genOneOf(s, ptr, depth)
	}
	var first any
	var firstErr error
	for attempt := range maxAttempts {
		v, err := g.genTyped(s, ptr, depth, attempt)
		if err != nil {
			// A part of the value could not be made valid; trying again would only repeat that work.
			return v, err
		}
		if cerr := check(s, v, ptr, depth); cerr == nil {
			return v, nil
		} else if attempt == 0 {
			first, firstErr = v, cerr
		}
	}
	return first, firstErr
}

// genVaried is gen with UseDefaults off when vary is set: a retry for a unique element must not
// produce the same stable value again.
func (g *Generator) genVaried(s *td.DataSchema, ptr string, depth int, vary bool) (any, error) {
	if vary && g.UseDefaults {
		g.UseDefaults = false
		defer func() { g.UseDefaults = true }()
	}
	return g.gen(s, ptr, depth)
}

// verdict checks v against s and wraps a failure with why.
func (g *Generator) verdict(s *td.DataSchema, v any, ptr string, depth int, why string) error {
	if err := check(s, v, ptr, depth); err != nil {
		return errAt(ptr, "%s: %v", why, err)
	}
	return nil
}

func (g *Generator) genEnum(s *td.DataSchema, ptr string, depth int) (any, error) {
	start := 0
	if !g.UseDefaults {
		start = g.rng.IntN(len(s.Enum))
	}
	var first any
	for i := range s.Enum {
		raw := s.Enum[(start+i)%len(s.Enum)]
		v, err := decode(raw)
		if err != nil {
			continue
		}
		if i == 0 {
			first = v
		}
		if check(s, v, ptr, depth) == nil {
			return v, nil
		}
	}
	return first, errAt(ptr, "no enum value satisfies the rest of the schema")
}

func (g *Generator) genOneOf(s *td.DataSchema, ptr string, depth int) (any, error) {
	n := len(s.OneOf)
	start := 0
	if !g.UseDefaults {
		start = g.rng.IntN(n)
	}
	var first any
	var firstSet bool
	for i := range n {
		b := s.OneOf[(start+i)%n]
		if b == nil {
			continue
		}
		merged := overlay(s, b)
		for try := range 4 {
			// Odd retries prefer fractions: {"oneOf":[{"type":"number"},{"type":"integer"}]} needs one.
			g.fraction = try%2 == 1
			v, err := g.genVaried(merged, ptr, depth+1, try > 0)
			g.fraction = false
			if !firstSet {
				first, firstSet = v, true
			}
			if err != nil {
				break
			}
			if check(s, v, ptr, depth) == nil {
				return v, nil
			}
		}
	}
	return first, errAt(ptr, "no value found that matches exactly one oneOf branch")
}

// genTyped makes a value of the schema's type (or the type its keywords imply).
func (g *Generator) genTyped(s *td.DataSchema, ptr string, depth, attempt int) (any, error) {
	switch typeOf(s) {
	case "null":
		return nil, nil
	case "boolean":
		if g.UseDefaults && attempt == 0 {
			return false, nil
		}
		return g.rng.IntN(2) == 1, nil
	case "integer":
		return g.genNumber(s, true, ptr, attempt)
	case "number":
		return g.genNumber(s, false, ptr, attempt)
	case "string":
		return g.genString(s, ptr, depth)
	case "array":
		return g.genArray(s, ptr, depth, attempt)
	case "object":
		return g.genObject(s, ptr, depth, attempt)
	}
	if s.Default != nil { // no type and nothing to go by: the default is the best guess
		if v, err := decode(s.Default); err == nil {
			return v, nil
		}
	}
	return g.plainString(0, -1, attempt), nil
}

// typeOf returns the schema's type, or the type its keywords imply when it has none.
func typeOf(s *td.DataSchema) string {
	switch s.Type {
	case "null", "boolean", "integer", "number", "string", "array", "object":
		return s.Type
	}
	switch {
	case len(s.Properties) > 0 || len(s.Required) > 0:
		return "object"
	case s.Items != nil || s.MinItems != nil || s.MaxItems != nil:
		return "array"
	case s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil || s.MultipleOf != nil:
		return "number"
	case s.MinLength != nil || s.MaxLength != nil || s.Pattern != "" || s.Format != "":
		return "string"
	}
	if s.Default != nil {
		if v, err := decode(s.Default); err == nil {
			return jsonType(v)
		}
	}
	return ""
}

func (g *Generator) genArray(s *td.DataSchema, ptr string, depth, attempt int) (any, error) {
	lo, hi := 0, -1
	if s.MinItems != nil && *s.MinItems > 0 {
		lo = *s.MinItems
	}
	if s.MaxItems != nil && *s.MaxItems >= 0 {
		hi = *s.MaxItems
	}
	if hi >= 0 && lo > hi {
		return []any{}, errAt(ptr, "minItems %d is greater than maxItems %d", lo, hi)
	}
	if lo > maxItems {
		return []any{}, errAt(ptr, "minItems %d is more than the %d elements a sample may have", lo, maxItems)
	}
	unique := boolExtra(s, "uniqueItems")
	out := []any{}
	elem := func(es *td.DataSchema, i int) error {
		p := ptr + "/" + fmt.Sprint(i)
		for try := range maxAttempts {
			v, err := g.genVaried(es, p, depth+1, try > 0)
			if err != nil {
				return err
			}
			if !unique || !containsJSON(out, v) {
				out = append(out, v)
				return nil
			}
		}
		return errAt(p, "cannot make %d unique items", i+1)
	}
	// Items beyond minItems are optional: when one cannot be made, the array ends there.
	optionalElem := func(es *td.DataSchema, i int) error {
		if err := elem(es, i); err != nil && i < lo {
			return err
		}
		return nil
	}
	if s.Items != nil && s.Items.Schema == nil && s.Items.Tuple != nil {
		n := len(s.Items.Tuple)
		if hi >= 0 && n > hi {
			n = hi // a shorter array is still valid against a tuple
		}
		for i := range n {
			if err := optionalElem(s.Items.Tuple[i], i); err != nil {
				return out, err
			}
			if len(out) <= i {
				break
			}
		}
		if len(out) < lo {
			var rest *td.DataSchema
			if raw, ok := s.Extra["additionalItems"]; ok {
				if string(raw) == "false" {
					return out, errAt(ptr, "minItems %d exceeds the %d tuple items and additionalItems is false", lo, n)
				}
				rest = schemaExtra(raw)
			}
			if rest == nil {
				rest = &td.DataSchema{Type: "string"}
			}
			for i := len(out); i < lo; i++ {
				if err := elem(rest, i); err != nil {
					return out, err
				}
			}
		}
		return out, nil
	}
	n := lo
	switch {
	case g.UseDefaults && attempt == 0:
		if n == 0 {
			n = 1
		}
	default:
		n = lo + g.rng.IntN(3)
		if n == 0 {
			n = 1 + g.rng.IntN(2)
		}
	}
	if hi >= 0 && n > hi {
		n = hi
	}
	var es *td.DataSchema
	if s.Items != nil {
		es = s.Items.Schema
	}
	if es == nil {
		es = &td.DataSchema{Type: "string"}
	}
	for i := range n {
		if err := optionalElem(es, i); err != nil {
			return out, err
		}
		if len(out) <= i {
			break
		}
	}
	return out, nil
}

func (g *Generator) genObject(s *td.DataSchema, ptr string, depth, attempt int) (any, error) {
	out := map[string]any{}
	maxProps := intExtra(s, "maxProperties", -1)
	minProps := intExtra(s, "minProperties", 0)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	var addl *td.DataSchema
	addlFalse := false
	if raw, ok := s.Extra["additionalProperties"]; ok {
		if string(raw) == "false" {
			addlFalse = true
		} else {
			addl = schemaExtra(raw)
		}
	}
	add := func(name string, ps *td.DataSchema) error {
		v, err := g.gen(ps, ptr+"/"+td.EscapePointer(name), depth+1)
		out[name] = v
		return err
	}
	for _, r := range s.Required {
		if _, dup := out[r]; dup {
			continue
		}
		ps, declared := s.Properties[r]
		if !declared {
			if addlFalse {
				return out, errAt(ptr, "member %q is required but not declared in properties and additionalProperties is false", r)
			}
			ps = addl
			if ps == nil {
				ps = &td.DataSchema{Type: "string"}
			}
		}
		if ps == nil {
			ps = &td.DataSchema{}
		}
		if err := add(r, ps); err != nil {
			return out, err
		}
	}
	optional := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		if !required[n] {
			optional = append(optional, n)
		}
	}
	sort.Strings(optional)
	for _, n := range optional {
		if maxProps >= 0 && len(out) >= maxProps {
			break
		}
		// Varying samples leave out an optional member now and then, as real devices do.
		if !g.UseDefaults && attempt == 0 && len(out) >= minProps && g.rng.IntN(5) == 0 {
			continue
		}
		ps := s.Properties[n]
		if ps == nil {
			ps = &td.DataSchema{}
		}
		if err := add(n, ps); err != nil {
			// An optional member that cannot be made valid is left out.
			delete(out, n)
		}
	}
	for i := 1; len(out) < minProps; i++ {
		if addlFalse {
			return out, errAt(ptr, "minProperties %d exceeds the declared members and additionalProperties is false", minProps)
		}
		if i > maxItems {
			return out, errAt(ptr, "minProperties %d is more than a sample may have", minProps)
		}
		name := fmt.Sprintf("extra%d", i)
		if _, taken := out[name]; taken {
			continue
		}
		ps := addl
		if ps == nil {
			ps = &td.DataSchema{Type: "string"}
		}
		if err := add(name, ps); err != nil {
			return out, err
		}
	}
	return out, nil
}

// overlay returns the parent schema with a oneOf branch's keywords laid over it, so a branch that
// only says "const" or "properties" still gets the parent's type and constraints.
func overlay(p, b *td.DataSchema) *td.DataSchema {
	m := *p
	m.OneOf = b.OneOf
	if b.Type != "" {
		m.Type = b.Type
	}
	if b.Const != nil {
		m.Const = b.Const
	}
	if b.Default != nil {
		m.Default = b.Default
	}
	if b.Enum != nil {
		m.Enum = b.Enum
	}
	if b.Format != "" {
		m.Format = b.Format
	}
	if b.Items != nil {
		m.Items = b.Items
	}
	if b.Properties != nil {
		props := make(map[string]*td.DataSchema, len(p.Properties)+len(b.Properties))
		for k, v := range p.Properties {
			props[k] = v
		}
		for k, v := range b.Properties {
			props[k] = v
		}
		m.Properties = props
	}
	if b.Required != nil {
		m.Required = append(append([]string(nil), p.Required...), b.Required...)
	}
	setIntPtr(&m.MinItems, b.MinItems)
	setIntPtr(&m.MaxItems, b.MaxItems)
	setIntPtr(&m.MinLength, b.MinLength)
	setIntPtr(&m.MaxLength, b.MaxLength)
	setFloatPtr(&m.Minimum, b.Minimum)
	setFloatPtr(&m.Maximum, b.Maximum)
	setFloatPtr(&m.ExclusiveMinimum, b.ExclusiveMinimum)
	setFloatPtr(&m.ExclusiveMaximum, b.ExclusiveMaximum)
	setFloatPtr(&m.MultipleOf, b.MultipleOf)
	if b.Pattern != "" {
		m.Pattern = b.Pattern
	}
	if b.ContentEncoding != "" {
		m.ContentEncoding = b.ContentEncoding
	}
	if b.ContentMediaType != "" {
		m.ContentMediaType = b.ContentMediaType
	}
	if len(b.Extra) > 0 {
		extra := make(map[string]json.RawMessage, len(p.Extra)+len(b.Extra))
		for k, v := range p.Extra {
			extra[k] = v
		}
		for k, v := range b.Extra {
			extra[k] = v
		}
		m.Extra = extra
	}
	return &m
}

func setIntPtr(dst **int, v *int) {
	if v != nil {
		*dst = v
	}
}

func setFloatPtr(dst **float64, v *float64) {
	if v != nil {
		*dst = v
	}
}

// decode parses JSON keeping numbers exact.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// schemaExtra reads a schema-valued keyword kept in Extra; nil when it is not an object.
func schemaExtra(raw json.RawMessage) *td.DataSchema {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var s td.DataSchema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil
	}
	return &s
}

func boolExtra(s *td.DataSchema, key string) bool {
	return string(s.Extra[key]) == "true"
}

func intExtra(s *td.DataSchema, key string, def int) int {
	raw, ok := s.Extra[key]
	if !ok {
		return def
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n != float64(int(n)) || n > 1<<30 {
		return def
	}
	return int(n)
}
