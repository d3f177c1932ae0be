package validate

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/wotgen/wotgen/internal/jsonvalue"
)

// Compiled patterns are shared across documents (the same patterns recur across TDs of one
// product line). The cache is bounded so hostile input cannot grow it without limit.
var (
	patternCache sync.Map // string → patternEntry
	patternCount atomic.Int64
)

type patternEntry struct {
	re  *regexp.Regexp
	err error
}

const maxCachedPatterns = 4096

func compilePattern(p string) (*regexp.Regexp, error) {
	if e, ok := patternCache.Load(p); ok {
		pe := e.(patternEntry)
		return pe.re, pe.err
	}
	re, err := regexp.Compile(p)
	if patternCount.Load() < maxCachedPatterns {
		if _, loaded := patternCache.LoadOrStore(p, patternEntry{re, err}); !loaded {
			patternCount.Add(1)
		}
	}
	return re, err
}

// checkValues checks that enum, const and default values fit the schema that declares them.
func (c *checker) checkValues(s map[string]any, ptr string) {
	if c.isTM() && containsPlaceholder(s, 0) {
		return // the values only take their types when placeholders are filled in
	}
	if enum, ok := s["enum"].([]any); ok {
		for i, e := range enum {
			if ok, why := matchSchema(s, e, 0, true); !ok {
				c.add(CodeValueMismatch, ptrIndex(ptr+"/enum", i), "enum value %s does not match its own schema: %s; fix the value or the schema", short(e), why)
			}
		}
	}
	if cv, ok := s["const"]; ok {
		if ok, why := matchSchema(s, cv, 0, true); !ok {
			c.add(CodeValueMismatch, ptr+"/const", "const value %s does not match its own schema: %s; fix the value or the schema", short(cv), why)
		} else if enum, ok := s["enum"].([]any); ok && !inEnum(enum, cv) {
			d := c.add(CodeValueMismatch, ptr+"/const", "const value %s is not one of the enum values, so no value satisfies both; drop enum or fix const", short(cv))
			d.Severity = SeverityWarning
		}
	}
	if dv, ok := s["default"]; ok {
		if ok, why := matchSchema(s, dv, 0, false); !ok {
			c.add(CodeDefaultMismatch, ptr+"/default", "default value %s does not match its own schema: %s; a default should be a valid value", short(dv), why)
		}
	}
}

func containsPlaceholder(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch t := v.(type) {
	case string:
		return hasPlaceholder(t)
	case map[string]any:
		for _, e := range t {
			if containsPlaceholder(e, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if containsPlaceholder(e, depth+1) {
				return true
			}
		}
	}
	return false
}

func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return truncate(string(b), 60)
}

func jsonTypeOf(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if f, err := t.Float64(); err == nil && f == math.Trunc(f) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		if jsonvalue.Equal(e, v) {
			return true
		}
	}
	return false
}

// matchSchema is a small validator for the DataSchema subset of TD 1.1. skipOwnValues ignores the
// schema's own enum and const (used when checking those very values). It returns why v fails.
func matchSchema(s map[string]any, v any, depth int, skipOwnValues bool) (bool, string) {
	if depth > 64 {
		return true, ""
	}
	vt := jsonTypeOf(v)
	if t, ok := s["type"].(string); ok {
		if !(t == vt || (t == "number" && vt == "integer")) {
			return false, fmt.Sprintf("expected %s, got %s", t, vt)
		}
	}
	if !skipOwnValues {
		if enum, ok := s["enum"].([]any); ok && !inEnum(enum, v) {
			return false, "not one of the enum values"
		}
		if cv, ok := s["const"]; ok && !jsonvalue.Equal(cv, v) {
			return false, "not equal to const " + short(cv)
		}
	}
	switch vt {
	case "integer", "number":
		f, _ := num(v)
		if m, ok := num(s["minimum"]); ok && f < m {
			return false, fmt.Sprintf("less than minimum %v", s["minimum"])
		}
		if m, ok := num(s["maximum"]); ok && f > m {
			return false, fmt.Sprintf("greater than maximum %v", s["maximum"])
		}
		if m, ok := num(s["exclusiveMinimum"]); ok && f <= m {
			return false, fmt.Sprintf("not greater than exclusiveMinimum %v", s["exclusiveMinimum"])
		}
		if m, ok := num(s["exclusiveMaximum"]); ok && f >= m {
			return false, fmt.Sprintf("not less than exclusiveMaximum %v", s["exclusiveMaximum"])
		}
		if m, ok := num(s["multipleOf"]); ok && m > 0 {
			q := f / m
			if math.Abs(q-math.Round(q)) > 1e-9*math.Max(1, math.Abs(q)) {
				return false, fmt.Sprintf("not a multiple of %v", s["multipleOf"])
			}
		}
	case "string":
		str := v.(string)
		n := utf8.RuneCountInString(str)
		if m, ok := num(s["minLength"]); ok && float64(n) < m {
			return false, fmt.Sprintf("shorter than minLength %v", s["minLength"])
		}
		if m, ok := num(s["maxLength"]); ok && float64(n) > m {
			return false, fmt.Sprintf("longer than maxLength %v", s["maxLength"])
		}
		if p, ok := s["pattern"].(string); ok {
			if re, err := compilePattern(p); err == nil && !re.MatchString(str) {
				return false, fmt.Sprintf("does not match pattern %q", truncate(p, 60))
			}
		}
	case "array":
		arr := v.([]any)
		if m, ok := num(s["minItems"]); ok && float64(len(arr)) < m {
			return false, fmt.Sprintf("fewer items than minItems %v", s["minItems"])
		}
		if m, ok := num(s["maxItems"]); ok && float64(len(arr)) > m {
			return false, fmt.Sprintf("more items than maxItems %v", s["maxItems"])
		}
		switch items := s["items"].(type) {
		case map[string]any:
			for i, e := range arr {
				if ok, why := matchSchema(items, e, depth+1, false); !ok {
					return false, fmt.Sprintf("item %d: %s", i, why)
				}
			}
		case []any:
			for i, e := range arr {
				if i >= len(items) {
					break
				}
				if is, ok := items[i].(map[string]any); ok {
					if ok, why := matchSchema(is, e, depth+1, false); !ok {
						return false, fmt.Sprintf("item %d: %s", i, why)
					}
				}
			}
		}
	case "object":
		obj := v.(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok {
					if _, ok := obj[name]; !ok {
						return false, fmt.Sprintf("required member %q is missing", name)
					}
				}
			}
		}
		if props, ok := s["properties"].(map[string]any); ok {
			for _, k := range sortedKeys(obj) {
				if ps, ok := props[k].(map[string]any); ok {
					if ok, why := matchSchema(ps, obj[k], depth+1, false); !ok {
						return false, fmt.Sprintf("member %q: %s", k, why)
					}
				}
			}
		}
	}
	if one, ok := s["oneOf"].([]any); ok && len(one) > 0 {
		n := 0
		for _, alt := range one {
			if as, ok := alt.(map[string]any); ok {
				if ok, _ := matchSchema(as, v, depth+1, false); ok {
					n++
				}
			}
		}
		if n != 1 {
			return false, fmt.Sprintf("matches %d of the oneOf alternatives instead of exactly one", n)
		}
	}
	return true, ""
}
