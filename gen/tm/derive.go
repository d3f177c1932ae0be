package tm

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// WTPSubprotocol is the form subprotocol of the Web Thing Protocol.
const WTPSubprotocol = "webthingprotocol"

// Options control Derive.
type Options struct {
	// Values fill the {{NAME}} placeholders (any JSON-compatible Go value; see ParseValue).
	Values map[string]any
	// Base, when set, becomes the TD's base. With WTP, an ws/wss base gets relative "wtp" hrefs;
	// an http/https base gets absolute ws/wss hrefs (WTP endpoints must be WebSocket URLs).
	Base string
	// WTP adds a Web Thing Protocol form to every affordance and the Thing-level meta-op form.
	WTP bool
	// KeepOptional keeps tm:optional affordances (default: they are left out).
	KeepOptional bool
	// ModelURL, when set, is linked with rel "type" (the TD is an instance of that model).
	ModelURL string
	// InstanceVersion is version.instance when the model gives none (default "1.0.0").
	InstanceVersion string
}

// Derive produces a TD instance from a resolved model (TD 1.1 "Derivation of Thing Description
// Instances", https://www.w3.org/TR/wot-thing-description11/#thing-model-td-generation). It returns the TD as indented JSON and the warnings of the derivation.
func Derive(m *Model, opts Options) ([]byte, []Warning, error) {
	doc, warns, err := derive(m, opts, false)
	if err != nil {
		return nil, warns, err
	}
	out, err := marshalJSON(doc)
	return out, warns, err
}

type deriver struct {
	warns  []Warning
	forGen bool
}

func (d *deriver) warn(ptr, format string, a ...any) {
	d.warns = append(d.warns, Warning{Pointer: ptr, Msg: fmt.Sprintf(format, a...)})
}

// derive does the shared work of Derive (forGen false) and GenerationDocument (forGen true).
func derive(m *Model, opts Options, forGen bool) (map[string]any, []Warning, error) {
	if m == nil || m.Doc == nil {
		return nil, nil, fmt.Errorf("no model: resolve one with tm.Resolve first")
	}
	d := &deriver{forGen: forGen}
	doc := deepCopy(m.Doc).(map[string]any)

	// Optional affordances: dropped, kept, or (for generation) kept and marked.
	for _, p := range m.Optional {
		toks := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)
		if len(toks) != 2 {
			continue
		}
		kind := toks[0]
		name := strings.ReplaceAll(strings.ReplaceAll(toks[1], "~1", "/"), "~0", "~")
		aff, _ := doc[kind].(map[string]any)
		a, ok := aff[name].(map[string]any)
		if !ok {
			continue
		}
		switch {
		case forGen:
			a[MarkOptional] = true
		case !opts.KeepOptional:
			delete(aff, name)
			if len(aff) == 0 {
				delete(doc, kind)
			}
		}
	}
	delete(doc, MemberOptional)
	delete(doc, MemberRequired)

	// Placeholders.
	if forGen {
		if err := d.checkGenPlaceholders(doc); err != nil {
			return nil, d.warns, err
		}
	} else {
		missing := map[string]string{}
		doc = substitute(doc, "", opts.Values, missing).(map[string]any)
		if err := missingError(missing); err != nil {
			return nil, d.warns, err
		}
		if len(opts.Values) > 0 {
			used := map[string]bool{}
			for _, n := range m.Placeholders {
				used[n] = true
			}
			var unused []string
			for n := range opts.Values {
				if !used[n] {
					unused = append(unused, n)
				}
			}
			sort.Strings(unused)
			if len(unused) > 0 {
				d.warn("", "value(s) given for placeholder(s) the model does not use: %s", strings.Join(unused, ", "))
			}
		}
	}

	// @type: drop tm:ThingModel.
	var types []any
	for _, t := range asStringList(doc["@type"]) {
		if t != TypeThingModel {
			types = append(types, t)
		}
	}
	switch len(types) {
	case 0:
		delete(doc, "@type")
	case 1:
		doc["@type"] = types[0]
	default:
		doc["@type"] = types
	}

	// links: no tm:* relations; at most one rel=type link, pointing at the model.
	var links []any
	for _, e := range linkList(doc["links"]) {
		lk, _ := e.(map[string]any)
		rel, _ := lk["rel"].(string)
		if rel == RelExtends || rel == RelSubmodel || rel == relExtendsLegacy {
			continue
		}
		if rel == "type" && opts.ModelURL != "" {
			continue
		}
		links = append(links, e)
	}
	if opts.ModelURL != "" {
		links = append(links, map[string]any{"rel": "type", "href": opts.ModelURL, "type": "application/tm+json"})
	}
	if len(links) > 0 {
		doc["links"] = links
	} else {
		delete(doc, "links")
	}
	stripTMMembers(doc)

	// Metadata a TD needs.
	if t, ok := doc["title"].(string); !ok || t == "" {
		title := "Thing"
		if m.URL != "" {
			if u, err := url.Parse(m.URL); err == nil {
				title = modelBaseName(u)
			}
		}
		doc["title"] = title
		d.warn("/title", "the model has no title; using %q — add a title to the model", title)
	}
	if !forGen {
		if _, ok := doc["id"]; !ok {
			id := "urn:uuid:" + nameUUID(m.URL, opts.Values)
			doc["id"] = id
			d.warn("/id", "the model has no id; using %s (derived from the model URL and the placeholder values, so the same inputs give the same id) — add \"id\": \"urn:uuid:{{THING_UUID}}\" to the model to choose it", id)
		}
		iv := opts.InstanceVersion
		if iv == "" {
			iv = "1.0.0"
		}
		switch v := doc["version"].(type) {
		case map[string]any:
			if _, ok := v["instance"]; !ok {
				v["instance"] = iv
			}
		case nil:
			doc["version"] = map[string]any{"instance": iv}
		default:
			return nil, d.warns, fmt.Errorf("version must be an object like {\"instance\": \"1.0.0\"}, got %s; fix the model or the placeholder value", jsonText(v))
		}
	}
	if opts.Base != "" {
		doc["base"] = opts.Base
	}
	if forGen {
		// A TD needs version.instance; the model version stands in for it.
		if v, ok := doc["version"].(map[string]any); ok {
			if _, ok := v["instance"]; !ok {
				if mv, ok := v["model"].(string); ok && mv != "" {
					v["instance"] = mv
				} else {
					delete(doc, "version")
				}
			}
		}
	}
	d.security(doc)

	if err := d.fillHrefs(doc, opts.WTP || forGen, opts.Base); err != nil {
		return nil, d.warns, err
	}
	if opts.WTP || forGen {
		if err := d.addWTPForms(doc, opts.Base); err != nil {
			return nil, d.warns, err
		}
	} else {
		if missing := affordancesWithoutForms(doc); len(missing) > 0 {
			return nil, d.warns, fmt.Errorf("%d affordance(s) have no forms, so the TD could not be used: %s; pass -wtp to add Web Thing Protocol forms, or add forms to the model", len(missing), strings.Join(missing, ", "))
		}
	}
	return doc, d.warns, nil
}

