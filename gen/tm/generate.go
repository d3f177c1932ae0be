package tm

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// ResolveForGeneration resolves the model at ref and returns a TD-shaped document for the code
// generator (the contract is in doc.go): WTP forms assumed, tm:optional affordances marked with
// "wotgen:optional": true, placeholders kept where a string is allowed.
func ResolveForGeneration(ctx context.Context, l *Loader, ref string) ([]byte, []Warning, error) {
	m, err := Resolve(ctx, l, ref)
	if err != nil {
		return nil, nil, err
	}
	out, warns, err := GenerationDocument(m)
	return out, append(append([]Warning(nil), m.Warnings...), warns...), err
}

// GenerationDocument is ResolveForGeneration for an already resolved model.
func GenerationDocument(m *Model) ([]byte, []Warning, error) {
	doc, warns, err := derive(m, Options{WTP: true}, true)
	if err != nil {
		return nil, warns, err
	}
	out, err := marshalJSON(doc)
	return out, warns, err
}

// Keys whose value must not stay a placeholder for generation: they are not strings in a TD, or
// they are strings the generator needs to understand (types, schemes, operations).
var concreteKeys = map[string]bool{
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
	"minLength": true, "maxLength": true, "minItems": true, "maxItems": true,
	"readOnly": true, "writeOnly": true, "observable": true, "safe": true, "idempotent": true, "synchronous": true,
	"properties": true, "actions": true, "events": true, "items": true, "input": true, "output": true, "data": true,
	"subscription": true, "cancellation": true, "dataResponse": true, "uriVariables": true,
	"securityDefinitions": true, "schemaDefinitions": true, "required": true, "enum": true, "oneOf": true,
	"forms": true, "links": true, "type": true, "scheme": true, "op": true, "@context": true, "in": true,
	"flow": true, "success": true, "response": true, "additionalResponses": true,
}

// Keys the generator does not use: a placeholder there is dropped with a warning.
var droppableKeys = map[string]bool{"version": true, "created": true, "modified": true}

// checkGenPlaceholders enforces the generation rule for whole-value placeholders.
func (d *deriver) checkGenPlaceholders(doc map[string]any) error {
	var bad []string
	var walk func(v any, at string, key string, parent map[string]any)
	walk = func(v any, at, key string, parent map[string]any) {
		switch x := v.(type) {
		case string:
			m := placeholderRe.FindStringSubmatchIndex(x)
			if m == nil {
				return
			}
			whole := m[0] == 0 && m[1] == len(x)
			switch {
			case parent != nil && at == "/"+key && droppableKeys[key] && whole:
				delete(parent, key)
				d.warn(at, "placeholder %s dropped for generation (the generated code does not use %q)", x, key)
			case concreteKeys[key] && (whole || key == "type" || key == "scheme" || key == "op"):
				bad = append(bad, fmt.Sprintf("%s (at %s)", x, at))
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				walk(x[k], ptrJoin(at, k), k, x)
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s/%d", at, i), key, nil)
			}
		}
	}
	walk(doc, "", "", nil)
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("cannot generate code from this model: %d placeholder(s) stand where a concrete value is needed: %s; derive a TD first (wotgen td -tm MODEL -set NAME=VALUE ...) and generate from it, or replace them in the model", len(bad), strings.Join(bad, ", "))
	}
	return nil
}
