package td

import (
	"encoding/json"
	"sort"
)

// IsTM reports whether the document declares itself a Thing Model (@type contains tm:ThingModel).
func (t *Thing) IsTM() bool { return t.AtType.Contains("tm:ThingModel") }

// Version10 reports whether the document is a TD 1.0 document: its @context names the TD 1.0 URI and
// not the TD 1.1 one. TD 1.0 documents get the TD 1.0 defaults.
func (t *Thing) Version10() bool { return t.Context.Has(ContextV10) && !t.Context.Has(ContextV11) }

// Clone returns a deep copy of t.
func (t *Thing) Clone() *Thing {
	b, err := json.Marshal(t)
	if err != nil {
		panic("td: cannot marshal a parsed Thing: " + err.Error()) // every model value marshals
	}
	c := new(Thing)
	if err := json.Unmarshal(b, c); err != nil {
		panic("td: cannot re-read a marshalled Thing: " + err.Error())
	}
	return c
}

// DefaultOps returns the operations a form of the given kind performs when it has no "op" member,
// following the TD 1.1 default table (or the TD 1.0 one when v10 is true). p is the enclosing property
// for KindProperty and may be nil otherwise. A property that is both readOnly and writeOnly has no
// defined default; it gets none.
func DefaultOps(k Kind, p *PropertyAffordance, v10 bool) []string {
	switch k {
	case KindProperty:
		if v10 {
			return []string{OpReadProperty, OpWriteProperty}
		}
		ro, wo := p != nil && p.IsReadOnly(), p != nil && p.IsWriteOnly()
		switch {
		case ro && wo:
			return nil
		case ro:
			return []string{OpReadProperty}
		case wo:
			return []string{OpWriteProperty}
		}
		return []string{OpReadProperty, OpWriteProperty}
	case KindAction:
		return []string{OpInvokeAction}
	case KindEvent:
		if v10 {
			return []string{OpSubscribeEvent}
		}
		return []string{OpSubscribeEvent, OpUnsubscribeEvent}
	}
	return nil // Thing-level forms must state op
}

// Normalize returns a deep copy of t with every TD default spelled out: form op and contentType,
// property readOnly/writeOnly/observable, action safe/idempotent, security scheme in/qop/alg/format,
// and additionalResponses success/contentType. The argument is not modified, so the document as
// written stays available.
func Normalize(t *Thing) *Thing {
	n := t.Clone()
	v10 := n.Version10()
	for _, p := range n.Properties {
		setBool(&p.ReadOnly, false)
		setBool(&p.WriteOnly, false)
		if !v10 {
			setBool(&p.Observable, false)
		}
		normalizeForms(p.Forms, DefaultOps(KindProperty, p, v10))
	}
	for _, a := range n.Actions {
		setBool(&a.Safe, false)
		setBool(&a.Idempotent, false)
		normalizeForms(a.Forms, DefaultOps(KindAction, nil, v10))
	}
	for _, e := range n.Events {
		normalizeForms(e.Forms, DefaultOps(KindEvent, nil, v10))
	}
	normalizeForms(n.Forms, nil)
	for _, s := range n.SecurityDefinitions {
		switch s.Scheme {
		case SchemeBasic:
			setString(&s.In, "header")
		case SchemeDigest:
			setString(&s.In, "header")
			setString(&s.Qop, "auth")
		case SchemeAPIKey:
			setString(&s.In, "query")
		case SchemeBearer:
			setString(&s.In, "header")
			setString(&s.Alg, "ES256")
			setString(&s.Format, "jwt")
		}
	}
	return n
}

func normalizeForms(forms []Form, ops []string) {
	for i := range forms {
		f := &forms[i]
		if len(f.Op) == 0 && ops != nil {
			f.Op = append(StringList(nil), ops...)
		}
		setString(&f.ContentType, "application/json")
		for j := range f.AdditionalResponses {
			r := &f.AdditionalResponses[j]
			setBool(&r.Success, false)
			setString(&r.ContentType, f.ContentType)
		}
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = &v
	}
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// PropertyNames returns the property names in sorted order.
func (t *Thing) PropertyNames() []string { return sortedKeys(t.Properties) }

// ActionNames returns the action names in sorted order.
func (t *Thing) ActionNames() []string { return sortedKeys(t.Actions) }

// EventNames returns the event names in sorted order.
func (t *Thing) EventNames() []string { return sortedKeys(t.Events) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