// MarkOptional is the extension member GenerationDocument sets on tm:optional affordances.
const MarkOptional = "wotgen:optional"

// stripTMMembers removes tm:* members left at the top level (the TM vocabulary must vanish from TDs).
func stripTMMembers(doc map[string]any) {
	for k := range doc {
		if strings.HasPrefix(k, "tm:") {
			delete(doc, k)
		}
	}
}

func (d *deriver) security(doc map[string]any) {
	defs, _ := doc["securityDefinitions"].(map[string]any)
	if len(defs) == 0 {
		doc["securityDefinitions"] = map[string]any{"nosec_sc": map[string]any{"scheme": "nosec"}}
		doc["security"] = "nosec_sc"
		d.warn("/security", "the model declares no security; the TD uses nosec (no authentication) — add securityDefinitions and security to the model if the Thing needs credentials")
		return
	}
	if _, ok := doc["security"]; !ok {
		names := sortedKeys(defs)
		doc["security"] = names[0]
		d.warn("/security", "the model has securityDefinitions but no security; using %q — add \"security\" to the model", names[0])
	}
}

func affordancesWithoutForms(doc map[string]any) []string {
	var out []string
	for _, kind := range affordanceKinds {
		aff, _ := doc[kind].(map[string]any)
		for _, name := range sortedKeys(aff) {
			a, _ := aff[name].(map[string]any)
			if f, _ := a["forms"].([]any); len(f) == 0 {
				out = append(out, ptrJoin("", kind, name))
			}
		}
	}
	return out
}

func isTrue(v any) bool { b, _ := v.(bool); return b }

// wtpHref returns the href of WTP forms and whether base is usable as it is.
func wtpHref(base string) (string, error) {
	if base == "" {
		// Relative: resolves against where the TD is served (the wotgen server rewrites it).
		return "wtp", nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("base %q is not an absolute URL; give e.g. wss://host/things/lamp/", base)
	}
	switch u.Scheme {
	case "ws", "wss":
		return "wtp", nil
	case "http", "https":
		h := u.ResolveReference(&url.URL{Path: "wtp"})
		if h.Scheme == "http" {
			h.Scheme = "ws"
		} else {
			h.Scheme = "wss"
		}
		return h.String(), nil
	}
	return "", fmt.Errorf("base %q: a Web Thing Protocol endpoint needs a ws, wss, http or https base", base)
}

