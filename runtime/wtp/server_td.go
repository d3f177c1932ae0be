package wtp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// defaultEndpointPath serves Things whose TD has no Web Thing Protocol form.
const defaultEndpointPath = "/wtp"

// tdPath is where the Server serves the Thing's TD.
func (t *Thing) tdPath() string {
	if t.cfg.tdPath != "" {
		return "/" + strings.TrimPrefix(t.cfg.tdPath, "/")
	}
	if u, err := url.Parse(t.id); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Path != "" && u.Path != "/" {
		return u.Path
	}
	// Routing compares decoded paths, so the id goes in as is; consumers escape it.
	return "/things/" + t.id
}

// localDocURL stands for "where the TD is served" when resolving relative hrefs of a TD
// without base; only its path matters for routing.
func (t *Thing) localDocURL() *url.URL {
	return &url.URL{Scheme: "http", Host: "localhost", Path: t.tdPath()}
}

// wtpPath returns the URL path a WTP form points at, or "" if its href cannot be resolved.
func (t *Thing) wtpPath(f *td.Form) string {
	u, err := t.desc.ResolveHref(f.Href, t.localDocURL())
	if err != nil {
		return ""
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// wtpPaths lists the distinct endpoint paths of the Thing's WTP forms (defaultEndpointPath
// when it has none).
func (t *Thing) wtpPaths() []string {
	if !t.wtpForms {
		return []string{defaultEndpointPath}
	}
	var paths []string
	t.eachForm(t.desc, func(f *td.Form) {
		if f.IsWTP() {
			if p := t.wtpPath(f); p != "" && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	})
	if len(paths) == 0 {
		paths = []string{defaultEndpointPath}
	}
	return paths
}

func (t *Thing) eachForm(d *td.Thing, fn func(*td.Form)) {
	each := func(forms []td.Form) {
		for i := range forms {
			fn(&forms[i])
		}
	}
	each(d.Forms)
	for _, n := range d.PropertyNames() {
		each(d.Properties[n].Forms)
	}
	for _, n := range d.ActionNames() {
		each(d.Actions[n].Forms)
	}
	for _, n := range d.EventNames() {
		each(d.Events[n].Forms)
	}
}

// externalBase is the http(s) URL consumers reach the server at (no trailing slash).
func (s *Server) externalBase(r *http.Request) *url.URL {
	if s.cfg.external != "" {
		if u, err := parseExternalURL(s.cfg.external); err == nil {
			return u
		}
	}
	u := &url.URL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u
}

func wsURL(base *url.URL, path string) string {
	u := *base
	u.Scheme = "ws"
	if base.Scheme == "https" {
		u.Scheme = "wss"
	}
	u.Path = base.Path + path
	return u.String()
}

// servedTD is the TD as consumers should see it from here: base set to the server's
// external URL, WTP form hrefs pointing at the endpoints on this server, other relative
// hrefs made absolute (so the new base does not change what they mean), the thingID as
// id, and WTP forms added when the TD had none.
func (s *Server) servedTD(t *Thing, r *http.Request) *td.Thing {
	base := s.externalBase(r)
	docURL := *base
	docURL.Path = base.Path + t.tdPath()
	d := t.desc.Clone()
	orig := t.desc

	rewrite := func(f *td.Form) {
		if f.IsWTP() {
			if p := t.wtpPath(f); p != "" {
				f.Href = wsURL(base, p)
			}
			return
		}
		if u, err := orig.ResolveHref(f.Href, &docURL); err == nil {
			f.Href = u.String()
		}
	}
	t.eachForm(d, rewrite)
	for i := range d.Links {
		if u, err := orig.ResolveHref(d.Links[i].Href, &docURL); err == nil {
			d.Links[i].Href = u.String()
		}
	}
	if !t.wtpForms {
		t.addWTPForms(d, wsURL(base, defaultEndpointPath))
	}
	d.ID = t.id
	b := *base
	b.Path = base.Path + "/"
	d.Base = b.String()
	return d
}

// addWTPForms gives every affordance (and the Thing) a WTP form listing what it offers.
func (t *Thing) addWTPForms(d *td.Thing, href string) {
	form := func(k td.Kind, ops opSet) td.Form {
		var list td.StringList
		for _, op := range td.OpsOf(k) {
			if ops.has(op) {
				list = append(list, op)
			}
		}
		return td.Form{Href: href, Subprotocol: Subprotocol, Op: list}
	}
	for n, p := range d.Properties {
		p.Forms = append(p.Forms, form(td.KindProperty, t.props[n].ops))
	}
	for n, a := range d.Actions {
		a.Forms = append(a.Forms, form(td.KindAction, t.actions[n].ops))
	}
	for n, e := range d.Events {
		e.Forms = append(e.Forms, form(td.KindEvent, t.events[n].ops))
	}
	d.Forms = append(d.Forms, form(td.KindThing, t.thingOps))
}

// serveTD answers GET on a TD path (thing != nil) or /.well-known/wot: the single Thing's
// TD, or, when the server has several Things, a JSON array of all their TDs.
func (s *Server) serveTD(w http.ResponseWriter, r *http.Request, thing *Thing) {
	var body any
	contentType := "application/td+json"
	if thing != nil {
		body = s.servedTD(thing, r)
	} else {
		s.mu.RLock()
		things := append([]*Thing(nil), s.order...)
		s.mu.RUnlock()
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
		s.cfg.log.Error("wtp: cannot marshal a TD", "err", err)
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
