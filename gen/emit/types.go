package emit

import (
	"math"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/wotgen/wotgen/gen/ir"
)

const pathErrors = "errors"

// TypesFileName returns the name of the types file of p.
func TypesFileName(p *ir.Package) string { return p.FileBase + "_types_gen.go" }

// Types prints the data types of p with their Validate and JSON methods.
func Types(p *ir.Package) (File, error) {
	f := newFile(p)
	f.ImportName(pathErrors, "errors")
	genPatterns(f, p)
	for _, t := range p.Types {
		genType(f, t)
	}
	return render(TypesFileName(p), f)
}

func genPatterns(f *jen.File, p *ir.Package) {
	pats := p.Patterns()
	if len(pats) == 0 {
		return
	}
	f.Comment("// Patterns from the schemas, compiled once.")
	f.Var().DefsFunc(func(g *jen.Group) {
		for _, pt := range pats {
			g.Id(pt.Var).Op("=").Qual(pathRegexp, "MustCompile").Call(jen.Lit(pt.Source))
		}
	})
}

func genType(f *jen.File, t *ir.Type) {
	switch t.Kind {
	case ir.KindStruct:
		genStruct(f, t)
		genStructUnmarshal(f, t)
	case ir.KindDefined:
		genDefined(f, t)
	case ir.KindEnum:
		genEnum(f, t)
	case ir.KindUnion:
		genUnion(f, t)
		genUnionJSON(f, t)
	}
	if t.Validate {
		genValidate(f, t)
	}
}

func genStruct(f *jen.File, t *ir.Type) {
	f.Add(comment(t.Doc).Type().Id(t.Name).StructFunc(func(g *jen.Group) {
		for i, fl := range t.Fields {
			if i > 0 && len(fl.Doc) > 0 {
				g.Line()
			}
			g.Add(comment(fl.Doc)).Id(fl.Name).Add(typeRef(fl.Type)).Tag(map[string]string{"json": fl.Tag()})
		}
	}))
}

// genStructUnmarshal rejects what encoding/json would silently accept: missing required members and
// nulls for members that cannot be null.
func genStructUnmarshal(f *jen.File, t *ir.Type) {
	if !t.DecodeCheck {
		return
	}
	var required, nonNull []jen.Code
	for _, r := range t.Required {
		required = append(required, jen.Lit(r))
	}
	for _, fl := range t.Fields {
		if !fl.Nullable {
			nonNull = append(nonNull, jen.Lit(fl.JSON))
		}
	}
	list := func(items []jen.Code) jen.Code {
		if len(items) == 0 {
			return jen.Nil()
		}
		return jen.Index().String().Values(items...)
	}
	f.Comment("// UnmarshalJSON decodes a JSON object and rejects a missing required member or a null member the")
	f.Comment("// schema does not allow.")
	f.Func().Params(jen.Id("v").Op("*").Id(t.Name)).Id("UnmarshalJSON").Params(jen.Id("data").Index().Byte()).Error().Block(
		jen.If(
			jen.Err().Op(":=").Qual(pathSchema, "CheckObject").Call(jen.Id("data"), list(required), list(nonNull)),
			jen.Err().Op("!=").Nil(),
		).Block(jen.Return(jen.Err())),
		jen.Type().Id("plain").Id(t.Name),
		jen.Return(jen.Qual(pathJSON, "Unmarshal").Call(jen.Id("data"), jen.Parens(jen.Op("*").Id("plain")).Parens(jen.Id("v")))),
	)
}

func genDefined(f *jen.File, t *ir.Type) {
	if t.Alias {
		f.Add(comment(t.Doc).Type().Id(t.Name).Op("=").Add(typeRef(t.Underlying)))
		return
	}
	f.Add(comment(t.Doc).Type().Id(t.Name).Add(typeRef(t.Underlying)))
}

func genEnum(f *jen.File, t *ir.Type) {
	f.Add(comment(t.Doc).Type().Id(t.Name).Add(typeRef(t.Underlying)))
	if len(t.Consts) == 0 {
		return
	}
	f.Comment("// Values of " + t.Name + ".")
	f.Const().DefsFunc(func(g *jen.Group) {
		for _, c := range t.Consts {
			g.Add(comment(c.Doc)).Id(c.Name).Id(t.Name).Op("=").Add(literal(c.Value))
		}
	})
}

func genUnion(f *jen.File, t *ir.Type) {
	f.Add(comment(t.Doc).Type().Id(t.Name).StructFunc(func(g *jen.Group) {
		for _, v := range t.Variants {
			g.Add(comment(v.Doc)).Id(v.Name).Op("*").Add(typeRef(v.Type))
		}
	}))
}

