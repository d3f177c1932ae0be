// Package build lowers a parsed Thing Description into the ir model: Go names (via gen/naming), Go
// types for every data schema, the checks behind the generated Validate methods and the operations of
// every affordance. Every decision about the generated code is made here; gen/emit only prints.
package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/wotgen/wotgen/gen/ir"
	"github.com/wotgen/wotgen/gen/naming"
	"github.com/wotgen/wotgen/runtime/td"
)

// Options configure Build.
type Options struct {
	Package     string   // Go package name; derived from the TD title when empty
	Source      string   // the "// Source:" text
	Initialisms []string // extra initialisms for gen/naming
	// Reserved are package-level identifiers the emitters declare (client and server types); generated
	// type names avoid them. DefaultReserved is always included.
	Reserved []string
	Warn     func(string) // called for every warning; may be nil
}

// DefaultReserved are the package-level names the client/server emitters use.
var DefaultReserved = []string{
	"Client", "NewClient", "Dial", "Handler", "UnimplementedHandler", "NewServer", "Server",
	"ServerOption", "ClientOption", "ThingDescription", "ThingID", "Option", "Thing", "TD",
}

// reservedAffordance are Go names an affordance cannot take: they clash with generated methods on
// the client or server (Close, the Thing-level operations) or with the Read/Write/Observe/Subscribe
// prefixes applied to AllProperties and friends.
var reservedAffordance = map[string]bool{
	"Close": true, "Client": true, "Validate": true, "TD": true, "Thing": true, "Conn": true, "String": true,
	"AllProperties": true, "MultipleProperties": true, "AllEvents": true, "AllActions": true,
	"ThingID": true, "Handler": true, "Server": true,
}

// thingMethods are client/server method names derived from Thing-level operations.
var thingMethods = []string{
	"ReadAllProperties", "WriteAllProperties", "ReadMultipleProperties", "WriteMultipleProperties",
	"ObserveAllProperties", "SubscribeAllEvents", "QueryAllActions", "QueryAction", "CancelAction",
	"ServeHTTP", "Shutdown",
}

// maxDepth bounds how deep nested schemas become Go types; deeper schemas are json.RawMessage.
const maxDepth = 32

// Build lowers t. It does not modify t.
func Build(t *td.Thing, o Options) (*ir.Package, error) {
	b := &builder{
		t:        t,
		n:        naming.New(o.Initialisms...),
		warnFn:   o.Warn,
		byPrint:  map[string]*ir.Type{},
		defs:     map[string]*ir.TypeRef{},
		patterns: map[string]string{},
	}
	reserved := append(append([]string{}, DefaultReserved...), o.Reserved...)
	b.types = naming.NewScope(b.warn, reserved...)
	b.vars = naming.NewScope(nil)
	pkgName := o.Package
	if pkgName == "" {
		pkgName = naming.Package(t.Title)
	} else if !naming.IsValid(pkgName) || naming.IsReserved(pkgName) {
		return nil, fmt.Errorf("package name %q is not a Go identifier; pass a name such as %q", pkgName, naming.Package(t.Title))
	}
	b.pkg = &ir.Package{Name: pkgName, Source: o.Source, FileBase: naming.FileBase(t.Title)}
	th := &ir.Thing{
		Title:     t.Title,
		Doc:       docOf(t.Title, t.Titles, t.Description, t.Descriptions),
		GoName:    b.n.Exported(t.Title),
		ID:        t.ID,
		Version10: t.Version10(),
	}
	b.pkg.Thing = th
	b.nameAffordances()

	// schemaDefinitions first, so affordance schemas identical to a definition reuse its type.
	for _, name := range sortedKeys(t.SchemaDefinitions) {
		s := t.SchemaDefinitions[name]
		if s == nil {
			continue
		}
		what := "schema definition " + quote(name)
		ref := b.root(s, b.n.Exported(name), name, what, true)
		if ref.Kind == ir.RefNamed && ref.Decl.Root != name {
			// identical to an earlier definition: keep this definition's name as an alias
			a := &ir.Type{Name: b.types.Claim(b.n.Exported(name), "type of the "+what), Kind: ir.KindDefined,
				Root: name, Underlying: ref, Alias: true}
			a.Doc = ir.Doc{a.Name + " is the " + ir.Sanitize(what).String() + ", identical to " + ref.Name + "."}
			b.pkg.Types = append(b.pkg.Types, a)
			ref = ir.Named(a)
		}
		b.defs[name] = ref
	}
	for _, name := range t.PropertyNames() {
		p := t.Properties[name]
		if p == nil {
			continue
		}
		ip := &ir.Property{
			Affordance: b.affordance(td.KindProperty, name, p.Title, p.Titles, p.Description, p.Descriptions, p.Forms, p, p.Extra),
			ReadOnly:   p.IsReadOnly(), WriteOnly: p.IsWriteOnly(), Observable: p.IsObservable(),
		}
		schema := p.DataSchema
		// readOnly/writeOnly at property level describe the affordance, not a member.
		schema.ReadOnly, schema.WriteOnly = nil, nil
		ip.Type = b.root(&schema, ip.GoName, name, "property "+quote(name), false)
		if ip.Type == nil {
			ip.Type = ir.Raw
		}
		if mt := BytesMedia(t, td.KindProperty, name, false); mt != "" {
			ip.Type = ir.Bytes
			ip.Doc = append(ip.Doc, "Its value travels as "+mt+": the bytes as they are.")
		}
		ip.URIVariables = b.uriVariables(p.URIVariables, ip.GoName, name)
		th.Properties = append(th.Properties, ip)
	}
	for _, name := range t.ActionNames() {
		a := t.Actions[name]
		if a == nil {
			continue
		}
		ia := &ir.Action{
			Affordance:  b.affordance(td.KindAction, name, a.Title, a.Titles, a.Description, a.Descriptions, a.Forms, nil, a.Extra),
			Safe:        a.IsSafe(),
			Idempotent:  a.IsIdempotent(),
			Synchronous: a.Synchronous,
		}
		ia.Input = b.root(a.Input, ia.GoName+"Input", "input", "input of action "+quote(name), false)
		ia.Output = b.root(a.Output, ia.GoName+"Output", "output", "output of action "+quote(name), false)
		if mt := BytesMedia(t, td.KindAction, name, false); mt != "" {
			ia.Input = ir.Bytes
			ia.Doc = append(ia.Doc, "Its input travels as "+mt+": the bytes as they are.")
		}
		if mt := BytesMedia(t, td.KindAction, name, true); mt != "" {
			ia.Output = ir.Bytes
			ia.Doc = append(ia.Doc, "Its output travels as "+mt+": the bytes as they are.")
		}
		ia.URIVariables = b.uriVariables(a.URIVariables, ia.GoName, name)
		th.Actions = append(th.Actions, ia)
	}
	for _, name := range t.EventNames() {
		e := t.Events[name]
		if e == nil {
			continue
		}
		ie := &ir.Event{
			Affordance: b.affordance(td.KindEvent, name, e.Title, e.Titles, e.Description, e.Descriptions, e.Forms, nil, e.Extra),
		}
		ie.Data = b.root(e.Data, ie.GoName+"Data", "data", "data of event "+quote(name), false)
		ie.Subscription = b.root(e.Subscription, ie.GoName+"Subscription", "subscription", "subscription of event "+quote(name), false)
		ie.DataResponse = b.root(e.DataResponse, ie.GoName+"DataResponse", "dataResponse", "dataResponse of event "+quote(name), false)
		ie.Cancellation = b.root(e.Cancellation, ie.GoName+"Cancellation", "cancellation", "cancellation of event "+quote(name), false)
		ie.URIVariables = b.uriVariables(e.URIVariables, ie.GoName, name)
		th.Events = append(th.Events, ie)
	}
	th.URIVariables = b.uriVariables(t.URIVariables, th.GoName, "")
	for _, op := range td.OpsOf(td.KindThing) {
		for i := range t.Forms {
			if containsStr(t.Forms[i].Op, op) {
				th.Ops = append(th.Ops, op)
				break
			}
		}
	}
	for i := range t.Forms {
		th.Forms = append(th.Forms, formOf(&t.Forms[i], t.Forms[i].Op))
	}
	for _, ty := range b.pkg.Types {
		if ty.Inexact != "" {
			ty.Doc = ty.Doc.With("Not fully checked by decoding and Validate: " + ty.Inexact + ".")
		}
	}
	return b.pkg, nil
}

