package sample

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// namedSchema is one data schema found in a corpus document.
type namedSchema struct {
	where  string // file#pointer
	schema *td.DataSchema
}

// corpusSchemas returns every data schema of every parseable corpus document: properties, action
// input/output, event data/subscription/dataResponse/cancellation, schemaDefinitions, uriVariables.
func corpusSchemas(t *testing.T) []namedSchema {
	t.Helper()
	var files []string
	for _, sub := range []string{"td/valid", "td/invalid", "tm"} {
		files = append(files, testcorpus.Files(t, sub)...)
	}
	var out []namedSchema
	for _, f := range files {
		th, err := td.ParseFile(f)
		if err != nil {
			continue
		}
		base := filepath.Base(f) + "#"
		add := func(ptr string, s *td.DataSchema) {
			if s != nil {
				out = append(out, namedSchema{base + ptr, s})
			}
		}
		addMap := func(ptr string, m map[string]*td.DataSchema) {
			for _, k := range sortedKeys(m) {
				add(ptr+"/"+td.EscapePointer(k), m[k])
			}
		}
		for _, n := range th.PropertyNames() {
			p := th.Properties[n]
			add("/properties/"+td.EscapePointer(n), &p.DataSchema)
			addMap("/properties/"+td.EscapePointer(n)+"/uriVariables", p.URIVariables)
		}
		for _, n := range th.ActionNames() {
			a := th.Actions[n]
			ptr := "/actions/" + td.EscapePointer(n)
			add(ptr+"/input", a.Input)
			add(ptr+"/output", a.Output)
			addMap(ptr+"/uriVariables", a.URIVariables)
		}
		for _, n := range th.EventNames() {
			e := th.Events[n]
			ptr := "/events/" + td.EscapePointer(n)
			add(ptr+"/data", e.Data)
			add(ptr+"/subscription", e.Subscription)
			add(ptr+"/dataResponse", e.DataResponse)
			add(ptr+"/cancellation", e.Cancellation)
			addMap(ptr+"/uriVariables", e.URIVariables)
		}
		addMap("/schemaDefinitions", th.SchemaDefinitions)
		addMap("/uriVariables", th.URIVariables)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compile turns a TD data schema into a jsonschema/v5 schema with draft-07 semantics (TD data
// schemas are draft-07: "items" may be a tuple). ok is false when jsonschema rejects the schema.
func compile(t *testing.T, s *td.DataSchema) (*jsonschema.Schema, bool) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	c.AssertFormat = true
	if err := c.AddResource("schema.json", bytes.NewReader(b)); err != nil {
		return nil, false
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		return nil, false
	}
	return sch, true
}

func validate(sch *jsonschema.Schema, v json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return err
	}
	return sch.Validate(x)
}

// knownUnsatisfiable lists corpus schemas no value satisfies (for jsonschema either), with why.
var knownUnsatisfiable = map[string]string{
	"playground__enumConst.json#/properties/status":       "const is not one of the enum values",
	"playground__invalid-usingTM.json#/properties/status": "type number with string enum values",
}

// TestCorpusSamplesValidate is the contract of the package: for every data schema in the corpus,
// every sample (stable and varying, several seeds) is valid for jsonschema/v5 and for Check.
func TestCorpusSamplesValidate(t *testing.T) {
	schemas := corpusSchemas(t)
	if len(schemas) < 500 {
		t.Fatalf("found only %d corpus schemas; is the corpus complete?", len(schemas))
	}
	var compiled, samples, unsat int
	for _, ns := range schemas {
		sch, ok := compile(t, ns.schema)
		if !ok {
			continue // jsonschema rejects the schema itself (invalid corpus documents)
		}
		compiled++
		for seed := range uint64(3) {
			for _, stable := range []bool{true, false} {
				g := New(seed)
				g.UseDefaults = stable
				v, err := g.Sample(ns.schema)
				if err != nil {
					if why, known := knownUnsatisfiable[ns.where]; known {
						unsat++
						_ = why
						continue
					}
					t.Errorf("%s (seed %d, stable %v): %v\nschema: %s", ns.where, seed, stable, err, mustJSON(ns.schema))
					continue
				}
				samples++
				if !json.Valid(v) {
					t.Fatalf("%s: sample is not JSON: %s", ns.where, v)
				}
				if err := validate(sch, v); err != nil {
					t.Errorf("%s (seed %d, stable %v): jsonschema rejects sample %s: %v\nschema: %s", ns.where, seed, stable, v, err, mustJSON(ns.schema))
				}
				if err := Check(ns.schema, v); err != nil {
					t.Errorf("%s: Check rejects its own sample %s: %v", ns.where, v, err)
				}
			}
		}
	}
	t.Logf("%d corpus schemas, %d compiled by jsonschema, %d samples validated, %d known unsatisfiable", len(schemas), compiled, samples, unsat)
}

// TestCheckAgreesWithJSONSchema feeds samples of one corpus schema to the next one and compares the
// verdicts of Check and jsonschema/v5, so Check (which decides what Sample returns) is itself checked.
func TestCheckAgreesWithJSONSchema(t *testing.T) {
	schemas := corpusSchemas(t)
	type entry struct {
		ns  namedSchema
		sch *jsonschema.Schema
		val json.RawMessage
	}
	var es []entry
	for i, ns := range schemas {
		sch, ok := compile(t, ns.schema)
		if !ok {
			continue
		}
		g := New(uint64(i))
		v, _ := g.Sample(ns.schema)
		es = append(es, entry{ns, sch, v})
	}
	var compared, disagreements int
	for i := range es {
		for _, d := range []int{0, 1, 7, 31} {
			other := es[(i+d)%len(es)]
			want := validate(es[i].sch, other.val) == nil
			got := Check(es[i].ns.schema, other.val) == nil
			compared++
			if got != want {
				disagreements++
				t.Errorf("%s on value %s: Check says valid=%v, jsonschema says valid=%v", es[i].ns.where, other.val, got, want)
			}
		}
	}
	t.Logf("%d verdicts compared", compared)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func parseSchema(t *testing.T, s string) *td.DataSchema {
	t.Helper()
	var ds td.DataSchema
	if err := json.Unmarshal([]byte(s), &ds); err != nil {
		t.Fatalf("bad test schema %s: %v", s, err)
	}
	return &ds
}

// TestConstraints covers each keyword on hand-written schemas, checking with jsonschema too.
func TestConstraints(t *testing.T) {
	cases := []struct {
		schema string
		stable string // expected stable (UseDefaults) value, "" = any valid
	}{
		{`{"type":"boolean"}`, `false`},
		{`{"type":"integer","minimum":0,"maximum":100}`, `0`},
		{`{"type":"integer","minimum":10,"maximum":38}`, `10`},
		{`{"type":"integer","maximum":-5}`, `-5`},
		{`{"type":"integer","exclusiveMinimum":0}`, `1`},
		{`{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":2}`, `1`},
		{`{"type":"integer","exclusiveMinimum":1.5,"exclusiveMaximum":2.5}`, `2`},
		{`{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}`, `0.5`},
		{`{"type":"number","minimum":0.1,"maximum":0.2}`, `0.15`},
		{`{"type":"number","multipleOf":0.1,"minimum":10,"maximum":38}`, `10`},
		{`{"type":"number","multipleOf":0.1,"minimum":5.15,"maximum":1210.1}`, `5.2`},
		{`{"type":"number","multipleOf":0.01,"exclusiveMinimum":0,"maximum":1}`, `0.01`},
		{`{"type":"integer","multipleOf":2.5}`, `0`},
		{`{"type":"integer","multipleOf":2.5,"minimum":1}`, `5`},
		{`{"type":"integer","multipleOf":6,"minimum":7,"maximum":13}`, `12`},
		{`{"type":"number","minimum":1e300}`, ``},
		{`{"type":"integer","default":42,"minimum":0}`, `42`},
		{`{"type":"integer","default":-1,"minimum":0}`, `0`},
		{`{"type":"string","enum":["a","b"],"default":"b"}`, `"b"`},
		{`{"type":"string","enum":["a","b"]}`, `"a"`},
		{`{"type":"string","enum":["toolong","ok"],"maxLength":3}`, `"ok"`},
		{`{"const":"fixed"}`, `"fixed"`},
		{`{"type":"string"}`, `"sample"`},
		{`{"type":"string","minLength":10}`, `"sampleabcd"`},
		{`{"type":"string","maxLength":3}`, `"sam"`},
		{`{"type":"string","format":"date-time"}`, `"2025-01-01T00:00:00Z"`},
		{`{"type":"string","format":"date"}`, ``},
		{`{"type":"string","format":"time"}`, ``},
		{`{"type":"string","format":"uri"}`, ``},
		{`{"type":"string","format":"uri-reference"}`, ``},
		{`{"type":"string","format":"email"}`, ``},
		{`{"type":"string","format":"uuid"}`, ``},
		{`{"type":"string","format":"hostname"}`, ``},
		{`{"type":"string","format":"ipv4"}`, ``},
		{`{"type":"string","format":"ipv6"}`, ``},
		{`{"type":"string","format":"duration"}`, ``},
		{`{"type":"string","format":"unknown-format"}`, `"sample"`},
		{`{"type":"string","pattern":"^[A-Z]{3}$","minLength":3,"maxLength":3}`, `"AAA"`},
		{`{"type":"string","pattern":"^(\\([0-9]{3}\\))?[0-9]{3}-[0-9]{4}$"}`, `"000-0000"`},
		{`{"type":"string","pattern":"^(https?|http?)://","minLength":1,"maxLength":255}`, `"http://"`},
		{`{"type":"string","pattern":"^[a-z]{2}-[A-Z]{2}","minLength":2,"maxLength":5}`, `"aa-AA"`},
		{`{"type":"string","pattern":"^[0-9]+$","minLength":5}`, `"00000"`},
		{`{"type":"string","pattern":"[On | Off | Error]"}`, ``},
		{`{"type":"string","pattern":"^\\d{4}-\\d{2}$"}`, `"0000-00"`},
		{`{"type":"string","contentEncoding":"base64"}`, ``},
		{`{"type":"array","items":{"type":"integer","minimum":0,"maximum":255},"minItems":3,"maxItems":3}`, `[0,0,0]`},
		{`{"type":"array","items":{"type":"integer","minimum":0,"maximum":255},"minItems":3,"maxItems":3,"uniqueItems":true}`, ``},
		{`{"type":"array","items":{"type":"boolean"},"minItems":2,"uniqueItems":true}`, ``},
		{`{"type":"array","items":[{"type":"string"},{"type":"integer"}]}`, `["sample",0]`},
		{`{"type":"array","items":[{"type":"string"}],"minItems":3}`, ``},
		{`{"type":"array","items":[{"type":"string"},{"type":"integer"}],"maxItems":1}`, `["sample"]`},
		{`{"type":"array"}`, `["sample"]`},
		{`{"type":"array","maxItems":0}`, `[]`},
		{`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}`, `{"a":0,"b":"sample"}`},
		{`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a","z"]}`, `{"a":0,"z":"sample"}`},
		{`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"maxProperties":1}`, `{"a":0}`},
		{`{"type":"object","minProperties":2}`, ``},
		{`{"type":"object","properties":{"x":{"type":"object","properties":{"y":{"type":"array","items":{"type":"number","minimum":1}}}}}}`, `{"x":{"y":[1]}}`},
		{`{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `"sample"`},
		{`{"type":"integer","oneOf":[{"const":1,"title":"one"},{"const":2,"title":"two"}]}`, `1`},
		{`{"oneOf":[{"type":"number"},{"type":"integer"}]}`, ``},
		{`{"oneOf":[{"type":"object","properties":{"k":{"const":"a"}},"required":["k"]},{"type":"object","properties":{"k":{"const":"b"}},"required":["k"]}]}`, `{"k":"a"}`},
		{`{"type":"null"}`, `null`},
		{`{}`, `"sample"`},
		{`{"minimum":3}`, `3`},
		{`{"properties":{"a":{"type":"boolean"}}}`, `{"a":false}`},
	}
	for _, c := range cases {
		s := parseSchema(t, c.schema)
		sch, ok := compile(t, s)
		if !ok {
			t.Fatalf("jsonschema cannot compile test schema %s", c.schema)
		}
		v, err := Initial(s)
		if err != nil {
			t.Errorf("%s: Initial: %v", c.schema, err)
			continue
		}
		if c.stable != "" && string(v) != c.stable {
			t.Errorf("%s: Initial = %s, want %s", c.schema, v, c.stable)
		}
		if err := validate(sch, v); err != nil {
			t.Errorf("%s: jsonschema rejects Initial %s: %v", c.schema, v, err)
		}
		g := New(7)
		for i := range 20 {
			v, err := g.Sample(s)
			if err != nil {
				t.Errorf("%s: Sample %d: %v", c.schema, i, err)
				break
			}
			if err := validate(sch, v); err != nil {
				t.Errorf("%s: jsonschema rejects sample %s: %v", c.schema, v, err)
			}
		}
	}
}

// TestUnsatisfiable: impossible or hostile schemas give an error that names the problem, a JSON
// value anyway, and never a panic or a hang.
func TestUnsatisfiable(t *testing.T) {
	cases := []struct{ schema, want string }{
		{`{"type":"integer","minimum":5,"maximum":4}`, "range [5, 4]"},
		{`{"type":"integer","exclusiveMinimum":1,"exclusiveMaximum":2}`, "range (1, 2)"},
		{`{"type":"number","exclusiveMinimum":1,"exclusiveMaximum":1}`, "holds no number"},
		{`{"type":"integer","multipleOf":10,"minimum":1,"maximum":9}`, "multiple of 10"},
		{`{"type":"string","minLength":5,"maxLength":2}`, "minLength 5 is greater than maxLength 2"},
		{`{"type":"string","minLength":100000000}`, "longer than"},
		{`{"type":"string","pattern":"^$","minLength":1}`, `pattern "^$"`},
		{`{"type":"string","pattern":"^a$","format":"email"}`, `pattern "^a$", format "email"`},
		{`{"type":"array","minItems":5,"maxItems":1}`, "minItems 5 is greater than maxItems 1"},
		{`{"type":"array","minItems":100000000}`, "minItems 100000000"},
		{`{"type":"array","items":{"type":"boolean"},"minItems":3,"uniqueItems":true}`, "unique"},
		{`{"type":"string","enum":["a","b"],"minLength":2}`, "no enum value"},
		{`{"type":"integer","const":"x"}`, "const does not satisfy"},
		{`{"oneOf":[{"type":"integer"},{"type":"number"}],"type":"integer"}`, "exactly one oneOf"},
		{`{"type":"object","required":["a"],"additionalProperties":false}`, `member "a" is required`},
		{`{"type":"object","properties":{"p":{"type":"integer","minimum":3,"maximum":1}},"required":["p"]}`, "at /p:"},
		{`{"type":"array","items":[{"type":"integer"}],"minItems":2,"additionalItems":false}`, "additionalItems is false"},
	}
	for _, c := range cases {
		s := parseSchema(t, c.schema)
		for _, stable := range []bool{true, false} {
			g := New(3)
			g.UseDefaults = stable
			v, err := g.Sample(s)
			if err == nil {
				t.Errorf("%s: Sample = %s, want an error", c.schema, v)
				continue
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %q does not mention %q", c.schema, err, c.want)
			}
			if !json.Valid(v) {
				t.Errorf("%s: best attempt is not JSON: %q", c.schema, v)
			}
		}
	}
}

func TestHostileNesting(t *testing.T) {
	deep := strings.Repeat(`{"type":"array","minItems":1,"items":`, 200) + `{"type":"string"}` + strings.Repeat(`}`, 200)
	_, err := Initial(parseSchema(t, deep))
	if err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep schema: err = %v, want a nesting error", err)
	}
	// A wide oneOf tree whose branches all fail must give up within the budget, not hang.
	branch := `{"oneOf":[{"type":"integer"},{"type":"number"}]}`
	wide := `{"type":"object","properties":{` + func() string {
		var parts []string
		for i := range 50 {
			parts = append(parts, fmt.Sprintf(`"p%d":{"type":"array","minItems":3,"items":%s}`, i, branch))
		}
		return strings.Join(parts, ",")
	}() + `},"required":["p0","p49"]}`
	if v, err := Initial(parseSchema(t, wide)); err != nil {
		t.Errorf("oneOf of number and integer: %v (%s)", err, v)
	}
	// Optional members that cannot be made are left out rather than failing the whole value.
	if v, err := Initial(parseSchema(t, `{"type":"object","properties":{"bad":{"type":"integer","minimum":2,"maximum":1},"ok":{"type":"boolean"}}}`)); err != nil || string(v) != `{"ok":false}` {
		t.Errorf("optional unsatisfiable member: %s, %v", v, err)
	}
	// Nil schemas and nil members are allowed anywhere.
	s := &td.DataSchema{Type: "object", Properties: map[string]*td.DataSchema{"x": nil}, Required: []string{"x"},
		OneOf: nil, Items: &td.Items{Tuple: []*td.DataSchema{nil}}}
	if v, err := Initial(s); err != nil {
		t.Errorf("nil members: %v (%s)", err, v)
	}
	if v, err := Initial(nil); err != nil || string(v) != "null" {
		t.Errorf("nil schema: %s, %v", v, err)
	}
}

func TestDeterministic(t *testing.T) {
	s := parseSchema(t, `{"type":"object","properties":{"n":{"type":"number","minimum":-3,"maximum":90},
		"id":{"type":"string","format":"uuid"},"when":{"type":"string","format":"date-time"},
		"tags":{"type":"array","items":{"type":"string","enum":["a","b","c"]}}}}`)
	run := func(seed uint64) []string {
		g := New(seed)
		var out []string
		for range 10 {
			v, err := g.Sample(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(v))
		}
		return out
	}
	a, b, c := run(9), run(9), run(10)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("same seed, different samples:\n%v\n%v", a, b)
	}
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Error("different seeds gave identical sample sequences")
	}
	distinct := map[string]bool{}
	for _, v := range a {
		distinct[v] = true
	}
	if len(distinct) < 5 {
		t.Errorf("varying samples barely vary: %v", a)
	}
}

func TestCheckRejects(t *testing.T) {
	cases := []struct{ schema, value, want string }{
		{`{"type":"integer"}`, `1.5`, "want integer"},
		{`{"type":"number","multipleOf":0.1}`, `0.30000000000000004`, "not a multiple"},
		{`{"type":"string","format":"date-time"}`, `"2025-13-01T00:00:00Z"`, "not a valid date-time"},
		{`{"type":"object","required":["a"]}`, `{}`, `missing required member "a"`},
		{`{"type":"object","properties":{"a":{"type":"object","properties":{"b~/":{"type":"string"}}}}}`, `{"a":{"b~/":1}}`, "at /a/b~0~1:"},
		{`{"type":"array","items":{"type":"integer"}}`, `[1,"x"]`, "at /1:"},
		{`{"enum":[1,"a"]}`, `2`, "enum"},
		{`{"const":{"a":[1]}}`, `{"a":[1.0]}`, ""},
	}
	for _, c := range cases {
		err := Check(parseSchema(t, c.schema), json.RawMessage(c.value))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s on %s: %v, want valid", c.schema, c.value, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s on %s: %v, want an error mentioning %q", c.schema, c.value, err, c.want)
		}
	}
	if err := Check(&td.DataSchema{}, json.RawMessage(`{`)); err == nil {
		t.Error("Check accepted invalid JSON")
	}
}

// TestBudget: a schema whose every attempt fails deep inside (nested oneOf branches that always both
// match) stops at the step budget instead of running exponentially long.
func TestBudget(t *testing.T) {
	s := `{"type":"string"}`
	for range 12 {
		s = `{"type":"array","minItems":2,"items":{"oneOf":[` + s + `,` + s + `]}}`
	}
	start := time.Now()
	_, err := Initial(parseSchema(t, s))
	if err == nil {
		t.Fatal("want an error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	t.Logf("%v after %v", err, time.Since(start))
}

// FuzzSample: no schema makes Sample or Check panic, and Sample always returns JSON; when it reports
// no error, Check accepts the value.
func FuzzSample(f *testing.F) {
	for _, s := range []string{
		`{"type":"integer","minimum":1,"exclusiveMaximum":3,"multipleOf":0.5}`,
		`{"type":"string","pattern":"^(a|b)+[0-9]{2,4}$","minLength":3,"format":"email"}`,
		`{"type":"array","items":[{"type":"string"},{"oneOf":[{"type":"null"},{"const":1}]}],"minItems":3,"uniqueItems":true}`,
		`{"type":"object","properties":{"a":{"enum":[1,"x",null]}},"required":["a","b"],"additionalProperties":{"type":"boolean"},"minProperties":4}`,
		`{"oneOf":[{"properties":{"k":{"const":1}}},{"type":"number","exclusiveMinimum":-1e308}]}`,
		`{"type":"number","minimum":1e308,"maximum":-1e308}`,
		`{"type":"string","contentEncoding":"base64","contentMediaType":"application/json","maxLength":8}`,
	} {
		f.Add([]byte(s), uint64(1), true)
	}
	f.Fuzz(func(t *testing.T, schema []byte, seed uint64, stable bool) {
		var s td.DataSchema
		if json.Unmarshal(schema, &s) != nil {
			return
		}
		g := New(seed)
		g.UseDefaults = stable
		v, err := g.Sample(&s)
		if !json.Valid(v) {
			t.Fatalf("not JSON: %q", v)
		}
		if cerr := Check(&s, v); err == nil && cerr != nil {
			t.Fatalf("Sample returned %s without error but Check says %v", v, cerr)
		}
	})
}
