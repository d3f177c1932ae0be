package sample

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wotgen/wotgen/internal/jsonvalue"

	"github.com/wotgen/wotgen/runtime/td"
)

// Check reports whether the JSON value v is valid against s, following JSON Schema draft-07 for the
// TD data schema vocabulary plus the JSON Schema keywords Sample honours (additionalProperties,
// minProperties, maxProperties, uniqueItems, additionalItems). Formats it does not know and patterns
// that are not RE2 regular expressions are not checked. The error is an *Error naming the place.
func Check(s *td.DataSchema, v json.RawMessage) error {
	val, err := decode(v)
	if err != nil {
		return &Error{Msg: "not JSON: " + err.Error()}
	}
	return check(s, val, "", 0)
}

// check validates a decoded value (numbers as json.Number).
func check(s *td.DataSchema, v any, ptr string, depth int) error {
	if s == nil {
		return nil
	}
	if depth > maxDepth {
		return errAt(ptr, "schema nested deeper than %d levels", maxDepth)
	}
	if s.Type != "" && !hasType(v, s.Type) {
		return errAt(ptr, "want %s, got %s", s.Type, jsonType(v))
	}
	if s.Const != nil {
		c, err := decode(s.Const)
		if err != nil || !jsonvalue.Equal(c, v) {
			return errAt(ptr, "must equal the const %s", s.Const)
		}
	}
	if len(s.Enum) > 0 {
		found := false
		for _, raw := range s.Enum {
			if e, err := decode(raw); err == nil && jsonvalue.Equal(e, v) {
				found = true
				break
			}
		}
		if !found {
			return errAt(ptr, "must be one of the enum values")
		}
	}
	if len(s.OneOf) > 0 {
		n := 0
		for _, b := range s.OneOf {
			if b != nil && check(b, v, ptr, depth+1) == nil {
				n++
			}
		}
		if n != 1 {
			return errAt(ptr, "matches %d oneOf branches, want exactly 1", n)
		}
	}
	switch x := v.(type) {
	case json.Number:
		return checkNumber(s, x, ptr)
	case string:
		return checkString(s, x, ptr)
	case []any:
		return checkArray(s, x, ptr, depth)
	case map[string]any:
		return checkObject(s, x, ptr, depth)
	}
	return nil
}

func checkNumber(s *td.DataSchema, n json.Number, ptr string) error {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return errAt(ptr, "%s is not a number", n)
	}
	if b := numBounds(s); !b.contains(r) {
		return errAt(ptr, "%s is outside %s", n, b)
	}
	if m := multipleOf(s); m != nil && !new(big.Rat).Quo(r, m).IsInt() {
		return errAt(ptr, "%s is not a multiple of %s", n, decimal(m))
	}
	return nil
}

func checkString(s *td.DataSchema, v, ptr string) error {
	n := utf8.RuneCountInString(v)
	if s.MinLength != nil && n < *s.MinLength {
		return errAt(ptr, "%d characters, want at least %d", n, *s.MinLength)
	}
	if s.MaxLength != nil && n > *s.MaxLength {
		return errAt(ptr, "%d characters, want at most %d", n, *s.MaxLength)
	}
	if s.Pattern != "" {
		if re := compilePattern(s.Pattern); re != nil && !re.MatchString(v) {
			return errAt(ptr, "%q does not match the pattern %q", v, s.Pattern)
		}
	}
	if s.Format != "" && !formatOK(s.Format, v) {
		return errAt(ptr, "%q is not a valid %s", v, s.Format)
	}
	content := []byte(v)
	if s.ContentEncoding == "base64" {
		dec, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return errAt(ptr, "not base64 (contentEncoding): %v", err)
		}
		content = dec
	}
	if isJSONMedia(s.ContentMediaType) && !json.Valid(content) {
		return errAt(ptr, "content is not JSON (contentMediaType %s)", s.ContentMediaType)
	}
	return nil
}