type builder struct {
	t        *td.Thing
	n        *naming.Namer
	pkg      *ir.Package
	warnFn   func(string)
	types    *naming.Scope // package-level exported names
	vars     *naming.Scope // package-level unexported names (compiled patterns)
	byPrint  map[string]*ir.Type
	defs     map[string]*ir.TypeRef
	patterns map[string]string // pattern source → var
	affNames map[td.Kind]map[string]string
}

func (b *builder) warn(msg string) {
	b.pkg.Warnings = append(b.pkg.Warnings, msg)
	if b.warnFn != nil {
		b.warnFn(msg)
	}
}

// nameAffordances resolves the Go names of all affordances at once (see naming.Resolve).
func (b *builder) nameAffordances() {
	var entries []naming.Entry
	var kinds []td.Kind
	add := func(k td.Kind, nk naming.Kind, names []string) {
		for _, n := range names {
			entries = append(entries, naming.Entry{Kind: nk, JSON: n, Go: b.n.Exported(n)})
			kinds = append(kinds, k)
		}
	}
	add(td.KindProperty, naming.KindProperty, b.t.PropertyNames())
	add(td.KindAction, naming.KindAction, b.t.ActionNames())
	add(td.KindEvent, naming.KindEvent, b.t.EventNames())
	names := naming.Resolve(entries, reservedAffordance, b.warn)
	// Actions become client methods named after them: they must not equal a derived method name.
	methods := map[string]bool{}
	for _, m := range thingMethods {
		methods[m] = true
	}
	for i, e := range entries {
		switch e.Kind {
		case naming.KindProperty:
			for _, p := range []string{"Read", "Write", "Observe"} {
				methods[p+names[i]] = true
			}
		case naming.KindEvent:
			methods["Subscribe"+names[i]] = true
		}
	}
	taken := map[string]bool{}
	for _, n := range names {
		taken[n] = true
	}
	for i, e := range entries {
		if e.Kind != naming.KindAction || !methods[names[i]] {
			continue
		}
		old := names[i]
		n := old + "Action"
		for k := 2; taken[n]; k++ {
			n = old + "Action" + strconv.Itoa(k)
		}
		taken[n] = true
		names[i] = n
		b.warn(fmt.Sprintf("action %s is named %s in Go: %s would clash with a generated method", quote(e.JSON), n, old))
	}
	b.affNames = map[td.Kind]map[string]string{}
	for i, e := range entries {
		if b.affNames[kinds[i]] == nil {
			b.affNames[kinds[i]] = map[string]string{}
		}
		b.affNames[kinds[i]][e.JSON] = names[i]
	}
}

