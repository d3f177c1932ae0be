package emit

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/wotgen/wotgen/gen/ir"
)

// ServerFileName returns the name of the server file of p.
func ServerFileName(p *ir.Package) string { return p.FileBase + "_server_gen.go" }

// Server prints the server skeleton of p: the Handler interface, UnimplementedHandler, NewThing /
// NewServer and the typed NotifyX/EmitX. tdJSON is the Thing Description the package is generated
// from (embedded so the server can serve it); it must be valid JSON. The file builds on the types
// file (Types) of the same package.
func Server(p *ir.Package, tdJSON []byte) (File, error) {
	tdJSON, err := canonicalJSON(tdJSON)
	if err != nil {
		return File{}, fmt.Errorf("emit %s: the Thing Description: %w", ServerFileName(p), err)
	}
	f := newWTPFile(p)
	genVersionCheck(f)
	genEmbeddedTD(f, p, tdJSON)
	ms := handlerMethods(p)
	genHandler(f, p, ms)
	genUnimplemented(f, p, ms)
	genThing(f, p)
	genServer(f, p)
	return render(ServerFileName(p), f)
}

// canonicalJSON re-encodes a JSON document with every object's members sorted (numbers keep their
// text), so the embedded TD does not depend on the member order of the input.
func canonicalJSON(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// readable and writable select the properties the Handler reads and writes.
func readable(pr *ir.Property) bool { return !pr.WriteOnly }
func writable(pr *ir.Property) bool { return !pr.ReadOnly && pr.HasOp(opWriteProperty) }

func genEmbeddedTD(f *jen.File, p *ir.Package, tdJSON []byte) {
	f.Comment("// thingDescriptionJSON is the Thing Description this package was generated from.")
	f.Const().Id("thingDescriptionJSON").Op("=").Lit(string(tdJSON))
	docComment(f, ir.Sanitize("ThingDescription returns a fresh copy of the Thing Description of "+quoted(thingLabel(p))+" this package was generated from; change it (base, security, …) and pass it to NewThingFrom. It fails only if the package was edited by hand."))
	f.Func().Id("ThingDescription").Params().Params(jen.Op("*").Qual(pathTD, "Thing"), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Qual(pathTD, "Parse").Call(jen.Index().Byte().Parens(jen.Id("thingDescriptionJSON"))),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual(pathFmt, "Errorf").Call(jen.Lit(p.Name+": the embedded Thing Description does not parse (regenerate the package): %w"), jen.Err())),
		),
		jen.Return(jen.Id("t"), jen.Nil()),
	)
}

// handlerMethods lists the Handler's methods as (doc, signature) pairs, in TD order.
type handlerMethod struct {
	name    string
	doc     ir.Doc
	params  []jen.Code // after ctx
	types   []jen.Code // the types of params (for unnamed parameter lists)
	results []jen.Code
	zero    jen.Code // the zero value of the first result, nil when only error
}

func handlerMethods(p *ir.Package) []handlerMethod {
	var ms []handlerMethod
	for _, pr := range p.Thing.Properties {
		what := "the property " + quoted(pr.Name)
		if readable(pr) {
			ms = append(ms, handlerMethod{
				name:    "Read" + pr.GoName,
				doc:     docLines("Read"+pr.GoName+" returns the current value of "+what+".", pr.Doc),
				results: []jen.Code{typeRef(pr.Type), jen.Error()},
				zero:    typeRef(pr.Type),
			})
		}
		if writable(pr) {
			ms = append(ms, handlerMethod{
				name:    "Write" + pr.GoName,
				doc:     docLines("Write"+pr.GoName+" sets "+what+" to v, which has been validated against its schema. Call Notify"+pr.GoName+" when the value changes.", pr.Doc),
				params:  []jen.Code{jen.Id("v").Add(typeRef(pr.Type))},
				types:   []jen.Code{typeRef(pr.Type)},
				results: []jen.Code{jen.Error()},
			})
		}
	}
	for _, a := range p.Thing.Actions {
		if !a.HasOp(opInvokeAction) {
			continue
		}
		first := a.GoName + " runs the action " + quoted(a.Name) + "."
		if a.Input != nil {
			first += " in has been validated against the input schema."
		}
		if isAsync(a) {
			first += " The action is asynchronous: consumers get its status at once, and ctx is cancelled when one cancels it."
		}
		m := handlerMethod{name: a.GoName, doc: docLines(first, a.Doc), results: []jen.Code{jen.Error()}}
		if a.Input != nil {
			m.params = []jen.Code{jen.Id("in").Add(typeRef(a.Input))}
			m.types = []jen.Code{typeRef(a.Input)}
		}
		if a.Output != nil {
			m.results = []jen.Code{typeRef(a.Output), jen.Error()}
			m.zero = typeRef(a.Output)
		}
		ms = append(ms, m)
	}
	return ms
}