func jsonKindOf(k string) string {
	if k == "integer" {
		return "number"
	}
	return k
}

func genUnionJSON(f *jen.File, t *ir.Type) {
	// MarshalJSON
	f.Comment("// MarshalJSON encodes the field that is set.")
	f.Func().Params(jen.Id("v").Id(t.Name)).Id("MarshalJSON").Params().Params(jen.Index().Byte(), jen.Error()).BlockFunc(func(g *jen.Group) {
		g.Switch().BlockFunc(func(g *jen.Group) {
			for _, v := range t.Variants {
				g.Case(jen.Id("v").Dot(v.Name).Op("!=").Nil()).Block(
					jen.Return(jen.Qual(pathJSON, "Marshal").Call(jen.Id("v").Dot(v.Name))),
				)
			}
		})
		if t.Nullable {
			g.Return(jen.Index().Byte().Call(jen.Lit("null")), jen.Nil())
		} else {
			g.Return(jen.Nil(), jen.Qual(pathErrors, "New").Call(jen.Lit("no field of "+t.Name+" is set")))
		}
	})
	// UnmarshalJSON
	want := ""
	for i, v := range t.Variants {
		if i > 0 {
			want += " or "
		}
		want += jsonKindOf(v.JSONKind)
	}
	if t.Nullable {
		want += " or null"
	}
	f.Comment("// UnmarshalJSON sets the field that matches the JSON type of the value.")
	f.Func().Params(jen.Id("v").Op("*").Id(t.Name)).Id("UnmarshalJSON").Params(jen.Id("data").Index().Byte()).Error().BlockFunc(func(g *jen.Group) {
		g.Op("*").Id("v").Op("=").Id(t.Name).Values()
		g.Switch(jen.Qual(pathSchema, "KindOf").Call(jen.Id("data"))).BlockFunc(func(g *jen.Group) {
			for _, v := range t.Variants {
				g.Case(jen.Lit(jsonKindOf(v.JSONKind))).Block(
					jen.Id("v").Dot(v.Name).Op("=").New(typeRef(v.Type)),
					jen.Return(jen.Qual(pathJSON, "Unmarshal").Call(jen.Id("data"), jen.Id("v").Dot(v.Name))),
				)
			}
			if t.Nullable {
				g.Case(jen.Lit("null")).Block(jen.Return(jen.Nil()))
			}
		})
		g.Return(jen.Qual(pathErrors, "New").Call(jen.Lit("want a JSON " + want)))
	})
}