func (b *builder) affordance(k td.Kind, name, title string, titles td.MultiLanguage, desc string, descs td.MultiLanguage, forms []td.Form, p *td.PropertyAffordance, extra map[string]json.RawMessage) ir.Affordance {
	a := ir.Affordance{
		Name:     name,
		GoName:   b.affNames[k][name],
		Title:    title,
		Doc:      docOf(title, titles, desc, descs),
		Optional: string(extra[markOptional]) == "true",
	}
	if a.Optional {
		a.Doc = append(a.Doc, "Optional in the Thing Model: a Thing made from the model may leave it out, and then answers 404 (wot.IsNotFound).")
	}
	var ops []string
	for i := range forms {
		fo := b.t.FormOps(&forms[i], k, p)
		ops = append(ops, fo...)
		a.Forms = append(a.Forms, formOf(&forms[i], fo))
	}
	for _, op := range td.OpsOf(k) {
		if containsStr(ops, op) {
			a.Ops = append(a.Ops, op)
		}
	}
	if len(forms) > 0 && !b.anySupported(forms) {
		schemes := b.schemesOf(forms)
		a.Unsupported = "Its forms use " + schemes + ", which the standard bindings (HTTP, Web Thing Protocol) do not speak: the method fails unless a binding for it is registered."
		b.warn(fmt.Sprintf("%s %s: no form uses a protocol the standard bindings speak (%s); its methods need another binding", k, quote(name), schemes))
	}
	return a
}

// anySupported reports whether one of forms can be used by a standard binding: the HTTP binding
// (http/https with a media type it converts: JSON, plain text, opaque bytes) or the Web Thing
// Protocol one (ws/wss with its subprotocol). A relative href without base resolves against the TD's own http(s) URL.
// The bindings make the final choice at run time; this only predicts it for documentation.
func (b *builder) anySupported(forms []td.Form) bool {
	for i := range forms {
		f := &forms[i]
		switch scheme := b.schemeOf(f); {
		case f.IsWTP():
			return true
		case scheme == "http" || scheme == "https":
			if httpMediaType(f.ContentType) || (f.Response != nil && httpMediaType(f.Response.ContentType)) {
				return true
			}
		}
	}
	return false
}

// BytesMedia reports whether generated code carries a value of the named property (its
// value) or action (its input, or with output its output) as []byte (ir.Bytes), and returns
// the media type of its body then, else "". That is when the TD gives the value no schema
// and the form the runtime would pick (the first that carries the operation and that a
// standard binding can use) has opaque bytes: image/*, audio/*, video/* or
// application/octet-stream. `wotgen serve` uses it to describe such values in the TD it
// serves.
func BytesMedia(t *td.Thing, k td.Kind, name string, output bool) string {
	b := &builder{t: t}
	switch k {
	case td.KindProperty:
		if p := t.Properties[name]; p != nil && openSchema(&p.DataSchema) {
			return b.bytesMedia(k, p.Forms, p, td.OpReadProperty, true)
		}
	case td.KindAction:
		if a := t.Actions[name]; a != nil && output && a.Output == nil {
			return b.bytesMedia(k, a.Forms, nil, td.OpInvokeAction, true)
		} else if a != nil && !output && a.Input == nil {
			return b.bytesMedia(k, a.Forms, nil, td.OpInvokeAction, false)
		}
	}
	return ""
}

// openSchema reports whether s says nothing about the value's shape.
func openSchema(s *td.DataSchema) bool {
	return s.Type == "" && s.Const == nil && s.Enum == nil && s.OneOf == nil && s.Items == nil && s.Properties == nil &&
		s.Format == "" && s.Pattern == "" && s.ContentEncoding == "" && s.ContentMediaType == ""
}

// bytesMedia is the media type of opaque bytes that op's form carries, as the request
// (response false) or as the answer, or "" when it carries something else.
func (b *builder) bytesMedia(k td.Kind, forms []td.Form, p *td.PropertyAffordance, op string, response bool) string {
	for i := range forms {
		f := &forms[i]
		if !containsStr(b.t.FormOps(f, k, p), op) || !b.anySupported(forms[i:i+1]) {
			continue
		}
		if f.IsWTP() {
			return ""
		}
		ct := f.ContentType
		if response && f.Response != nil && f.Response.ContentType != "" {
			ct = f.Response.ContentType
		}
		if mt := mediaType(ct); isBytesMedia(mt) {
			return mt
		}
		return ""
	}
	return ""
}

// schemeOf is the lower-case URI scheme the form's href resolves to ("http" for a relative href
// without base).
func (b *builder) schemeOf(f *td.Form) string {
	u, err := b.t.ResolveHref(f.Href, &url.URL{Scheme: "http", Host: "localhost", Path: "/"})
	if err != nil {
		return "an invalid href"
	}
	return strings.ToLower(u.Scheme)
}

// schemesOf lists the distinct schemes of forms, for messages ("coap, mqtt"); an http(s)
// form names its media type, the reason the HTTP binding cannot use it ("http with
// multipart/form-data").
func (b *builder) schemesOf(forms []td.Form) string {
	var list []string
	for i := range forms {
		s := b.schemeOf(&forms[i])
		if mt := mediaType(forms[i].ContentType); (s == "http" || s == "https") && mt != "" {
			s += " with " + mt
		}
		if !containsStr(list, s) {
			list = append(list, s)
		}
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}

// httpMediaType reports whether the HTTP binding converts a form content type (with or
// without parameters; empty means the TD default, application/json): JSON (application/json,
// a +json type), text/plain, or opaque bytes (image/*, audio/*, video/*,
// application/octet-stream). runtime/wothttp's media.go makes the final choice.
func httpMediaType(ct string) bool {
	mt := mediaType(ct)
	major, _, _ := strings.Cut(mt, "/")
	return mt == "" || mt == "application/json" || (major == "application" && strings.HasSuffix(mt, "+json")) ||
		mt == "text/plain" || isBytesMedia(mt)
}

// mediaType is ct without parameters, in lower case ("" for none).
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
	return strings.TrimSpace(mt)
}

