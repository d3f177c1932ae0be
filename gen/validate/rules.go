package validate

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/wotgen/wotgen/gen/naming"
	"github.com/wotgen/wotgen/runtime/td"
)

// TD context URIs.
const (
	contextTD10 = "https://www.w3.org/2019/wot/td/v1"
	contextTD11 = "https://www.w3.org/2022/wot/td/v1.1"
)

// Operation names per container are td.OpsOf's (https://www.w3.org/TR/wot-thing-description11/#form, op).
var (
	// Added by TD 1.1; a TD 1.0 document using them gets a note.
	td11Ops = map[string]bool{"queryaction": true, "cancelaction": true, "observeallproperties": true,
		"unobserveallproperties": true, "queryallactions": true, "subscribeallevents": true, "unsubscribeallevents": true}
)

// checker runs the semantic rules over the generic tree of one document.
type checker struct {
	doc   map[string]any
	kind  Kind
	diags []Diagnostic
	td10  bool   // the @context names TD 1.0 only
	base  string // Thing base, "" if none
	secs  map[string]any
	used  map[string]bool
}

func (c *checker) add(code, ptr, format string, args ...any) *Diagnostic {
	d := newDiag(code, fmt.Sprintf(format, args...))
	d.Pointer = ptr
	c.diags = append(c.diags, d)
	return &c.diags[len(c.diags)-1]
}

func (c *checker) isTM() bool { return c.kind == KindTM }

func (c *checker) run() {
	c.base, _ = c.doc["base"].(string)
	c.checkContext()
	c.checkID()
	c.checkSecurity()
	c.checkForms()
	c.checkLinks()
	c.checkAffordances()
	c.checkMultiLang()
	if c.td10 {
		c.checkTD10Terms()
	}
	if c.isTM() {
		c.checkTM()
	}
}

// ---- helpers over generic JSON ----

func ptrJoin(p string, tok string) string { return p + "/" + escapePointerToken(tok) }
func ptrIndex(p string, i int) string     { return p + "/" + strconv.Itoa(i) }

