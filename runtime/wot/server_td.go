package wot

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// servedContext is what a served TD's "@context" starts with: the TD 1.0 URI first (some
// consumers, node-wot among them, refuse a TD whose context does not start with it), the
// TD 1.1 URI, and the HTTP vocabulary prefix the HTTP binding's forms use
// (https://www.w3.org/TR/wot-binding-templates/#http-vocabulary).
func servedContext(orig td.Context) td.Context {
	ctx := td.Context{
		{URI: td.ContextV10},
		{URI: td.ContextV11},
		{Map: map[string]json.RawMessage{"htv": json.RawMessage(`"http://www.w3.org/2011/http#"`)}},
	}
	for _, e := range orig {
		if e.Map == nil && (e.URI == td.ContextV10 || e.URI == td.ContextV11) {
			continue
		}
		if len(e.Map) == 1 && string(e.Map["htv"]) == `"http://www.w3.org/2011/http#"` {
			continue
		}
		ctx = append(ctx, e)
	}
	return ctx
}

// servedTD is the TD as consumers should see it from here: the Thing's id as id, "@context"
// as servedContext says, base set to the server's external URL, the forms of every binding
// (each binding rewrites the forms it already had to its endpoints and adds its own), the
// other relative hrefs made absolute (so the new base does not change what they mean).
func (s *Server) servedTD(t *Thing, r *http.Request) *td.Thing {
	base := s.BaseURL(r)
	docURL := *base
	docURL.Path = base.Path + t.TDPath()
	d := t.desc.Clone()
	orig := t.desc

	// The TD's own forms resolve against its base; a binding may then drop, rewrite or add
	// forms, and what it adds relative resolves against the served TD's new base.
	resolveForms(d, orig, &docURL)
	for _, b := range s.bindings {
		b.AddForms(d, t, base)
	}
	newBase := *base
	newBase.Path = base.Path + "/"
	resolveForms(d, &td.Thing{Base: newBase.String()}, &docURL)
	for i := range d.Links {
		d.Links[i].Href = absoluteHref(orig, d.Links[i].Href, &docURL)
	}
	// The HTTP Profile wants every action to say how it answers; the Thing's default decides
	// for those whose TD is silent.
	for n, a := range d.Actions {
		if a.Synchronous == nil && t.actions[n] != nil {
			sync := t.actions[n].synchronous
			a.Synchronous = &sync
		}
	}
	d.Context = servedContext(d.Context)
	d.ID = t.id
	d.Base = newBase.String()
	return d
}

// eachFormList calls fn with every form list of d in a fixed order: Thing-level forms,
// then properties, actions and events by name.
func eachFormList(d *td.Thing, fn func([]td.Form)) {
	fn(d.Forms)
	for _, n := range d.PropertyNames() {
		fn(d.Properties[n].Forms)
	}
	for _, n := range d.ActionNames() {
		fn(d.Actions[n].Forms)
	}
	for _, n := range d.EventNames() {
		fn(d.Events[n].Forms)
	}
}

// resolveForms makes every form href of d absolute, resolved against against's base and
// docURL; absolute hrefs stay as they are.
func resolveForms(d, against *td.Thing, docURL *url.URL) {
	eachFormList(d, func(forms []td.Form) {
		for j := range forms {
			forms[j].Href = absoluteHref(against, forms[j].Href, docURL)
		}
	})
}

// serveTD answers GET on a TD path (thing != nil) or /.well-known/wot: the single Thing's
// TD, or, when the server has several Things, a JSON array of all their TDs.
func (s *Server) serveTD(w http.ResponseWriter, r *http.Request, thing *Thing) {
	var body any
	contentType := "application/td+json"
	if thing != nil {
		body = s.servedTD(thing, r)
	} else {
		things := s.Things()
		switch len(things) {
		case 0:
			http.Error(w, "no Thing is served here yet", http.StatusNotFound)
			return
		case 1:
			body = s.servedTD(things[0], r)
		default:
			list := make([]*td.Thing, len(things))
			for i, t := range things {
				list[i] = s.servedTD(t, r)
			}
			body, contentType = list, "application/json"
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		s.cfg.log.Error("wot: cannot marshal a TD", "err", err)
		http.Error(w, "the Thing Description cannot be encoded", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// absoluteHref resolves href against t's base and docURL, keeping a URI template's
// expressions ("{?unit}") as they are: only the part before the first "{" is resolved, so
// the braces are not percent-encoded. An href that cannot be resolved is kept.
func absoluteHref(t *td.Thing, href string, docURL *url.URL) string {
	head, tmpl := href, ""
	if i := strings.IndexByte(href, '{'); i >= 0 {
		head, tmpl = href[:i], href[i:]
	}
	if head == "" && tmpl != "" {
		return href // "{…}" alone: nothing to resolve without expanding it
	}
	u, err := t.ResolveHref(head, docURL)
	if err != nil {
		return href
	}
	return u.String() + tmpl
}
