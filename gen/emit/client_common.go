package emit

import (
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/wotgen/wotgen/gen/ir"
)

// Import paths of the client and server files.
const (
	pathContext = "context"
	pathHTTP    = "net/http"
	pathStrings = "strings"
	pathWoT     = "github.com/wotgen/wotgen/runtime/wot"
	pathTD      = "github.com/wotgen/wotgen/runtime/td"
	// The standard bindings, imported for effect: they register with the core.
	pathWTP     = "github.com/wotgen/wotgen/runtime/wtp"
	pathWoTHTTP = "github.com/wotgen/wotgen/runtime/wothttp"
)

// TD operation names the client and server emitters look for (the td.Op* values; gen/emit does not
// import runtime/td).
const (
	opReadProperty            = "readproperty"
	opWriteProperty           = "writeproperty"
	opObserveProperty         = "observeproperty"
	opInvokeAction            = "invokeaction"
	opSubscribeEvent          = "subscribeevent"
	opReadAllProperties       = "readallproperties"
	opWriteAllProperties      = "writeallproperties"
	opReadMultipleProperties  = "readmultipleproperties"
	opWriteMultipleProperties = "writemultipleproperties"
	opObserveAllProperties    = "observeallproperties"
	opQueryAllActions         = "queryallactions"
	opSubscribeAllEvents      = "subscribeallevents"
)

// newRuntimeFile is newFile plus the import names of the client and server files.
func newRuntimeFile(p *ir.Package) *jen.File {
	f := newFile(p)
	f.ImportNames(map[string]string{
		pathContext: "context", pathHTTP: "http", pathStrings: "strings", pathWoT: "wot", pathTD: "td",
	})
	return f
}

// importBindings imports the standard protocol bindings for effect, so that the core can use
// the forms they support.
func importBindings(f *jen.File) {
	f.Anon(pathWTP, pathWoTHTTP)
}

// genVersionCheck makes a generator/runtime mismatch a compile error.
func genVersionCheck(f *jen.File) {
	f.Comment("// This file needs a runtime/wot that supports this generator version.")
	f.Const().Id("_").Op("=").Qual(pathWoT, "SupportPackageIsVersion1")
}

// quoted is a JSON name as a Go string literal, for comments (strconv.Quote escapes every control and
// line-breaking character, so TD text cannot end a comment line).
func quoted(name string) string {
	return ir.Sanitize(strconv.Quote(name)).String()
}

// docLines is a generated first line followed by the affordance's own documentation.
func docLines(first string, d ir.Doc) ir.Doc {
	out := ir.Sanitize(first)
	if len(d) > 0 {
		out = append(out, "")
		out = append(out, d...)
	}
	return out
}

// isAsync reports whether the client gets a *wot.Action handle: only when the TD says
// "synchronous": false. Otherwise the method waits for the output (and still works when the Thing
// answers asynchronously).
func isAsync(a *ir.Action) bool { return a.Synchronous != nil && !*a.Synchronous }

// validate returns statements that validate the value v of type r, returning onErr(err) on failure;
// nil when r has nothing to check.
func validate(v jen.Code, r *ir.TypeRef, onErr func(err jen.Code) jen.Code) jen.Code {
	if r == nil {
		return nil
	}
	switch {
	case r.HasValidate():
		return jen.If(jen.Err().Op(":=").Add(v).Dot("Validate").Call(), jen.Err().Op("!=").Nil()).Block(onErr(jen.Err()))
	case r.Kind == ir.RefPointer && r.Elem.HasValidate():
		return jen.If(jen.Add(v).Op("!=").Nil()).Block(
			jen.If(jen.Err().Op(":=").Add(v).Dot("Validate").Call(), jen.Err().Op("!=").Nil()).Block(onErr(jen.Err())),
		)
	case r.Kind == ir.RefSlice && r.Elem.HasValidate():
		return jen.For(jen.List(jen.Id("_"), jen.Id("e")).Op(":=").Range().Add(v)).Block(
			jen.If(jen.Err().Op(":=").Id("e").Dot("Validate").Call(), jen.Err().Op("!=").Nil()).Block(onErr(jen.Err())),
		)
	}
	return nil
}

// badRequest is `return [zero,] wot.BadRequest("%v", err)`.
func badRequest(zero jen.Code) func(err jen.Code) jen.Code {
	return func(err jen.Code) jen.Code {
		e := jen.Qual(pathWoT, "BadRequest").Call(jen.Lit("%v"), err)
		if zero == nil {
			return jen.Return(e)
		}
		return jen.Return(zero, e)
	}
}

// propertiesTypeName is the name of the struct holding every property (ReadAllProperties): the
// Thing's Go name plus "Properties", made unique against the declared types.
func propertiesTypeName(p *ir.Package) string {
	taken := map[string]bool{}
	for _, t := range p.Types {
		taken[t.Name] = true
		for _, c := range t.Consts {
			taken[c.Name] = true
		}
	}
	for _, n := range []string{"Handler", "UnimplementedHandler", "Client", "Thing", "Server"} {
		taken[n] = true
	}
	base := p.Thing.GoName
	if base == "" {
		base = "Thing"
	}
	name := base + "Properties"
	for i := 2; taken[name]; i++ {
		name = base + "Properties" + strconv.Itoa(i)
	}
	return name
}

// thingLabel names the Thing in doc comments and error messages.
func thingLabel(p *ir.Package) string {
	if p.Thing.Title != "" {
		return p.Thing.Title
	}
	return p.Name
}

// docComment prints d as "//" lines directly above the next declaration.
func docComment(f *jen.File, d ir.Doc) {
	for _, l := range d {
		if l == "" {
			f.Comment("//")
			continue
		}
		f.Comment("// " + l)
	}
}
