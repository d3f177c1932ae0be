package gen

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// fuzzSeeds are hostile edge cases on top of the corpus and the hostile names: shapes that stress the
// type lowering (deep nesting, recursion-like self references, tuples, oneOf, odd numbers) and the
// operation selection (forms with odd ops, subprotocols, hrefs).
var fuzzSeeds = []string{
	`{}`,
	`{"title":""}`,
	`{"title":"x","id":"urn:x","properties":{"p":{"type":"array","items":[{}],"forms":[{"href":"h","op":"readproperty"}]}}}`,
	`{"title":"x","properties":{"":{"type":"object","properties":{"":{"type":"object"}}}}}`,
	`{"title":"x","properties":{"a":{"oneOf":[{"type":"null"},{"type":"integer","minimum":1e308,"maximum":-1e308}]}}}`,
	`{"title":"x","properties":{"a":{"type":"number","multipleOf":0,"exclusiveMinimum":1e-320}}}`,
	`{"title":"x","properties":{"a":{"type":"string","pattern":"(","minLength":-1,"maxLength":-5}}}`,
	`{"title":"x","properties":{"a":{"enum":[1,"1",null,true,{},[]],"const":{"a":[1]}}}}`,
	`{"title":"x","properties":{"a":{"type":"array","items":{"type":"array","items":{"type":"array"}},"minItems":9223372036854775807}}}`,
	`{"title":"x","properties":{"a":{"type":["string","null"]}}}`,
	`{"title":"x","properties":{"a":{"type":"object","required":["b","b","c"],"properties":{"b":{},"B":{},"_b":{}}}}}`,
	`{"title":"x","schemaDefinitions":{"a":{"type":"object","properties":{"a":{"type":"object"}}},"A":{"type":"string"}},"properties":{"a":{"type":"object"}}}`,
	`{"title":"x","actions":{"go":{"input":{"type":"object","properties":{"input":{}}},"output":{"oneOf":[]},"synchronous":false,"forms":[{"href":"ws://h/wtp","subprotocol":"webthingprotocol","op":["invokeaction","queryaction","cancelaction"]}]}}}`,
	`{"title":"x","events":{"e":{"data":{"type":"integer"},"subscription":{"type":"string"},"forms":[{"href":"ws://h/wtp","subprotocol":"webthingprotocol"}]}}}`,
	`{"title":"x","forms":[{"href":"ws://h/wtp","subprotocol":"webthingprotocol","op":["readallproperties","writeallproperties","observeallproperties","subscribeallevents","queryallactions","readmultipleproperties","writemultipleproperties"]}]}`,
	`{"title":"x","properties":{"p":{"type":"integer","forms":[{"href":"ws://h/wtp","subprotocol":"webthingprotocol","op":["readproperty","writeproperty","observeproperty","unobserveproperty"]}]}},"forms":[{"href":"ws://h/wtp","op":"readallproperties"}]}`,
	`{"title":"x","properties":{"p":{"type":"string","format":"date-time","readOnly":true,"writeOnly":true}}}`,
	`{"title":"x","properties":{"p":{"type":"string","contentEncoding":"base64","contentMediaType":"image/png"}}}`,
	`{"title":"x","properties":{"p":{"type":"object","properties":{"p":{"type":"object","properties":{"p":{"type":"object","properties":{"p":{"type":"object"}}}}}}}}}`,
	`{"title":"9","properties":{"9":{"type":"integer"},"_9":{"type":"integer"},"x9":{"type":"integer"}}}`,
	`{"title":"x","properties":{"type":{},"func":{},"Client":{},"Handler":{},"NewServer":{},"Dial":{}},"actions":{"Close":{},"ReadType":{}},"events":{"ReadType":{}}}`,
	`{"title":"x","uriVariables":{"a":{"type":"string"}},"properties":{"p":{"uriVariables":{"a":{"type":"integer"}},"forms":[{"href":"/p{?a}"}]}}}`,
	`{"title":"x","securityDefinitions":{"b":{"scheme":"bearer","in":"query","name":"tok"}},"security":"b"}`,
	`{"@context":"https://www.w3.org/2019/wot/td/v1","title":"x","properties":{"p":{}}}`,
}

// deepProperty nests an object schema depth levels deep.
func deepProperty(depth int) string {
	var b strings.Builder
	b.WriteString(`{"title":"deep","properties":{"p":`)
	for range depth {
		b.WriteString(`{"type":"object","properties":{"p":`)
	}
	b.WriteString(`{"type":"integer"}`)
	for range depth {
		b.WriteString(`}}`)
	}
	b.WriteString(`}}`)
	return b.String()
}

// FuzzGenerate: any input td.Parse accepts must make Generate return an error or files that go/parser
// parses and that gofmt leaves unchanged; it must never panic or hang.
func FuzzGenerate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(deepProperty(40)))
	f.Add([]byte(deepProperty(td.MaxDepth / 2)))
	for _, c := range hostileCases() {
		if len(c.input) < 64<<10 { // the 5,000-property case is covered by TestHostile; keep seeds fast
			f.Add(c.input)
		}
	}
	// The corpus seeds the fuzzer; the plain test run skips them because the corpus tests of this
	// package already generate every corpus TD.
	if root := testcorpus.Root(); root != "" && fuzzing() {
		for _, sub := range []string{"td/valid", "td/invalid"} {
			files, _ := filepath.Glob(filepath.Join(root, "corpus", sub, "*.json"))
			for _, p := range files {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := td.Parse(data); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		type result struct {
			files []File
			err   error
		}
		done := make(chan result, 1)
		go func() {
			files, err := Generate(ctx, data, Options{Source: "fuzz.td.json"})
			done <- result{files, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(time.Minute):
			t.Fatalf("Generate did not return within a minute on:\n%s", data)
		}
		if r.err != nil {
			return
		}
		for _, file := range r.files {
			if err := checkGoFile(file); err != nil {
				t.Fatalf("%v\ninput:\n%s", err, data)
			}
		}
	})
}

// fuzzing reports whether the test binary runs with -fuzz.
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// checkGoFile parses a generated file and checks gofmt leaves it unchanged.
func checkGoFile(f File) error {
	if !strings.HasSuffix(f.Name, ".go") || strings.ContainsAny(f.Name, `/\`) {
		return fmt.Errorf("file name %q is not a plain .go base name", f.Name)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), f.Name, f.Content, parser.ParseComments); err != nil {
		return fmt.Errorf("%s does not parse: %v\n%s", f.Name, err, f.Content)
	}
	formatted, err := format.Source(f.Content)
	if err != nil {
		return fmt.Errorf("%s: gofmt: %v", f.Name, err)
	}
	if !bytes.Equal(formatted, f.Content) {
		return fmt.Errorf("%s is not gofmt-stable:\n%s", f.Name, f.Content)
	}
	return nil
}
