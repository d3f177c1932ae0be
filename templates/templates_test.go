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
	}
	for _, name := range Names {
		b, err := Render(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s rendered nothing", name)
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
