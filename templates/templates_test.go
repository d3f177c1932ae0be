package templates

import (
	"strings"
	"testing"
)

func TestRenderEveryTemplate(t *testing.T) {
	data := map[string]any{
		"Module": "example.com/lamp", "Pkg": "lampwot", "TDFile": "lamp.td.json", "Replace": "/src/wotgen",
		"Command": "lamp", "Title": "Lamp", "GoVersion": "1.26.0", "Version": "v1.2.3",
		"Props": []any{}, "Actions": []any{}, "Events": []any{}, "Observed": nil,
		"Secrets": nil, "SecretUsage": "", "Bearer": false, "Basic": false, "APIKey": false,
		"TestBearerToken": "", "TestBasicUser": "", "TestBasicPass": "", "TestAPIKey": "",
	}
	secured := map[string]any{}
	for k, v := range data {
		secured[k] = v
	}
	secured["Secrets"] = []map[string]string{{"Name": "bearer_sc", "Scheme": "bearer", "Format": "the token", "Env": "WOTGEN_SECRET_BEARER_SC", "Test": "t0ken"}}
	secured["SecretUsage"], secured["Bearer"], secured["TestBearerToken"] = "`NAME=VALUE`", true, "t0ken"
	for _, d := range []map[string]any{data, secured} {
		for _, name := range Names {
			b, err := Render(name, d)
			if err != nil {
				t.Errorf("%s (secrets %v): %v", name, d["Secrets"], err)
				continue
			}
			if len(b) == 0 {
				t.Errorf("%s rendered nothing", name)
			}
		}
	}
	b, _ := Render("go.mod.tmpl", data)
	for _, want := range []string{"module example.com/lamp", "require github.com/wotgen/wotgen v1.2.3", "replace github.com/wotgen/wotgen => /src/wotgen"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("go.mod lacks %q:\n%s", want, b)
		}
	}
	delete(data, "Module")
	if _, err := Render("go.mod.tmpl", data); err == nil {
		t.Error("a missing key rendered without error")
	}
	if _, err := Render("nope.tmpl", data); err == nil {
		t.Error("an unknown template rendered")
	}
}

func TestLit(t *testing.T) {
	lit := funcs["lit"].(func(string) string)
	for in, want := range map[string]string{`{"a":1}`: "`{\"a\":1}`", "a`b": "\"a`b\"", "x\ry": `"x\ry"`} {
		if got := lit(in); got != want {
			t.Errorf("lit(%q) = %s, want %s", in, got, want)
		}
	}
}
