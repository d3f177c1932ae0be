package tm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wotgen/wotgen/internal/jsonvalue"
)

// Severity of a Diagnostic.
type Severity int

const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one finding of CheckInstance. Pointer is a JSON pointer into the TD.
type Diagnostic struct {
	Severity Severity
	Pointer  string
	Msg      string
}

func (d Diagnostic) String() string {
	if d.Pointer == "" {
		return d.Severity.String() + ": " + d.Msg
	}
	return fmt.Sprintf("%s: %s: %s", d.Severity, d.Pointer, d.Msg)
}

// CheckInstance checks that td (a TD as JSON) is a correct instance of the resolved model: every
// mandatory affordance is present, types are unchanged, and data schemas are not widened
// (bounds may only tighten, enums only shrink, required members stay required). Placeholder
// values in the model accept any value. Diagnostics are sorted by pointer.
func CheckInstance(m *Model, td []byte) []Diagnostic {
	v, err := decodeJSON(td)
	if err != nil {
		return []Diagnostic{{Severity: SeverityError, Msg: "the TD is not valid JSON: " + err.Error()}}
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return []Diagnostic{{Severity: SeverityError, Msg: "the TD must be a JSON object"}}
	}
	c := &checker{}
	if hasString(asStringList(doc["@type"]), TypeThingModel) {
		c.add(SeverityError, "/@type", "a TD must not carry tm:ThingModel in @type; this document is a model, not an instance")
	}
	c.tmVocabulary(doc, "", 0)
	for _, kind := range affordanceKinds {
		maff, _ := m.Doc[kind].(map[string]any)
		taff, _ := doc[kind].(map[string]any)
		for _, name := range sortedKeys(maff) {
			at := ptrJoin("/"+kind, name)
			ma, _ := maff[name].(map[string]any)
			ta, present := taff[name].(map[string]any)
			if !present {
				if !m.IsOptional(kind, name) {
					c.add(SeverityError, at, fmt.Sprintf("the model's mandatory %s %q is missing; add it (only tm:optional affordances may be left out)", singular[kind], name))
				}
				continue
			}
			c.affordance(kind, at, ma, ta)
		}
	}
	sort.SliceStable(c.diags, func(i, j int) bool { return c.diags[i].Pointer < c.diags[j].Pointer })
	return c.diags
}

var singular = map[string]string{"properties": "property", "actions": "action", "events": "event"}

type checker struct{ diags []Diagnostic }

// affordance compares one affordance of an instance (or a derived model) with the model's.
func (c *checker) affordance(kind, at string, ma, ta map[string]any) {
	c.semanticTypes(at, ma, ta)
	switch kind {
	case "properties":
		c.schema(at, ma, ta)
		c.flag(at, ma, ta, "readOnly", "writeOnly", "observable")
	case "actions":
		for _, k := range []string{"input", "output"} {
			c.subSchema(at, k, ma, ta)
		}
		c.flag(at, ma, ta, "safe", "idempotent", "synchronous")
	case "events":
		for _, k := range []string{"data", "subscription", "cancellation", "dataResponse"} {
			c.subSchema(at, k, ma, ta)
		}
	}
}

func (c *checker) add(sev Severity, ptr, msg string) {
	c.diags = append(c.diags, Diagnostic{Severity: sev, Pointer: ptr, Msg: msg})
}

// tmVocabulary reports Thing Model members left in a TD (TD 1.1: they must vanish on derivation).
func (c *checker) tmVocabulary(v any, at string, depth int) {
	if depth > 64 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			p := ptrJoin(at, k)
			if strings.HasPrefix(k, "tm:") {
				c.add(SeverityError, p, fmt.Sprintf("Thing Model term %q left in the TD; derive the TD from the model (wotgen td) so references are resolved and TM terms removed", k))
				continue
			}
			c.tmVocabulary(x[k], p, depth+1)
		}
	case []any:
		for i, e := range x {
			c.tmVocabulary(e, fmt.Sprintf("%s/%d", at, i), depth+1)
		}
	}
}

func isPlaceholder(v any) bool {
	s, ok := v.(string)
	return ok && placeholderRe.MatchString(s)
}

func (c *checker) semanticTypes(at string, ma, ta map[string]any) {
	tt := asStringList(ta["@type"])
	for _, t := range asStringList(ma["@type"]) {
		if !isPlaceholder(t) && !hasString(tt, t) {
			c.add(SeverityWarning, ptrJoin(at, "@type"), fmt.Sprintf("the model annotates this affordance with @type %q but the TD does not", t))
		}
	}
}

