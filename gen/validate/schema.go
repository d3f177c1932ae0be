package validate

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed schemas/td.schema.json schemas/tm.schema.json
var schemaFS embed.FS

// Schemas returns wotgen's embedded JSON Schemas (draft-07) for TDs and TMs, for tools that want
// to use them directly (editors, other validators).
func Schemas() (td, tm []byte) {
	td, _ = schemaFS.ReadFile("schemas/td.schema.json")
	tm, _ = schemaFS.ReadFile("schemas/tm.schema.json")
	return td, tm
}

type compiledSchema struct {
	schema *jsonschema.Schema
	doc    any      // the schema document, to find x-fix hints
	hints  sync.Map // absolute keyword location → hint
}

var (
	loadOnce           sync.Once
	loadedTD, loadedTM *compiledSchema
	loadErr            error
)

// loadSchemas compiles both schemas once per process; compiled schemas are immutable and shared.
func loadSchemas() (*compiledSchema, *compiledSchema, error) {
	loadOnce.Do(func() {
		loadedTD, loadErr = compileEmbedded("schemas/td.schema.json")
		if loadErr == nil {
			loadedTM, loadErr = compileEmbedded("schemas/tm.schema.json")
		}
	})
	return loadedTD, loadedTM, loadErr
}

func compileEmbedded(path string) (*compiledSchema, error) {
	raw, err := schemaFS.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, problems, ok := parseJSON(raw)
	if !ok {
		return nil, fmt.Errorf("validate: embedded schema %s: %s", path, problems[len(problems)-1].msg)
	}
	// Inline every non-recursive $ref: the library applies each schema node separately (with a
	// per-node copy of the instance's member names), so fewer nodes is most of the speed.
	root, isObj := doc.(map[string]any)
	if !isObj {
		return nil, fmt.Errorf("validate: embedded schema %s is not an object", path)
	}
	doc = inlineRefs(root)
	flat, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("validate: embedded schema %s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	url := "file:///wotgen/" + path
	if err := c.AddResource(url, bytes.NewReader(flat)); err != nil {
		return nil, fmt.Errorf("validate: embedded schema %s: %w", path, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("validate: embedded schema %s: %w", path, err)
	}
	return &compiledSchema{schema: s, doc: doc}, nil
}

// validate runs the schema and turns its error tree into diagnostics.
func (cs *compiledSchema) validate(tree any) []Diagnostic {
	err := cs.schema.Validate(tree)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Diagnostic{newDiag(CodeSchema, "schema validation failed: "+err.Error())}
	}
	var out []Diagnostic
	cs.collect(ve, &out)
	return out
}

// collect reports leaves. Combinators (anyOf, oneOf, not) are reported as one finding with the
// schema's hint, because their branch errors ("expected boolean", "does not match pattern") confuse
// more than they help.
func (cs *compiledSchema) collect(ve *jsonschema.ValidationError, out *[]Diagnostic) {
	kw := lastToken(ve.KeywordLocation)
	switch kw {
	case "anyOf", "oneOf", "not":
		*out = append(*out, cs.diag(ve, kw))
		return
	}
	if len(ve.Causes) == 0 {
		*out = append(*out, cs.diag(ve, kw))
		return
	}
	for _, c := range ve.Causes {
		cs.collect(c, out)
	}
}

func (cs *compiledSchema) diag(ve *jsonschema.ValidationError, kw string) Diagnostic {
	var msg string
	switch kw {
	case "required":
		names := strings.TrimPrefix(ve.Message, "missing properties: ")
		if strings.Contains(names, ",") {
			msg = "missing required members " + names
		} else {
			msg = "missing required member " + names
		}
	case "anyOf", "oneOf":
		msg = "value has none of the allowed forms"
		if strings.HasPrefix(ve.Message, "valid against schemas at indexes") {
			msg = "value matches more than one of the allowed forms"
		}
	case "not":
		msg = "value is not allowed here"
	case "additionalItems", "items":
		msg = ve.Message
	default:
		msg = ve.Message
	}
	if hint := cs.hint(ve.AbsoluteKeywordLocation); hint != "" {
		msg += ". " + hint
	}
	d := newDiag(CodeSchema, msg)
	d.Pointer = ve.InstanceLocation
	return d
}

// hint finds the fix hint for a failing keyword: the x-fix of the schema node holding the keyword
// or of one of its two nearest ancestors. An x-fix is a string, or an object keyed by keyword.
func (cs *compiledSchema) hint(absLoc string) string {
	if h, ok := cs.hints.Load(absLoc); ok {
		return h.(string)
	}
	frag := absLoc
	if i := strings.IndexByte(frag, '#'); i >= 0 {
		frag = frag[i+1:]
	}
	var toks []string
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if tok != "" {
			if t, err := url.PathUnescape(tok); err == nil {
				tok = t
			}
			toks = append(toks, unescapePointerToken(tok))
		}
	}
	keyword := ""
	if len(toks) > 0 {
		keyword = toks[len(toks)-1]
	}
	// A string x-fix covers its node and the two levels below; a keyword-keyed x-fix only the
	// keywords directly on its node.
	hintOf := func(n any, direct bool) string {
		m, ok := n.(map[string]any)
		if !ok {
			return ""
		}
		switch h := m["x-fix"].(type) {
		case string:
			return h
		case map[string]any:
			if direct {
				s, _ := h[keyword].(string)
				return s
			}
		}
		return ""
	}
	hint := ""
	node := cs.doc
	if len(toks) <= 3 {
		hint = hintOf(node, len(toks) == 1)
	}
	for i, tok := range toks[:max(len(toks)-1, 0)] {
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			k, err := strconv.Atoi(tok)
			if err != nil || k < 0 || k >= len(n) {
				node = nil
			} else {
				node = n[k]
			}
		default:
			node = nil
		}
		if node == nil {
			break
		}
		if i >= len(toks)-4 { // the keyword's node and its two nearest ancestors
			if h := hintOf(node, i == len(toks)-2); h != "" {
				hint = h
			}
		}
	}
	cs.hints.Store(absLoc, hint)
	return hint
}

