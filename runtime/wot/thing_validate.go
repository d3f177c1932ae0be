package wot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"github.com/wotgen/wotgen/runtime/td"
)

// valueValidator checks a JSON value against one DataSchema. It is the only place the
// dynamic Thing touches jsonschema/v5, so the dependency stays small and replaceable.
type valueValidator interface {
	validate(raw json.RawMessage) error
}

// schemaCompiler compiles the DataSchemas of one Thing with a single jsonschema compiler:
// each schema is compiled once, when the Thing is built.
type schemaCompiler struct {
	c *jsonschema.Compiler
	n int
}

func newSchemaCompiler() *schemaCompiler {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7 // TD DataSchema is a subset of draft-07
	// A TD is untrusted input: never let a "$ref" make the compiler read files or the network.
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("references to other documents (%s) are not supported in TD data schemas", s)
	}
	return &schemaCompiler{c: c}
}

// compile returns a validator for s, or nil when s is nil (anything goes).
func (sc *schemaCompiler) compile(s *td.DataSchema) (v valueValidator, err error) {
	if s == nil {
		return nil, nil
	}
	// jsonschema/v5 panics on numbers math/big cannot hold (e.g. "const": 1e999999999) while
	// checking the schema against its meta-schema; a hostile TD must not crash the process.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("the schema cannot be compiled (a number out of range?): %v", r)
		}
	}()
	doc, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	sc.n++
	id := fmt.Sprintf("wotgen:schema/%d.json", sc.n)
	if err := sc.c.AddResource(id, bytes.NewReader(doc)); err != nil {
		return nil, err
	}
	compiled, err := sc.c.Compile(id)
	if err != nil {
		return nil, err
	}
	return jsonSchema{compiled}, nil
}

type jsonSchema struct{ s *jsonschema.Schema }

func (j jsonSchema) validate(raw json.RawMessage) (err error) {
	// jsonschema/v5 dereferences a nil *big.Rat for numbers math/big cannot hold (e.g.
	// 1e999999999): refuse the value instead of losing the connection's goroutine.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot be checked against the schema (a number out of range?): %v", r)
		}
	}()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep integers exact for integer/multipleOf checks
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	err = j.s.Validate(v)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return errors.New(describeValidation(ve))
	}
	return err
}

// describeValidation reports the first leaf failure as "<where>: <message>", without the
// internal schema URLs jsonschema puts in its own error text.
func describeValidation(ve *jsonschema.ValidationError) string {
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	where := leaf.InstanceLocation
	if where == "" {
		return leaf.Message
	}
	if p, err := url.PathUnescape(where); err == nil {
		where = p
	}
	return strings.TrimPrefix(where, "/") + ": " + leaf.Message
}
