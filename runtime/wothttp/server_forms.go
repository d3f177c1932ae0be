package wothttp

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

var (
	methodGET  = map[string]json.RawMessage{"htv:methodName": json.RawMessage(`"GET"`)}
	methodPUT  = map[string]json.RawMessage{"htv:methodName": json.RawMessage(`"PUT"`)}
	methodPOST = map[string]json.RawMessage{"htv:methodName": json.RawMessage(`"POST"`)}
)

func form(href string, extra map[string]json.RawMessage, ops ...string) td.Form {
	f := td.Form{Href: href, Op: ops, ContentType: mediaJSON}
	if extra != nil {
		f.Extra = map[string]json.RawMessage{}
		for k, v := range extra {
			f.Extra[k] = v
		}
	}
	return f
}

func streamForm(href, subprotocol string, ops ...string) td.Form {
	f := form(href, nil, ops...)
	f.Subprotocol = subprotocol
	return f
}

// addForms rewrites d, the TD served for e's Thing, for this binding: forms of the original
// TD that point at some HTTP server are dropped (the Thing is served here now, by these
// routes), and the binding's forms are appended, for each operation the one node-wot can
// use first (JSON, long poll before SSE; node-wot takes the first form listing the op).
// Multi-op forms carry no htv:methodName (TD 1.1 §8.3.1), single-op ones do.
func addForms(d *td.Thing, e *entry, base *url.URL) {
	root := baseString(base) + e.hrefPath
	docURL := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: base.Path + e.path}
	keep := func(forms []td.Form) []td.Form {
		return slices.DeleteFunc(forms, func(f td.Form) bool { return isHTTPForm(d, &f, docURL) })
	}

	for name, p := range d.Properties {
		if p == nil {
			continue
		}
		p.Forms = keep(p.Forms)
		href := root + "/properties/" + encodeName(name)
		ro, wo := p.IsReadOnly(), p.IsWriteOnly()
		switch {
		case ro && wo:
			// Contradictory, and refused either way (405), but a TD needs a form on every
			// affordance (node-wot rejects the whole TD otherwise).
			p.Forms = append(p.Forms, form(href, methodGET, td.OpReadProperty))
		case ro:
			p.Forms = append(p.Forms, form(href, methodGET, td.OpReadProperty))
		case wo:
			p.Forms = append(p.Forms, form(href, methodPUT, td.OpWriteProperty))
		default:
			p.Forms = append(p.Forms, form(href, nil, td.OpReadProperty, td.OpWriteProperty))
		}
		if p.IsObservable() {
			p.Forms = append(p.Forms,
				streamForm(href+"/observable", "longpoll", td.OpObserveProperty, td.OpUnobserveProperty),
				streamForm(href+"/sse", "sse", td.OpObserveProperty, td.OpUnobserveProperty))
		}
	}
	for name, a := range d.Actions {
		if a == nil {
			continue
		}
		a.Forms = append(keep(a.Forms), form(root+"/actions/"+encodeName(name), methodPOST, td.OpInvokeAction))
	}
	for name, ev := range d.Events {
		if ev == nil {
			continue
		}
		href := root + "/events/" + encodeName(name)
		ev.Forms = append(keep(ev.Forms),
			streamForm(href, "longpoll", td.OpSubscribeEvent, td.OpUnsubscribeEvent),
			streamForm(href+"/sse", "sse", td.OpSubscribeEvent, td.OpUnsubscribeEvent))
	}

	d.Forms = keep(d.Forms)
	switch {
	case e.readable && e.writable:
		d.Forms = append(d.Forms, form(root+"/properties", nil, td.OpReadAllProperties, td.OpWriteMultipleProperties))
	case e.readable:
		d.Forms = append(d.Forms, form(root+"/properties", methodGET, td.OpReadAllProperties))
	case e.writable:
		d.Forms = append(d.Forms, form(root+"/properties", methodPUT, td.OpWriteMultipleProperties))
	}
	if len(e.actions) > 0 {
		d.Forms = append(d.Forms, form(root+"/actions", methodGET, td.OpQueryAllActions))
	}
	if e.observable {
		d.Forms = append(d.Forms, streamForm(root+"/sse/properties", "sse", td.OpObserveAllProperties, td.OpUnobserveAllProperties))
	}
	if len(e.events) > 0 {
		d.Forms = append(d.Forms, streamForm(root+"/sse/events", "sse", td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents))
	}
}

// isHTTPForm reports whether f, a form of the original TD, addresses an HTTP server (and is
// not a Web Thing Protocol form, which another binding owns).
func isHTTPForm(d *td.Thing, f *td.Form, docURL *url.URL) bool {
	if f.IsWTP() {
		return false
	}
	u, err := d.ResolveHref(f.Href, docURL)
	if err != nil {
		// An href that is not even a URL reference cannot be served: replace it.
		return true
	}
	s := strings.ToLower(u.Scheme)
	return s == "http" || s == "https"
}
