// Package ir is the emission-ready model of one generated package: every Go name, type, operation and
// check is decided here (by gen/build), every slice is sorted, and the emitters only print.
//
// The model is stdlib-only and holds no pointers back into the TD document.
package ir

// Package is everything generated for one Thing Description.
type Package struct {
	Name     string // Go package name
	Source   string // "// Source:" line (slash-separated, as given)
	FileBase string // snake-case stem of the generated files ("smart_lamp" → smart_lamp_types_gen.go)
	Thing    *Thing
	// Types are the named declarations in emission order: schemaDefinitions (sorted), then the types
	// of properties, actions and events (each sorted by JSON name; per affordance its URI variables
	// last), then the Thing-level URI variables; nested types follow the type that introduced them.
	Types []*Type
	// Warnings collected while building (renames, skipped patterns, untyped schemas), sorted.
	Warnings []string
}

// Thing is the TD root.
type Thing struct {
	Title  string
	Doc    Doc
	GoName string // Pascal-case name from the title ("Smart Lamp" → SmartLamp)
	ID     string
	// Version10 is set for TD 1.0 documents (their defaults were applied).
	Version10  bool
	Properties []*Property // sorted by JSON name
	Actions    []*Action   // sorted by JSON name
	Events     []*Event    // sorted by JSON name
	// Ops are the Thing-level (meta) operations offered by the root forms, in td.OpsOf(KindThing) order.
	Ops   []string
	Forms []Form
	// URIVariables is the type of the Thing-level uriVariables (nil when none).
	URIVariables *TypeRef
}

// HasOp reports whether the Thing-level forms offer op.
func (t *Thing) HasOp(op string) bool { return contains(t.Ops, op) }

// Form is one form with its operations resolved (defaults applied).
type Form struct {
	Href        string
	Ops         []string
	ContentType string
	Subprotocol string
	Security    []string
}

// Affordance holds what every interaction affordance has.
type Affordance struct {
	Name   string // JSON name (the map key in the TD)
	GoName string // resolved Go name, unique among all affordances of the Thing
	Title  string
	Doc    Doc
	// Ops are the operations the forms allow (explicit op, else the TD 1.1 / 1.0 defaults), de-duplicated,
	// in the order of td.OpsOf for the affordance kind.
	Ops   []string
	Forms []Form
	// URIVariables is the struct type of the affordance's uriVariables (nil when none).
	URIVariables *TypeRef
	// Optional marks a tm:optional affordance of a Thing Model: instances may lack it.
	Optional bool
	// Unsupported is a sentence for the doc comments of the affordance's methods when none of
	// its forms uses a protocol the standard bindings speak ("" when one does).
	Unsupported string
}

// HasOp reports whether the forms allow op.
func (a *Affordance) HasOp(op string) bool { return contains(a.Ops, op) }

// Property is a property affordance.
type Property struct {
	Affordance
	// Type is the Go type of the property value (never nil: a property without schema is json.RawMessage).
	Type       *TypeRef
	ReadOnly   bool
	WriteOnly  bool
	Observable bool
}

// Action is an action affordance.
type Action struct {
	Affordance
	Input      *TypeRef // nil: the action takes no input
	Output     *TypeRef // nil: the action returns no output
	Safe       bool
	Idempotent bool
	// Synchronous is nil when the TD does not say.
	Synchronous *bool
}

// Event is an event affordance.
type Event struct {
	Affordance
	Data         *TypeRef // nil: the event carries no data
	Subscription *TypeRef
	DataResponse *TypeRef
	Cancellation *TypeRef
}

// RefKind says what a TypeRef is.
type RefKind int

// Kinds of type references.
const (
	RefBuiltin     RefKind = iota // Name is a predeclared type: bool, int64, float64, string, any
	RefNamed                      // Name is a Type declared in this package
	RefQual                       // Path.Name from another package (time.Time, encoding/json.RawMessage)
	RefSlice                      // []Elem
	RefMap                        // map[string]Elem
	RefPointer                    // *Elem
	RefEmptyStruct                // struct{}
)

