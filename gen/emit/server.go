package emit

import (
	"bytes"
	"encoding/json"
	"fmt"

	"unicode/utf8"

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
	f := newRuntimeFile(p)
	importBindings(f)
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
	f.Const().Id("thingDescriptionJSON").Op("=").Add(readableLiteral(tdJSON))
	docComment(f, ir.Sanitize("ThingDescription returns a fresh copy of the Thing Description of "+quoted(thingLabel(p))+" this package was generated from; change it (base, security, …) and pass it to NewThingFrom. It fails only if the package was edited by hand."))
	f.Func().Id("ThingDescription").Params().Params(jen.Op("*").Qual(pathTD, "Thing"), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Qual(pathTD, "Parse").Call(jen.Index().Byte().Parens(jen.Id("thingDescriptionJSON"))),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual(pathFmt, "Errorf").Call(jen.Lit(p.Name+": the embedded Thing Description does not parse (regenerate the package): %w"), jen.Err())),
		),
		jen.Return(jen.Id("t"), jen.Nil()),
	)
}

// readableLiteral is doc, a JSON document, as an indented Go raw string literal, so that a change
// of the TD is a readable diff of the generated file. A raw string cannot hold a backquote, and Go
// source cannot hold a byte order mark or (in a raw string) a carriage return; JSON escapes the
// control characters inside its strings, so only those three need the quoted form instead.
func readableLiteral(doc []byte) jen.Code {
	var buf bytes.Buffer
	if err := json.Indent(&buf, doc, "", "  "); err != nil || bytes.ContainsAny(buf.Bytes(), "`\r\ufeff") || !utf8.Valid(buf.Bytes()) {
		return jen.Lit(string(doc))
	}
	return jen.Op("`" + buf.String() + "`")
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
	docComment(f, ir.Sanitize("Handler implements the Thing "+quoted(thingLabel(p))+": one method per readable and writable property and per action. Values are decoded and validated before a method is called; an error it returns reaches the consumer (return a *wot.Error to choose the status). Embed UnimplementedHandler to implement only some methods."))
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
		errv := jen.Qual(pathWoT, "NewError").Call(jen.Lit(501), jen.Lit(p.Name+": "+m.name+" is not implemented"))
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
	docComment(f, ir.Sanitize("Thing is the Thing "+label+" exposed with a Handler behind it. Add it to a wot.Server (several Things may share one) or use NewServer. Notify and Emit methods push property changes and events to subscribed consumers; they are safe for concurrent use."))
	f.Type().Id("Thing").Struct(jen.Id("thing").Op("*").Qual(pathWoT, "Thing"))

	f.Comment("// NewThing exposes h as the Thing described by ThingDescription().")
	f.Func().Id("NewThing").Params(jen.Id("h").Id("Handler"), jen.Id("opts").Op("...").Qual(pathWoT, "ThingOption")).
		Params(jen.Op("*").Id("Thing"), jen.Error()).Block(
		jen.List(jen.Id("desc"), jen.Err()).Op(":=").Id("ThingDescription").Call(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Id("NewThingFrom").Call(jen.Id("desc"), jen.Id("h"), jen.Id("opts").Op("..."))),
	)

	f.Comment("// NewThingFrom exposes h as the Thing described by desc, a changed copy of ThingDescription() (its")
	f.Comment("// affordances must be the generated ones).")
	f.Func().Id("NewThingFrom").Params(jen.Id("desc").Op("*").Qual(pathTD, "Thing"), jen.Id("h").Id("Handler"), jen.Id("opts").Op("...").Qual(pathWoT, "ThingOption")).
		Params(jen.Op("*").Id("Thing"), jen.Error()).BlockFunc(func(g *jen.Group) {
		g.List(jen.Id("t"), jen.Err()).Op(":=").Qual(pathWoT, "NewThing").Call(jen.Id("desc"), jen.Id("opts").Op("..."))
		g.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err()))
		for _, pr := range p.Thing.Properties {
			if readable(pr) {
				g.Id("t").Dot("HandleRead").Call(jen.Lit(pr.Name), jen.Qual(pathWoT, "ReadFunc").Call(jen.Id("h").Dot("Read"+pr.GoName)))
			}
			if writable(pr) {
				g.Id("t").Dot("HandleWrite").Call(jen.Lit(pr.Name), jen.Qual(pathWoT, "WriteFunc").Call(jen.Id("h").Dot("Write"+pr.GoName)))
			}
		}
		for _, a := range p.Thing.Actions {
			if a.HasOp(opInvokeAction) {
				g.Id("t").Dot("HandleAction").Call(jen.Lit(a.Name), jen.Qual(pathWoT, "ActionFunc").Call(actionAdapter(a)))
			}
		}
		g.Return(jen.Op("&").Id("Thing").Values(jen.Id("thing").Op(":").Id("t")), jen.Nil())
	})

	f.Comment("// Exposed returns the dynamic Thing behind t (for wot.Server.AddThing and operations by name).")
	f.Func().Params(jen.Id("t").Op("*").Id("Thing")).Id("Exposed").Params().Op("*").Qual(pathWoT, "Thing").Block(
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

// actionAdapter is the Handler method of a, or, when the action lacks an input or an output, a
// closure giving it the func(ctx, In) (Out, error) shape of wot.ActionFunc (struct{} standing for
// "none").
func actionAdapter(a *ir.Action) jen.Code {
	m := jen.Id("h").Dot(a.GoName)
	if a.Input != nil && a.Output != nil {
		return m
	}
	ctx := jen.Id("ctx").Qual(pathContext, "Context")
	in, args := jen.Id("_").Struct(), []jen.Code{jen.Id("ctx")}
	if a.Input != nil {
		in = jen.Id("in").Add(typeRef(a.Input))
		args = append(args, jen.Id("in"))
	}
	if a.Output != nil {
		return jen.Func().Params(ctx, in).Params(typeRef(a.Output), jen.Error()).Block(jen.Return(jen.Id("h").Dot(a.GoName).Call(args...)))
	}
	return jen.Func().Params(ctx, in).Params(jen.Struct(), jen.Error()).Block(
		jen.Return(jen.Struct().Values(), jen.Id("h").Dot(a.GoName).Call(args...)),
	)
}

func genServer(f *jen.File, p *ir.Package) {
	docComment(f, ir.Sanitize("Server serves the Thing "+quoted(thingLabel(p))+" alone: its Thing Description (at its TD path and /.well-known/wot) and every registered protocol binding (the Web Thing Protocol and HTTP by default). It embeds *Thing for the Notify and Emit methods."))
	f.Type().Id("Server").Struct(
		jen.Op("*").Id("Thing"),
		jen.Id("server").Op("*").Qual(pathWoT, "Server"),
	)
	f.Comment("// NewServer exposes h on a new wot.Server configured by opts (wot.WithoutBinding turns a binding off).")
	f.Comment("// For Thing options (WithTDPath, WithThingID, …) or several Things on one server, use NewThing and")
	f.Comment("// wot.NewServer.")
	f.Func().Id("NewServer").Params(jen.Id("h").Id("Handler"), jen.Id("opts").Op("...").Qual(pathWoT, "ServerOption")).
		Params(jen.Op("*").Id("Server"), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Id("NewThing").Call(jen.Id("h")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("s").Op(":=").Qual(pathWoT, "NewServer").Call(jen.Id("opts").Op("...")),
		jen.If(jen.Err().Op(":=").Id("s").Dot("AddThing").Call(jen.Id("t").Dot("thing")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Op("&").Id("Server").Values(jen.Id("Thing").Op(":").Id("t"), jen.Id("server").Op(":").Id("s")), jen.Nil()),
	)
	f.Comment("// ServeHTTP serves the TD and the protocol bindings.")
	f.Func().Params(jen.Id("s").Op("*").Id("Server")).Id("ServeHTTP").Params(jen.Id("w").Qual(pathHTTP, "ResponseWriter"), jen.Id("r").Op("*").Qual(pathHTTP, "Request")).Block(
		jen.Id("s").Dot("server").Dot("ServeHTTP").Call(jen.Id("w"), jen.Id("r")),
	)
	f.Comment("// Shutdown ends every session with a going-away status and waits for running handlers.")
	f.Func().Params(jen.Id("s").Op("*").Id("Server")).Id("Shutdown").Params(jen.Id("ctx").Qual(pathContext, "Context")).Error().Block(
		jen.Return(jen.Id("s").Dot("server").Dot("Shutdown").Call(jen.Id("ctx"))),
	)
	f.Comment("// Close ends every session at once.")
	f.Func().Params(jen.Id("s").Op("*").Id("Server")).Id("Close").Params().Error().Block(
		jen.Return(jen.Id("s").Dot("server").Dot("Close").Call()),
	)
}
