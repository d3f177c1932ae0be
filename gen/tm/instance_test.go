package tm

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckInstance(t *testing.T) {
	m := resolveFile(t, "valve.tm.json")
	base, _, err := Derive(m, Options{WTP: true, KeepOptional: true, Values: map[string]any{"VALVE_NO": 1, "VALVE_UUID": "u", "MAX_FLOW": 40}})
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(d map[string]any)) []byte {
		var d map[string]any
		if err := json.Unmarshal(base, &d); err != nil {
			t.Fatal(err)
		}
		f(d)
		b, _ := json.Marshal(d)
		return b
	}
	prop := func(d map[string]any, name string) map[string]any {
		return d["properties"].(map[string]any)[name].(map[string]any)
	}
	cases := []struct {
		name   string
		td     []byte
		errors []string // substrings of expected error diagnostics ("" = none)
	}{
		{"unchanged", base, nil},
		{"narrowed", mutate(func(d map[string]any) {
			p := prop(d, "targetFlow")
			p["minimum"], p["maximum"] = 5, 30
		}), nil},
		{"missing mandatory", mutate(func(d map[string]any) { delete(d["properties"].(map[string]any), "online") }), []string{"/properties/online: the model's mandatory property \"online\" is missing"}},
		{"type changed", mutate(func(d map[string]any) { prop(d, "targetFlow")["type"] = "string" }), []string{"/properties/targetFlow/type"}},
		{"number narrowed to integer is fine", base, nil},
		{"maximum widened", mutate(func(d map[string]any) { prop(d, "flowLocal")["maximum"] = 120 }), []string{"upper bound 120 is above the model's 60"}},
		{"minimum widened", mutate(func(d map[string]any) { prop(d, "targetFlow")["minimum"] = -1 }), []string{"lower bound -1 is below the model's 0"}},
		{"bound dropped", mutate(func(d map[string]any) { delete(prop(d, "flowLocal"), "maximum") }), []string{"TD drops it"}},
		{"placeholder bound accepts anything", mutate(func(d map[string]any) { prop(d, "targetFlow")["maximum"] = 1e6 }), nil},
		{"optional may be absent", mutate(func(d map[string]any) { delete(d["properties"].(map[string]any), "flowLocal") }), nil},
		{"readOnly changed", mutate(func(d map[string]any) { prop(d, "online")["readOnly"] = false }), []string{"/properties/online/readOnly"}},
		{"model is not an instance", mutate(func(d map[string]any) { d["@type"] = "tm:ThingModel" }), []string{"must not carry tm:ThingModel"}},
	}
	for _, c := range cases {
		diags := CheckInstance(m, c.td)
		var errs []string
		for _, d := range diags {
			if d.Severity == SeverityError {
				errs = append(errs, d.String())
			}
		}
		if len(errs) != len(c.errors) {
			t.Errorf("%s: errors %q, want %d matching %q", c.name, errs, len(c.errors), c.errors)
			continue
		}
		for i, w := range c.errors {
			if !strings.Contains(errs[i], w) {
				t.Errorf("%s: error %q does not mention %q", c.name, errs[i], w)
			}
		}
	}
}

func TestCheckInstanceSchemas(t *testing.T) {
	model := map[string]any{"properties": map[string]any{"s": map[string]any{
		"type": "object", "required": []any{"a"},
		"properties": map[string]any{
			"a": map[string]any{"type": "string", "enum": []any{"x", "y"}, "maxLength": json.Number("4")},
			"b": map[string]any{"type": "array", "items": map[string]any{"type": "number", "exclusiveMaximum": json.Number("10")}, "minItems": json.Number("1")},
			"c": map[string]any{"type": "number", "maximum": "{{MAX}}"},
		},
	}}}
	m := &Model{Doc: model}
	good := `{"properties": {"s": {"type": "object", "required": ["a", "b"], "properties": {
		"a": {"type": "string", "enum": ["x"], "maxLength": 2},
		"b": {"type": "array", "items": {"type": "integer", "maximum": 5}, "minItems": 2},
		"c": {"type": "number", "maximum": 1e9}}}}}`
	if d := CheckInstance(m, []byte(good)); HasErrors(d) {
		t.Errorf("narrowed schema rejected: %v", d)
	}
	bad := `{"properties": {"s": {"type": "object", "properties": {
		"a": {"type": "string", "enum": ["x", "z"], "maxLength": 9},
		"b": {"type": "array", "items": {"type": "number", "maximum": 10}},
		"c": {"type": "number"}}}}}`
	d := CheckInstance(m, []byte(bad))
	want := []string{"/properties/s/properties/a/enum", "/properties/s/properties/a/maxLength", "/properties/s/properties/b/items/maximum", "/properties/s/properties/b/minItems", "/properties/s/required"}
	var got []string
	for _, x := range d {
		if x.Severity == SeverityError {
			got = append(got, x.Pointer)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("error pointers = %v\nwant %v\n%v", got, want, d)
	}
	if d := CheckInstance(m, []byte(`[`)); len(d) != 1 || !strings.Contains(d[0].Msg, "not valid JSON") {
		t.Errorf("bad JSON: %v", d)
	}
}

func TestGenerationDocument(t *testing.T) {
	m := resolveFile(t, "valve.tm.json")
	_, _, err := GenerationDocument(m)
	if err == nil || !strings.Contains(err.Error(), "{{MAX_FLOW}} (at /properties/targetFlow/maximum)") {
		t.Fatalf("err = %v, want the non-string placeholder reported", err)
	}
	m = resolveFile(t, "room.tm.json")
	out, _, err := GenerationDocument(m)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if get(t, d, "/events/lamp_overheat/"+escapePointerToken(MarkOptional)) != true {
		t.Error("optional affordance not marked")
	}
	if has(d, "/properties/fan_speed/"+escapePointerToken(MarkOptional)) {
		t.Error("mandatory affordance marked optional")
	}
	if get(t, d, "/properties/fan_speed/forms/0/subprotocol") != WTPSubprotocol || get(t, d, "/actions/lamp_toggle/forms/0/op/0") != "invokeaction" {
		t.Errorf("WTP forms missing: %s", out)
	}
	if has(d, "/id") || strings.Contains(string(out), "tm:") {
		t.Errorf("generation document: %s", out)
	}
	// Placeholders where strings are fine stay.
	dir := writeFiles(t, map[string]string{"p.tm.json": `{` + tmHead + `, "title": "Unit {{N}}", "version": "{{V}}", "properties": {"p": {"type": "string", "description": "{{D}}"}}}`})
	out, warns, err := ResolveForGeneration(t.Context(), testLoader(), dir+"/p.tm.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"Unit {{N}}"`) || !strings.Contains(string(out), `"{{D}}"`) || strings.Contains(string(out), "{{V}}") {
		t.Errorf("generation document: %s", out)
	}
	if !warned(warns, "{{V}} dropped") {
		t.Errorf("warnings = %v", warns)
	}
}