func checkArray(s *td.DataSchema, a []any, ptr string, depth int) error {
	if s.MinItems != nil && len(a) < *s.MinItems {
		return errAt(ptr, "%d items, want at least %d", len(a), *s.MinItems)
	}
	if s.MaxItems != nil && len(a) > *s.MaxItems {
		return errAt(ptr, "%d items, want at most %d", len(a), *s.MaxItems)
	}
	if boolExtra(s, "uniqueItems") {
		for i := range a {
			if containsJSON(a[:i], a[i]) {
				return errAt(ptr, "item %d repeats an earlier item, want unique items", i)
			}
		}
	}
	if s.Items == nil {
		return nil
	}
	if s.Items.Schema != nil {
		for i, e := range a {
			if err := check(s.Items.Schema, e, ptr+"/"+strconv.Itoa(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for i, e := range a {
		if i < len(s.Items.Tuple) {
			if err := check(s.Items.Tuple[i], e, ptr+"/"+strconv.Itoa(i), depth+1); err != nil {
				return err
			}
			continue
		}
		raw, ok := s.Extra["additionalItems"]
		if !ok {
			break
		}
		if string(raw) == "false" {
			return errAt(ptr, "%d items, want at most the %d tuple items", len(a), len(s.Items.Tuple))
		}
		if err := check(schemaExtra(raw), e, ptr+"/"+strconv.Itoa(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func checkObject(s *td.DataSchema, o map[string]any, ptr string, depth int) error {
	for _, r := range s.Required {
		if _, ok := o[r]; !ok {
			return errAt(ptr, "missing required member %q", r)
		}
	}
	if n := intExtra(s, "minProperties", 0); len(o) < n {
		return errAt(ptr, "%d members, want at least %d", len(o), n)
	}
	if n := intExtra(s, "maxProperties", -1); n >= 0 && len(o) > n {
		return errAt(ptr, "%d members, want at most %d", len(o), n)
	}
	raw, hasAddl := s.Extra["additionalProperties"]
	var addl *td.DataSchema
	if hasAddl && string(raw) != "false" {
		addl = schemaExtra(raw)
	}
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := ptr + "/" + td.EscapePointer(k)
		ps, declared := s.Properties[k]
		switch {
		case declared:
			if err := check(ps, o[k], p, depth+1); err != nil {
				return err
			}
		case hasAddl && string(raw) == "false":
			return errAt(ptr, "member %q is not allowed (additionalProperties is false)", k)
		case addl != nil:
			if err := check(addl, o[k], p, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		r, ok := new(big.Rat).SetString(string(n))
		return ok && r.IsInt()
	case "null", "boolean", "number", "string", "array", "object":
		return jsonType(v) == t
	}
	return true // not a JSON Schema type: nothing to check
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func containsJSON(list []any, v any) bool {
	for _, e := range list {
		if jsonvalue.Equal(e, v) {
			return true
		}
	}
	return false
}

// formatOK checks the formats Sample makes; unknown formats pass, as JSON Schema says.
func formatOK(format, v string) bool {
	switch format {
	case "date-time":
		i := strings.IndexAny(v, "Tt")
		return i == 10 && dateOK(v[:i]) && timeOK(v[i+1:])
	case "date":
		return dateOK(v)
	case "time":
		return timeOK(v)
	case "duration":
		return durationRE.MatchString(v) && v != "P" && !strings.HasSuffix(v, "T")
	case "uri", "iri":
		u, err := url.Parse(v)
		return err == nil && u.IsAbs()
	case "uri-reference", "iri-reference", "uriref":
		_, err := url.Parse(v)
		return err == nil && !strings.Contains(v, `\`)
	case "email", "idn-email":
		at := strings.LastIndexByte(v, '@')
		if at <= 0 || !hostnameOK(v[at+1:]) {
			return false
		}
		a, err := mail.ParseAddress(v)
		return err == nil && a.Address == v
	case "hostname", "idn-hostname":
		return hostnameOK(v)
	case "ipv4", "ip-address":
		ip := net.ParseIP(v)
		return ip != nil && ip.To4() != nil && !strings.Contains(v, ":")
	case "ipv6":
		return net.ParseIP(v) != nil && strings.Contains(v, ":")
	case "uuid":
		return uuidRE.MatchString(v)
	case "json-pointer":
		return v == "" || strings.HasPrefix(v, "/")
	case "regex":
		_, err := regexp.Compile(v)
		return err == nil
	}
	return true
}

var (
	durationRE = regexp.MustCompile(`^P(\d+W|(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?)$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hostRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

func dateOK(v string) bool {
	_, err := time.Parse("2006-01-02", v)
	return err == nil
}

func timeOK(v string) bool {
	_, err := time.Parse("15:04:05Z07:00", strings.ToUpper(v))
	if err != nil {
		_, err = time.Parse("15:04:05.999999999Z07:00", strings.ToUpper(v))
	}
	return err == nil
}

func hostnameOK(v string) bool {
	v = strings.TrimSuffix(v, ".")
	if v == "" || len(v) > 253 {
		return false
	}
	for _, l := range strings.Split(v, ".") {
		if !hostRE.MatchString(l) {
			return false
		}
	}
	return true
}

// Compiled patterns are cached: one schema is checked many times. The cache is bounded because
// patterns come from documents.
var patterns = struct {
	sync.Mutex
	m map[string]*regexp.Regexp // nil value: not an RE2 expression
}{m: map[string]*regexp.Regexp{}}

func compilePattern(p string) *regexp.Regexp {
	patterns.Lock()
	defer patterns.Unlock()
	if re, ok := patterns.m[p]; ok {
		return re
	}
	if len(patterns.m) >= 1024 {
		clear(patterns.m)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		re = nil
	}
	patterns.m[p] = re
	return re
}