func lastToken(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// inlineRefs replaces each "$ref": "#/definitions/X" by a copy of X unless X is recursive (reaches
// itself through references); an x-fix next to the $ref wins over X's own.
func inlineRefs(root map[string]any) map[string]any {
	defs, _ := root["definitions"].(map[string]any)
	refName := func(v any) (string, bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		r, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(r, "#/definitions/") {
			return "", false
		}
		return strings.TrimPrefix(r, "#/definitions/"), true
	}
	// refs[X] = definitions X references directly.
	refs := map[string][]string{}
	var collect func(v any, into *[]string)
	collect = func(v any, into *[]string) {
		if n, ok := refName(v); ok {
			*into = append(*into, n)
		}
		switch t := v.(type) {
		case map[string]any:
			for _, e := range t {
				collect(e, into)
			}
		case []any:
			for _, e := range t {
				collect(e, into)
			}
		}
	}
	for name, d := range defs {
		var r []string
		collect(d, &r)
		refs[name] = r
	}
	recursive := map[string]bool{}
	for name := range defs {
		seen := map[string]bool{}
		stack := append([]string(nil), refs[name]...)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == name {
				recursive[name] = true
				break
			}
			if !seen[n] {
				seen[n] = true
				stack = append(stack, refs[n]...)
			}
		}
	}
	var rewrite func(v any, depth int) any
	rewrite = func(v any, depth int) any {
		if depth > 64 {
			return v
		}
		if n, ok := refName(v); ok && !recursive[n] && defs[n] != nil {
			in := rewrite(defs[n], depth+1)
			if fix, ok := v.(map[string]any)["x-fix"]; ok {
				if m, ok := in.(map[string]any); ok {
					cp := make(map[string]any, len(m)+1)
					for k, e := range m {
						cp[k] = e
					}
					cp["x-fix"] = fix
					in = cp
				}
			}
			return in
		}
		switch t := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				out[k] = rewrite(e, depth+1)
			}
			return out
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = rewrite(e, depth+1)
			}
			return out
		}
		return v
	}
	return rewrite(root, 0).(map[string]any)
}