// TypeRef is a Go type expression.
type TypeRef struct {
	Kind RefKind
	Name string
	Path string // import path for RefQual
	Elem *TypeRef
	// Decl is the declaration for RefNamed.
	Decl *Type `json:"-"`
}

// Common type references.
var (
	Bool    = &TypeRef{Kind: RefBuiltin, Name: "bool"}
	Int64   = &TypeRef{Kind: RefBuiltin, Name: "int64"}
	Float64 = &TypeRef{Kind: RefBuiltin, Name: "float64"}
	String  = &TypeRef{Kind: RefBuiltin, Name: "string"}
	Time    = &TypeRef{Kind: RefQual, Path: "time", Name: "Time"}
	Raw     = &TypeRef{Kind: RefQual, Path: "encoding/json", Name: "RawMessage"}
	// Bytes is the value of an affordance whose forms carry opaque bytes (an image, a
	// recording) and whose TD gives no schema: encoding/json carries []byte as a base64
	// string, which is how the runtime's HTTP binding stands for such a body.
	Bytes = SliceOf(&TypeRef{Kind: RefBuiltin, Name: "byte"})
)

// Named returns a reference to a declared type.
func Named(t *Type) *TypeRef { return &TypeRef{Kind: RefNamed, Name: t.Name, Decl: t} }

// SliceOf returns []elem.
func SliceOf(elem *TypeRef) *TypeRef { return &TypeRef{Kind: RefSlice, Elem: elem} }

// MapOf returns map[string]elem.
func MapOf(elem *TypeRef) *TypeRef { return &TypeRef{Kind: RefMap, Elem: elem} }

// PointerTo returns *elem.
func PointerTo(elem *TypeRef) *TypeRef { return &TypeRef{Kind: RefPointer, Elem: elem} }

// String renders the reference as Go source (package-qualified by the last path element).
func (r *TypeRef) String() string {
	switch r.Kind {
	case RefSlice:
		return "[]" + r.Elem.String()
	case RefMap:
		return "map[string]" + r.Elem.String()
	case RefPointer:
		return "*" + r.Elem.String()
	case RefEmptyStruct:
		return "struct{}"
	case RefQual:
		p := r.Path
		for i := len(p) - 1; i >= 0; i-- {
			if p[i] == '/' {
				p = p[i+1:]
				break
			}
		}
		return p + "." + r.Name
	}
	return r.Name
}

// HasValidate reports whether values of this type have a Validate method (named types with checks).
func (r *TypeRef) HasValidate() bool { return r.Kind == RefNamed && r.Decl != nil && r.Decl.Validate }

// NeedsValidate is HasValidate through a pointer: a value of type r (nil pointers excepted) must pass
// Validate before it is sent or handed to a handler.
func (r *TypeRef) NeedsValidate() bool {
	if r == nil {
		return false
	}
	if r.Kind == RefPointer {
		return r.Elem.HasValidate()
	}
	return r.HasValidate()
}

// IsPointer reports whether r is a pointer type (optional or nullable values).
func (r *TypeRef) IsPointer() bool { return r != nil && r.Kind == RefPointer }

// TypeKind says how a declared type is shaped.
type TypeKind int

// Kinds of declared types.
const (
	KindStruct  TypeKind = iota // Fields
	KindDefined                 // type X <Underlying> (scalars, slices, maps, json.RawMessage) with Check
	KindEnum                    // type X <Underlying> plus Consts
	KindUnion                   // struct with one pointer per Variant, custom JSON methods
)

// Type is a named Go declaration.
type Type struct {
	Name string
	Kind TypeKind
	Doc  Doc
	// Root is the name used at the start of validation error paths ("input", a property name, …).
	Root string
	// Underlying is the Go type behind KindDefined and KindEnum.
	Underlying *TypeRef
	// Alias (KindDefined): declare "type X = Underlying" so X keeps the methods of a type from another
	// package (time.Time, json.RawMessage); an alias never has checks.
	Alias    bool
	Fields   []*Field   // KindStruct, in sorted JSON-name order
	Consts   []*Const   // KindEnum, in the order of the TD enum
	Variants []*Variant // KindUnion, in the order of the TD oneOf
	// Nullable (unions): JSON null is one of the alternatives; all variants nil means null.
	Nullable bool
	// Check holds the constraints on the value itself (KindDefined); nil when none.
	Check *Check
	// Validate is set when the type gets a Validate method (it or something inside it has checks).
	Validate bool
	// Required (structs) lists the JSON members decoding insists on (sorted): "required" minus
	// readOnly/writeOnly members.
	Required []string
	// DecodeCheck (structs): generate UnmarshalJSON that rejects a missing required member or a null
	// for a member that cannot be null.
	DecodeCheck bool
	// Inexact says why Validate (together with decoding) is not equivalent to the schema; "" = exact.
	Inexact string
}

