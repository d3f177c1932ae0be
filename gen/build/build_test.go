package build

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/gen/ir"
	"github.com/wotgen/wotgen/runtime/td"
)

func mustBuild(t *testing.T, doc string) (*ir.Package, []string) {
	t.Helper()
	th, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	p, err := Build(th, Options{Package: "p", Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	return p, warns
}

const v11 = `"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "T", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"`
const v10 = `"@context": "https://www.w3.org/2019/wot/td/v1", "title": "T", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"`

const opsBody = `,
 "properties": {
  "rw": {"type": "integer", "forms": [{"href": "a"}]},
  "ro": {"type": "integer", "readOnly": true, "forms": [{"href": "a"}]},
  "wo": {"type": "integer", "writeOnly": true, "forms": [{"href": "a"}]},
  "obs": {"type": "integer", "observable": true, "forms": [{"href": "a", "op": ["readproperty", "observeproperty", "unobserveproperty"]}, {"href": "b"}]}
 },
 "actions": {"go": {"forms": [{"href": "a"}, {"href": "b", "op": ["queryaction", "cancelaction"]}]}},
 "events": {"ev": {"forms": [{"href": "a"}]}},
 "forms": [{"href": "x", "op": ["readallproperties", "readmultipleproperties"]}, {"href": "y", "op": "subscribeallevents"}]
}`

func opsOf(p *ir.Package) map[string][]string {
	m := map[string][]string{}
	for _, x := range p.Thing.Properties {
		m[x.Name] = x.Ops
	}
	for _, x := range p.Thing.Actions {
		m[x.Name] = x.Ops
	}
	for _, x := range p.Thing.Events {
		m[x.Name] = x.Ops
	}
	m["thing"] = p.Thing.Ops
	return m
}

func TestOpsTD11(t *testing.T) {
	p, _ := mustBuild(t, "{"+v11+opsBody)
	want := map[string][]string{
		"rw":    {"readproperty", "writeproperty"},
		"ro":    {"readproperty"},
		"wo":    {"writeproperty"},
		"obs":   {"readproperty", "writeproperty", "observeproperty", "unobserveproperty"},
		"go":    {"invokeaction", "queryaction", "cancelaction"},
		"ev":    {"subscribeevent", "unsubscribeevent"},
		"thing": {"readallproperties", "readmultipleproperties", "subscribeallevents"},
	}
	if got := opsOf(p); !reflect.DeepEqual(got, want) {
		t.Errorf("ops = %v\nwant %v", got, want)
	}
	if p.Thing.Version10 {
		t.Error("1.1 TD reported as 1.0")
	}
	obs := p.Thing.Properties[0]
	if obs.Name != "obs" || !obs.Observable || len(obs.Forms) != 2 || obs.Forms[1].ContentType != "application/json" {
		t.Errorf("forms of obs: %+v", obs.Forms)
	}
}

func TestOpsTD10(t *testing.T) {
	p, _ := mustBuild(t, "{"+v10+opsBody)
	got := opsOf(p)
	if want := []string{"readproperty", "writeproperty"}; !reflect.DeepEqual(got["ro"], want) {
		t.Errorf("TD 1.0 readOnly property ops = %v, want %v (1.0 default ignores readOnly)", got["ro"], want)
	}
	if want := []string{"subscribeevent"}; !reflect.DeepEqual(got["ev"], want) {
		t.Errorf("TD 1.0 event ops = %v, want %v", got["ev"], want)
	}
	if !p.Thing.Version10 {
		t.Error("1.0 TD not detected")
	}
}

func TestAffordanceNames(t *testing.T) {
	p, warns := mustBuild(t, `{`+v11+`,
	 "properties": {"status": {"type": "string", "forms": [{"href": "a"}]}, "brightness": {"type": "integer", "forms": [{"href": "a"}]},
	   "close": {"type": "boolean", "forms": [{"href": "a"}]}, "on-off": {"type": "boolean", "forms": [{"href": "a"}]}, "onOff": {"type": "boolean", "forms": [{"href": "a"}]}},
	 "actions": {"readBrightness": {"forms": [{"href": "a"}]}, "readAllProperties": {"forms": [{"href": "a"}]}},
	 "events": {"status": {"forms": [{"href": "a"}]}}}`)
	got := map[string]string{}
	for _, x := range p.Thing.Properties {
		got["p:"+x.Name] = x.GoName
	}
	for _, x := range p.Thing.Actions {
		got["a:"+x.Name] = x.GoName
	}
	for _, x := range p.Thing.Events {
		got["e:"+x.Name] = x.GoName
	}
	want := map[string]string{
		"p:status": "StatusProperty", "e:status": "StatusEvent", "p:brightness": "Brightness",
		"p:close": "CloseProperty", "p:on-off": "OnOff", "p:onOff": "OnOff2",
		"a:readBrightness": "ReadBrightnessAction", "a:readAllProperties": "ReadAllPropertiesAction",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names = %v\nwant %v", got, want)
	}
	if len(warns) != 6 {
		t.Errorf("want a warning per rename (6), got %d: %q", len(warns), warns)
	}
}

func TestTypesShape(t *testing.T) {
	p, warns := mustBuild(t, `{`+v11+`,
	 "schemaDefinitions": {"color": {"type": "object", "properties": {"r": {"type": "integer"}}}},
	 "properties": {
	   "a": {"type": "object", "properties": {"x": {"type": "integer"}}, "forms": [{"href": "a"}]},
	   "b": {"type": "object", "properties": {"x": {"type": "integer"}}, "forms": [{"href": "a"}]},
	   "c": {"tm:ref": "#/schemaDefinitions/color", "forms": [{"href": "a"}]},
	   "n": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "forms": [{"href": "a"}]},
	   "u": {"oneOf": [{"type": "integer"}, {"type": "string"}], "forms": [{"href": "a"}]},
	   "r": {"oneOf": [{"type": "integer"}, {"type": "number"}], "forms": [{"href": "a"}]},
	   "pat": {"type": "string", "pattern": "(?<=a)b", "forms": [{"href": "a"}]},
	   "when": {"type": "string", "format": "date-time", "forms": [{"href": "a"}]},
	   "any": {"forms": [{"href": "a"}]}
	 },
	 "actions": {"fade": {"input": {"type": "object", "properties": {"options": {"type": "object", "properties": {"curve": {"type": "string", "enum": ["linear", "ease-in"]}}}}}, "forms": [{"href": "a"}]}}}`)
	types := map[string]string{}
	for _, x := range p.Thing.Properties {
		types[x.Name] = x.Type.String()
	}
	for _, x := range p.Thing.Actions {
		types[x.Name+".input"] = x.Input.String()
	}
	want := map[string]string{
		"a": "A", "b": "A", // identical shapes share one type
		"c":          "Color", // tm:ref to a definition reuses its type
		"n":          "*N",
		"u":          "U",
		"r":          "R",
		"pat":        "Pat",
		"when":       "time.Time",
		"any":        "json.RawMessage",
		"fade.input": "FadeInput",
	}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("types = %v\nwant %v", types, want)
	}
	var names []string
	for _, ty := range p.Types {
		names = append(names, ty.Name)
	}
	for _, n := range []string{"FadeInputOptions", "FadeInputOptionsCurve"} {
		if !strings.Contains(strings.Join(names, " "), n) {
			t.Errorf("no nested type %s in %v", n, names)
		}
	}
	joined := strings.Join(warns, "\n")
	for _, w := range []string{"not told apart", "not supported by Go's regexp"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning about %q in %q", w, warns)
		}
	}
	for _, ty := range p.Types {
		switch ty.Name {
		case "U":
			if ty.Kind != ir.KindUnion || len(ty.Variants) != 2 {
				t.Errorf("U is not a two-variant union: %+v", ty)
			}
		case "R", "Pat":
			if ty.Inexact == "" {
				t.Errorf("%s should be marked inexact", ty.Name)
			}
		case "FadeInputOptionsCurve":
			if ty.Root != "input.options.curve" || len(ty.Consts) != 2 || ty.Consts[1].Name != "FadeInputOptionsCurveEaseIn" {
				t.Errorf("curve enum: %+v", ty)
			}
		}
	}
}

