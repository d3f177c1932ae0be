package wot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/wotgen/wotgen/runtime/td"
)

// schemaCache compiles each TD data schema the consumer checks values against once, on
// first use. A nil entry: no schema, or one that cannot be compiled (the Thing decides then).
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*jsonschema.Schema
}

func (sc *schemaCache) get(key string, schema *td.DataSchema) (*jsonschema.Schema, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if s, ok := sc.m[key]; ok {
		return s, nil
	}
	if sc.m == nil {
		sc.m = map[string]*jsonschema.Schema{}
	}
	var s *jsonschema.Schema
	var err error
	if schema != nil {
		s, err = compileSchema(schema)
	}
	sc.m[key] = s // a schema that does not compile is not retried
	return s, err
}

func compileSchema(schema *td.DataSchema) (s *jsonschema.Schema, err error) {
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// The TD is the Thing's, untrusted: a "$ref" must not read local files or the network.
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("references to other documents (%s) are not supported in TD data schemas", u)
	}
	if err := c.AddResource("td-schema.json", bytes.NewReader(b)); err != nil {
		return nil, err
	}
	// jsonschema/v5 panics on numbers math/big cannot hold (a hostile TD's 1e999999999).
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("the schema cannot be compiled (a number out of range?): %v", r)
		}
	}()
	return c.Compile("td-schema.json")
}

func validateRaw(s *jsonschema.Schema, raw json.RawMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot be checked against the TD's schema (a number out of range?): %v", r)
		}
	}()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return err
	}
	return s.Validate(x)
}

// marshalOutgoing turns a Go value into JSON for the wire; a json.RawMessage is sent as is.
func marshalOutgoing(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, BadRequest("the value is not valid JSON")
		}
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wot: cannot encode the value as JSON: %w", err)
	}
	return b, nil
}

// outgoing marshals v and, with WithOutgoingValidation, checks it against the TD's schema for
// the property (value) or action (input). A violation is a 400 *Error, what the Thing would
// answer, without the round trip.
func (c *ConsumedThing) outgoing(kind td.Kind, name, member string, v any) (json.RawMessage, error) {
	raw, err := marshalOutgoing(v)
	if err != nil {
		return nil, err
	}
	if !c.cfg.validate || c.open {
		return raw, nil
	}
	var schema *td.DataSchema
	switch kind {
	case td.KindProperty:
		if p := c.td.Properties[name]; p != nil {
			ds := p.DataSchema
			ds.ReadOnly, ds.WriteOnly = nil, nil // annotations only; a write is what we check
			schema = &ds
		}
	case td.KindAction:
		if a := c.td.Actions[name]; a != nil {
			schema = a.Input
		}
	}
	s, err := c.schemas.get(kind.String()+"\x00"+name, schema)
	if err != nil {
		c.cfg.Logger.Warn("wot: cannot compile the TD schema; not validating", "affordance", name, "err", err)
		return raw, nil
	}
	if s == nil {
		return raw, nil
	}
	if err := validateRaw(s, raw); err != nil {
		return nil, BadRequest("%s for %s %q does not match the TD's schema: %v", member, kind, name, err)
	}
	return raw, nil
}

// uriVariableSchemas returns the uriVariables that apply to an affordance: the Thing's,
// overridden by the affordance's.
func (c *ConsumedThing) uriVariableSchemas(k td.Kind, name string) map[string]*td.DataSchema {
	var own map[string]*td.DataSchema
	switch k {
	case td.KindProperty:
		if p := c.td.Properties[name]; p != nil {
			own = p.URIVariables
		}
	case td.KindAction:
		if a := c.td.Actions[name]; a != nil {
			own = a.URIVariables
		}
	case td.KindEvent:
		if e := c.td.Events[name]; e != nil {
			own = e.URIVariables
		}
	}
	if len(c.td.URIVariables) == 0 {
		return own
	}
	m := make(map[string]*td.DataSchema, len(c.td.URIVariables)+len(own))
	for k, v := range c.td.URIVariables {
		m[k] = v
	}
	for k, v := range own {
		m[k] = v
	}
	return m
}

// checkURIVariables checks the values given with WithURIVariables against the TD's
// uriVariables schemas: every name must be declared (when the TD declares any, or the href
// uses it), and every value must be a scalar (string, number, boolean) matching its schema.
func (c *ConsumedThing) checkURIVariables(k td.Kind, name string, vars map[string]any, templateVars []string) error {
	if len(vars) == 0 {
		return nil
	}
	schemas := c.uriVariableSchemas(k, name)
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	what := k.String()
	if name != "" {
		what = fmt.Sprintf("%s %q", k, name)
	}
	for _, n := range names {
		v := vars[n]
		ds, declared := schemas[n]
		if !declared && !c.open {
			if !containsString(templateVars, n) {
				return BadRequest("URI variable %q is not one of the uriVariables of %s (%s)", n, what, declaredList(schemas))
			}
		}
		if v == nil {
			continue // undefined: RFC 6570 leaves it out
		}
		raw, ok := scalarJSON(v)
		if !ok {
			return BadRequest("URI variable %q of %s must be a string, number or boolean, not %T", n, what, v)
		}
		if ds == nil {
			continue
		}
		s, err := c.schemas.get("urivar\x00"+what+"\x00"+n, ds)
		if err != nil || s == nil {
			continue
		}
		if err := validateRaw(s, raw); err != nil {
			return BadRequest("URI variable %q of %s does not match its schema (type %s): %v", n, what, typeOr(ds.Type), err)
		}
	}
	return nil
}

// scalarJSON encodes a scalar Go value as JSON for schema checks; lists and maps are refused.
func scalarJSON(v any) (json.RawMessage, bool) {
	switch v.(type) {
	case string, bool, json.Number, float32, float64, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
	default:
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return b, true
}

func declaredList(m map[string]*td.DataSchema) string {
	if len(m) == 0 {
		return "it declares none"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return "declared: " + strings.Join(names, ", ")
}

func typeOr(t string) string {
	if t == "" {
		return "any"
	}
	return t
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
