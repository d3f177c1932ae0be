package tm

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/wotgen/wotgen/internal/jsonvalue"
)

// Context URIs of TD 1.0 and TD 1.1.
const (
	ContextTD10 = "https://www.w3.org/2019/wot/td/v1"
	ContextTD11 = "https://www.w3.org/2022/wot/td/v1.1"
)

// Link relations and members of the Thing Model vocabulary.
const (
	RelExtends       = "tm:extends"
	RelSubmodel      = "tm:submodel"
	TypeThingModel   = "tm:ThingModel"
	MemberRef        = "tm:ref"
	MemberOptional   = "tm:optional"
	MemberRequired   = "tm:required" // pre-2022 draft term, accepted with a warning
	relExtendsLegacy = "extends"     // TD 1.1 example typo, accepted with a warning
)

// Limits that keep hostile models from exhausting the process.
const (
	maxChainDepth = 32 // nested tm:extends / tm:submodel levels
	maxRefDepth   = 64 // nested tm:ref expansions
)

// maxNodes bounds the JSON values created by tm:ref and tm:extends expansion (a variable so tests
// can lower it).
var maxNodes = 1 << 20

var affordanceKinds = []string{"properties", "actions", "events"}

// Warning is a non-fatal finding while resolving or deriving.
type Warning struct {
	URL     string // document the finding is about ("" = the result)
	Pointer string // JSON pointer into that document
	Msg     string
}

func (w Warning) String() string {
	var b strings.Builder
	if w.URL != "" {
		b.WriteString(redactURL(w.URL))
	}
	if w.Pointer != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("at " + w.Pointer)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(w.Msg)
	return b.String()
}