// isBytesMedia reports whether a media type (from mediaType) is opaque bytes to the HTTP
// binding.
func isBytesMedia(mt string) bool {
	major, _, _ := strings.Cut(mt, "/")
	return major == "image" || major == "audio" || major == "video" || mt == "application/octet-stream"
}

// markOptional is the member gen/tm sets on tm:optional affordances of a model resolved for
// generation (tm.MarkOptional; gen/build does not import gen/tm).
const markOptional = "wotgen:optional"

func formOf(f *td.Form, ops []string) ir.Form {
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	return ir.Form{Href: f.Href, Ops: append([]string(nil), ops...), ContentType: ct, Subprotocol: f.Subprotocol,
		Security: append([]string(nil), f.Security...)}
}

// uriVariables lowers a uriVariables map into a struct of optional members.
func (b *builder) uriVariables(vars map[string]*td.DataSchema, owner, affordance string) *ir.TypeRef {
	if len(vars) == 0 {
		return nil
	}
	s := &td.DataSchema{Type: "object", Properties: vars}
	what := "URI variables of " + quote(affordance)
	if affordance == "" {
		what = "Thing-level URI variables"
		s.Description = "URIVariables are the Thing-level URI template variables."
	}
	return b.root(s, owner+"URIVariables", "uriVariables", what, true)
}

// root lowers the schema of an affordance or definition. A value with checks gets a named type so it
// has a Validate method; forceNamed declares a type even for unconstrained values (definitions).
func (b *builder) root(s *td.DataSchema, name, root, what string, forceNamed bool) *ir.TypeRef {
	if s == nil {
		return nil
	}
	at := len(b.pkg.Types) // a declared root goes before the nested types lowering adds
	l := b.lower(s, name, root, what, 0)
	if l.ref.Kind == ir.RefNamed {
		return b.nullableRef(l)
	}
	if !l.check.Empty() || forceNamed || l.inexact != "" {
		t := &ir.Type{
			Name:       b.types.Claim(name, "type of the "+what),
			Kind:       ir.KindDefined,
			Root:       root,
			Underlying: l.ref,
			Alias:      l.ref.Kind == ir.RefQual || l.ref.Kind == ir.RefPointer,
			Check:      l.check,
			Validate:   !l.check.Empty(),
			Inexact:    l.inexact,
		}
		t.Doc = b.typeDoc(t.Name, s, what)
		b.pkg.Types = append(b.pkg.Types[:at], append([]*ir.Type{t}, b.pkg.Types[at:]...)...)
		l.ref = ir.Named(t)
		l.check = nil
	}
	return b.nullableRef(l)
}

// nullableRef wraps a nullable value in a pointer (slices, maps and json.RawMessage use nil instead).
func (b *builder) nullableRef(l lowered) *ir.TypeRef {
	if l.nullable && !nilable(l.ref) {
		return ir.PointerTo(l.ref)
	}
	return l.ref
}

func nilable(r *ir.TypeRef) bool {
	switch r.Kind {
	case ir.RefSlice, ir.RefMap, ir.RefPointer:
		return true
	case ir.RefQual:
		return r.Path == "encoding/json" && r.Name == "RawMessage"
	case ir.RefNamed:
		if r.Decl != nil && r.Decl.Kind == ir.KindUnion {
			return r.Decl.Nullable // all fields nil is null
		}
		return r.Decl != nil && r.Decl.Kind == ir.KindDefined && r.Decl.Underlying != nil && nilable(r.Decl.Underlying)
	}
	return false
}

// lowered is the Go shape of one schema.
type lowered struct {
	ref      *ir.TypeRef // the value type (never a pointer added for nullability)
	check    *ir.Check   // checks on the value when ref is not a named type with Validate
	nullable bool        // JSON null is valid
	inexact  string      // why decoding + Validate is not equivalent to the schema
}