// genValidate prints Validate (the documented entry point) and validate(path) (used by enclosing types).
func genValidate(f *jen.File, t *ir.Type) {
	f.Comment("// Validate reports the first value that breaks the schema; the error names its path.")
	f.Func().Params(jen.Id("v").Id(t.Name)).Id("Validate").Params().Error().Block(
		jen.Return(jen.Id("v").Dot("validate").Call(jen.Lit(t.Root))),
	)
	path := func() *jen.Statement { return jen.Id("path") }
	f.Comment("// validate is Validate for a value at path inside an enclosing value.")
	f.Func().Params(jen.Id("v").Id(t.Name)).Id("validate").Params(jen.Id("path").String()).Error().BlockFunc(func(g *jen.Group) {
		switch t.Kind {
		case ir.KindStruct:
			for _, fl := range t.Fields {
				if fl.Check.Empty() {
					continue
				}
				fp := func() *jen.Statement { return jen.Id("path").Op("+").Lit("." + fl.JSON) }
				recv := func() *jen.Statement { return jen.Id("v").Dot(fl.Name) }
				if fl.Type.Kind == ir.RefPointer {
					val := func() *jen.Statement { return jen.Op("*").Id("v").Dot(fl.Name) }
					g.If(jen.Id("v").Dot(fl.Name).Op("!=").Nil()).BlockFunc(func(g *jen.Group) {
						genCheck(g, val, recv, fp, fl.Type.Elem, fl.Check)
					})
					continue
				}
				if fl.OmitZero || fl.Nullable {
					// nil is absent (or null): nothing to check
					g.If(jen.Id("v").Dot(fl.Name).Op("!=").Nil()).BlockFunc(func(g *jen.Group) {
						genCheck(g, recv, recv, fp, fl.Type, fl.Check)
					})
					continue
				}
				genCheck(g, recv, recv, fp, fl.Type, fl.Check)
			}
		case ir.KindDefined:
			v := func() *jen.Statement { return jen.Id("v") }
			genCheck(g, v, v, path, &ir.TypeRef{Kind: ir.RefNamed, Name: t.Name, Decl: t}, t.Check)
		case ir.KindEnum:
			g.Switch(jen.Id("v")).BlockFunc(func(g *jen.Group) {
				var cases []jen.Code
				for _, c := range t.Consts {
					cases = append(cases, jen.Id(c.Name))
				}
				if len(cases) > 0 {
					g.Case(cases...)
				}
				g.Default().Block(jen.Return(errorf(path, verb(t.Underlying)+" is not one of the allowed values", jen.Id("v"))))
			})
			v := func() *jen.Statement { return jen.Id("v") }
			genCheck(g, v, v, path, &ir.TypeRef{Kind: ir.RefNamed, Name: t.Name, Decl: t}, t.Check)
		case ir.KindUnion:
			g.Id("n").Op(":=").Lit(0)
			for _, v := range t.Variants {
				g.If(jen.Id("v").Dot(v.Name).Op("!=").Nil()).Block(jen.Id("n").Op("++"))
			}
			g.If(jen.Id("n").Op(">").Lit(1)).Block(jen.Return(errorf(path, "more than one field is set")))
			if !t.Nullable {
				g.If(jen.Id("n").Op("==").Lit(0)).Block(jen.Return(errorf(path, "no field is set")))
			}
			for _, v := range t.Variants {
				if v.Check.Empty() {
					continue
				}
				name := v.Name
				val := func() *jen.Statement { return jen.Op("*").Id("v").Dot(name) }
				recv := func() *jen.Statement { return jen.Id("v").Dot(name) }
				g.If(jen.Id("v").Dot(name).Op("!=").Nil()).BlockFunc(func(g *jen.Group) {
					genCheck(g, val, recv, path, v.Type, v.Check)
				})
			}
		}
		g.Return(jen.Nil())
	})
}

// errorf returns fmt.Errorf("%s: "+msg, path, args...).
func errorf(path func() *jen.Statement, msg string, args ...jen.Code) jen.Code {
	all := append([]jen.Code{jen.Lit("%s: " + msg), path()}, args...)
	return jen.Qual(pathFmt, "Errorf").Call(all...)
}

// base returns the type behind named defined/enum types.
func base(r *ir.TypeRef) *ir.TypeRef {
	for r.Kind == ir.RefNamed && r.Decl != nil && (r.Decl.Kind == ir.KindDefined || r.Decl.Kind == ir.KindEnum) {
		r = r.Decl.Underlying
	}
	return r
}

func verb(r *ir.TypeRef) string {
	if base(r) == ir.String || (base(r).Kind == ir.RefBuiltin && base(r).Name == "string") {
		return "%q"
	}
	return "%v"
}

