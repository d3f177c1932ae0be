package tm_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/gen"
	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/gen/tm/tmtest"
	"github.com/wotgen/wotgen/gen/validate"
	"github.com/wotgen/wotgen/runtime/td"
)

var leftPlaceholder = regexp.MustCompile(`\{\{[ -z|~]+\}\}`)

var oraclePtrRe = regexp.MustCompile(`^invalid\((\S*) `)
var oracleReqRe = regexp.MustCompile(`required property '([^']+)'`)

// oraclePointer extracts the JSON pointer of the official-schema oracle's first error.
func oraclePointer(res string) string {
	m := oraclePtrRe.FindStringSubmatch(res)
	if m == nil {
		return ""
	}
	p := m[1]
	if p == "/" {
		if r := oracleReqRe.FindStringSubmatch(res); r != nil {
			return "/" + r[1]
		}
	}
	return p
}

func ptrRelated(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// TestCorpus resolves every corpus TM and compares with the oracles (manifest.tsv): models both
// oracles accept must resolve, unless a linked model is only published online (the oracles ran
// offline without following links); models they reject must fail for the same reason (same JSON
// pointer, or invalid JSON). Every model that resolves goes TM → TD (Derive with WTP) → parse →
// CheckInstance, and through GenerationDocument.
func TestCorpus(t *testing.T) {
	entries := tmtest.Entries(t)
	if len(entries) != 81 {
		t.Errorf("manifest lists %d TMs, want 81", len(entries))
	}
	var resolved, offline, rejected, agree, derived int
	for _, e := range entries {
		name := e.Name()
		oracleValid := e.OracleValid()
		m, err := tm.Resolve(context.Background(), tmtest.Loader(entries), e.URL())
		switch {
		case err == nil:
			resolved++
			if oracleValid {
				agree++
			} else {
				t.Errorf("%s: resolved, but the oracle says %s", name, e.JSONSchema)
			}
		case errors.Is(err, tm.ErrOffline):
			offline++
			if oracleValid {
				agree++
			} else {
				t.Errorf("%s: failed only for a missing linked model (%v), but the oracle says %s", name, err, e.JSONSchema)
			}
		default:
			rejected++
			if oracleValid {
				t.Errorf("%s: %v; the oracles accept it", name, err)
				continue
			}
			var re *tm.Error
			switch {
			case e.JSONSchema == "invalid(json)":
				if !strings.Contains(err.Error(), "invalid JSON") {
					t.Errorf("%s: %v; the oracle says invalid JSON", name, err)
					continue
				}
			case errors.As(err, &re) && ptrRelated(re.Pointer, oraclePointer(e.JSONSchema)):
			default:
				t.Errorf("%s: %v; the oracle says %s", name, err, e.JSONSchema)
				continue
			}
			agree++
		}
		if err != nil {
			continue
		}
		// "wotgen td" refuses models gen/validate rejects; every model that resolves must pass.
		if data, err := os.ReadFile(e.Local); err == nil {
			for _, d := range tmValidator.Validate(name, data).Diagnostics {
				if d.Severity == validate.SeverityError {
					t.Errorf("%s: gen/validate rejects the model: %s", name, d)
				}
			}
		}
		roundTrip(t, name, m)
		derived++
	}
	t.Logf("corpus TMs: %d, resolved %d, unavailable offline (linked model not in the corpus) %d, rejected %d; agreement with the oracles %d/%d; derived and checked %d",
		len(entries), resolved, offline, rejected, agree, len(entries), derived)
}

func roundTrip(t *testing.T, name string, m *tm.Model) {
	t.Helper()
	vals := tmtest.SampleValues(m)
	for _, keep := range []bool{false, true} {
		out, _, err := tm.Derive(m, tm.Options{Values: vals, WTP: true, KeepOptional: keep, ModelURL: m.URL, Base: "wss://things.example.org/" + strings.TrimSuffix(name, ".json") + "/"})
		if err != nil {
			t.Errorf("%s: Derive: %v", name, err)
			return
		}
		if leftPlaceholder.Match(out) {
			t.Errorf("%s: placeholders left in the TD", name)
		}
		th, err := td.Parse(out)
		if err != nil {
			t.Errorf("%s: derived TD does not parse: %v", name, err)
			return
		}
		if th.IsTM() || th.Title == "" || th.ID == "" || th.Version == nil || len(th.Security) == 0 {
			t.Errorf("%s: derived TD lacks TD metadata:\n%s", name, out)
		}
		for _, n := range th.PropertyNames() {
			if len(th.Properties[n].Forms) == 0 {
				t.Errorf("%s: property %s has no forms", name, n)
			}
		}
		validateDerivedForTest(t, name, out)
		if diags := tm.CheckInstance(m, out); tm.HasErrors(diags) {
			t.Errorf("%s: the derived TD is not an instance of its model: %v", name, diags)
		}
	}
	if doc, _, err := tm.GenerationDocument(m); err == nil {
		if _, err := td.Parse(doc); err != nil {
			t.Errorf("%s: generation document does not parse: %v", name, err)
		}
		// The generator accepts it (compiling the output is the generator's round trip).
		if _, err := gen.Generate(context.Background(), doc, gen.Options{Package: "model"}); err != nil {
			t.Errorf("%s: gen.Generate on the generation document: %v", name, err)
		}
	} else if !strings.Contains(err.Error(), "placeholder") {
		t.Errorf("%s: GenerationDocument: %v", name, err)
	}
}

var tdValidator, tmValidator = newValidator(validate.KindTD), newValidator(validate.KindTM)

func newValidator(k validate.Kind) *validate.Validator {
	v, err := validate.New(validate.Options{Kind: k})
	if err != nil {
		panic(err)
	}
	return v
}

// modelDefects are corpus models whose derived TDs are invalid because of the model itself, with
// the validator code that reports it.
var modelDefects = map[string]string{
	// "id": "siemens/siemens/3nacom-fuse/v1.0.0-….tm.json" is not a URI (TD schema: format uri).
	"wot-testing__siemens-fuse.tm.json": "TD040",
}

// validateDerivedForTest checks a derived TD with gen/validate (what "wotgen validate" runs).
func validateDerivedForTest(t *testing.T, name string, td []byte) {
	t.Helper()
	res := tdValidator.Validate(name, td)
	for _, d := range res.Diagnostics {
		if d.Severity == validate.SeverityError && d.Code != modelDefects[name] {
			t.Errorf("%s: derived TD fails validation: %s", name, d)
		}
	}
}