func (b *builder) lower(s *td.DataSchema, name, root, what string, depth int) lowered {
	if depth > maxDepth {
		b.warn(fmt.Sprintf("%s is nested deeper than %d levels; it is json.RawMessage", what, maxDepth))
		return lowered{ref: ir.Raw, inexact: "nested too deep"}
	}
	if ref, ok := b.tmRef(s, what); ok {
		return b.named(ref)
	}
	nullable := false
	// oneOf with a null alternative, or an enum containing null: a nullable value.
	if len(s.OneOf) > 0 {
		var alts []*td.DataSchema
		for _, a := range s.OneOf {
			if a != nil && a.Type == "null" { // annotations on a null alternative change nothing
				nullable = true
				continue
			}
			if a != nil {
				alts = append(alts, a)
			}
		}
		if nullable && len(alts) == 1 && onlyOneOf(s) {
			inner := *alts[0]
			if inner.Title == "" && inner.Description == "" {
				inner.Title, inner.Description, inner.Titles, inner.Descriptions = s.Title, s.Description, s.Titles, s.Descriptions
			}
			l := b.lower(&inner, name, root, what, depth)
			l.nullable = true
			return l
		}
		if nullable || len(alts) != len(s.OneOf) {
			c := *s
			c.OneOf = alts
			s = &c
		}
	}
	enum := s.Enum
	if len(enum) > 0 {
		var rest []json.RawMessage
		for _, v := range enum {
			if string(bytes.TrimSpace(v)) == "null" {
				nullable = true
				continue
			}
			rest = append(rest, v)
		}
		enum = rest
	}
	typ := s.Type
	if typ == "" {
		typ = inferType(s, enum)
	}
	if typ == "null" {
		return lowered{ref: ir.PointerTo(&ir.TypeRef{Kind: ir.RefEmptyStruct}), nullable: true,
			inexact: "a null schema is *struct{}, which also decodes objects"}
	}
	if len(s.OneOf) > 0 {
		return b.union(s, nullable, name, root, what, depth)
	}
	var l lowered
	switch typ {
	case "boolean":
		l = lowered{ref: ir.Bool, check: constCheck(s, enum, "boolean")}
	case "integer", "number", "string":
		if len(enum) > 0 {
			l = b.enum(s, enum, typ, name, root, what)
		} else {
			l = b.scalar(s, typ, name, what)
		}
	case "array":
		l = b.array(s, name, root, what, depth)
	case "object":
		l = b.object(s, name, root, what, depth)
	default:
		// no type: any JSON value, null included
		l = lowered{ref: ir.Raw, nullable: true}
		if typ != "" {
			b.warn(fmt.Sprintf("%s has the unknown type %q; it is json.RawMessage", what, typ))
			l.inexact = "unknown type " + strconv.Quote(typ)
		} else if len(enum) > 0 || s.Const != nil {
			l.inexact = "enum/const values of mixed or structured JSON types are not checked"
		} else if hasConstraints(s) {
			l.inexact = "constraints without a type are not checked"
		}
	}
	l.nullable = l.nullable || nullable
	if s.Const != nil && l.check == nil && typ != "boolean" && typ != "array" && typ != "object" && l.ref.Kind != ir.RefNamed && constCheck(s, nil, typ) == nil {
		l.inexact = join(l.inexact, "const of a non-scalar type is not checked")
	}
	return l
}

// named returns the lowering of a reference to a declared type.
func (b *builder) named(ref *ir.TypeRef) lowered {
	l := lowered{ref: ref}
	if ref.Kind == ir.RefPointer {
		l.ref, l.nullable = ref.Elem, true
	}
	if l.ref.HasValidate() {
		l.check = &ir.Check{Nested: true}
	}
	if l.ref.Decl != nil {
		l.inexact = l.ref.Decl.Inexact
		if l.ref.Decl.Kind == ir.KindUnion && l.ref.Decl.Nullable {
			l.nullable = true
		}
	}
	return l
}

// tmRef resolves a same-document "tm:ref" to a schema definition ("#/schemaDefinitions/x") that is not
// overridden by sibling members; other references are left to the Thing Model loader.
func (b *builder) tmRef(s *td.DataSchema, what string) (*ir.TypeRef, bool) {
	raw, ok := s.Extra["tm:ref"]
	if !ok {
		return nil, false
	}
	var ref string
	_ = json.Unmarshal(raw, &ref)
	const prefix = "#/schemaDefinitions/"
	if name, ok := strings.CutPrefix(ref, prefix); ok {
		name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
		if r := b.defs[name]; r != nil && isBare(s) {
			return r, true
		}
	}
	b.warn(fmt.Sprintf("%s has an unresolved tm:ref %s; it is typed from its own members", what, quote(ref)))
	return nil, false
}

// isBare reports whether s only has annotations besides its type (no constraints, members or alternatives).
func isBare(s *td.DataSchema) bool {
	return s.Properties == nil && s.Items == nil && s.Enum == nil && s.OneOf == nil && s.Const == nil &&
		!hasConstraints(s) && s.Required == nil && s.Format == ""
}

func onlyOneOf(s *td.DataSchema) bool {
	return s.Type == "" && s.Properties == nil && s.Items == nil && s.Enum == nil && s.Const == nil && !hasConstraints(s)
}

func hasConstraints(s *td.DataSchema) bool {
	return s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil ||
		s.MultipleOf != nil || s.MinLength != nil || s.MaxLength != nil || s.Pattern != "" ||
		s.MinItems != nil || s.MaxItems != nil
}

// inferType guesses the type of a schema without "type" from its members; "" when it cannot.
func inferType(s *td.DataSchema, enum []json.RawMessage) string {
	switch {
	case s.Properties != nil:
		return "object"
	case s.Items != nil:
		return "array"
	case len(enum) > 0:
		k := ""
		for _, v := range enum {
			vk := jsonKind(v)
			if k == "" || k == vk || (k == "integer" && vk == "number") {
				k = vk
			} else if !(k == "number" && vk == "integer") {
				return ""
			}
		}
		if k == "object" || k == "array" {
			return ""
		}
		return k
	case s.Const != nil:
		if k := jsonKind(s.Const); k != "object" && k != "array" && k != "null" {
			return k
		}
	}
	return ""
}

func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(v, ".eE") {
		var f float64
		if json.Unmarshal(v, &f) == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return "integer"
		}
		return "number"
	}
	return "integer"
}

// scalarValue decodes a JSON scalar into the Go literal type used for typ.
func scalarValue(v json.RawMessage, typ string) (any, bool) {
	switch typ {
	case "string":
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return s, true
	case "integer":
		var f float64
		if json.Unmarshal(v, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return nil, false
		}
		return int64(f), true
	case "number":
		var f float64
		if json.Unmarshal(v, &f) != nil {
			return nil, false
		}
		return f, true
	case "boolean":
		var x bool
		if json.Unmarshal(v, &x) != nil {
			return nil, false
		}
		return x, true
	}
	return nil, false
}