func genHandler(f *jen.File, p *ir.Package, ms []handlerMethod) {
	docComment(f, ir.Sanitize("Handler implements the Thing "+quoted(thingLabel(p))+": one method per readable and writable property and per action. Values are decoded and validated before a method is called; an error it returns reaches the consumer (return a *wtp.Error to choose the status). Embed UnimplementedHandler to implement only some methods."))
	f.Type().Id("Handler").InterfaceFunc(func(g *jen.Group) {
		for i, m := range ms {
			if i > 0 {
				g.Line()
			}
			params := append([]jen.Code{jen.Id("ctx").Qual(pathContext, "Context")}, m.params...)
			g.Add(comment(m.doc)).Id(m.name).Params(params...).Params(m.results...)
		}
	})
}

func genUnimplemented(f *jen.File, p *ir.Package, ms []handlerMethod) {
	f.Comment("// UnimplementedHandler answers every operation with a 501 Not Implemented problem. Embed it in a")
	f.Comment("// Handler to implement only some methods.")
	f.Type().Id("UnimplementedHandler").Struct()
	f.Var().Id("_").Id("Handler").Op("=").Id("UnimplementedHandler").Values()
	for _, m := range ms {
		params := append([]jen.Code{jen.Qual(pathContext, "Context")}, m.types...) // unnamed: the method ignores them
		errv := jen.Qual(pathWTP, "NewError").Call(jen.Lit(501), jen.Lit(p.Name+": "+m.name+" is not implemented"))
		f.Comment("// " + m.name + " answers 501 Not Implemented.")
		f.Func().Params(jen.Id("UnimplementedHandler")).Id(m.name).Params(params...).Params(m.results...).BlockFunc(func(g *jen.Group) {
			if m.zero == nil {
				g.Return(errv)
				return
			}
			g.Var().Id("zero").Add(m.zero)
			g.Return(jen.Id("zero"), errv)
		})
	}
}

