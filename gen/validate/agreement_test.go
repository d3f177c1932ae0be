package validate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/wotgen/wotgen/internal/testcorpus"
)

// officialSchemas compiles the W3C TD 1.1 and TM 1.1 schemas from the corpus. They are the test
// oracle only; the product never loads them.
func officialSchemas(t testing.TB) (td, tm *jsonschema.Schema) {
	t.Helper()
	return compileOfficial(t, "td-json-schema-validation.json"), compileOfficial(t, "tm-json-schema-validation.json")
}

// compileOfficial compiles corpus/schemas/<name> (draft-07, formats asserted as draft-07 does).
func compileOfficial(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	raw, err := os.ReadFile(filepath.Join(testcorpus.Dir(t), "schemas", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	url := "file:///oracle/" + name
	if err := c.AddResource(url, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// oracleValid reports the official verdict: encoding/json (strict, like JSON.parse) then the schema.
func oracleValid(s *jsonschema.Schema, data []byte) (bool, string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false, "json: " + err.Error()
	}
	if err := s.Validate(v); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// corpusFile is one corpus document with the kind the corpus assigns to it (by folder).
type corpusFile struct {
	rel  string // path inside the corpus, e.g. td/valid/x.json
	path string
	kind Kind
}

func corpusFiles(t testing.TB) []corpusFile {
	t.Helper()
	root := testcorpus.Dir(t)
	var out []corpusFile
	for _, sub := range []string{"td/valid", "td/invalid", "tm"} {
		for _, p := range testcorpus.Files(t, sub) {
			rel, _ := filepath.Rel(root, p)
			k := KindTD
			if sub == "tm" {
				k = KindTM
			}
			out = append(out, corpusFile{filepath.ToSlash(rel), p, k})
		}
	}
	return out
}

// justified lists the corpus files where our verdict differs from the official schema, each with why.
var justified = map[string]string{
	// Duplicate members with different values (TD002): JSON.parse keeps the last one silently, so the
	// schema never sees the first. The playground rejects the same files (propUniqueness).
	"td/invalid/playground__duplicatePropertyAffordanceNames.json": "TD002: two properties named \"status\" with different definitions",
	"td/valid/wot-testing__Intel-OCF-button2touch.td.json":         "TD002: two different \"links\" arrays; one is silently lost",
	"td/valid/wot-testing__intel-geolocator.td.json":               "TD002: \"type\": \"number\" followed by \"type\": \"qudt:Speed\" in one object",
	// Enum values that can never validate (TD032); upstream labels the file invalid.
	"td/invalid/playground__invalid-usingTM.json": "TD032: string enum values under \"type\": \"number\"",
	// Undefined security scheme in a form (TD020); the playground rejects it too (security check).
	"td/invalid/playground__invalidSecuMatch.json": "TD020: form security \"someScheme\" is not in securityDefinitions",
	// TD 1.1 allows at most one rel=type link (MUST); the playground rejects it too (linksRelTypeCount).
	"td/invalid/playground__multipleRelType.json": "TD045: two links with rel \"type\"",
	// id and @id together (TD041): two identifiers once read as JSON-LD; the playground's JSON-LD check fails too.
	"td/invalid/wot-testing__2020.09.Online-UNIBO-imu_sensor.td.json": "TD041: both id and @id",
	"td/invalid/wot-testing__imu_control.td.json":                     "TD041: both id and @id",
	// oauth2 flow "client" MUST have a token URI (TD 1.1 OAuth2SecurityScheme); the schema cannot say it.
	"td/valid/wot-testing__oauth2-garden-thing.td.json": "TD022: oauth2 client flow without token",
	// TD 1.0 documents are checked with the TD 1.0 rule where 1.0 and 1.1 differ: TD 1.0 does not
	// require op on Thing-level forms (the TD 1.0 schema accepts these files; the test checks it), so
	// we only warn (TD024 warning). The official 1.1 schema applies the 1.1 rule to 1.0 documents too.
	"td/invalid/wot-testing__grid.json":                                    "TD 1.0: Thing-level form without op",
	"td/invalid/wot-testing__siemens-node-wot-dataSchemaTest-siemens.json": "TD 1.0: Thing-level form without op",
}

func TestAgreementWithOfficialSchema(t *testing.T) {
	oTD, oTM := officialSchemas(t)
	vs := map[Kind]*Validator{}
	for _, k := range []Kind{KindTD, KindTM} {
		v, err := New(Options{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		vs[k] = v
	}
	td10 := compileOfficial(t, "td1.0/td-json-schema-validation.json")
	for file, why := range justified {
		if !strings.HasPrefix(why, "TD 1.0:") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(testcorpus.Dir(t), filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		if ok, msg := oracleValid(td10, data); !ok {
			t.Errorf("%s is justified by TD 1.0 rules, but the official TD 1.0 schema rejects it: %s", file, msg)
		}
	}
	agree, differ := 0, 0
	var unexplained []string
	for _, f := range corpusFiles(t) {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		oracle := oTD
		if f.kind == KindTM {
			oracle = oTM
		}
		want, why := oracleValid(oracle, data)
		res := vs[f.kind].Validate(f.rel, data)
		if res.Valid == want {
			agree++
			if _, ok := justified[f.rel]; ok {
				t.Errorf("%s is listed as a justified difference but now agrees with the official schema; remove it from the list", f.rel)
			}
			continue
		}
		differ++
		if _, ok := justified[f.rel]; ok {
			continue
		}
		var ours []string
		for _, d := range res.Diagnostics {
			if d.Severity == SeverityError {
				ours = append(ours, d.Code+" "+d.Pointer+" "+d.Message)
			}
		}
		unexplained = append(unexplained, f.rel+"\n    official valid="+boolStr(want)+" "+truncate(why, 200)+"\n    ours: "+strings.Join(ours, "\n          "))
	}
	sort.Strings(unexplained)
	for _, u := range unexplained {
		t.Errorf("unjustified difference: %s", u)
	}
	t.Logf("agreement with the official W3C schemas: %d files agree, %d differ (%d justified)", agree, differ, len(justified))
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestLooksLikeWoTCorpus: directory walks must find every corpus document by content.
func TestLooksLikeWoTCorpus(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		// A JSON Schema that upstream filed as a TD; a directory walk rightly skips it (named files are
		// always validated, and it then fails).
		if f.rel == "td/invalid/wot-testing__td-schema-bundang.json" {
			if LooksLikeWoT(f.rel, data) {
				t.Errorf("%s is a JSON Schema but was recognised as a TD", f.rel)
			}
			continue
		}
		if !LooksLikeWoT(f.rel, data) {
			t.Errorf("%s is not recognised as a TD or TM by content", f.rel)
		}
	}
	for _, s := range []string{`{"name": "pkg", "version": "1.0.0"}`, `{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {}}`, `[1, 2]`, "\x00\x01",
		`{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"forms": {}, "securityDefinitions": {}}}`,
		`{"@context": {"td": "https://www.w3.org/2019/wot/td#", "forms": {"@id": "td:hasForm"}}}`} {
		if LooksLikeWoT("x.json", []byte(s)) {
			t.Errorf("%q recognised as a TD", s)
		}
	}
}