// constCheck returns the check for "const" (and a boolean enum); nil when there is nothing to check or
// the value is not a scalar of typ.
func constCheck(s *td.DataSchema, enum []json.RawMessage, typ string) *ir.Check {
	var vals []any
	if s.Const != nil {
		v, ok := scalarValue(s.Const, typ)
		if !ok {
			return nil
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		for _, e := range enum {
			v, ok := scalarValue(e, typ)
			if !ok {
				return nil
			}
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	return &ir.Check{Enum: vals}
}

func (b *builder) scalar(s *td.DataSchema, typ, name, what string) lowered {
	c := &ir.Check{}
	l := lowered{}
	switch typ {
	case "string":
		l.ref = ir.String
		if s.Format == "date-time" && s.MinLength == nil && s.MaxLength == nil && s.Pattern == "" && s.Const == nil {
			l.ref = ir.Time
		}
		// Binary data in JSON (JSON Schema contentEncoding, RFC 4648 base64): encoding/json
		// carries []byte the same way, so the Go value is the bytes themselves. Length and
		// pattern constraints speak of the base64 text: with them it stays a string.
		if strings.EqualFold(s.ContentEncoding, "base64") && s.MinLength == nil && s.MaxLength == nil && s.Pattern == "" && s.Const == nil && s.Format == "" {
			l.ref = ir.Bytes
		}
		c.MinLength, c.MaxLength = s.MinLength, s.MaxLength
		if s.Pattern != "" {
			if _, err := regexp.Compile(s.Pattern); err != nil {
				b.warn(fmt.Sprintf("%s: the pattern %s is not supported by Go's regexp (%v); Validate does not check it",
					what, quote(s.Pattern), err))
				l.inexact = "pattern not checked"
			} else {
				c.Pattern = s.Pattern
				c.PatternVar = b.patternVar(s.Pattern, name)
			}
		}
	case "integer":
		l.ref = ir.Int64
		b.numeric(s, c)
	case "number":
		l.ref = ir.Float64
		b.numeric(s, c)
	}
	if cc := constCheck(s, nil, typ); cc != nil {
		c.Enum = cc.Enum
	}
	if !c.Empty() {
		l.check = c
	}
	return l
}

func (b *builder) numeric(s *td.DataSchema, c *ir.Check) {
	c.Minimum, c.Maximum = s.Minimum, s.Maximum
	c.ExclusiveMinimum, c.ExclusiveMaximum = s.ExclusiveMinimum, s.ExclusiveMaximum
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		c.MultipleOf = s.MultipleOf
	}
}

func (b *builder) patternVar(src, owner string) string {
	if v, ok := b.patterns[src]; ok {
		return v
	}
	v := b.vars.Claim("pattern"+owner, "")
	b.patterns[src] = v
	return v
}

// enum declares a named type with one constant per value.
func (b *builder) enum(s *td.DataSchema, enum []json.RawMessage, typ, name, root, what string) lowered {
	fp := fingerprint(s, "enum")
	if t, ok := b.byPrint[fp]; ok {
		return b.named(ir.Named(t))
	}
	under := map[string]*ir.TypeRef{"string": ir.String, "integer": ir.Int64, "number": ir.Float64}[typ]
	t := &ir.Type{Name: b.types.Claim(name, "type of the "+what), Kind: ir.KindEnum, Root: root, Underlying: under, Validate: true}
	t.Doc = b.typeDoc(t.Name, s, what)
	b.byPrint[fp] = t
	b.pkg.Types = append(b.pkg.Types, t)
	var entries []naming.Entry
	var vals []any
	for _, raw := range enum {
		v, ok := scalarValue(raw, typ)
		if !ok {
			b.warn(fmt.Sprintf("%s: the enum value %s is not a %s; it is left out", what, quote(string(raw)), typ))
			t.Inexact = "enum values of other types are left out"
			continue
		}
		if containsAny(vals, v) {
			continue
		}
		vals = append(vals, v)
		entries = append(entries, naming.Entry{Kind: naming.KindConst, JSON: fmt.Sprint(v), Go: t.Name + constSuffix(b.n, v)})
	}
	names := naming.Resolve(entries, nil, nil)
	for i, v := range vals {
		cn := b.types.Claim(names[i], "constant for "+quote(fmt.Sprint(v))+" of the "+what)
		lit := v
		if sv, ok := v.(string); ok {
			lit = strconv.Quote(sv)
		}
		t.Consts = append(t.Consts, &ir.Const{Name: cn, Value: v, Doc: ir.Doc{fmt.Sprintf("%s is %v.", cn, lit)}})
	}
	c := &ir.Check{}
	switch typ {
	case "string":
		// enum members already satisfy or break the string constraints; the enum check decides
	default:
		b.numeric(s, c)
	}
	if cc := constCheck(s, nil, typ); cc != nil {
		c.Enum = cc.Enum // enum and const together: only the const value is valid
	}
	if !c.Empty() {
		t.Check = c
	}
	return lowered{ref: ir.Named(t), check: &ir.Check{Nested: true}}
}

func containsAny(vals []any, v any) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// constSuffix names an enum value: words of a string, "Minus1"/"N2_5" for numbers.
func constSuffix(n *naming.Namer, v any) string {
	var s string
	switch x := v.(type) {
	case string:
		if x == "" {
			return "Empty"
		}
		s = n.Exported(x)
		// the type name prefix makes a leading digit legal: drop the "N"/"X" guard
		if len(s) > 1 && (s[0] == 'N' && unicode.IsDigit(rune(s[1]))) {
			s = s[1:]
		}
		return s
	case int64:
		if x < 0 {
			return "Minus" + strconv.FormatInt(-x, 10)
		}
		return strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
		s = strings.NewReplacer(".", "_", "+", "").Replace(s)
		if x < 0 {
			return "Minus" + s
		}
		return s
	}
	return "Value"
}

func (b *builder) array(s *td.DataSchema, name, root, what string, depth int) lowered {
	c := &ir.Check{MinItems: s.MinItems, MaxItems: s.MaxItems}
	l := lowered{}
	switch {
	case s.Items == nil || (s.Items.Schema == nil && s.Items.Tuple == nil):
		l.ref = ir.SliceOf(ir.Raw)
	case s.Items.Schema != nil:
		el := b.lower(s.Items.Schema, name+"Item", root, "items of the "+what, depth+1)
		ref := el.ref
		if el.nullable && !nilable(ref) {
			ref = ir.PointerTo(ref)
		}
		l.ref = ir.SliceOf(ref)
		if !el.check.Empty() {
			c.Items = el.check
		}
		l.inexact = el.inexact
	default:
		l.ref = ir.SliceOf(ir.Raw)
		l.inexact = "tuple items are not typed"
	}
	if s.Const != nil || len(s.Enum) > 0 {
		l.inexact = join(l.inexact, "enum/const of arrays are not checked")
	}
	if !c.Empty() {
		l.check = c
	}
	return l
}

// object declares a struct for an object schema with members; a schema without members is a map.
func (b *builder) object(s *td.DataSchema, name, root, what string, depth int) lowered {
	if len(s.Properties) == 0 {
		l := lowered{ref: ir.MapOf(ir.Raw)}
		if len(s.Required) > 0 {
			l.inexact = "required members of an object without properties are not checked"
		}
		if s.Const != nil || len(s.Enum) > 0 {
			l.inexact = join(l.inexact, "enum/const of objects are not checked")
		}
		return l
	}
	fp := fingerprint(s, "object")
	if t, ok := b.byPrint[fp]; ok {
		return b.named(ir.Named(t))
	}
	t := &ir.Type{Name: b.types.Claim(name, "type of the "+what), Kind: ir.KindStruct, Root: root}
	t.Doc = b.typeDoc(t.Name, s, what)
	b.byPrint[fp] = t
	b.pkg.Types = append(b.pkg.Types, t)
	if s.Const != nil || len(s.Enum) > 0 {
		t.Inexact = "enum/const of objects are not checked"
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	var entries []naming.Entry
	var members []string
	for _, m := range sortedKeys(s.Properties) {
		if s.Properties[m] == nil {
			continue
		}
		if !validTag(m) {
			b.warn(fmt.Sprintf("%s: the member %s cannot be a Go struct field (encoding/json tags cannot spell it); it is left out", what, quote(m)))
			t.Inexact = join(t.Inexact, "members with unusual names are left out")
			continue
		}
		members = append(members, m)
		entries = append(entries, naming.Entry{Kind: naming.KindMember, JSON: m, Go: b.n.Exported(m)})
	}
	goNames := naming.Resolve(entries, map[string]bool{"Validate": true, "MarshalJSON": true, "UnmarshalJSON": true}, func(msg string) {
		b.warn(what + ": " + msg)
	})
	for i, m := range members {
		ms := s.Properties[m]
		el := b.lower(ms, t.Name+goNames[i], root+"."+m, "member "+quote(m)+" of the "+what, depth+1)
		f := &ir.Field{
			Name:      goNames[i],
			JSON:      m,
			ReadOnly:  ms.ReadOnly != nil && *ms.ReadOnly,
			WriteOnly: ms.WriteOnly != nil && *ms.WriteOnly,
			Nullable:  el.nullable,
		}
		f.Doc = b.memberDoc(f, ms)
		f.Required = required[m] && !f.ReadOnly && !f.WriteOnly
		if required[m] && !f.Required {
			t.Inexact = join(t.Inexact, "required readOnly/writeOnly members are optional in Go")
		}
		ref := el.ref
		if (!f.Required || f.Nullable) && !nilable(ref) {
			ref = ir.PointerTo(ref)
		}
		f.Type = ref
		f.OmitZero = !f.Required
		if !el.check.Empty() {
			f.Check = el.check
			t.Validate = true
		}
		t.Inexact = join(t.Inexact, el.inexact)
		t.Fields = append(t.Fields, f)
	}
	for _, r := range s.Required {
		ms, ok := s.Properties[r]
		switch {
		case !ok || ms == nil || !validTag(r):
			b.warn(fmt.Sprintf("%s: the required member %s has no schema in properties; decoding requires it, but the Go type cannot carry it", what, quote(r)))
			t.Inexact = join(t.Inexact, "a required member is not among the properties")
			t.Required = append(t.Required, r)
		case (ms.ReadOnly != nil && *ms.ReadOnly) || (ms.WriteOnly != nil && *ms.WriteOnly):
		default:
			t.Required = append(t.Required, r)
		}
	}
	sort.Strings(t.Required)
	t.Required = dedupe(t.Required)
	t.DecodeCheck = len(t.Fields) > 0 || len(t.Required) > 0
	return b.named(ir.Named(t))
}

// union declares a sum type when every alternative has a different JSON kind; otherwise the value is
// json.RawMessage.
func (b *builder) union(s *td.DataSchema, nullable bool, name, root, what string, depth int) lowered {
	if len(s.OneOf) == 0 {
		return lowered{ref: ir.Raw, nullable: true}
	}
	kinds := map[string]bool{}
	var altKinds []string
	distinct := true
	for _, a := range s.OneOf {
		k := a.Type
		if k == "" {
			k = inferType(a, a.Enum)
		}
		if k == "integer" && kinds["number"] || k == "number" && kinds["integer"] {
			distinct = false
		}
		if k == "" || k == "null" || kinds[k] || len(a.OneOf) > 0 {
			distinct = false
		}
		kinds[k] = true
		altKinds = append(altKinds, k)
	}
	if !distinct {
		b.warn(fmt.Sprintf("%s: the oneOf alternatives are not told apart by their JSON type; it is json.RawMessage", what))
		return lowered{ref: ir.Raw, inexact: "it is json.RawMessage because the oneOf alternatives cannot be told apart by their JSON type"}
	}
	fp := fingerprint(s, "union"+strconv.FormatBool(nullable))
	if t, ok := b.byPrint[fp]; ok {
		return b.named(ir.Named(t))
	}
	t := &ir.Type{Name: b.types.Claim(name, "type of the "+what), Kind: ir.KindUnion, Root: root, Validate: true, Nullable: nullable}
	t.Doc = b.typeDoc(t.Name, s, what).With("Exactly one field is set; it decides the JSON form of the value.")
	b.byPrint[fp] = t
	b.pkg.Types = append(b.pkg.Types, t)
	for i, a := range s.OneOf {
		vn := b.n.Exported(altKinds[i])
		el := b.lower(a, t.Name+vn, root, "alternative "+strconv.Itoa(i+1)+" of the "+what, depth+1)
		v := &ir.Variant{Name: vn, JSONKind: altKinds[i], Type: el.ref, Check: el.check}
		if v.Check.Empty() {
			v.Check = nil
		}
		v.Doc = docOf(a.Title, a.Titles, a.Description, a.Descriptions).Prefixed(vn, "is set when the value is a JSON "+altKinds[i]+".")
		if el.nullable {
			t.Inexact = join(t.Inexact, "a nullable alternative of a oneOf is not supported")
		}
		t.Inexact = join(t.Inexact, el.inexact)
		t.Variants = append(t.Variants, v)
	}
	return b.named(ir.Named(t))
}

func dedupe(sorted []string) []string {
	var out []string
	for i, s := range sorted {
		if i == 0 || sorted[i-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || strings.Contains(a, b):
		return a
	}
	return a + "; " + b
}

// fingerprint identifies a schema for de-duplication: identical JSON (annotations included) gives the
// same Go type.
func fingerprint(s *td.DataSchema, kind string) string {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%p", s)
	}
	return kind + string(raw)
}

// validTag reports whether encoding/json can use name as a struct tag key.
func validTag(name string) bool {
	if name == "" || name == "-" {
		return false
	}
	for _, c := range name {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// docOf picks the comment text: title/description in the default language, else English, else the
// first language in sorted order.
func docOf(title string, titles td.MultiLanguage, desc string, descs td.MultiLanguage) ir.Doc {
	if title == "" {
		title = pickLang(titles)
	}
	if desc == "" {
		desc = pickLang(descs)
	}
	text := strings.TrimSpace(title)
	if d := strings.TrimSpace(desc); d != "" && d != text {
		if text != "" {
			text += "\n\n"
		}
		text += d
	}
	return ir.Sanitize(text)
}

func pickLang(m td.MultiLanguage) string {
	if v, ok := m["en"]; ok {
		return v
	}
	keys := sortedKeys(m)
	if len(keys) > 0 {
		return m[keys[0]]
	}
	return ""
}

func (b *builder) typeDoc(name string, s *td.DataSchema, what string) ir.Doc {
	title := s.Title
	if strings.EqualFold(strings.ReplaceAll(title, " ", ""), name) {
		title = "" // "Brightness" says nothing new about type Brightness
	}
	d := ir.Doc{name + " is the " + ir.Sanitize(what).String() + "."}
	if text := docOf(title, s.Titles, s.Description, s.Descriptions); len(text) > 0 {
		d = append(append(d, ""), text...)
	}
	if n := notes(s); len(n) > 0 {
		d = append(append(d, ""), ir.Sanitize(strings.Join(n, " "))...)
	}
	return d
}

func (b *builder) memberDoc(f *ir.Field, s *td.DataSchema) ir.Doc {
	d := docOf(s.Title, s.Titles, s.Description, s.Descriptions)
	var extra []string
	if f.ReadOnly {
		extra = append(extra, "Read-only: sent by the Thing, never needed in a write.")
	}
	if f.WriteOnly {
		extra = append(extra, "Write-only: never returned by the Thing.")
	}
	extra = append(extra, notes(s)...)
	if len(d) == 0 && len(extra) == 0 {
		return nil
	}
	if len(d) == 0 {
		return ir.Sanitize(strings.Join(extra, " "))
	}
	return d.With(strings.Join(extra, " "))
}

// notes lists unit, default, format and content encoding for doc comments.
func notes(s *td.DataSchema) []string {
	var out []string
	if s.Unit != "" {
		out = append(out, "Unit: "+s.Unit+".")
	}
	if s.Format != "" {
		out = append(out, "Format: "+s.Format+".")
	}
	if s.ContentEncoding != "" || s.ContentMediaType != "" {
		out = append(out, strings.TrimSpace("Content: "+s.ContentMediaType+" "+s.ContentEncoding)+".")
	}
	if s.Default != nil {
		d := string(bytes.TrimSpace(s.Default))
		if len(d) > 200 {
			d = d[:200] + "…"
		}
		out = append(out, "Default: "+d+".")
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func quote(s string) string {
	if len([]rune(s)) > 60 {
		s = string([]rune(s)[:60]) + "…"
	}
	return strconv.QuoteToGraphic(s)
}
