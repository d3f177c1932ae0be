package wtp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/wotgen/wotgen/runtime/wot"
	"io"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/wotgen/wotgen/runtime/td"
)

// outValidator is the small interface the consumer needs from a JSON Schema library;
// it keeps jsonschema/v5 confined to this file.
type outValidator interface {
	validate(raw json.RawMessage) error
}

type jsonschemaValidator struct{ s *jsonschema.Schema }

func (v jsonschemaValidator) validate(raw json.RawMessage) (err error) {
	// jsonschema/v5 dereferences a nil *big.Rat for numbers math/big cannot hold, e.g. a
	// hostile TD's "const": 1e999999999; that must not crash the consumer's application.
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
	return v.s.Validate(x)
}

// compileRecovered is c.Compile, turning the panics jsonschema/v5 has on numbers math/big
// cannot hold into errors.
func compileRecovered(c *jsonschema.Compiler, url string) (s *jsonschema.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("the schema cannot be compiled (a number out of range?): %v", r)
		}
	}()
	return c.Compile(url)
}

// schemaCache compiles each affordance's schema once, on first use.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]outValidator // nil entry: no schema, or one we cannot compile
}

func (sc *schemaCache) get(key string, schema *td.DataSchema) (outValidator, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if v, ok := sc.m[key]; ok {
		return v, nil
	}
	if sc.m == nil {
		sc.m = map[string]outValidator{}
	}
	var v outValidator
	if schema != nil {
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
		s, err := compileRecovered(c, "td-schema.json")
		if err != nil {
			return nil, err
		}
		v = jsonschemaValidator{s}
	}
	sc.m[key] = v
	return v, nil
}

// outgoing marshals v and, with WithValidation, checks it against the TD's schema for
// the property (value) or action (input). A violation is a 400 *wot.Error, exactly what the
// Thing would answer, without the round trip.
func (c *ConsumedThing) outgoing(kind, name, member string, v any) (json.RawMessage, error) {
	raw, err := marshalOutgoing(v)
	if err != nil {
		return nil, err
	}
	if !c.cfg.validate || c.direct != nil {
		return raw, nil
	}
	var schema *td.DataSchema
	switch kind {
	case "property":
		if p := c.td.Properties[name]; p != nil {
			ds := p.DataSchema
			ds.ReadOnly, ds.WriteOnly = nil, nil // annotations only; a write is what we check
			schema = &ds
		}
	case "action":
		if a := c.td.Actions[name]; a != nil {
			schema = a.Input
		}
	}
	val, err := c.schemas.get(kind+"\x00"+name, schema)
	if err != nil {
		// A schema we cannot compile is the TD's problem, not the value's: send it and let
		// the Thing decide.
		c.cfg.logger.Warn("wtp: cannot compile the TD schema; not validating", "affordance", name, "err", err)
		c.schemas.mu.Lock()
		c.schemas.m[kind+"\x00"+name] = nil
		c.schemas.mu.Unlock()
		return raw, nil
	}
	if val == nil {
		return raw, nil
	}
	if err := val.validate(raw); err != nil {
		return nil, wot.BadRequest("%s for %s %q does not match the TD's schema: %v", member, kind, name, err)
	}
	return raw, nil
}