func genThing(f *jen.File, p *ir.Package) {
	label := quoted(thingLabel(p))
	docComment(f, ir.Sanitize("Thing is the Thing "+label+" exposed over the Web Thing Protocol with a Handler behind it. Add it to a wtp.Server (several Things may share one) or use NewServer. Notify and Emit methods push property changes and events to subscribed consumers; they are safe for concurrent use."))
	f.Type().Id("Thing").Struct(jen.Id("thing").Op("*").Qual(pathWTP, "Thing"))

	f.Comment("// NewThing exposes h as the Thing described by ThingDescription().")
	f.Func().Id("NewThing").Params(jen.Id("h").Id("Handler"), jen.Id("opts").Op("...").Qual(pathWTP, "ThingOption")).
		Params(jen.Op("*").Id("Thing"), jen.Error()).Block(
		jen.List(jen.Id("desc"), jen.Err()).Op(":=").Id("ThingDescription").Call(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Id("NewThingFrom").Call(jen.Id("desc"), jen.Id("h"), jen.Id("opts").Op("..."))),
	)

	f.Comment("// NewThingFrom exposes h as the Thing described by desc, a changed copy of ThingDescription() (its")
	f.Comment("// affordances must be the generated ones).")
	f.Func().Id("NewThingFrom").Params(jen.Id("desc").Op("*").Qual(pathTD, "Thing"), jen.Id("h").Id("Handler"), jen.Id("opts").Op("...").Qual(pathWTP, "ThingOption")).
		Params(jen.Op("*").Id("Thing"), jen.Error()).BlockFunc(func(g *jen.Group) {
		g.List(jen.Id("t"), jen.Err()).Op(":=").Qual(pathWTP, "NewThing").Call(jen.Id("desc"), jen.Id("opts").Op("..."))
		g.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err()))
		for _, pr := range p.Thing.Properties {
			genWireProperty(g, pr)
		}
		for _, a := range p.Thing.Actions {
			if a.HasOp(opInvokeAction) {
				genWireAction(g, a)
			}
		}
		g.Return(jen.Op("&").Id("Thing").Values(jen.Id("thing").Op(":").Id("t")), jen.Nil())
	})

	f.Comment("// WTP returns the dynamic Thing behind t (for wtp.Server.AddThing and operations by name).")
	f.Func().Params(jen.Id("t").Op("*").Id("Thing")).Id("WTP").Params().Op("*").Qual(pathWTP, "Thing").Block(
		jen.Return(jen.Id("t").Dot("thing")),
	)
	for _, pr := range p.Thing.Properties {
		if !readable(pr) {
			continue
		}
		docComment(f, ir.Sanitize("Notify"+pr.GoName+" tells every consumer observing the property "+quoted(pr.Name)+" that its value is now v."))
		f.Func().Params(jen.Id("t").Op("*").Id("Thing")).Id("Notify" + pr.GoName).Params(jen.Id("v").Add(typeRef(pr.Type))).Error().Block(
			jen.Return(jen.Id("t").Dot("thing").Dot("NotifyPropertyChange").Call(jen.Lit(pr.Name), jen.Id("v"))),
		)
	}
	for _, e := range p.Thing.Events {
		docComment(f, ir.Sanitize("Emit"+e.GoName+" sends an occurrence of the event "+quoted(e.Name)+" to every subscribed consumer."))
		if e.Data == nil {
			f.Func().Params(jen.Id("t").Op("*").Id("Thing")).Id("Emit" + e.GoName).Params().Error().Block(
				jen.Return(jen.Id("t").Dot("thing").Dot("EmitEvent").Call(jen.Lit(e.Name), jen.Nil())),
			)
			continue
		}
		f.Func().Params(jen.Id("t").Op("*").Id("Thing")).Id("Emit" + e.GoName).Params(jen.Id("data").Add(typeRef(e.Data))).Error().BlockFunc(func(g *jen.Group) {
			if st := validate(jen.Id("data"), e.Data, func(err jen.Code) jen.Code {
				return jen.Return(jen.Qual(pathFmt, "Errorf").Call(jen.Lit(p.Name+": Emit"+e.GoName+": %w"), err))
			}); st != nil {
				g.Add(st)
			}
			g.Return(jen.Id("t").Dot("thing").Dot("EmitEvent").Call(jen.Lit(e.Name), jen.Id("data")))
		})
	}
}

// decodeInto is: var v T; if err := json.Unmarshal(raw, &v); err != nil { return nil, wtp.BadRequest("<path>: %v", err) };
// plus validation.
func decodeInto(g *jen.Group, v, raw, path string, r *ir.TypeRef) {
	g.Var().Id(v).Add(typeRef(r))
	g.If(jen.Err().Op(":=").Qual(pathJSON, "Unmarshal").Call(jen.Id(raw), jen.Op("&").Id(v)), jen.Err().Op("!=").Nil()).Block(
		jen.Return(jen.Nil(), jen.Qual(pathWTP, "BadRequest").Call(jen.Lit("%s: %v"), jen.Lit(path), jen.Err())),
	)
	if st := validate(jen.Id(v), r, badRequest(jen.Nil())); st != nil {
		g.Add(st)
	}
}

func genWireProperty(g *jen.Group, pr *ir.Property) {
	ctx := jen.Id("ctx").Qual(pathContext, "Context")
	if readable(pr) {
		g.Id("t").Dot("HandleRead").Call(jen.Lit(pr.Name), jen.Func().Params(ctx).Params(jen.Any(), jen.Error()).Block(
			jen.Return(jen.Id("h").Dot("Read"+pr.GoName).Call(jen.Id("ctx"))),
		))
	}
	if writable(pr) {
		g.Id("t").Dot("HandleWrite").Call(jen.Lit(pr.Name), jen.Func().Params(jen.Id("ctx").Qual(pathContext, "Context"), jen.Id("raw").Qual(pathJSON, "RawMessage")).
			Params(jen.Any(), jen.Error()).BlockFunc(func(g *jen.Group) {
			decodeInto(g, "v", "raw", pr.Name, pr.Type)
			g.If(jen.Err().Op(":=").Id("h").Dot("Write"+pr.GoName).Call(jen.Id("ctx"), jen.Id("v")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Nil(), jen.Err()),
			)
			if pr.WriteOnly {
				g.Return(jen.Nil(), jen.Nil()) // a write-only value is never echoed
				return
			}
			g.Return(jen.Id("v"), jen.Nil())
		}))
	}
}