// genCheck prints the checks c on the value val (of type ref, never a pointer added for optionality);
// recv is the expression to call validate on, path the error path.
func genCheck(g *jen.Group, val, recv, path func() *jen.Statement, ref *ir.TypeRef, c *ir.Check) {
	if c.Empty() {
		return
	}
	b := base(ref)
	isInt := b.Kind == ir.RefBuiltin && b.Name == "int64"
	isString := b.Kind == ir.RefBuiltin && b.Name == "string"
	named := ref.Kind == ir.RefNamed
	num := func(bound float64) (lhs *jen.Statement, lit string) {
		if isInt && bound == math.Trunc(bound) && math.Abs(bound) < 9e18 {
			return val(), strconv.FormatInt(int64(bound), 10)
		}
		if isInt {
			return jen.Float64().Call(val()), fmtFloat(bound)
		}
		return val(), fmtFloat(bound)
	}
	cmp := func(bound *float64, op, msg string) {
		if bound == nil {
			return
		}
		lhs, lit := num(*bound)
		g.If(lhs.Op(op).Op(lit)).Block(jen.Return(errorf(path, "%v "+msg+" "+lit, val())))
	}
	cmp(c.Minimum, "<", "is below the minimum")
	cmp(c.Maximum, ">", "is above the maximum")
	cmp(c.ExclusiveMinimum, "<=", "is not above the exclusive minimum")
	cmp(c.ExclusiveMaximum, ">=", "is not below the exclusive maximum")
	if m := c.MultipleOf; m != nil {
		lit := fmtFloat(*m)
		if isInt && *m == math.Trunc(*m) && *m < 9e18 {
			g.If(val().Op("%").Op(lit).Op("!=").Lit(0)).Block(jen.Return(errorf(path, "%v is not a multiple of "+lit, val())))
		} else {
			arg := val()
			if isInt || named {
				arg = jen.Float64().Call(val())
			}
			g.If(jen.Op("!").Qual(pathSchema, "MultipleOf").Call(arg, jen.Op(lit))).Block(
				jen.Return(errorf(path, "%v is not a multiple of "+lit, val())))
		}
	}
	str := func() *jen.Statement {
		if named {
			return jen.String().Call(val())
		}
		return val()
	}
	if isString && (c.MinLength != nil || c.MaxLength != nil) {
		count := jen.Qual(pathUTF8, "RuneCountInString").Call(str())
		if c.MinLength != nil && c.MaxLength != nil {
			g.If(jen.Id("n").Op(":=").Add(count), jen.Id("n").Op("<").Lit(*c.MinLength).Op("||").Id("n").Op(">").Lit(*c.MaxLength)).Block(
				jen.Return(errorf(path, "%q has %d characters, want "+strconv.Itoa(*c.MinLength)+" to "+strconv.Itoa(*c.MaxLength), val(), jen.Id("n"))))
		} else if c.MinLength != nil {
			g.If(jen.Id("n").Op(":=").Add(count), jen.Id("n").Op("<").Lit(*c.MinLength)).Block(
				jen.Return(errorf(path, "%q has %d characters, want at least "+strconv.Itoa(*c.MinLength), val(), jen.Id("n"))))
		} else {
			g.If(jen.Id("n").Op(":=").Add(count), jen.Id("n").Op(">").Lit(*c.MaxLength)).Block(
				jen.Return(errorf(path, "%q has %d characters, want at most "+strconv.Itoa(*c.MaxLength), val(), jen.Id("n"))))
		}
	}
	if isString && c.PatternVar != "" {
		g.If(jen.Op("!").Id(c.PatternVar).Dot("MatchString").Call(str())).Block(
			jen.Return(errorf(path, "%q does not match the pattern %q", val(), jen.Id(c.PatternVar).Dot("String").Call())))
	}
	if len(c.Enum) > 0 {
		var cases []jen.Code
		for _, v := range c.Enum {
			cases = append(cases, literal(v))
		}
		g.Switch(val()).Block(
			jen.Case(cases...),
			jen.Default().Block(jen.Return(errorf(path, verb(ref)+" is not one of the allowed values", val()))),
		)
	}
	if c.MinItems != nil {
		g.If(jen.Len(val()).Op("<").Lit(*c.MinItems)).Block(
			jen.Return(errorf(path, "%d items are fewer than the minimum "+strconv.Itoa(*c.MinItems), jen.Len(val()))))
	}
	if c.MaxItems != nil {
		g.If(jen.Len(val()).Op(">").Lit(*c.MaxItems)).Block(
			jen.Return(errorf(path, "%d items are more than the maximum "+strconv.Itoa(*c.MaxItems), jen.Len(val()))))
	}
	if !c.Items.Empty() {
		elem := b.Elem
		if b.Kind != ir.RefSlice {
			panic("emit: items check on a non-slice type " + ref.String())
		}
		g.For(jen.List(jen.Id("i"), jen.Id("e")).Op(":=").Range().Add(val())).BlockFunc(func(g *jen.Group) {
			g.Id("path").Op(":=").Add(path()).Op("+").Lit("[").Op("+").Qual(pathStrconv, "Itoa").Call(jen.Id("i")).Op("+").Lit("]")
			p := func() *jen.Statement { return jen.Id("path") }
			e := func() *jen.Statement { return jen.Id("e") }
			if elem.Kind == ir.RefPointer {
				de := func() *jen.Statement { return jen.Op("*").Id("e") }
				g.If(jen.Id("e").Op("!=").Nil()).BlockFunc(func(g *jen.Group) {
					genCheck(g, de, e, p, elem.Elem, c.Items)
				})
				return
			}
			genCheck(g, e, e, p, elem, c.Items)
		})
	}
	if c.Nested {
		g.If(jen.Err().Op(":=").Add(recv()).Dot("validate").Call(path()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
	}
}

func fmtFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	return s
}

// literal prints an untyped constant for an enum value.
func literal(v any) jen.Code {
	switch x := v.(type) {
	case string:
		return jen.Lit(x)
	case int64:
		return jen.Op(strconv.FormatInt(x, 10))
	case float64:
		return jen.Op(fmtFloat(x))
	case bool:
		return jen.Lit(x)
	}
	panic("emit: unsupported literal")
}
