package tm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// placeholderNames returns the sorted, distinct NAMEs of {{NAME}} placeholders in the values of v.
func placeholderNames(v any) []string {
	set := map[string]bool{}
	walkStrings(v, "", func(_ string, s string) {
		for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	})
	return sortedSet(set)
}

func walkStrings(v any, at string, fn func(ptr, s string)) {
	switch x := v.(type) {
	case string:
		fn(at, x)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			walkStrings(x[k], ptrJoin(at, k), fn)
		}
	case []any:
		for i, e := range x {
			walkStrings(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

// MissingPlaceholdersError lists every placeholder without a value.
type MissingPlaceholdersError struct {
	Names []string          // sorted
	Where map[string]string // name → first JSON pointer where it occurs
}

func (e *MissingPlaceholdersError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d placeholder(s) have no value: ", len(e.Names))
	for i, n := range e.Names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (at %s)", n, e.Where[n])
	}
	b.WriteString("; give each a value, e.g. -set ")
	b.WriteString(e.Names[0])
	b.WriteString("=VALUE")
	return b.String()
}

// substitute replaces placeholders in the values of v. A string that is exactly one placeholder
// takes the replacement's JSON type; placeholders inside longer strings are interpolated (strings
// as they are, other values as JSON text). Missing values are collected in missing.
func substitute(v any, at string, values map[string]any, missing map[string]string) any {
	switch x := v.(type) {
	case string:
		if m := placeholderRe.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) {
			name := x[m[2]:m[3]]
			val, ok := values[name]
			if !ok {
				if _, seen := missing[name]; !seen {
					missing[name] = at
				}
				return x
			}
			return normalizeValue(val)
		}
		return placeholderRe.ReplaceAllStringFunc(x, func(p string) string {
			name := p[2 : len(p)-2]
			val, ok := values[name]
			if !ok {
				if _, seen := missing[name]; !seen {
					missing[name] = at
				}
				return p
			}
			if s, ok := val.(string); ok {
				return s
			}
			return compactJSON(normalizeValue(val))
		})
	case map[string]any:
		for _, k := range sortedKeys(x) {
			x[k] = substitute(x[k], ptrJoin(at, k), values, missing)
		}
	case []any:
		for i := range x {
			x[i] = substitute(x[i], fmt.Sprintf("%s/%d", at, i), values, missing)
		}
	}
	return v
}

// normalizeValue turns a Go value from Options.Values into decoded-JSON form (maps, slices,
// json.Number), so later steps see one representation.
func normalizeValue(v any) any {
	switch v.(type) {
	case nil, string, bool, json.Number:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	out, err := decodeJSON(b)
	if err != nil {
		return fmt.Sprint(v)
	}
	return out
}

// ParseValue interprets a command-line placeholder value: valid JSON (number, true, false, null,
// object, array, "quoted string") keeps its type; anything else is a plain string. So -set MAX=40
// gives the number 40, -set NAME=lamp the string "lamp" and -set ID='"40"' the string "40".
func ParseValue(s string) any {
	t := strings.TrimSpace(s)
	if t == "" {
		return s
	}
	if v, err := decodeJSON([]byte(t)); err == nil {
		return v
	}
	return s
}

func missingError(missing map[string]string) error {
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, n)
	}
	sort.Strings(names)
	return &MissingPlaceholdersError{Names: names, Where: missing}
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