func genWireAction(g *jen.Group, a *ir.Action) {
	g.Id("t").Dot("HandleAction").Call(jen.Lit(a.Name), jen.Func().Params(jen.Id("ctx").Qual(pathContext, "Context"), jen.Id("raw").Qual(pathJSON, "RawMessage")).
		Params(jen.Any(), jen.Error()).BlockFunc(func(g *jen.Group) {
		args := []jen.Code{jen.Id("ctx")}
		if a.Input != nil {
			// A missing input is decoded as null, so the schema decides whether that is allowed.
			g.If(jen.Len(jen.Id("raw")).Op("==").Lit(0)).Block(jen.Id("raw").Op("=").Qual(pathJSON, "RawMessage").Call(jen.Lit("null")))
			decodeInto(g, "in", "raw", "input", a.Input)
			args = append(args, jen.Id("in"))
		}
		if a.Output == nil {
			g.Return(jen.Nil(), jen.Id("h").Dot(a.GoName).Call(args...))
			return
		}
		g.Return(jen.Id("h").Dot(a.GoName).Call(args...))
	}))
}

func genServer(f *jen.File, p *ir.Package) {
	docComment(f, ir.Sanitize("Server serves the Thing "+quoted(thingLabel(p))+" alone: its Thing Description (at its TD path and /.well-known/wot) and its WTP endpoint. It embeds *Thing for the Notify and Emit methods."))
	f.Type().Id("Server").Struct(
		jen.Op("*").Id("Thing"),
		jen.Id("server").Op("*").Qual(pathWTP, "Server"),
	)
	f.Comment("// NewServer exposes h on a new wtp.Server configured by opts. For Thing options (WithTDPath,")
	f.Comment("// WithThingID, …) or several Things on one endpoint, use NewThing and wtp.NewServer.")
	f.Func().Id("NewServer").Params(jen.Id("h").Id("Handler"), jen.Id("opts").Op("...").Qual(pathWTP, "ServerOption")).
		Params(jen.Op("*").Id("Server"), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Id("NewThing").Call(jen.Id("h")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("s").Op(":=").Qual(pathWTP, "NewServer").Call(jen.Id("opts").Op("...")),
		jen.If(jen.Err().Op(":=").Id("s").Dot("AddThing").Call(jen.Id("t").Dot("thing")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Op("&").Id("Server").Values(jen.Id("Thing").Op(":").Id("t"), jen.Id("server").Op(":").Id("s")), jen.Nil()),
	)
	f.Comment("// ServeHTTP serves the TD and the WTP endpoint.")
	f.Func().Params(jen.Id("s").Op("*").Id("Server")).Id("ServeHTTP").Params(jen.Id("w").Qual(pathHTTP, "ResponseWriter"), jen.Id("r").Op("*").Qual(pathHTTP, "Request")).Block(
		jen.Id("s").Dot("server").Dot("ServeHTTP").Call(jen.Id("w"), jen.Id("r")),
	)
	f.Comment("// Shutdown closes every connection with a going-away status and waits for running handlers.")
	f.Func().Params(jen.Id("s").Op("*").Id("Server")).Id("Shutdown").Params(jen.Id("ctx").Qual(pathContext, "Context")).Error().Block(
		jen.Return(jen.Id("s").Dot("server").Dot("Shutdown").Call(jen.Id("ctx"))),
	)
	f.Comment("// Close closes every connection at once.")
	f.Func().Params(jen.Id("s").Op("*").Id("Server")).Id("Close").Params().Error().Block(
		jen.Return(jen.Id("s").Dot("server").Dot("Close").Call()),
	)
}
