package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"github.com/wotgen/wotgen/gen"
	"github.com/wotgen/wotgen/gen/validate"
	"github.com/wotgen/wotgen/internal/testcorpus"
)

// corpusDoc is one corpus file read into memory, so the tool benchmarks measure the tools, not the disk.
type corpusDoc struct {
	rel  string
	data []byte
	tm   bool
}

func loadCorpus(tb testing.TB, subs ...string) []corpusDoc {
	tb.Helper()
	root := testcorpus.Dir(tb)
	var out []corpusDoc
	for _, sub := range subs {
		for _, p := range testcorpus.Files(tb, sub) {
			d, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, corpusDoc{filepath.ToSlash(rel), d, sub == "tm"})
		}
	}
	return out
}

// validateWotgen: `wotgen validate` on every corpus file (schema plus all semantic checks); one
// op is one file.
func validateWotgen(tb testing.TB, docs []corpusDoc, n int, prepare func()) {
	v, err := validate.New(validate.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	prepare()
	for i := range n {
		d := docs[i%len(docs)]
		v.Validate(d.rel, d.data)
	}
}

// validateSchemaOnly is the baseline: the official TD/TM JSON Schemas (the ones wotgen embeds)
// compiled once with jsonschema/v5, each file decoded with encoding/json and checked against
// its schema, nothing else (what a schema-only validator such as ajv does).
func validateSchemaOnly(tb testing.TB, docs []corpusDoc, n int, prepare func()) {
	tdSchema, tmSchema := validate.Schemas()
	compile := func(name string, src []byte) *jsonschema.Schema {
		c := jsonschema.NewCompiler()
		c.Draft = jsonschema.Draft7
		if err := c.AddResource(name, bytes.NewReader(src)); err != nil {
			tb.Fatal(err)
		}
		s, err := c.Compile(name)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	st, sm := compile("td.json", tdSchema), compile("tm.json", tmSchema)
	prepare()
	for i := range n {
		d := docs[i%len(docs)]
		var v any
		if json.Unmarshal(d.data, &v) != nil {
			continue
		}
		s := st
		if d.tm {
			s = sm
		}
		s.Validate(v)
	}
}

// generateCorpus: `wotgen generate` (types, client, server; gofmt'd, in memory, no compilation)
// for every valid TD of the corpus; one op is the whole corpus.
func generateCorpus(tb testing.TB, docs []corpusDoc, n int, prepare func()) {
	prepare()
	for range n {
		for _, d := range docs {
			gen.Generate(context.Background(), d.data, gen.Options{Source: d.rel}) // some valid TDs are not generatable; they fail fast
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	docs := loadCorpus(b, "td/valid", "td/invalid", "tm")
	for _, v := range []struct {
		name string
		run  func(testing.TB, []corpusDoc, int, func())
	}{{"schemaonly", validateSchemaOnly}, {"wotgen", validateWotgen}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			v.run(b, docs, b.N, b.ResetTimer)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

func BenchmarkGenerateCorpus(b *testing.B) {
	docs := loadCorpus(b, "td/valid")
	b.ReportAllocs()
	generateCorpus(b, docs, b.N, b.ResetTimer)
	b.ReportMetric(float64(len(docs)), "TDs")
}

// TestToolsRun keeps the tool benchmarks working: a few files each.
func TestToolsRun(t *testing.T) {
	docs := loadCorpus(t, "td/valid", "tm")
	validateWotgen(t, docs, 5, func() {})
	validateSchemaOnly(t, docs, 5, func() {})
	generateCorpus(t, docs[:2], 1, func() {})
}