// flag reports changed boolean terms (direction, observability, action semantics).
func (c *checker) flag(at string, ma, ta map[string]any, keys ...string) {
	for _, k := range keys {
		mv, ok := ma[k]
		if !ok || isPlaceholder(mv) {
			continue
		}
		tv := ta[k]
		if !jsonvalue.Equal(mv, tv) && !(mv == false && tv == nil) {
			sev := SeverityWarning
			if k == "readOnly" || k == "writeOnly" {
				sev = SeverityError
			}
			c.add(sev, ptrJoin(at, k), fmt.Sprintf("the model says %s %s, the TD says %s", k, jsonText(mv), jsonTextOrAbsent(tv)))
		}
	}
}

func jsonTextOrAbsent(v any) string {
	if v == nil {
		return "nothing (absent)"
	}
	return jsonText(v)
}

func (c *checker) subSchema(at, key string, ma, ta map[string]any) {
	ms, ok := ma[key]
	if !ok {
		return
	}
	ts, ok := ta[key]
	if !ok {
		c.add(SeverityError, ptrJoin(at, key), fmt.Sprintf("the model defines %s but the TD omits it (an absent schema accepts anything)", key))
		return
	}
	msm, _ := ms.(map[string]any)
	tsm, _ := ts.(map[string]any)
	if msm == nil || tsm == nil {
		return
	}
	c.schema(ptrJoin(at, key), msm, tsm)
}

// schema compares a TD data schema with the model's; the TD may only narrow.
func (c *checker) schema(at string, ms, ts map[string]any) {
	c.schemaDepth(at, ms, ts, 0)
}

func (c *checker) schemaDepth(at string, ms, ts map[string]any, depth int) {
	if depth > 64 {
		return
	}
	// type: equal, or number narrowed to integer.
	if mt, ok := ms["type"].(string); ok && !isPlaceholder(mt) && !isPlaceholder(ts["type"]) {
		tt, _ := ts["type"].(string)
		if tt != mt && !(mt == "number" && tt == "integer") {
			c.add(SeverityError, ptrJoin(at, "type"), fmt.Sprintf("type changed from %q in the model to %s; an instance must keep the model's type (number may narrow to integer)", mt, jsonTextOrAbsent(ts["type"])))
		}
	}
	c.lower(at, ms, ts)
	c.upper(at, ms, ts)
	for _, k := range []string{"minLength", "minItems"} {
		c.bound(at, k, ms, ts, false)
	}
	for _, k := range []string{"maxLength", "maxItems"} {
		c.bound(at, k, ms, ts, true)
	}
	if mc, ok := ms["const"]; ok && !isPlaceholder(mc) && !isPlaceholder(ts["const"]) {
		if tc, ok := ts["const"]; !ok || !jsonvalue.Equal(mc, tc) {
			c.add(SeverityError, ptrJoin(at, "const"), fmt.Sprintf("the model fixes const %s; the TD must keep it", jsonText(mc)))
		}
	}
	if me, ok := ms["enum"].([]any); ok && !isPlaceholder(ts["enum"]) {
		if te, ok := ts["enum"].([]any); ok {
			var extra []string
			for _, v := range te {
				if !containsJSON(me, v) && !anyPlaceholder(me) {
					extra = append(extra, jsonText(v))
				}
			}
			if len(extra) > 0 {
				c.add(SeverityError, ptrJoin(at, "enum"), fmt.Sprintf("enum adds value(s) the model does not allow: %s; an instance may only remove enum values", strings.Join(extra, ", ")))
			}
		} else if tc, ok := ts["const"]; !ok || !containsJSON(me, tc) {
			c.add(SeverityError, ptrJoin(at, "enum"), "the model restricts the value to an enum; the TD must keep an enum (or a const) within it")
		}
	}
	for _, k := range []string{"pattern", "format", "multipleOf", "contentMediaType", "contentEncoding"} {
		mv, ok := ms[k]
		if !ok || isPlaceholder(mv) {
			continue
		}
		if tv := ts[k]; !jsonvalue.Equal(mv, tv) && !isPlaceholder(tv) {
			c.add(SeverityWarning, ptrJoin(at, k), fmt.Sprintf("%s changed from %s to %s; make sure the TD's value space stays within the model's", k, jsonText(mv), jsonTextOrAbsent(tv)))
		}
	}
	// Objects: required members stay required; member schemas compare recursively.
	if mr, ok := ms["required"].([]any); ok {
		tr, _ := ts["required"].([]any)
		var lost []string
		for _, r := range mr {
			if !containsJSON(tr, r) {
				lost = append(lost, jsonText(r))
			}
		}
		if len(lost) > 0 {
			c.add(SeverityError, ptrJoin(at, "required"), fmt.Sprintf("member(s) required by the model are no longer required: %s", strings.Join(lost, ", ")))
		}
	}
	if mp, ok := ms["properties"].(map[string]any); ok {
		tp, _ := ts["properties"].(map[string]any)
		for _, name := range sortedKeys(mp) {
			msub, _ := mp[name].(map[string]any)
			tsub, ok := tp[name].(map[string]any)
			if !ok {
				c.add(SeverityWarning, ptrJoin(at, "properties", name), "the model describes this member but the TD does not (its value becomes unconstrained)")
				continue
			}
			if msub != nil {
				c.schemaDepth(ptrJoin(at, "properties", name), msub, tsub, depth+1)
			}
		}
	}
	if mi, ok := ms["items"].(map[string]any); ok {
		if ti, ok := ts["items"].(map[string]any); ok {
			c.schemaDepth(ptrJoin(at, "items"), mi, ti, depth+1)
		} else {
			c.add(SeverityError, ptrJoin(at, "items"), "the model constrains the array items; the TD must keep an items schema")
		}
	}
}

