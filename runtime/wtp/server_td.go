package wtp

import (
	"net/url"
	"slices"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// defaultEndpointPath serves Things whose TD has no Web Thing Protocol form.
const defaultEndpointPath = "/wtp"

// thingInfo is what the binding derives once from a Thing's TD: its endpoint paths and the
// operations its WTP forms offer.
type thingInfo struct {
	paths    []string
	wtpForms bool // the TD has WTP forms (else every op is offered, with forms added)
	props    map[string]opSet
	actions  map[string]opSet
	events   map[string]opSet
	thingOps opSet

	readOnly, writeOnly map[string]bool // by property name
}

// opSet is a set of operations, one bit per td.AllOps index.
type opSet uint32

var opBits = func() map[string]opSet {
	m := map[string]opSet{}
	for i, op := range td.AllOps() {
		m[op] = 1 << i
	}
	return m
}()

func opsOf(ops ...string) opSet {
	var s opSet
	for _, op := range ops {
		s |= opBits[op]
	}
	return s
}

func (s opSet) has(op string) bool { return s&opBits[op] != 0 }

func (i *thingInfo) servesAt(path string) bool { return slices.Contains(i.paths, path) }

func newThingInfo(t *wot.Thing) *thingInfo {
	desc := t.TD()
	n := td.Normalize(desc)
	i := &thingInfo{wtpForms: hasWTPForms(n), props: map[string]opSet{}, actions: map[string]opSet{}, events: map[string]opSet{},
		readOnly: map[string]bool{}, writeOnly: map[string]bool{}}
	offered := func(k td.Kind, forms []td.Form, p *td.PropertyAffordance) opSet {
		var s opSet
		for j := range forms {
			if forms[j].IsWTP() {
				s |= opsOf(n.FormOps(&forms[j], k, p)...)
			}
		}
		return s
	}
	for name, p := range n.Properties {
		i.props[name] = offered(td.KindProperty, p.Forms, p)
		i.readOnly[name], i.writeOnly[name] = p.IsReadOnly(), p.IsWriteOnly()
		if !i.wtpForms {
			i.props[name] = defaultPropertyOps(p)
		}
	}
	for name, a := range n.Actions {
		i.actions[name] = offered(td.KindAction, a.Forms, nil)
		if !i.wtpForms {
			i.actions[name] = opsOf(td.OpsOf(td.KindAction)...)
		}
	}
	for name, e := range n.Events {
		i.events[name] = offered(td.KindEvent, e.Forms, nil)
		if !i.wtpForms {
			i.events[name] = opsOf(td.OpsOf(td.KindEvent)...)
		}
	}
	i.thingOps = offered(td.KindThing, n.Forms, nil)
	if !i.wtpForms {
		i.thingOps = opsOf(td.OpsOf(td.KindThing)...)
	}
	i.paths = wtpPaths(t, desc, i.wtpForms)
	return i
}

// defaultPropertyOps is what a property offers when the TD has no WTP forms at all (the
// binding then adds forms for everything it serves).
func defaultPropertyOps(p *td.PropertyAffordance) opSet {
	var s opSet
	if !p.IsWriteOnly() {
		s |= opsOf(td.OpReadProperty, td.OpObserveProperty, td.OpUnobserveProperty)
	}
	if !p.IsReadOnly() {
		s |= opsOf(td.OpWriteProperty)
	}
	return s
}

func hasWTPForms(n *td.Thing) bool {
	found := false
	eachForm(n, func(f *td.Form) { found = found || f.IsWTP() })
	return found
}

// localDocURL stands for "where the TD is served" when resolving relative hrefs of a TD
// without base; only its path matters for routing.
func localDocURL(t *wot.Thing) *url.URL {
	return &url.URL{Scheme: "http", Host: "localhost", Path: t.TDPath()}
}

// wtpPath returns the URL path a WTP form of desc points at, or "" if its href cannot be
// resolved.
func wtpPath(t *wot.Thing, desc *td.Thing, f *td.Form) string {
	u, err := desc.ResolveHref(f.Href, localDocURL(t))
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
func wtpPaths(t *wot.Thing, desc *td.Thing, wtpForms bool) []string {
	if !wtpForms {
		return []string{defaultEndpointPath}
	}
	var paths []string
	eachForm(desc, func(f *td.Form) {
		if f.IsWTP() {
			if p := wtpPath(t, desc, f); p != "" && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	})
	if len(paths) == 0 {
		paths = []string{defaultEndpointPath}
	}
	return paths
}

func eachForm(d *td.Thing, fn func(*td.Form)) {
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

func wsURL(base *url.URL, path string) string {
	u := *base
	u.Scheme = "ws"
	if base.Scheme == "https" {
		u.Scheme = "wss"
	}
	u.Path = base.Path + path
	return u.String()
}

// AddForms points the TD's WTP forms at this server's endpoints, or, when the TD has
// none, gives every affordance (and the Thing) a WTP form at /wtp listing what it offers.
func (b *serverBinding) AddForms(d *td.Thing, t *wot.Thing, base *url.URL) {
	info := b.info(t)
	desc := t.TD()
	if info.wtpForms {
		// d is a copy of desc, so their forms correspond one to one.
		var paths []string
		eachForm(desc, func(f *td.Form) {
			if f.IsWTP() {
				paths = append(paths, wtpPath(t, desc, f))
			}
		})
		i := 0
		eachForm(d, func(f *td.Form) {
			if f.IsWTP() && i < len(paths) {
				if p := paths[i]; p != "" {
					f.Href = wsURL(base, p)
				}
				i++
			}
		})
		return
	}
	href := wsURL(base, defaultEndpointPath)
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
		p.Forms = append(p.Forms, form(td.KindProperty, info.props[n]))
	}
	for n, a := range d.Actions {
		a.Forms = append(a.Forms, form(td.KindAction, info.actions[n]))
	}
	for n, e := range d.Events {
		e.Forms = append(e.Forms, form(td.KindEvent, info.events[n]))
	}
	d.Forms = append(d.Forms, form(td.KindThing, info.thingOps))
}