func TestPackageName(t *testing.T) {
	th, _ := td.Parse([]byte(`{` + v11 + `}`))
	if _, err := Build(th, Options{Package: "bad-name"}); err == nil {
		t.Error("want an error for a package name that is not an identifier")
	}
	p, err := Build(th, Options{})
	if err != nil || p.Name != "t" {
		t.Errorf("derived package = %v, %v", p, err)
	}
}

func TestOptionalAffordances(t *testing.T) {
	p, _ := mustBuild(t, `{"title":"T","properties":{"a":{"type":"string","wotgen:optional":true,"forms":[{"href":"x"}]},
	"b":{"type":"string","forms":[{"href":"x"}]}},"events":{"e":{"wotgen:optional":true,"forms":[{"href":"x"}]}}}`)
	for _, c := range []struct {
		name string
		a    *ir.Affordance
		want bool
	}{{"a", &p.Thing.Properties[0].Affordance, true}, {"b", &p.Thing.Properties[1].Affordance, false}, {"e", &p.Thing.Events[0].Affordance, true}} {
		if c.a.Optional != c.want {
			t.Errorf("%s: Optional = %v", c.name, c.a.Optional)
		}
		hasNote := len(c.a.Doc) > 0 && strings.Contains(c.a.Doc[len(c.a.Doc)-1], "Optional in the Thing Model")
		if hasNote != c.want {
			t.Errorf("%s: doc = %q", c.name, c.a.Doc)
		}
	}
}

