package validate

import (
	"fmt"
	"net/url"
	"strings"
)

// checkTM runs the Thing Model rules: placeholder syntax, placeholders in member names, local tm:ref
// targets and tm:optional pointers. Resolving tm:extends and remote tm:ref is TM resolution's job
// (package gen/tm), not validation's.
func (c *checker) checkTM() {
	var refs []refAt
	c.walkTM(c.doc, "", 0, &refs)
	for _, r := range refs {
		c.checkTMRef(r)
	}
	if _, ok := c.doc["tm:required"]; ok {
		c.add(CodeTMRequired, "/tm:required", "tm:required is the pre-2022 draft term; TD 1.1 uses tm:optional, listing the affordances that may be left out instead of the mandatory ones")
	}
	c.checkTMOptional()
}

type refAt struct {
	ptr, ref string
}

// walkTM visits every member name and string value.
func (c *checker) walkTM(v any, ptr string, depth int, refs *[]refAt) {
	if depth > maxDepth {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for k := range t {
			p := ptrJoin(ptr, k)
			if strings.Contains(k, "{{") || strings.Contains(k, "}}") {
				c.add(CodePlaceholderName, p, "member name %q contains a placeholder; placeholders may only stand for values: use a fixed name", truncate(k, 60))
			}
			if k == "tm:ref" {
				if s, ok := t[k].(string); ok {
					*refs = append(*refs, refAt{p, s})
				}
			}
			c.walkTM(t[k], p, depth+1, refs)
		}
	case []any:
		for i, e := range t {
			c.walkTM(e, ptrIndex(ptr, i), depth+1, refs)
		}
	case string:
		if msg := placeholderProblem(t); msg != "" {
			c.add(CodePlaceholder, ptr, "%s", msg)
		}
	}
}

// placeholderProblem checks every {{...}} in s against the TD 1.1 syntax {{2}[ -~]+}{2}: after "{{"
// comes at least one printable ASCII character, up to the next "}}". Single braces are URI templates.
func placeholderProblem(s string) string {
	rest := s
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			return ""
		}
		body := rest[open+2:]
		end := strings.Index(body, "}}")
		if end < 0 {
			return fmt.Sprintf("placeholder in %q is not closed; write it as {{NAME}}", truncate(s, 60))
		}
		name := body[:end]
		if name == "" {
			return fmt.Sprintf("empty placeholder {{}} in %q; give it a name such as {{DEVICE_ID}}", truncate(s, 60))
		}
		for _, r := range name {
			if r < 0x20 || r > 0x7e {
				return fmt.Sprintf("placeholder {{%s}} contains %q; placeholder names are printable ASCII only", truncate(name, 40), r)
			}
		}
		rest = body[end+2:]
	}
}

// checkTMRef checks a tm:ref's syntax and, for a reference into the same document, its target.
func (c *checker) checkTMRef(r refAt) {
	if hasPlaceholder(r.ref) {
		return
	}
	hash := strings.IndexByte(r.ref, '#')
	if hash < 0 {
		c.add(CodeTMRef, r.ptr, "tm:ref %q has no JSON pointer fragment; write <URI>#<pointer>, e.g. \"#/properties/base\" or \"base.tm.json#/properties/status\"", truncate(r.ref, 80))
		return
	}
	frag := r.ref[hash+1:]
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if frag != "" && frag[0] != '/' {
		c.add(CodeTMRef, r.ptr, "tm:ref fragment %q is not a JSON pointer; it must start with '/', e.g. \"#/properties/base\"", truncate(frag, 80))
		return
	}
	if hash > 0 {
		return // another document: TM resolution fetches and checks it
	}
	target, ok := resolvePointer(c.doc, frag)
	if !ok && strings.Contains(frag, "~") {
		if _, lit := resolvePointerLiteral(c.doc, frag); lit {
			d := c.add(CodeTMRef, r.ptr, "tm:ref %q only resolves if \"~\" is read literally; in a JSON pointer \"~1\" means \"/\" and \"~0\" means \"~\": escape the member name's \"~\" as \"~0\"", truncate(r.ref, 80))
			d.Severity = SeverityWarning
			return
		}
	}
	if !ok {
		c.add(CodeTMRef, r.ptr, "tm:ref %q points to nothing in this model; fix the pointer or define %s", truncate(r.ref, 80), frag)
		return
	}
	// A local reference to itself or to an ancestor never terminates.
	refOwner := parentPointer(r.ptr)
	if frag == refOwner || strings.HasPrefix(refOwner+"/", frag+"/") {
		c.add(CodeTMRef, r.ptr, "tm:ref %q points to itself or to an enclosing definition, which never resolves; point to a separate definition", r.ref)
		return
	}
	if m, ok := target.(map[string]any); ok {
		if next, ok := m["tm:ref"].(string); ok && strings.HasPrefix(next, "#") && c.refCycle(frag, next, 0) {
			c.add(CodeTMRef, r.ptr, "tm:ref %q starts a cycle of local references; break the cycle", r.ref)
		}
	}
}

func (c *checker) refCycle(start, next string, depth int) bool {
	if depth > 32 {
		return true
	}
	frag, err := url.PathUnescape(strings.TrimPrefix(next, "#"))
	if err != nil {
		return false
	}
	if frag == start {
		return true
	}
	t, ok := resolvePointer(c.doc, frag)
	if !ok {
		return false
	}
	if m, ok := t.(map[string]any); ok {
		if n, ok := m["tm:ref"].(string); ok && strings.HasPrefix(n, "#") {
			return c.refCycle(start, n, depth+1)
		}
	}
	return false
}

func (c *checker) checkTMOptional() {
	list, _ := c.doc["tm:optional"].([]any)
	extends := false
	if links, ok := c.doc["links"].([]any); ok {
		for _, l := range links {
			if m, ok := l.(map[string]any); ok && (m["rel"] == "tm:extends" || m["rel"] == "extends") {
				extends = true
			}
		}
	}
	for i, e := range list {
		p, ok := e.(string)
		if !ok {
			continue
		}
		ptr := ptrIndex("/tm:optional", i)
		target, found := resolvePointer(c.doc, p)
		switch {
		case !found && extends:
			d := c.add(CodeTMOptional, ptr, "tm:optional names %q, which this model does not define; fine if the extended model (tm:extends) defines it, otherwise fix the pointer", p)
			d.Severity = SeverityWarning
		case !found:
			c.add(CodeTMOptional, ptr, "tm:optional names %q, which this model does not define; fix the pointer or add the affordance", p)
		default:
			if _, isObj := target.(map[string]any); !isObj {
				c.add(CodeTMOptional, ptr, "tm:optional names %q, which is not an affordance object", p)
			}
		}
	}
}

// resolvePointerLiteral follows a pointer without RFC 6901 unescaping (for a lenient hint only).
func resolvePointerLiteral(doc any, ptr string) (any, bool) {
	return resolvePointer(doc, strings.ReplaceAll(ptr, "~", "~0"))
}

// resolvePointer follows an RFC 6901 pointer in the generic tree.
func resolvePointer(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	if ptr[0] != '/' {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescapePointerToken(tok)
		switch t := cur.(type) {
		case map[string]any:
			v, ok := t[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i := 0
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || i < 0 || i >= len(t) || fmt.Sprint(i) != tok {
				return nil, false
			}
			cur = t[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