func containsJSON(list []any, v any) bool {
	for _, e := range list {
		if jsonvalue.Equal(e, v) {
			return true
		}
	}
	return false
}

func anyPlaceholder(list []any) bool {
	for _, e := range list {
		if isPlaceholder(e) {
			return true
		}
	}
	return false
}

// lower checks the lower bound (minimum / exclusiveMinimum): the TD's must be at least as high.
func (c *checker) lower(at string, ms, ts map[string]any) {
	mv, mex, ok := effBound(ms, "minimum", "exclusiveMinimum", false)
	if !ok || isPlaceholder(ts["minimum"]) || isPlaceholder(ts["exclusiveMinimum"]) {
		return
	}
	tv, tex, ok := effBound(ts, "minimum", "exclusiveMinimum", false)
	switch {
	case !ok:
		c.add(SeverityError, ptrJoin(at, "minimum"), fmt.Sprintf("the model sets a lower bound of %v; the TD drops it", mv))
	case tv < mv || (tv == mv && mex && !tex):
		c.add(SeverityError, ptrJoin(at, "minimum"), fmt.Sprintf("the lower bound %v is below the model's %v; an instance may only raise it", tv, mv))
	}
}

func (c *checker) upper(at string, ms, ts map[string]any) {
	mv, mex, ok := effBound(ms, "maximum", "exclusiveMaximum", true)
	if !ok || isPlaceholder(ts["maximum"]) || isPlaceholder(ts["exclusiveMaximum"]) {
		return
	}
	tv, tex, ok := effBound(ts, "maximum", "exclusiveMaximum", true)
	switch {
	case !ok:
		c.add(SeverityError, ptrJoin(at, "maximum"), fmt.Sprintf("the model sets an upper bound of %v; the TD drops it", mv))
	case tv > mv || (tv == mv && mex && !tex):
		c.add(SeverityError, ptrJoin(at, "maximum"), fmt.Sprintf("the upper bound %v is above the model's %v; an instance may only lower it", tv, mv))
	}
}

// effBound returns the tighter of the inclusive and exclusive bound present in s.
func effBound(s map[string]any, incl, excl string, upper bool) (v float64, exclusive, ok bool) {
	if x, good := toFloat(s[incl]); good {
		v, ok = x, true
	}
	if x, good := toFloat(s[excl]); good {
		if !ok || (upper && x <= v) || (!upper && x >= v) {
			v, exclusive, ok = x, true, true
		}
	}
	return v, exclusive, ok
}

// bound checks minLength/minItems (the TD's may only grow) and maxLength/maxItems (only shrink).
func (c *checker) bound(at, key string, ms, ts map[string]any, upper bool) {
	mv, ok := toFloat(ms[key])
	if !ok || isPlaceholder(ts[key]) {
		return
	}
	tv, ok := toFloat(ts[key])
	switch {
	case !ok:
		c.add(SeverityError, ptrJoin(at, key), fmt.Sprintf("the model sets %s %v; the TD drops it", key, mv))
	case upper && tv > mv:
		c.add(SeverityError, ptrJoin(at, key), fmt.Sprintf("%s %v is above the model's %v; an instance may only lower it", key, tv, mv))
	case !upper && tv < mv:
		c.add(SeverityError, ptrJoin(at, key), fmt.Sprintf("%s %v is below the model's %v; an instance may only raise it", key, tv, mv))
	}
}

// HasErrors reports whether diags contains an error (not only warnings).
func HasErrors(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