// Which forms the generator expects the standard bindings to use, for the note in a method's
// doc: plain text and opaque bytes over HTTP are used, multipart and CoAP are not.
func TestUnsupportedForms(t *testing.T) {
	p, warns := mustBuild(t, `{`+v11+`, "base": "http://dev.example/",
 "properties": {
  "status": {"type": "string", "forms": [{"href": "status", "contentType": "text/plain"}]},
  "frame": {"readOnly": true, "forms": [{"href": "frame", "contentType": "image/jpeg"}]},
  "temp": {"type": "number", "forms": [{"href": "coap://dev.example/temp"}]}
 },
 "actions": {"transcribe": {"forms": [{"href": "t", "contentType": "multipart/form-data; boundary=x"}, {"href": "coap://dev.example/t"}]}}
}`)
	got := map[string]string{}
	for _, x := range p.Thing.Properties {
		got[x.Name] = x.Unsupported
	}
	for _, x := range p.Thing.Actions {
		got[x.Name] = x.Unsupported
	}
	if got["status"] != "" || got["frame"] != "" {
		t.Errorf("text/plain and image/jpeg forms marked unsupported: %q, %q", got["status"], got["frame"])
	}
	if !strings.Contains(got["temp"], "Its forms use coap,") {
		t.Errorf("temp: %q", got["temp"])
	}
	if !strings.Contains(got["transcribe"], "Its forms use coap, http with multipart/form-data,") {
		t.Errorf("transcribe: %q", got["transcribe"])
	}
	if len(warns) != 2 {
		t.Errorf("want a warning for temp and transcribe, got %q", warns)
	}
}

// Affordances without schemas whose forms carry opaque bytes get []byte values; with a WTP
// or JSON form first, or a schema, they keep what the schema says.
func TestBytesValues(t *testing.T) {
	p, _ := mustBuild(t, `{`+v11+`, "base": "http://dev.example/",
 "properties": {
  "sound": {"readOnly": true, "forms": [{"href": "sound", "contentType": "audio/wav"}]},
  "meta": {"readOnly": true, "forms": [{"href": "meta"}, {"href": "meta.wav", "contentType": "audio/wav"}]},
  "label": {"type": "string", "forms": [{"href": "label", "contentType": "application/octet-stream"}]}
 },
 "actions": {
  "crop": {"forms": [{"href": "crop", "response": {"contentType": "image/jpeg"}}]},
  "detect": {"output": {"type": "array"}, "forms": [{"href": "detect", "contentType": "image/png", "response": {"contentType": "application/json"}}]},
  "reset": {"forms": [{"href": "reset"}]}
 }
}`)
	types := map[string]*ir.TypeRef{}
	for _, x := range p.Thing.Properties {
		types[x.Name] = x.Type
	}
	for _, x := range p.Thing.Actions {
		types[x.Name+".in"], types[x.Name+".out"] = x.Input, x.Output
	}
	for name, want := range map[string]*ir.TypeRef{
		"sound": ir.Bytes, "meta": ir.Raw, "label": ir.String,
		"crop.in": nil, "crop.out": ir.Bytes,
		"detect.in": ir.Bytes,
		"reset.in":  nil, "reset.out": nil,
	} {
		if got := types[name]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