func (d *deriver) addWTPForms(doc map[string]any, base string) error {
	href, err := wtpHref(base)
	if err != nil {
		return err
	}
	if _, hasBase := doc["base"]; !hasBase && !d.forGen {
		d.warn("/base", "no base: Web Thing Protocol hrefs are the relative %q, which the wotgen server rewrites when it serves the TD; set a base (-base wss://host/path/) for a TD that is usable on its own", href)
	}
	form := func(ops ...string) map[string]any {
		list := make([]any, len(ops))
		for i, o := range ops {
			list[i] = o
		}
		return map[string]any{"href": href, "subprotocol": WTPSubprotocol, "op": list}
	}
	add := func(a map[string]any, f map[string]any) {
		forms, _ := a["forms"].([]any)
		for _, e := range forms {
			if ef, ok := e.(map[string]any); ok && ef["subprotocol"] == WTPSubprotocol {
				return // the model already has a WTP form
			}
		}
		a["forms"] = append(forms, f)
	}
	var readable, writable, observable, asyncActions, events bool
	props, _ := doc["properties"].(map[string]any)
	for _, name := range sortedKeys(props) {
		a, ok := props[name].(map[string]any)
		if !ok {
			continue
		}
		var ops []string
		if !isTrue(a["writeOnly"]) {
			ops = append(ops, "readproperty")
			readable = true
		}
		if !isTrue(a["readOnly"]) {
			ops = append(ops, "writeproperty")
			writable = true
		}
		if isTrue(a["observable"]) && !isTrue(a["writeOnly"]) {
			ops = append(ops, "observeproperty", "unobserveproperty")
			observable = true
		}
		if len(ops) == 0 {
			d.warn(ptrJoin("/properties", name), "property is both readOnly and writeOnly; no WTP operation applies")
			continue
		}
		add(a, form(ops...))
	}
	acts, _ := doc["actions"].(map[string]any)
	for _, name := range sortedKeys(acts) {
		a, ok := acts[name].(map[string]any)
		if !ok {
			continue
		}
		if isTrue(a["synchronous"]) {
			add(a, form("invokeaction"))
			continue
		}
		asyncActions = true
		add(a, form("invokeaction", "queryaction", "cancelaction"))
	}
	evs, _ := doc["events"].(map[string]any)
	for _, name := range sortedKeys(evs) {
		a, ok := evs[name].(map[string]any)
		if !ok {
			continue
		}
		events = true
		add(a, form("subscribeevent", "unsubscribeevent"))
	}
	var meta []string
	if readable {
		meta = append(meta, "readallproperties", "readmultipleproperties")
	}
	if writable {
		meta = append(meta, "writeallproperties", "writemultipleproperties")
	}
	if observable {
		meta = append(meta, "observeallproperties", "unobserveallproperties")
	}
	if asyncActions {
		meta = append(meta, "queryallactions")
	}
	if events {
		meta = append(meta, "subscribeallevents", "unsubscribeallevents")
	}
	if len(meta) > 0 {
		forms, _ := doc["forms"].([]any)
		doc["forms"] = append(forms, form(meta...))
	}
	return nil
}

// nameUUID is a name-based (SHA-1, version 5 layout) UUID over the model URL and the values, so
// deriving twice with the same inputs yields the same id and different units get different ids.
func nameUUID(model string, values map[string]any) string {
	h := sha1.New()
	h.Write([]byte("wotgen-tm\x00" + model + "\x00"))
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(normalizeValue(values[k]))
		h.Write([]byte(k + "=" + string(b) + "\x00"))
	}
	s := h.Sum(nil)
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// fillHrefs completes forms the model left without href (a TM may omit them): with WTP they become
// WTP forms (a Thing-level form without op is dropped, the meta-op form replaces it); without WTP
// that is an error naming them.
func (d *deriver) fillHrefs(doc map[string]any, wtp bool, base string) error {
	var missing []string
	fix := func(at string, forms []any, thingLevel bool) []any {
		out := forms[:0]
		for i, e := range forms {
			f, ok := e.(map[string]any)
			if !ok {
				out = append(out, e)
				continue
			}
			if h, ok := f["href"].(string); ok && h != "" {
				out = append(out, f)
				continue
			}
			p := fmt.Sprintf("%s/forms/%d", at, i)
			if !wtp {
				missing = append(missing, p)
				out = append(out, f)
				continue
			}
			if _, hasOp := f["op"]; thingLevel && !hasOp {
				d.warn(p, "Thing-level form without href and op dropped; the Web Thing Protocol meta-operation form replaces it")
				continue
			}
			href, err := wtpHref(base)
			if err != nil {
				out = append(out, f)
				continue
			}
			f["href"], f["subprotocol"] = href, WTPSubprotocol
			d.warn(p, "form without href completed as a Web Thing Protocol form (%s)", href)
			out = append(out, f)
		}
		return out
	}
	if forms, ok := doc["forms"].([]any); ok {
		if f := fix("", forms, true); len(f) > 0 {
			doc["forms"] = f
		} else {
			delete(doc, "forms")
		}
	}
	for _, kind := range affordanceKinds {
		aff, _ := doc[kind].(map[string]any)
		for _, name := range sortedKeys(aff) {
			a, _ := aff[name].(map[string]any)
			if forms, ok := a["forms"].([]any); ok {
				a["forms"] = fix(ptrJoin("/"+kind, name), forms, false)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d form(s) have no href: %s; add hrefs to the model (placeholders such as \"{{BASE_URL}}/status\" work) or pass -wtp to make them Web Thing Protocol forms", len(missing), strings.Join(missing, ", "))
	}
	return nil
}