// Error is a resolution error located in a document.
type Error struct {
	URL     string
	Pointer string
	Msg     string
	Err     error // underlying cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(redactURL(e.URL))
	if e.Pointer != "" {
		b.WriteString(" at " + e.Pointer)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// CycleError reports a tm:extends / tm:submodel / tm:ref cycle. Chain starts and ends with the same
// element, e.g. [A B A].
type CycleError struct {
	Kind  string // "tm:extends", "tm:submodel" or "tm:ref"
	Chain []string
}

func (e *CycleError) Error() string {
	chain := make([]string, len(e.Chain))
	for i, c := range e.Chain {
		chain[i] = redactURL(c)
	}
	if e.Kind == MemberRef {
		return fmt.Sprintf("tm:ref cycle: %s; a definition must not (transitively) import itself — point one of these tm:ref members at a separate definition", strings.Join(chain, " → "))
	}
	return fmt.Sprintf("%s cycle: %s; models must not (transitively) include themselves — remove one of these links", e.Kind, strings.Join(chain, " → "))
}

// Model is a resolved Thing Model: every tm:ref expanded and merge-patched, the tm:extends chain
// merged, tm:submodel children flattened into it (see doc.go), the legacy tm:required turned into
// tm:optional. Doc is still a TM: @type holds tm:ThingModel, placeholders are untouched, and
// "tm:optional" lists the effective optional affordances.
type Model struct {
	URL          string         // absolute URL of the root model
	Doc          map[string]any // the resolved model (decoded JSON, numbers as json.Number)
	Optional     []string       // sorted JSON pointers of optional affordances (also in Doc["tm:optional"])
	Placeholders []string       // sorted names of the {{NAME}} placeholders still in Doc
	Warnings     []Warning
}

// JSON renders the resolved model (indented, keys sorted).
func (m *Model) JSON() ([]byte, error) { return marshalJSON(m.Doc) }

// IsOptional reports whether the affordance kind ("properties", "actions", "events") / name is optional.
func (m *Model) IsOptional(kind, name string) bool {
	p := ptrJoin("", kind, name)
	for _, o := range m.Optional {
		if o == p {
			return true
		}
	}
	return false
}

// IsThingModel reports whether data is a JSON object whose @type contains tm:ThingModel.
func IsThingModel(data []byte) bool {
	v, err := decodeJSON(data)
	if err != nil {
		return false
	}
	m, ok := v.(map[string]any)
	return ok && hasString(asStringList(m["@type"]), TypeThingModel)
}

// Resolve loads the model at ref (a file path or http(s)/file URL) and resolves it.
func Resolve(ctx context.Context, l *Loader, ref string) (*Model, error) {
	u, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if l == nil {
		l = NewLoader()
	}
	r := &resolver{ctx: ctx, l: l, cp: copier{limit: maxNodes}, done: map[string]*resolvedDoc{}, once: map[string]bool{}}
	rd, err := r.model(u, RelExtends, nil)
	if err != nil {
		return nil, err
	}
	doc := rd.doc
	opt := rd.optional
	if len(opt) > 0 {
		list := make([]any, len(opt))
		for i, p := range opt {
			list[i] = p
		}
		doc[MemberOptional] = list
	} else {
		delete(doc, MemberOptional)
	}
	return &Model{URL: docKey(u), Doc: doc, Optional: opt, Placeholders: placeholderNames(doc), Warnings: r.warnings}, nil
}

type resolvedDoc struct {
	doc      map[string]any
	optional []string // sorted
}

type resolver struct {
	ctx      context.Context
	l        *Loader
	cp       copier
	warnings []Warning
	stack    []string // documents whose extends/submodels are being resolved
	refStack []string // tm:ref targets being expanded
	done     map[string]*resolvedDoc
	once     map[string]bool // warnings given once per document and reference
}

func (r *resolver) warn(u, ptr, format string, a ...any) {
	r.warnings = append(r.warnings, Warning{URL: u, Pointer: ptr, Msg: fmt.Sprintf(format, a...)})
}

func (r *resolver) load(u *url.URL) (*Document, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	return r.l.Load(r.ctx, u)
}

// model resolves the TM at u. kind names the link that led here (for cycle messages).
func (r *resolver) model(u *url.URL, kind string, from *url.URL) (*resolvedDoc, error) {
	key := docKey(u)
	for i, s := range r.stack {
		if s == key {
			chain := append(append([]string{}, r.stack[i:]...), key)
			return nil, &CycleError{Kind: kind, Chain: chain}
		}
	}
	if d, ok := r.done[key]; ok {
		c, err := r.cp.copy(d.doc)
		if err != nil {
			return nil, err
		}
		return &resolvedDoc{doc: c.(map[string]any), optional: append([]string(nil), d.optional...)}, nil
	}
	if len(r.stack) >= maxChainDepth {
		return nil, &Error{URL: key, Msg: fmt.Sprintf("tm:extends/tm:submodel chain deeper than %d models", maxChainDepth)}
	}
	r.stack = append(r.stack, key)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()

	doc, err := r.load(u)
	if err != nil {
		if from != nil {
			return nil, fmt.Errorf("%s link of %s: %w", kind, redactURL(from.String()), err)
		}
		return nil, err
	}
	raw, ok := doc.Value.(map[string]any)
	if !ok {
		return nil, &Error{URL: key, Msg: "a Thing Model must be a JSON object"}
	}
	if err := r.checkModel(key, raw); err != nil {
		return nil, err
	}
	// The document itself is bounded by the Loader's size limit; only expansion counts.
	obj := deepCopy(raw).(map[string]any)

	// 1. tm:ref, relative to this document.
	v, err := r.refs(obj, doc.URL, raw, "")
	if err != nil {
		return nil, err
	}
	obj = v.(map[string]any)

	// 2. Own optional list (tm:optional, or the legacy tm:required inverted).
	own, err := r.ownOptional(key, obj)
	if err != nil {
		return nil, err
	}

	// 3. Links: split off tm:extends and tm:submodel.
	var extends, submodels []map[string]any
	if lv, ok := obj["links"]; ok {
		links, ok := lv.([]any)
		if !ok {
			return nil, &Error{URL: key, Pointer: "/links", Msg: "links must be an array of link objects"}
		}
		var keep []any
		for i, e := range links {
			lk, ok := e.(map[string]any)
			if !ok {
				return nil, &Error{URL: key, Pointer: ptrJoin("/links", strconv.Itoa(i)), Msg: "a link must be an object with href and rel"}
			}
			switch rel, _ := lk["rel"].(string); rel {
			case RelExtends:
				extends = append(extends, lk)
			case relExtendsLegacy:
				r.warn(key, ptrJoin("/links", strconv.Itoa(i)), `"rel": "extends" is not a TD 1.1 relation; treated as "tm:extends" — write "rel": "tm:extends"`)
				extends = append(extends, lk)
			case RelSubmodel:
				submodels = append(submodels, lk)
			default:
				keep = append(keep, lk)
			}
		}
		if len(keep) > 0 {
			obj["links"] = keep
		} else {
			delete(obj, "links")
		}
	}
	if len(extends) > 1 {
		r.warn(key, "/links", "%d tm:extends links; TD 1.1 allows one — they are applied in order, later ones winning", len(extends))
	}

	optional := map[string]bool{}
	// 4. tm:extends: the parent is the base, this document patches it.
	result := obj
	if len(extends) > 0 {
		var base map[string]any
		var baseOpt []string
		for _, lk := range extends {
			href, _ := lk["href"].(string)
			if href == "" {
				return nil, &Error{URL: key, Pointer: "/links", Msg: "tm:extends link without href: give the URL of the parent model"}
			}
			pu, err := resolveRef(doc.URL, href)
			if err != nil {
				return nil, &Error{URL: key, Pointer: "/links", Msg: err.Error()}
			}
			parent, err := r.model(pu, RelExtends, doc.URL)
			if err != nil {
				return nil, err
			}
			if base == nil {
				base, baseOpt = parent.doc, parent.optional
			} else {
				base = r.inherit(key, base, parent.doc, raw)
				baseOpt = append(baseOpt, parent.optional...)
			}
		}
		for _, p := range baseOpt {
			// Re-declaring an inherited optional affordance makes it mandatory (TD 1.1 §tm:optional).
			if !declaredIn(raw, p) {
				optional[p] = true
			}
		}
		result = r.inherit(key, base, obj, raw)
	}
	for _, p := range own {
		optional[p] = true
	}

	// 5. tm:submodel: flatten children with instanceName prefixes.
	for _, lk := range submodels {
		if err := r.submodel(key, doc.URL, result, lk, optional); err != nil {
			return nil, err
		}
	}
	delete(result, MemberOptional)
	delete(result, MemberRequired)
	ensureModelType(result)

	rd := &resolvedDoc{doc: result, optional: sortedSet(optional)}
	for _, p := range rd.optional {
		if !declaredIn(result, p) {
			r.warn(key, "/tm:optional", "tm:optional names %s, which neither this model nor its parents define; remove the entry", p)
		}
	}
	rd.optional = filterExisting(result, rd.optional)
	r.done[key] = &resolvedDoc{doc: deepCopy(result).(map[string]any), optional: rd.optional}
	return rd, nil
}

var placeholderRe = regexp.MustCompile(`\{\{([ -z|~]+)\}\}`)

// checkModel rejects documents that cannot be Thing Models, with the fix in the message. Full
// schema validation is gen/validate's job; these are the checks resolution depends on.
func (r *resolver) checkModel(key string, m map[string]any) error {
	ctx, ok := m["@context"]
	if !ok {
		return &Error{URL: key, Pointer: "/@context", Msg: fmt.Sprintf(`missing "@context": a Thing Model needs "@context": %q`, ContextTD11)}
	}
	uris := contextURIs(ctx)
	switch {
	case hasString(uris, ContextTD11):
	case hasString(uris, ContextTD10):
		r.warn(key, "/@context", "Thing Models are a TD 1.1 feature but @context only names TD 1.0; add %q", ContextTD11)
	default:
		return &Error{URL: key, Pointer: "/@context", Msg: fmt.Sprintf("@context must contain the TD 1.1 context %q (pre-Recommendation contexts such as http://www.w3.org/ns/td are not supported)", ContextTD11)}
	}
	if ver, ok := m["version"].(map[string]any); ok {
		if _, ok := ver["instance"]; ok {
			return &Error{URL: key, Pointer: "/version/instance", Msg: "a Thing Model must not carry version.instance (that belongs to TD instances); use version.model"}
		}
	}
	for _, kind := range affordanceKinds {
		v, ok := m[kind]
		if !ok {
			continue
		}
		if s, ok := v.(string); ok && placeholderRe.MatchString(s) {
			continue
		}
		aff, ok := v.(map[string]any)
		if !ok {
			return &Error{URL: key, Pointer: "/" + kind, Msg: kind + " must be an object mapping names to affordances"}
		}
		for name, a := range aff {
			obj, ok := a.(map[string]any)
			if !ok {
				return &Error{URL: key, Pointer: ptrJoin("/"+kind, name), Msg: fmt.Sprintf("%s/%s must be an object (an affordance definition); is a misplaced member inside %q?", kind, name, kind)}
			}
			if f, ok := obj["forms"].([]any); ok && len(f) == 0 {
				return &Error{URL: key, Pointer: ptrJoin("/"+kind, name, "forms"), Msg: "forms must not be empty: remove the member or add a form"}
			}
		}
	}
	if sd, ok := m["securityDefinitions"].(map[string]any); ok {
		for name, s := range sd {
			sc, _ := s.(map[string]any)
			scheme, _ := sc["scheme"].(string)
			if sc == nil || !validScheme(scheme) {
				return &Error{URL: key, Pointer: ptrJoin("/securityDefinitions", name, "scheme"), Msg: fmt.Sprintf("unknown security scheme %q: use nosec, auto, combo, basic, digest, apikey, bearer, psk, oauth2, a prefixed extension (ex:name) or a {{PLACEHOLDER}}", scheme)}
			}
		}
	}
	if lv, ok := m["links"].([]any); ok {
		for i, e := range lv {
			lk, _ := e.(map[string]any)
			if lk == nil {
				continue
			}
			sizes, has := lk["sizes"]
			if !has {
				continue
			}
			at := ptrJoin("/links", strconv.Itoa(i), "sizes")
			if rel, _ := lk["rel"].(string); rel != "icon" {
				return &Error{URL: key, Pointer: at, Msg: `only links with "rel": "icon" may carry sizes; remove it`}
			}
			if s, _ := sizes.(string); !sizesRe.MatchString(s) {
				return &Error{URL: key, Pointer: at, Msg: fmt.Sprintf(`icon sizes %s must look like "16x16 32x32" (ASCII x between digits)`, jsonText(sizes))}
			}
		}
	}
	if _, ok := m["@type"]; !ok {
		return &Error{URL: key, Pointer: "/@type", Msg: `missing "@type": a Thing Model needs "@type": "tm:ThingModel"`}
	}
	if !hasString(asStringList(m["@type"]), TypeThingModel) {
		return &Error{URL: key, Pointer: "/@type", Msg: `not a Thing Model: "@type" must be or contain "tm:ThingModel"`}
	}
	return nil
}

var sizesRe = regexp.MustCompile(`[0-9]*x[0-9]+`)

func validScheme(s string) bool {
	switch s {
	case "nosec", "auto", "combo", "basic", "digest", "apikey", "bearer", "psk", "oauth2":
		return true
	}
	if placeholderRe.MatchString(s) {
		return true
	}
	i := strings.IndexByte(s, ':')
	return i > 0 && i < len(s)-1
}

func contextURIs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func hasString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

var optionalRe = regexp.MustCompile(`^/(properties|actions|events)/[^/]+$`)

func (r *resolver) ownOptional(key string, obj map[string]any) ([]string, error) {
	var out []string
	if v, ok := obj[MemberOptional]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, &Error{URL: key, Pointer: "/tm:optional", Msg: "tm:optional must be an array of JSON pointers such as \"/properties/name\""}
		}
		for i, e := range list {
			s, _ := e.(string)
			if !optionalRe.MatchString(s) {
				return nil, &Error{URL: key, Pointer: ptrJoin("/tm:optional", strconv.Itoa(i)), Msg: fmt.Sprintf("tm:optional entry %v must point to a whole affordance: /properties/NAME, /actions/NAME or /events/NAME (no '#', nothing deeper)", jsonText(e))}
			}
			out = append(out, s)
		}
	}
	if v, ok := obj[MemberRequired]; ok {
		r.warn(key, "/tm:required", "tm:required is a pre-2022 draft term; read as its inverse (every affordance not listed is optional) — replace it with tm:optional")
		list, _ := v.([]any)
		req := map[string]bool{}
		for _, e := range list {
			if s, ok := e.(string); ok {
				req[strings.TrimPrefix(s, "#")] = true
			}
		}
		for _, kind := range affordanceKinds {
			aff, _ := obj[kind].(map[string]any)
			for name := range aff {
				p := ptrJoin("", kind, name)
				if !req[p] {
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

// declaredIn reports whether the affordance pointer (/kind/name) is defined in doc.
func declaredIn(doc map[string]any, p string) bool {
	v, err := pointerGet(doc, p)
	return err == nil && v != nil
}

func filterExisting(doc map[string]any, ptrs []string) []string {
	out := ptrs[:0]
	for _, p := range ptrs {
		if declaredIn(doc, p) {
			out = append(out, p)
		}
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ensureModelType(doc map[string]any) {
	types := asStringList(doc["@type"])
	if !hasString(types, TypeThingModel) {
		types = append([]string{TypeThingModel}, types...)
	}
	if len(types) == 1 {
		doc["@type"] = types[0]
		return
	}
	list := make([]any, len(types))
	for i, t := range types {
		list[i] = t
	}
	doc["@type"] = list
}

// inherit merges child over parent (RFC 7396 semantics: objects merge, other values replace,
// null deletes), except that links, @context and @type are unions.
func (r *resolver) inherit(key string, parent, child, rawChild map[string]any) map[string]any {
	for _, kind := range affordanceKinds {
		pa, _ := parent[kind].(map[string]any)
		ca, _ := rawChild[kind].(map[string]any)
		for _, name := range sortedKeys(ca) {
			if _, ok := pa[name]; !ok {
				continue
			}
			def, _ := ca[name].(map[string]any)
			if _, viaRef := def[MemberRef]; !viaRef {
				r.warn(key, ptrJoin("/"+kind, name), "redefines the inherited %s %q; members are merged with this model's values winning — TD 1.1 advises not to redefine inherited affordances (use tm:ref to re-import and narrow one)", singular[kind], name)
			}
		}
	}
	// Keep the inherited definitions the child overrides, to check that it only narrows them.
	overridden := map[string]map[string]any{}
	for _, kind := range affordanceKinds {
		pa, _ := parent[kind].(map[string]any)
		ca, _ := child[kind].(map[string]any)
		rca, _ := rawChild[kind].(map[string]any)
		for name := range ca {
			if rd, _ := rca[name].(map[string]any); rd != nil && rd[MemberRef] != nil {
				continue // a tm:ref override is checked against what it imports
			}
			if pd, ok := pa[name].(map[string]any); ok {
				overridden[ptrJoin("/"+kind, name)] = deepCopy(pd).(map[string]any)
			}
		}
	}
	links := append(linkList(parent["links"]), linkList(child["links"])...)
	ctx := mergeContexts(parent["@context"], child["@context"])
	types := unionStrings(asStringList(parent["@type"]), asStringList(child["@type"]))

	patch := map[string]any{}
	for k, v := range child {
		switch k {
		case "links", "@context", "@type", MemberOptional, MemberRequired:
			continue
		}
		patch[k] = v
	}
	out := mergePatch(parent, patch).(map[string]any)
	for _, p := range sortedKeysOf(overridden) {
		if after, err := pointerGet(out, p); err == nil {
			if am, ok := after.(map[string]any); ok {
				kind := strings.SplitN(p[1:], "/", 2)[0]
				r.narrowing(key, p, kind, overridden[p], am, "this redefinition widens the inherited one")
			}
		}
	}
	if len(links) > 0 {
		out["links"] = links
	} else {
		delete(out, "links")
	}
	out["@context"] = ctx
	list := make([]any, len(types))
	for i, t := range types {
		list[i] = t
	}
	out["@type"] = list
	ensureModelType(out)
	return out
}

func linkList(v any) []any {
	l, _ := v.([]any)
	return l
}

func unionStrings(a, b []string) []string {
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !hasString(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// mergeContexts unions two @context values, keeping the TD 1.0 URI before the TD 1.1 URI (the
// order TD 1.1 requires) and other entries in first-seen order.
func mergeContexts(a, b any) any {
	var entries []any
	add := func(v any) {
		switch x := v.(type) {
		case []any:
			entries = append(entries, x...)
		case nil:
		default:
			entries = append(entries, x)
		}
	}
	add(a)
	add(b)
	var has10, has11 bool
	var rest []any
	for _, e := range entries {
		switch e {
		case ContextTD10:
			has10 = true
			continue
		case ContextTD11:
			has11 = true
			continue
		}
		dup := false
		for _, x := range rest {
			if jsonvalue.Equal(x, e) {
				dup = true
				break
			}
		}
		if !dup {
			rest = append(rest, e)
		}
	}
	var out []any
	if has10 {
		out = append(out, ContextTD10)
	}
	if has11 {
		out = append(out, ContextTD11)
	}
	out = append(out, rest...)
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// refs expands every tm:ref in v. base is the URL of the document v comes from, raw its unmodified
// content (for local pointers), at the pointer of v in that document.
func (r *resolver) refs(v any, base *url.URL, raw map[string]any, at string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if k == MemberRef {
				continue
			}
			nv, err := r.refs(x[k], base, raw, ptrJoin(at, k))
			if err != nil {
				return nil, err
			}
			x[k] = nv
		}
		ref, ok := x[MemberRef]
		if !ok {
			return x, nil
		}
		s, ok := ref.(string)
		if !ok {
			return nil, &Error{URL: docKey(base), Pointer: ptrJoin(at, MemberRef), Msg: "tm:ref must be a string: <URL>#<JSON pointer>, e.g. \"#/properties/base\""}
		}
		target, err := r.ref(s, base, raw, at)
		if err != nil {
			return nil, err
		}
		delete(x, MemberRef)
		if len(x) == 0 {
			return target, nil
		}
		// Sibling members override the imported definition (RFC 7396).
		var before map[string]any
		if tm, ok := target.(map[string]any); ok {
			before = deepCopy(tm).(map[string]any)
		}
		merged := mergePatch(target, x)
		if after, ok := merged.(map[string]any); ok && before != nil {
			r.narrowing(docKey(base), at, "", before, after, "this tm:ref override widens the imported definition")
		}
		return merged, nil
	case []any:
		for i := range x {
			nv, err := r.refs(x[i], base, raw, ptrJoin(at, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			x[i] = nv
		}
	}
	return v, nil
}

// ref returns a resolved copy of the value a tm:ref string points to.
func (r *resolver) ref(s string, base *url.URL, raw map[string]any, at string) (any, error) {
	here := docKey(base)
	fail := func(msg string, err error) error {
		return &Error{URL: here, Pointer: ptrJoin(at, MemberRef), Msg: msg, Err: err}
	}
	hash := strings.IndexByte(s, '#')
	if hash < 0 {
		return nil, fail(fmt.Sprintf("tm:ref %q has no '#<JSON pointer>' part; write e.g. %q", s, s+"#/properties/name"), nil)
	}
	frag, err := url.PathUnescape(s[hash+1:])
	if err != nil {
		return nil, fail(fmt.Sprintf("tm:ref %q: bad percent-encoding in the pointer", s), err)
	}
	var tu *url.URL
	var tdoc any
	if hash == 0 {
		tu, tdoc = base, raw
	} else {
		tu, err = resolveRef(base, s[:hash])
		if err != nil {
			return nil, fail(err.Error(), err)
		}
	}
	key := docKey(tu) + "#" + frag
	for i, k := range r.refStack {
		if k == key {
			return nil, &CycleError{Kind: MemberRef, Chain: append(append([]string{}, r.refStack[i:]...), key)}
		}
	}
	if len(r.refStack) >= maxRefDepth {
		return nil, fail(fmt.Sprintf("tm:ref nesting deeper than %d", maxRefDepth), nil)
	}
	r.refStack = append(r.refStack, key)
	defer func() { r.refStack = r.refStack[:len(r.refStack)-1] }()

	var traw map[string]any
	if tdoc == nil {
		d, err := r.load(tu)
		if err != nil {
			return nil, fail(fmt.Sprintf("tm:ref %q: cannot load the referenced document", s), err)
		}
		tdoc = d.Value
		tu = d.URL
	}
	traw, _ = tdoc.(map[string]any)
	val, usedRaw, perr := pointerGetLenient(tdoc, frag, true)
	if usedRaw && !r.once["literal\x00"+here+"\x00"+s] {
		r.once["literal\x00"+here+"\x00"+s] = true
		r.warn(here, ptrJoin(at, MemberRef), "tm:ref %q: the pointer matches a member name literally only (RFC 6901 decodes ~1 to '/' and ~0 to '~'); escape '~' in member names as ~0, e.g. %q", s, strings.ReplaceAll(s, "~", "~0"))
	}
	if perr != nil && hash > 0 && traw != nil && len(r.stack) < maxChainDepth {
		// The pointer may name something the target inherits: try its resolved form.
		if rd, err := r.model(tu, RelExtends, base); err == nil {
			if v, err := pointerGet(rd.doc, frag); err == nil {
				return v, nil
			}
		}
	}
	if perr != nil {
		hint := "; check the pointer against the referenced document"
		if hash == 0 {
			hint = "; a local pointer must name something written in this document — to import an inherited definition, reference the parent model's URL"
		}
		return nil, fail(fmt.Sprintf("tm:ref %q does not resolve: %v%s", s, perr, hint), perr)
	}
	c, err := r.cp.copy(val)
	if err != nil {
		return nil, err
	}
	// The fragment may itself use tm:ref, relative to its own document.
	return r.refs(c, tu, traw, frag)
}

// submodel flattens the child model named by link lk into doc (see doc.go for the naming rule).
func (r *resolver) submodel(key string, base *url.URL, doc map[string]any, lk map[string]any, optional map[string]bool) error {
	href, _ := lk["href"].(string)
	if href == "" {
		return &Error{URL: key, Pointer: "/links", Msg: "tm:submodel link without href: give the URL of the child model"}
	}
	su, err := resolveRef(base, href)
	if err != nil {
		return &Error{URL: key, Pointer: "/links", Msg: err.Error()}
	}
	sub, err := r.model(su, RelSubmodel, base)
	if err != nil {
		return err
	}
	prefix, _ := lk["instanceName"].(string)
	if prefix == "" {
		prefix = modelBaseName(su)
		r.warn(key, "/links", "tm:submodel link to %s has no instanceName; its affordances get the prefix %q — set instanceName to choose", href, prefix)
	}
	for _, kind := range affordanceKinds {
		saff, _ := sub.doc[kind].(map[string]any)
		if len(saff) == 0 {
			continue
		}
		daff, _ := doc[kind].(map[string]any)
		if daff == nil {
			daff = map[string]any{}
			doc[kind] = daff
		}
		for _, name := range sortedKeys(saff) {
			newName := prefix + "_" + name
			for n := 2; daff[newName] != nil; n++ {
				newName = fmt.Sprintf("%s_%s_%d", prefix, name, n)
			}
			if newName != prefix+"_"+name {
				r.warn(key, ptrJoin("/"+kind, prefix+"_"+name), "the flattened name %q is already taken; submodel %s %q becomes %q", prefix+"_"+name, singular[kind], name, newName)
			}
			daff[newName] = saff[name]
			if hasString(sub.optional, ptrJoin("", kind, name)) {
				optional[ptrJoin("", kind, newName)] = true
			}
		}
	}
	// Shared definitions the child's affordances may rely on.
	for _, member := range []string{"schemaDefinitions", "securityDefinitions", "uriVariables"} {
		sm, _ := sub.doc[member].(map[string]any)
		if len(sm) == 0 {
			continue
		}
		dm, _ := doc[member].(map[string]any)
		if dm == nil {
			dm = map[string]any{}
			doc[member] = dm
		}
		for _, name := range sortedKeys(sm) {
			if ex, ok := dm[name]; ok && !jsonvalue.Equal(ex, sm[name]) {
				r.warn(key, ptrJoin("/"+member, name), "submodel %q defines %s %q differently; the parent's definition is kept", prefix, member, name)
				continue
			}
			dm[name] = sm[name]
		}
	}
	if _, ok := sub.doc["forms"]; ok {
		r.warn(key, "/links", "Thing-level forms of submodel %q are dropped when flattening", prefix)
	}
	doc["@context"] = mergeContexts(doc["@context"], sub.doc["@context"])
	return nil
}

// modelBaseName derives a name from a model URL: ".../fan.tm.jsonld" → "fan".
func modelBaseName(u *url.URL) string {
	b := path.Base(u.Path)
	for _, ext := range []string{".jsonld", ".json"} {
		b = strings.TrimSuffix(b, ext)
	}
	b = strings.TrimSuffix(b, ".tm")
	if b == "" || b == "." || b == "/" {
		return "submodel"
	}
	return b
}

func jsonText(v any) string {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

func sortedKeysOf(m map[string]map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// narrowing warns when an override widens what it overrides (TD 1.1: tm:extends and tm:ref
// overrides SHOULD only narrow the value space). kind is the affordance kind when known.
func (r *resolver) narrowing(u, at, kind string, before, after map[string]any, what string) {
	c := &checker{}
	if kind != "" {
		c.affordance(kind, at, before, after)
	} else {
		c.schema(at, before, after)
		for _, k := range []string{"input", "output", "data", "subscription", "cancellation", "dataResponse"} {
			if _, ok := before[k]; ok {
				c.subSchema(at, k, before, after)
			}
		}
	}
	for _, d := range c.diags {
		if d.Severity == SeverityError {
			r.warn(u, d.Pointer, "%s (TD 1.1: overrides should only narrow the value space): %s", what, d.Msg)
		}
	}
}
