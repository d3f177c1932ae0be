package td

import (
	"fmt"
	"net/url"
	"strings"
)

// SubprotocolWTP is the form subprotocol of the Web Thing Protocol.
const SubprotocolWTP = "webthingprotocol"

// FormOps returns the operations of a form of the given kind, applying the default table when the
// form has no op. p is the enclosing property for KindProperty.
func (t *Thing) FormOps(f *Form, k Kind, p *PropertyAffordance) []string {
	if len(f.Op) > 0 {
		return f.Op
	}
	return DefaultOps(k, p, t.Version10())
}

// AffordanceForms returns the forms that apply to op: those of the named affordance for per-affordance
// operations, the Thing-level forms for meta operations (name is ignored then). It returns nil when
// the affordance does not exist.
func (t *Thing) AffordanceForms(op, name string) []*Form {
	k := KindOf(op)
	var (
		forms []Form
		prop  *PropertyAffordance
	)
	switch k {
	case KindProperty:
		if prop = t.Properties[name]; prop == nil {
			return nil
		}
		forms = prop.Forms
	case KindAction:
		a := t.Actions[name]
		if a == nil {
			return nil
		}
		forms = a.Forms
	case KindEvent:
		e := t.Events[name]
		if e == nil {
			return nil
		}
		forms = e.Forms
	case KindThing:
		forms = t.Forms
	default:
		return nil
	}
	var out []*Form
	for i := range forms {
		f := &forms[i]
		for _, o := range t.FormOps(f, k, prop) {
			if o == op {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// ResolveHref resolves href against the TD's base, or against docURL (the URL the TD was fetched from)
// when there is no base. docURL may be nil.
func (t *Thing) ResolveHref(href string, docURL *url.URL) (*url.URL, error) {
	ref, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("form href %q is not a URI reference: %w", href, err)
	}
	if ref.IsAbs() {
		return ref, nil
	}
	if t.Base != "" {
		base, err := url.Parse(t.Base)
		if err != nil {
			return nil, fmt.Errorf("base %q is not a URI: %w", t.Base, err)
		}
		if base.IsAbs() {
			return base.ResolveReference(ref), nil
		}
		if docURL != nil {
			return docURL.ResolveReference(base).ResolveReference(ref), nil
		}
	}
	if docURL != nil {
		return docURL.ResolveReference(ref), nil
	}
	return nil, fmt.Errorf("form href %q is relative and the TD has no base; set base or give the TD's URL", href)
}

// IsWTP reports whether the form is a Web Thing Protocol form by its subprotocol.
func (f *Form) IsWTP() bool { return f.Subprotocol == SubprotocolWTP }

// WTPEndpoint returns the Web Thing Protocol endpoint for op on the named affordance (name is ignored
// for meta operations) with the form it came from: the first form whose subprotocol is
// "webthingprotocol" and whose href resolves to a ws or wss URL.
func (t *Thing) WTPEndpoint(op, name string, docURL *url.URL) (*url.URL, *Form, error) {
	if KindOf(op) == KindUnknown {
		return nil, nil, fmt.Errorf("%q is not a WoT operation", op)
	}
	for _, f := range t.AffordanceForms(op, name) {
		if !f.IsWTP() {
			continue
		}
		u, err := t.ResolveHref(f.Href, docURL)
		if err != nil {
			continue
		}
		if s := strings.ToLower(u.Scheme); s == "ws" || s == "wss" {
			return u, f, nil
		}
	}
	what := op
	if KindOf(op) != KindThing {
		what = fmt.Sprintf("%s %q", op, name)
	}
	return nil, nil, fmt.Errorf("the TD has no Web Thing Protocol form for %s (want a form with \"subprotocol\": %q and a ws:// or wss:// href)", what, SubprotocolWTP)
}

// WTPEndpoints returns every distinct Web Thing Protocol endpoint URL the TD's forms name, in document
// order (Thing-level forms first, then properties, actions and events by sorted name).
func (t *Thing) WTPEndpoints(docURL *url.URL) []*url.URL {
	var out []*url.URL
	seen := map[string]bool{}
	add := func(forms []Form) {
		for i := range forms {
			f := &forms[i]
			if !f.IsWTP() {
				continue
			}
			u, err := t.ResolveHref(f.Href, docURL)
			if err != nil {
				continue
			}
			if s := strings.ToLower(u.Scheme); (s == "ws" || s == "wss") && !seen[u.String()] {
				seen[u.String()] = true
				out = append(out, u)
			}
		}
	}
	add(t.Forms)
	for _, n := range t.PropertyNames() {
		add(t.Properties[n].Forms)
	}
	for _, n := range t.ActionNames() {
		add(t.Actions[n].Forms)
	}
	for _, n := range t.EventNames() {
		add(t.Events[n].Forms)
	}
	return out
}

// EffectiveSecurity returns the names of the security schemes that apply to a form: the form's own
// security when it has one (it replaces the Thing's), otherwise the Thing-level security.
func (t *Thing) EffectiveSecurity(f *Form) []string {
	if f != nil && len(f.Security) > 0 {
		return f.Security
	}
	return t.Security
}