// stringList returns the strings of a string-or-array value with their pointers.
func stringList(v any, ptr string) (vals, ptrs []string) {
	switch t := v.(type) {
	case string:
		return []string{t}, []string{ptr}
	case []any:
		for i, e := range t {
			if s, ok := e.(string); ok {
				vals = append(vals, s)
				ptrs = append(ptrs, ptrIndex(ptr, i))
			}
		}
	}
	return
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func num(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

var placeholderRE = regexp.MustCompile(`\{\{[ -~]+?\}\}`)

func hasPlaceholder(s string) bool { return strings.Contains(s, "{{") }

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// ---- @context, id ----

var knownContexts = map[string]bool{
	contextTD10: true, contextTD11: true,
	"https://www.w3.org/2022/wot/discovery":         true,
	"https://www.w3.org/2022/wot/discovery-context": true,
}

var jsonLDKeywords = map[string]bool{"@language": true, "@direction": true, "@base": true, "@vocab": true,
	"@version": true, "@protected": true, "@import": true, "@propagate": true}

func (c *checker) checkContext() {
	ctx := c.doc["@context"]
	var entries []any
	switch t := ctx.(type) {
	case string:
		entries = []any{t}
	case []any:
		entries = t
	default:
		return // the schema reports it
	}
	has10, has11 := false, false
	for i, e := range entries {
		p := "/@context"
		if _, isArr := ctx.([]any); isArr {
			p = ptrIndex(p, i)
		}
		switch t := e.(type) {
		case string:
			switch {
			case t == contextTD10:
				has10 = true
			case t == contextTD11:
				has11 = true
			case knownContexts[t]:
			case t == "http://www.w3.org/ns/td" || t == "https://www.w3.org/ns/td" || strings.Contains(t, "w3c-wot-td-context") || strings.Contains(t, "w3c-wot-common-context"):
				c.add(CodeContext, p, "%q is the pre-Recommendation (2017-2018) TD context; migrate the document to TD 1.1 and use %q", t, contextTD11)
			case strings.Contains(t, "w3.org/") && strings.Contains(t, "/wot/td"):
				c.add(CodeContext, p, "%q looks like a TD context URI but is not one; use %q (TD 1.1) or %q (TD 1.0)", t, contextTD11, contextTD10)
			case !isAbsoluteURI(t):
				c.add(CodeContext, p, "@context entry %q is not an absolute URI; extension contexts are URIs such as \"https://example.org/vocab.jsonld\", or put prefixes in a map", t)
			}
		case map[string]any:
			for k := range t {
				v := t[k]
				kp := ptrJoin(p, k)
				if strings.HasPrefix(k, "@") {
					if !jsonLDKeywords[k] {
						c.add(CodeContext, kp, "unknown JSON-LD keyword %q in @context; known ones are @language, @direction, @base, @vocab", k)
					}
					continue
				}
				switch tv := v.(type) {
				case string:
					if !isAbsoluteURI(tv) && !strings.Contains(tv, ":") {
						c.add(CodeContext, kp, "prefix %q maps to %q, which is not a namespace URI; use e.g. \"%s\": \"https://example.org/ns#\"", k, tv, k)
					}
				case map[string]any:
					// Expanded term definition: legal JSON-LD.
				default:
					c.add(CodeContext, kp, "prefix %q must map to a namespace URI string", k)
				}
			}
		}
	}
	c.td10 = has10 && !has11
}

var uriSchemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

func isAbsoluteURI(s string) bool {
	if !uriSchemeRE.MatchString(s) || strings.ContainsAny(s, " \t\n\"<>\\^`{|}") {
		return false
	}
	_, err := url.Parse(s)
	return err == nil
}

func (c *checker) checkID() {
	id, hasID := c.doc["id"]
	if _, hasAtID := c.doc["@id"]; hasAtID && hasID {
		c.add(CodeIDAndAtID, "/@id", "both id and @id are present; JSON-LD treats id as @id, so the Thing gets two identifiers: keep only id")
	}
	s, ok := id.(string)
	if !ok {
		return
	}
	check := s
	if c.isTM() {
		check = placeholderRE.ReplaceAllString(s, "x")
	}
	if !isAbsoluteURI(check) {
		if c.isTM() {
			d := c.add(CodeID, "/id", "id %q is not an absolute URI; TDs derived from this model need a URI id, e.g. \"urn:example:{{DEVICE_ID}}\"", truncate(s, 80))
			d.Severity = SeverityWarning
			return
		}
		c.add(CodeID, "/id", "id %q is not an absolute URI; use a URN such as \"urn:uuid:0f2d7a3c-51e4-4b8e-9c61-7d2a9b1e4f35\" or a URL", truncate(s, 80))
	}
}

// ---- security ----

func (c *checker) checkSecurity() {
	c.secs, _ = c.doc["securityDefinitions"].(map[string]any)
	c.used = map[string]bool{}
	if c.isTM() && c.secs == nil {
		return // the TD derived from the model supplies them
	}
	c.checkSecNames(c.doc["security"], "/security", "security")
	for name := range c.secs {
		s, _ := c.secs[name].(map[string]any)
		if s == nil {
			continue
		}
		p := ptrJoin("/securityDefinitions", name)
		c.checkSchemeMembers(s, p)
		switch s["scheme"] {
		case "combo":
			for _, member := range []string{"oneOf", "allOf"} {
				vals, ptrs := stringList(s[member], ptrJoin(p, member))
				for i, v := range vals {
					if v == name {
						c.add(CodeUndefinedSec, ptrs[i], "combo scheme %q lists itself; list other schemes from securityDefinitions", name)
						continue
					}
					c.checkSecName(v, ptrs[i], "combo "+member)
				}
			}
		case "oauth2":
			flow, _ := s["flow"].(string)
			_, hasAuth := s["authorization"]
			_, hasToken := s["token"]
			switch flow {
			case "code":
				if !hasAuth || !hasToken {
					c.add(CodeOAuth2Flow, p, "oauth2 flow \"code\" needs both authorization and token URIs; add the missing one")
				}
			case "client":
				if !hasToken {
					c.add(CodeOAuth2Flow, p, "oauth2 flow \"client\" needs a token URI; add \"token\"")
				}
				if hasAuth {
					d := c.add(CodeOAuth2Flow, ptrJoin(p, "authorization"), "oauth2 flow \"client\" must not have an authorization URI (the client flow never uses it); remove it")
					d.Severity = SeverityWarning
				}
			}
		}
		if c.td10 {
			if sc, _ := s["scheme"].(string); sc == "auto" || sc == "combo" {
				c.add(CodeTD10Feature, ptrJoin(p, "scheme"), "scheme %q is new in TD 1.1 but the @context says TD 1.0; use the TD 1.1 context %q", sc, contextTD11)
			}
		}
	}
}

// checkSchemeMembers checks what depends on the scheme value (kept out of the JSON Schema for speed).
func (c *checker) checkSchemeMembers(s map[string]any, p string) {
	scheme, _ := s["scheme"].(string)
	if c.isTM() && hasPlaceholder(scheme) {
		return
	}
	_, hasOneOf := s["oneOf"]
	_, hasAllOf := s["allOf"]
	switch scheme {
	case "combo":
		if hasOneOf == hasAllOf {
			c.add(CodeSchema, p, "a combo scheme has exactly one of oneOf or allOf, listing at least two scheme names, e.g. \"allOf\": [\"proxy_sc\", \"bearer_sc\"]")
		}
	case "auto":
		if _, ok := s["name"]; ok {
			c.add(CodeSchema, p+"/name", "the auto scheme lets the protocol decide and has no name; remove name")
		}
	}
	if s["in"] == "uri" && scheme != "apikey" {
		c.add(CodeSchema, p+"/in", "\"in\": \"uri\" is only defined for apikey schemes; use header, query, body, cookie or auto")
	}
}

func (c *checker) checkSecNames(v any, ptr, where string) {
	vals, ptrs := stringList(v, ptr)
	for i, name := range vals {
		c.checkSecName(name, ptrs[i], where)
	}
}

func (c *checker) checkSecName(name, ptr, where string) {
	if c.isTM() && hasPlaceholder(name) {
		return
	}
	if _, ok := c.secs[name]; ok {
		c.used[name] = true
		return
	}
	if len(c.secs) == 0 {
		c.add(CodeUndefinedSec, ptr, "%s names %q but securityDefinitions is empty or missing; define it, e.g. \"securityDefinitions\": {\"%s\": {\"scheme\": \"nosec\"}}", where, name, name)
		return
	}
	c.add(CodeUndefinedSec, ptr, "%s names %q, which is not defined in securityDefinitions (defined: %s); fix the name or add the scheme", where, name, quoteList(sortedKeys(c.secs)))
}

// reportUnusedSecurity runs after every form was visited.
func (c *checker) reportUnusedSecurity() {
	if c.isTM() {
		return
	}
	for name := range c.secs {
		if !c.used[name] {
			c.add(CodeUnusedSec, ptrJoin("/securityDefinitions", name), "security scheme %q is defined but never used by security, a form or a combo scheme; remove it or reference it", name)
		}
	}
}

// ---- forms ----

type formCtx struct {
	kind    td.Kind // property, action, event or thing
	ptr     string  // pointer of the form
	form    map[string]any
	uriVars []map[string]any // affordance-level then Thing-level declarations
}

var affordanceKind = map[string]td.Kind{"properties": td.KindProperty, "actions": td.KindAction, "events": td.KindEvent}

func (c *checker) forEachForm(fn func(f formCtx)) {
	thingVars, _ := c.doc["uriVariables"].(map[string]any)
	if forms, ok := c.doc["forms"].([]any); ok {
		for i, f := range forms {
			if m, ok := f.(map[string]any); ok {
				fn(formCtx{td.KindThing, ptrIndex("/forms", i), m, []map[string]any{thingVars}})
			}
		}
	}
	for _, kind := range [...]string{"properties", "actions", "events"} {
		affs, _ := c.doc[kind].(map[string]any)
		for name := range affs {
			aff, _ := affs[name].(map[string]any)
			if aff == nil {
				continue
			}
			ap := ptrJoin("/"+kind, name)
			vars, _ := aff["uriVariables"].(map[string]any)
			forms, _ := aff["forms"].([]any)
			for i, f := range forms {
				if m, ok := f.(map[string]any); ok {
					fn(formCtx{affordanceKind[kind], ptrIndex(ap+"/forms", i), m, []map[string]any{vars, thingVars}})
				}
			}
		}
	}
}

func (c *checker) checkForms() {
	var baseURL *url.URL
	if c.base != "" && !(c.isTM() && hasPlaceholder(c.base)) {
		if u, err := url.Parse(c.base); err == nil && u.IsAbs() {
			baseURL = u
		}
	}
	c.forEachForm(func(f formCtx) {
		c.checkSecNames(f.form["security"], f.ptr+"/security", "form security")
		c.checkOps(f)
		c.checkHref(f, baseURL)
	})
	c.reportUnusedSecurity()
}

// kindArticle names a kind with its article, for messages.
var kindArticle = map[td.Kind]string{td.KindProperty: "a property", td.KindAction: "an action", td.KindEvent: "an event", td.KindThing: "a Thing-level"}

func (c *checker) checkOps(f formCtx) {
	op, has := f.form["op"]
	if !has {
		if f.kind == td.KindThing && !c.isTM() {
			if c.td10 {
				// TD 1.0 had no such requirement; it became one in TD 1.1.
				d := c.add(CodeThingFormOp, f.ptr, "a Thing-level form has no op: TD 1.0 allows it, but TD 1.1 requires op here (there is no default); add e.g. \"op\": [\"readallproperties\", \"writemultipleproperties\"]")
				d.Severity = SeverityWarning
				return
			}
			c.add(CodeThingFormOp, f.ptr, "a Thing-level form must have op (there is no default); add e.g. \"op\": [\"readallproperties\", \"writemultipleproperties\"]")
		}
		return
	}
	allowed := td.OpsOf(f.kind)
	vals, ptrs := stringList(op, f.ptr+"/op")
	for i, o := range vals {
		if c.isTM() && hasPlaceholder(o) {
			continue
		}
		ok := false
		for _, a := range allowed {
			if a == o {
				ok = true
			}
		}
		where := kindArticle[f.kind] + " form"
		switch {
		case ok:
			if c.td10 && td11Ops[o] {
				c.add(CodeTD10Feature, ptrs[i], "op %q is new in TD 1.1 but the @context says TD 1.0; use the TD 1.1 context %q", o, contextTD11)
			}
		case td.KindOf(o) != td.KindUnknown:
			c.add(CodeOpKind, ptrs[i], "op %q is %s operation and is not allowed in %s; use one of %s, or move the form", o, kindArticle[td.KindOf(o)], where, quoteList(allowed))
		case td.KindOf(strings.ToLower(o)) != td.KindUnknown:
			c.add(CodeOpKind, ptrs[i], "op %q has the wrong case; operation names are lower case: %q", o, strings.ToLower(o))
		default:
			c.add(CodeOpKind, ptrs[i], "unknown op %q; %s allows %s", o, where, quoteList(allowed))
		}
	}
}

var templateVarRE = regexp.MustCompile(`\{([+#./;?&]?)([^{}]*)\}`)

func (c *checker) checkHref(f formCtx, base *url.URL) {
	href, ok := f.form["href"].(string)
	if !ok {
		return
	}
	if c.isTM() && hasPlaceholder(href) {
		return
	}
	sub, _ := f.form["subprotocol"].(string)
	hasTemplate := strings.IndexByte(href, '{') >= 0
	// URI template variables must be declared.
	for _, m := range templateMatches(hasTemplate, href) {
		for _, v := range strings.Split(m[2], ",") {
			v = strings.TrimSuffix(v, "*")
			if i := strings.IndexByte(v, ':'); i >= 0 {
				v = v[:i]
			}
			if v == "" || c.declaredVar(v, f.uriVars) {
				continue
			}
			c.add(CodeURIVariable, f.ptr+"/href", "href template variable %q is not declared; add it to uriVariables of the affordance or the Thing, e.g. \"uriVariables\": {\"%s\": {\"type\": \"string\"}}", v, v)
		}
	}
	expanded := href
	if hasTemplate {
		expanded = templateVarRE.ReplaceAllString(href, "x")
	}
	u, err := url.Parse(expanded)
	if err != nil {
		c.add(CodeSchema, f.ptr+"/href", "href %q is not a URI reference: %v", truncate(href, 80), unwrapURLError(err))
		return
	}
	if !u.IsAbs() {
		if base == nil {
			if !c.isTM() {
				c.add(CodeRelativeHref, f.ptr+"/href", "href %q is relative and the Thing has no base; add \"base\" (e.g. \"wss://device.example.org/\") or make the href absolute", href)
			}
			return
		}
		u = base.ResolveReference(u)
	}
	if sub == "webthingprotocol" && u.Scheme != "ws" && u.Scheme != "wss" {
		c.add(CodeWTPHref, f.ptr+"/href", "a form with subprotocol \"webthingprotocol\" must resolve to a ws:// or wss:// URL, but resolves to %q; use a ws/wss href or base", u.Scheme+"://"+u.Host+u.Path)
	}
}

func templateMatches(has bool, href string) [][]string {
	if !has {
		return nil
	}
	return templateVarRE.FindAllStringSubmatch(href, -1)
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (c *checker) declaredVar(name string, scopes []map[string]any) bool {
	for _, s := range scopes {
		if _, ok := s[name]; ok {
			return true
		}
	}
	// apikey in:uri names a template variable too.
	for _, s := range c.secs {
		if m, ok := s.(map[string]any); ok && m["in"] == "uri" && m["name"] == name {
			return true
		}
	}
	return false
}

// ---- links ----

var singleRels = map[string]bool{"type": true, "tm:extends": true, "collection": true, "predecessor-version": true}

func (c *checker) checkLinks() {
	links, _ := c.doc["links"].([]any)
	seen := map[string]bool{}
	for i, l := range links {
		m, _ := l.(map[string]any)
		rel, _ := m["rel"].(string)
		p := ptrIndex("/links", i)
		if rel == "tm:extends" && !c.isTM() {
			c.add(CodeSchema, p+"/rel", "rel \"tm:extends\" belongs in Thing Models; a TD links the model it instantiates with \"rel\": \"type\"")
		}
		if rel == "extends" && c.isTM() {
			c.add(CodeExtendsRel, p+"/rel", "rel \"extends\" is not a Thing Model relation; write \"tm:extends\"")
		}
		if singleRels[rel] {
			if seen[rel] {
				c.add(CodeLinkRel, p+"/rel", "more than one link has rel %q, which may appear at most once; keep one", rel)
			}
			seen[rel] = true
		}
	}
}

// ---- affordances and data schemas ----

func (c *checker) checkAffordances() {
	for _, kind := range [...]string{"properties", "actions", "events"} {
		affs, _ := c.doc[kind].(map[string]any)
		c.checkGoNames(affs, "/"+kind)
		for name := range affs {
			aff, _ := affs[name].(map[string]any)
			if aff == nil {
				continue
			}
			ap := ptrJoin("/"+kind, name)
			if vars, ok := aff["uriVariables"].(map[string]any); ok {
				c.schemaMap(vars, ap+"/uriVariables")
			}
			switch kind {
			case "properties":
				c.dataSchema(aff, ap, 0)
			case "actions":
				for _, m := range [...]string{"input", "output"} {
					c.subSchema(aff[m], ptrJoin(ap, m), 0)
				}
				if c.td10 {
					if _, ok := aff["synchronous"]; ok {
						c.add(CodeTD10Feature, ap+"/synchronous", "synchronous is new in TD 1.1 but the @context says TD 1.0; use the TD 1.1 context %q", contextTD11)
					}
				}
			case "events":
				for _, m := range [...]string{"subscription", "data", "dataResponse", "cancellation"} {
					c.subSchema(aff[m], ptrJoin(ap, m), 0)
				}
			}
		}
	}
	if vars, ok := c.doc["uriVariables"].(map[string]any); ok {
		c.schemaMap(vars, "/uriVariables")
	}
	if defs, ok := c.doc["schemaDefinitions"].(map[string]any); ok {
		c.schemaMap(defs, "/schemaDefinitions")
	}
}

func (c *checker) schemaMap(m map[string]any, ptr string) {
	for k := range m {
		c.subSchema(m[k], ptrJoin(ptr, k), 0)
	}
}

func (c *checker) subSchema(v any, ptr string, depth int) {
	if m, ok := v.(map[string]any); ok {
		c.dataSchema(m, ptr, depth)
	}
}

// dataSchema checks one DataSchema and recurses into its sub-schemas.
func (c *checker) dataSchema(s map[string]any, ptr string, depth int) {
	if depth > maxDepth {
		return
	}
	if s["readOnly"] == true && s["writeOnly"] == true {
		c.add(CodeReadWriteOnly, ptr+"/writeOnly", "readOnly and writeOnly are both true, which TD 1.1 leaves undefined (no default op); keep at most one of them")
	}
	props, hasProps := s["properties"].(map[string]any)
	if hasProps {
		c.checkGoNames(props, ptr+"/properties")
	}
	if req, ok := s["required"].([]any); ok && hasProps {
		for i, r := range req {
			name, ok := r.(string)
			if !ok {
				continue
			}
			if _, ok := props[name]; !ok {
				c.add(CodeRequiredMissing, ptrIndex(ptr+"/required", i), "required member %q is not in properties (%s); add a schema for it or remove it from required", name, quoteList(sortedKeys(props)))
			}
		}
	}
	c.checkBounds(s, ptr)
	c.checkPattern(s, ptr)
	c.checkValues(s, ptr)
	if c.td10 {
		for _, k := range [...]string{"default", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "contentEncoding", "contentMediaType"} {
			if _, ok := s[k]; ok {
				c.add(CodeTD10Feature, ptrJoin(ptr, k), "%s is new in TD 1.1 but the @context says TD 1.0; TD 1.0 Consumers ignore it: use the TD 1.1 context %q", k, contextTD11)
			}
		}
	}
	for k := range props {
		c.subSchema(props[k], ptrJoin(ptr+"/properties", k), depth+1)
	}
	switch items := s["items"].(type) {
	case map[string]any:
		c.dataSchema(items, ptr+"/items", depth+1)
	case []any:
		for i, it := range items {
			c.subSchema(it, ptrIndex(ptr+"/items", i), depth+1)
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		for i, it := range one {
			c.subSchema(it, ptrIndex(ptr+"/oneOf", i), depth+1)
		}
	}
}

func (c *checker) checkBounds(s map[string]any, ptr string) {
	type pair struct {
		lo, hi string
		strict bool
	}
	for _, p := range [...]pair{
		{"minimum", "maximum", false}, {"exclusiveMinimum", "exclusiveMaximum", true},
		{"minimum", "exclusiveMaximum", true}, {"exclusiveMinimum", "maximum", true},
		{"minLength", "maxLength", false}, {"minItems", "maxItems", false},
	} {
		lo, ok1 := num(s[p.lo])
		hi, ok2 := num(s[p.hi])
		if !ok1 || !ok2 {
			continue
		}
		if lo > hi || (p.strict && lo == hi) {
			c.add(CodeBounds, ptrJoin(ptr, p.lo), "%s (%v) is greater than %s (%v), so no value is valid; swap or fix the bounds", p.lo, s[p.lo], p.hi, s[p.hi])
		}
	}
}

// ecmaOnly matches regular-expression constructs that ECMA-262 has and RE2 lacks.
var ecmaOnly = regexp.MustCompile(`\(\?<?[=!]|\\[1-9]|\\k<|\\u[0-9A-Fa-f]{4}|\\u\{|\\c[A-Za-z]|\\p\{[^}]*=`)

func (c *checker) checkPattern(s map[string]any, ptr string) {
	pat, ok := s["pattern"].(string)
	if !ok {
		return
	}
	if _, err := compilePattern(pat); err != nil {
		if ecmaOnly.MatchString(pat) {
			c.add(CodePatternECMA, ptr+"/pattern", "pattern %q uses ECMA-262 features (look-around, back-references, \\u escapes) that Go's RE2 cannot run; generated code will not check it. Rewrite it without them if you can", truncate(pat, 80))
			return
		}
		c.add(CodePatternInvalid, ptr+"/pattern", "pattern %q does not compile: %v; fix the regular expression (ECMA-262 syntax)", truncate(pat, 80), unwrapRegexpError(err))
	}
}

func unwrapRegexpError(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

// ---- Go identifiers ----

// goNamer is the generator's own naming, so this warning and the renames of wotgen generate agree.
var goNamer = naming.New()

func (c *checker) checkGoNames(m map[string]any, ptr string) {
	if len(m) < 2 {
		return
	}
	byName := make(map[string][]string, len(m))
	collide := false
	for k := range m {
		g := goNamer.Exported(k)
		byName[g] = append(byName[g], k)
		collide = collide || len(byName[g]) > 1
	}
	if !collide {
		return
	}
	for g, names := range byName {
		if len(names) < 2 {
			continue
		}
		sort.Strings(names)
		for _, k := range names[1:] {
			c.add(CodeGoName, ptrJoin(ptr, k), "%q and %q both become the Go name %s; wotgen generate renames one deterministically, rename the member if you want stable names", names[0], k, g)
		}
	}
}

// ---- multi-language ----

func (c *checker) checkMultiLang() {
	type ml struct {
		ptr   string
		langs map[string]bool
	}
	var maps []ml
	all := map[string]bool{}
	var path []string // built into a pointer only when needed
	pointer := func(last string) string {
		var b strings.Builder
		for _, p := range path {
			b.WriteByte('/')
			b.WriteString(escapePointerToken(p))
		}
		b.WriteByte('/')
		b.WriteString(escapePointerToken(last))
		return b.String()
	}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > maxDepth {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				switch k {
				case "titles", "descriptions":
					if m, ok := e.(map[string]any); ok && len(m) > 0 {
						l := ml{pointer(k), make(map[string]bool, len(m))}
						for lang := range m {
							l.langs[strings.ToLower(lang)] = true
							all[strings.ToLower(lang)] = true
						}
						maps = append(maps, l)
						continue
					}
				case "@type":
					if !c.isTM() && hasThingModelType(e) {
						c.add(CodeSchema, pointer(k), "@type contains \"tm:ThingModel\", which marks a Thing Model, not a TD: remove it, or validate the file as a Thing Model (-kind tm)")
					}
					continue
				case "const", "default", "enum", "@context":
					continue
				}
				switch e.(type) {
				case map[string]any, []any:
					path = append(path, k)
					walk(e, depth+1)
					path = path[:len(path)-1]
				}
			}
		case []any:
			for i, e := range t {
				switch e.(type) {
				case map[string]any, []any:
					path = append(path, strconv.Itoa(i))
					walk(e, depth+1)
					path = path[:len(path)-1]
				}
			}
		}
	}
	walk(c.doc, 0)
	if len(maps) < 2 {
		return
	}
	sort.Slice(maps, func(i, j int) bool { return maps[i].ptr < maps[j].ptr })
	for _, m := range maps {
		var missing []string
		for l := range all {
			if !m.langs[l] {
				missing = append(missing, l)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			c.add(CodeMultiLang, m.ptr, "this map lacks the language(s) %s that other titles/descriptions maps of the document use; all multi-language maps should cover the same languages", quoteList(missing))
		}
	}
}

func hasThingModelType(v any) bool {
	switch t := v.(type) {
	case string:
		return t == "tm:ThingModel"
	case []any:
		for _, e := range t {
			if e == "tm:ThingModel" {
				return true
			}
		}
	}
	return false
}

// ---- TD 1.0 ----

func (c *checker) checkTD10Terms() {
	for _, k := range [...]string{"profile", "schemaDefinitions", "uriVariables"} {
		if _, ok := c.doc[k]; ok {
			c.add(CodeTD10Feature, "/"+k, "%s is new in TD 1.1 but the @context says TD 1.0; use the TD 1.1 context %q", k, contextTD11)
		}
	}
	c.forEachForm(func(f formCtx) {
		if _, ok := f.form["additionalResponses"]; ok {
			c.add(CodeTD10Feature, f.ptr+"/additionalResponses", "additionalResponses is new in TD 1.1 but the @context says TD 1.0; use the TD 1.1 context %q", contextTD11)
		}
	})
}
