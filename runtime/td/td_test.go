package td

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
)

func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCorpusRoundTrip: every valid corpus TD parses, and marshalling it gives back the same JSON.
func TestCorpusRoundTrip(t *testing.T) {
	files := testcorpus.Files(t, "td/valid")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		th, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		out, err := json.Marshal(th)
		if err != nil {
			t.Errorf("%s: marshal: %v", filepath.Base(f), err)
			continue
		}
		if !reflect.DeepEqual(generic(t, data[len(data)-len(trimBOM(data)):]), generic(t, out)) {
			t.Errorf("%s: parse → marshal changed the document:\n%s", filepath.Base(f), out)
			continue
		}
		th2, err := Parse(out)
		if err != nil {
			t.Errorf("%s: re-parse: %v", filepath.Base(f), err)
			continue
		}
		out2, _ := json.Marshal(th2)
		if string(out) != string(out2) {
			t.Errorf("%s: second round trip differs", filepath.Base(f))
		}
	}
	t.Logf("%d valid corpus TDs parsed and round-tripped", len(files))
}

func trimBOM(b []byte) []byte { return []byte(strings.TrimPrefix(string(b), "\uFEFF")) }

// TestCorpusOthersNeverPanic: invalid TDs and TMs either parse or fail with a positioned error.
func TestCorpusOthersNeverPanic(t *testing.T) {
	files := append(testcorpus.Files(t, "td/invalid"), testcorpus.Files(t, "tm")...)
	parsed := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		_, err := Parse(data)
		if err == nil {
			parsed++
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Line == 0 {
			t.Errorf("%s: error without position: %v", filepath.Base(f), err)
		}
	}
	t.Logf("%d of %d invalid TDs and TMs parse (the model is lenient; validation rejects them)", parsed, len(files))
}

func TestPolymorphicShapes(t *testing.T) {
	doc := `{
	"@context": ["https://www.w3.org/2022/wot/td/v1.1", {"@language": "de", "htv": "http://www.w3.org/2011/http#"}],
	"@type": "saref:LightSwitch",
	"title": "T",
	"security": "nosec_sc",
	"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}, "o": {"scheme": "oauth2", "flow": "client", "scopes": "a"}},
	"profile": ["p1", "p2"],
	"properties": {
		"a": {"type": "array", "items": {"type": "integer"}, "forms": [{"href": "x", "op": "readproperty", "htv:methodName": "GET"}]},
		"b": {"type": "array", "items": [{"type": "string"}, {"type": "number"}], "forms": [{"href": "x", "op": ["readproperty"], "scopes": ["s1"]}], "x:ext": {"k": 1}}
	},
	"forms": [{"href": "y", "op": ["readallproperties", "writeallproperties"], "security": ["nosec_sc"]}]
}`
	th, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Context) != 2 || th.Context[0].URI != ContextV11 || string(th.Context[1].Map["@language"]) != `"de"` {
		t.Errorf("context = %+v", th.Context)
	}
	checks := []struct {
		name string
		got  StringList
		want StringList
	}{
		{"@type", th.AtType, StringList{"saref:LightSwitch"}},
		{"security", th.Security, StringList{"nosec_sc"}},
		{"profile", th.Profile, StringList{"p1", "p2"}},
		{"op string", th.Properties["a"].Forms[0].Op, StringList{"readproperty"}},
		{"op array", th.Properties["b"].Forms[0].Op, StringList{"readproperty"}},
		{"scopes array", th.Properties["b"].Forms[0].Scopes, StringList{"s1"}},
		{"scheme scopes string", th.SecurityDefinitions["o"].Scopes, StringList{"a"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if it := th.Properties["a"].Items; it == nil || it.Schema == nil || it.Schema.Type != "integer" {
		t.Errorf("items schema = %+v", it)
	}
	if it := th.Properties["b"].Items; it == nil || len(it.Tuple) != 2 || it.Tuple[1].Type != "number" {
		t.Errorf("items tuple = %+v", it)
	}
	if string(th.Properties["a"].Forms[0].Extra["htv:methodName"]) != `"GET"` {
		t.Errorf("form extension lost: %v", th.Properties["a"].Forms[0].Extra)
	}
	if string(th.Properties["b"].Extra["x:ext"]) != `{"k": 1}` {
		t.Errorf("property extension lost: %s", th.Properties["b"].Extra["x:ext"])
	}
	out, _ := json.Marshal(th)
	if !reflect.DeepEqual(generic(t, []byte(doc)), generic(t, out)) {
		t.Errorf("round trip changed shapes:\n%s", out)
	}
	// A modified list keeps a sensible shape: one element stays a string, more become an array.
	th.Security = append(th.Security, "o")
	out, _ = json.Marshal(th)
	if !strings.Contains(string(out), `"security":["nosec_sc","o"]`) {
		t.Errorf("grown list not written as array: %s", out)
	}
}

func TestExplicitFalseAndNullSurvive(t *testing.T) {
	doc := `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"","security":[],"securityDefinitions":{},
	"properties":{"p":{"readOnly":false,"const":null,"default":null,"required":[],"minimum":null,"forms":[]}}}`
	th, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if string(th.Properties["p"].Const) != "null" {
		t.Errorf("const null = %q", th.Properties["p"].Const)
	}
	out, _ := json.Marshal(th)
	if !reflect.DeepEqual(generic(t, []byte(doc)), generic(t, out)) {
		t.Errorf("round trip:\n got %s\nwant %s", out, doc)
	}
}

func TestErrorPositions(t *testing.T) {
	cases := []struct {
		name, doc        string
		line, col        int
		pointer, message string
	}{
		{"missing comma", "{\n  \"title\": \"x\"\n  \"id\": 1\n}", 3, 3, "", "invalid JSON"},
		{"truncated", "{\n  \"title\": \"x\",\n", 3, 1, "", "unexpected end"},
		{"wrong type", "{\n  \"title\": \"x\",\n  \"properties\": {\n    \"on\": {\"type\": 5}\n  }\n}", 4, 20, "/properties/on/type", "want a string"},
		{"bad op", "{\"properties\": {\"a/b\": {\"forms\": [{\"href\": \"x\", \"op\": 7}]}}}", 1, 55, "/properties/a~1b/forms/0/op", "string or an array"},
		{"not an object", "[1,2]", 1, 1, "", "JSON object"},
		{"trailing data", "{} {}", 1, 4, "", "after the top-level"},
		{"empty", "  ", 1, 1, "", "empty"},
		{"too deep", "{\"a\":" + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}", 1, 6 + MaxDepth - 1, "", "nested deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Line != c.line || e.Column != c.col || e.Pointer != c.pointer || !strings.Contains(e.Msg, c.message) {
				t.Errorf("got %d:%d %q %q, want %d:%d %q ~%q", e.Line, e.Column, e.Pointer, e.Msg, c.line, c.col, c.pointer, c.message)
			}
		})
	}
}

func TestParseFileNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.td.json")
	os.WriteFile(p, []byte("{\"title\": 3}"), 0o644)
	_, err := ParseFile(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":1:11: /title: ") {
		t.Errorf("err = %v", err)
	}
}

func TestDepthBound(t *testing.T) {
	// MaxDepth-1 nested item schemas inside the root object: exactly at the bound, accepted.
	d := MaxDepth - 3
	doc := `{"properties":{"p":` + strings.Repeat(`{"items":`, d) + `{}` + strings.Repeat(`}`, d) + `}}`
	if _, err := Parse([]byte(doc)); err != nil {
		t.Fatalf("depth %d: %v", d+3, err)
	}
	doc = `{"properties":{"p":` + strings.Repeat(`{"items":`, d+1) + `{}` + strings.Repeat(`}`, d+1) + `}}`
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("depth %d: err = %v", d+4, err)
	}
	// Brackets inside strings do not count.
	if _, err := Parse([]byte(`{"title":"` + strings.Repeat("[{", 1000) + `"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestBOMTolerated(t *testing.T) {
	if _, err := Parse([]byte("\uFEFF{\"title\":\"x\"}")); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	const v11 = `"@context":"https://www.w3.org/2022/wot/td/v1.1"`
	const v10 = `"@context":"https://www.w3.org/2019/wot/td/v1"`
	doc := func(ctx string) string {
		return `{` + ctx + `,"title":"T","security":"s","securityDefinitions":{
		"s":{"scheme":"nosec"},"b":{"scheme":"basic"},"d":{"scheme":"digest"},"k":{"scheme":"apikey"},
		"be":{"scheme":"bearer"},"be2":{"scheme":"bearer","in":"query","alg":"RS256","format":"jws"}},
	"properties":{
		"rw":{"type":"number","forms":[{"href":"x"}]},
		"ro":{"readOnly":true,"forms":[{"href":"x"}]},
		"wo":{"writeOnly":true,"forms":[{"href":"x"}]},
		"both":{"readOnly":true,"writeOnly":true,"forms":[{"href":"x"}]},
		"explicit":{"forms":[{"href":"x","op":"observeproperty","contentType":"text/plain"}]}},
	"actions":{"a":{"forms":[{"href":"x","additionalResponses":[{"schema":"e"}]}]}},
	"events":{"e":{"forms":[{"href":"x"}]}}}`
	}
	type want struct {
		path string
		got  func(*Thing) any
		v11  any
		v10  any
	}
	ops := func(n string) func(*Thing) any {
		return func(t *Thing) any { return []string(t.Properties[n].Forms[0].Op) }
	}
	cases := []want{
		{"property rw op", ops("rw"), []string{"readproperty", "writeproperty"}, []string{"readproperty", "writeproperty"}},
		{"property readOnly op", ops("ro"), []string{"readproperty"}, []string{"readproperty", "writeproperty"}},
		{"property writeOnly op", ops("wo"), []string{"writeproperty"}, []string{"readproperty", "writeproperty"}},
		{"property readOnly+writeOnly op", ops("both"), []string(nil), []string{"readproperty", "writeproperty"}},
		{"explicit op kept", ops("explicit"), []string{"observeproperty"}, []string{"observeproperty"}},
		{"action op", func(t *Thing) any { return []string(t.Actions["a"].Forms[0].Op) }, []string{"invokeaction"}, []string{"invokeaction"}},
		{"event op", func(t *Thing) any { return []string(t.Events["e"].Forms[0].Op) }, []string{"subscribeevent", "unsubscribeevent"}, []string{"subscribeevent"}},
		{"form contentType", func(t *Thing) any { return t.Properties["rw"].Forms[0].ContentType }, "application/json", "application/json"},
		{"explicit contentType kept", func(t *Thing) any { return t.Properties["explicit"].Forms[0].ContentType }, "text/plain", "text/plain"},
		{"readOnly", func(t *Thing) any { return *t.Properties["rw"].ReadOnly }, false, false},
		{"writeOnly", func(t *Thing) any { return *t.Properties["rw"].WriteOnly }, false, false},
		{"observable", func(t *Thing) any { return t.Properties["rw"].Observable != nil && !*t.Properties["rw"].Observable }, true, false},
		{"safe", func(t *Thing) any { return *t.Actions["a"].Safe }, false, false},
		{"idempotent", func(t *Thing) any { return *t.Actions["a"].Idempotent }, false, false},
		{"synchronous has no default", func(t *Thing) any { return t.Actions["a"].Synchronous == nil }, true, true},
		{"additionalResponses success", func(t *Thing) any { return *t.Actions["a"].Forms[0].AdditionalResponses[0].Success }, false, false},
		{"additionalResponses contentType", func(t *Thing) any { return t.Actions["a"].Forms[0].AdditionalResponses[0].ContentType }, "application/json", "application/json"},
		{"basic in", func(t *Thing) any { return t.SecurityDefinitions["b"].In }, "header", "header"},
		{"digest in", func(t *Thing) any { return t.SecurityDefinitions["d"].In }, "header", "header"},
		{"digest qop", func(t *Thing) any { return t.SecurityDefinitions["d"].Qop }, "auth", "auth"},
		{"apikey in", func(t *Thing) any { return t.SecurityDefinitions["k"].In }, "query", "query"},
		{"bearer in", func(t *Thing) any { return t.SecurityDefinitions["be"].In }, "header", "header"},
		{"bearer alg", func(t *Thing) any { return t.SecurityDefinitions["be"].Alg }, "ES256", "ES256"},
		{"bearer format", func(t *Thing) any { return t.SecurityDefinitions["be"].Format }, "jwt", "jwt"},
		{"bearer explicit kept", func(t *Thing) any {
			s := t.SecurityDefinitions["be2"]
			return s.In + " " + s.Alg + " " + s.Format
		}, "query RS256 jws", "query RS256 jws"},
	}
	for _, version := range []string{"1.1", "1.0"} {
		ctx := v11
		if version == "1.0" {
			ctx = v10
		}
		raw, err := Parse([]byte(doc(ctx)))
		if err != nil {
			t.Fatal(err)
		}
		if got := raw.Version10(); got != (version == "1.0") {
			t.Fatalf("Version10 = %v for %s", got, version)
		}
		n := Normalize(raw)
		for _, c := range cases {
			w := c.v11
			if version == "1.0" {
				w = c.v10
			}
			if got := c.got(n); !reflect.DeepEqual(got, w) {
				t.Errorf("TD %s %s = %#v, want %#v", version, c.path, got, w)
			}
		}
		if raw.Properties["rw"].Forms[0].Op != nil || raw.Properties["rw"].ReadOnly != nil {
			t.Errorf("Normalize modified its argument")
		}
	}
}

func TestFormsAndEndpoints(t *testing.T) {
	doc := `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:x","title":"T","base":"wss://h.example/things/",
	"security":"s","securityDefinitions":{"s":{"scheme":"nosec"},"b":{"scheme":"bearer"}},
	"properties":{"p":{"readOnly":true,"forms":[
		{"href":"http://h.example/p"},
		{"href":"wtp","subprotocol":"webthingprotocol","security":"b"},
		{"href":"wtp","subprotocol":"webthingprotocol","op":["observeproperty"]}]}},
	"actions":{"a":{"forms":[{"href":"/other","subprotocol":"webthingprotocol"}]}},
	"forms":[{"href":"wtp","subprotocol":"webthingprotocol","op":"readallproperties"}]}`
	th, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(th.AffordanceForms(OpReadProperty, "p")); got != 2 {
		t.Errorf("readproperty forms = %d, want 2 (defaults apply, observe-only form excluded)", got)
	}
	if got := len(th.AffordanceForms(OpWriteProperty, "p")); got != 0 {
		t.Errorf("writeproperty forms on readOnly = %d", got)
	}
	u, f, err := th.WTPEndpoint(OpReadProperty, "p", nil)
	if err != nil || u.String() != "wss://h.example/things/wtp" {
		t.Fatalf("endpoint = %v, %v", u, err)
	}
	if sec := th.EffectiveSecurity(f); !reflect.DeepEqual(sec, []string{"b"}) {
		t.Errorf("form security = %v", sec)
	}
	if sec := th.EffectiveSecurity(&th.Forms[0]); !reflect.DeepEqual(sec, []string{"s"}) {
		t.Errorf("thing security = %v", sec)
	}
	if u, _, err := th.WTPEndpoint(OpInvokeAction, "a", nil); err != nil || u.String() != "wss://h.example/other" {
		t.Errorf("action endpoint = %v, %v", u, err)
	}
	if u, _, err := th.WTPEndpoint(OpReadAllProperties, "", nil); err != nil || u.Path != "/things/wtp" {
		t.Errorf("meta endpoint = %v, %v", u, err)
	}
	if _, _, err := th.WTPEndpoint(OpWriteAllProperties, "", nil); err == nil || !strings.Contains(err.Error(), "webthingprotocol") {
		t.Errorf("missing meta form: err = %v", err)
	}
	eps := th.WTPEndpoints(nil)
	if len(eps) != 2 {
		t.Errorf("endpoints = %v", eps)
	}
	// Without base, hrefs resolve against the document URL.
	th.Base = ""
	doc2, _ := url.Parse("ws://127.0.0.1:8080/td")
	if u, _, err := th.WTPEndpoint(OpReadProperty, "p", doc2); err != nil || u.String() != "ws://127.0.0.1:8080/wtp" {
		t.Errorf("doc-relative endpoint = %v, %v", u, err)
	}
	if _, err := th.ResolveHref("wtp", nil); err == nil || !strings.Contains(err.Error(), "no base") {
		t.Errorf("relative without base: %v", err)
	}
}

func TestKinds(t *testing.T) {
	if n := len(AllOps()); n != 18 {
		t.Fatalf("%d operations, want 18", n)
	}
	for _, op := range AllOps() {
		if KindOf(op) == KindUnknown {
			t.Errorf("%s has no kind", op)
		}
	}
	if KindOf("observeaction") != KindUnknown {
		t.Error("observeaction is not an operation")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"title":"x","properties":{"p":{"type":"array","items":[{}],"forms":[{"href":"h","op":"readproperty"}]}}}`))
	f.Add([]byte(`{"@context":["https://www.w3.org/2022/wot/td/v1.1",{"@language":"en"}],"security":"a"}`))
	f.Add([]byte(`[`))
	if root := testcorpus.Root(); root != "" {
		for _, sub := range []string{"td/valid", "td/invalid", "tm"} {
			files, _ := filepath.Glob(filepath.Join(root, "corpus", sub, "*.json"))
			for _, p := range files {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(th)
		if err != nil {
			t.Fatalf("marshal after parse: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of marshalled output: %v\n%s", err, out)
		}
		Normalize(th)
	})
}