// Field is a struct member.
type Field struct {
	Name     string // Go name
	JSON     string // JSON member name
	Doc      Doc
	Type     *TypeRef // includes the pointer for optional and nullable members
	Required bool     // listed in "required" and not readOnly/writeOnly
	Nullable bool     // JSON null is a valid value
	// OmitZero: the member is optional; the tag carries omitzero and nil means absent.
	OmitZero  bool
	ReadOnly  bool
	WriteOnly bool
	// Check holds the constraints on the member's value (after dereferencing a pointer); nil when none.
	Check *Check
}

// Tag returns the struct tag value for the field's json key.
func (f *Field) Tag() string {
	if f.OmitZero {
		return f.JSON + ",omitzero"
	}
	return f.JSON
}

// Const is one enum constant.
type Const struct {
	Name string
	Doc  Doc
	// Value is the Go literal value: string, int64, float64 or bool.
	Value any
}

// Variant is one alternative of a union.
type Variant struct {
	Name string // Go field name
	Doc  Doc
	// JSONKind is the JSON kind that selects this variant: "string", "number", "integer", "boolean",
	// "object" or "array".
	JSONKind string
	Type     *TypeRef // the variant's value type (without the pointer)
	Check    *Check
}

// Check lists the constraints on one value; the emitter turns them into statements. A nil *Check has
// nothing to check. Numbers compare as float64 unless the value is an integer and the bound integral.
type Check struct {
	Minimum, Maximum                   *float64
	ExclusiveMinimum, ExclusiveMaximum *float64
	MultipleOf                         *float64
	MinLength, MaxLength               *int
	// Pattern is the regular expression source; PatternVar the package-level *regexp.Regexp that holds
	// it compiled once.
	Pattern    string
	PatternVar string
	MinItems   *int
	MaxItems   *int
	// Items checks every element of a slice.
	Items *Check
	// Enum lists the allowed scalar values (string, int64, float64, bool) for values that are not a
	// named enum type (e.g. const on a member).
	Enum []any
	// Nested: the value has a Validate method; call its validate(path).
	Nested bool
}

// Empty reports whether c checks nothing.
func (c *Check) Empty() bool {
	if c == nil {
		return true
	}
	return c.Minimum == nil && c.Maximum == nil && c.ExclusiveMinimum == nil && c.ExclusiveMaximum == nil &&
		c.MultipleOf == nil && c.MinLength == nil && c.MaxLength == nil && c.Pattern == "" &&
		c.MinItems == nil && c.MaxItems == nil && c.Items.Empty() && len(c.Enum) == 0 && !c.Nested
}

// Pattern is a package-level compiled regular expression.
type Pattern struct {
	Var    string
	Source string
}

// Patterns returns every compiled pattern used by the package's checks, in declaration order.
func (p *Package) Patterns() []Pattern {
	var out []Pattern
	seen := map[string]bool{}
	var walk func(c *Check)
	walk = func(c *Check) {
		if c == nil {
			return
		}
		if c.PatternVar != "" && !seen[c.PatternVar] {
			seen[c.PatternVar] = true
			out = append(out, Pattern{Var: c.PatternVar, Source: c.Pattern})
		}
		walk(c.Items)
	}
	for _, t := range p.Types {
		walk(t.Check)
		for _, f := range t.Fields {
			walk(f.Check)
		}
		for _, v := range t.Variants {
			walk(v.Check)
		}
	}
	return out
}

// Doc is a sanitised doc comment: lines of plain text that cannot end or break a Go comment
// (see Sanitize). Empty means no comment.
type Doc []string

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
