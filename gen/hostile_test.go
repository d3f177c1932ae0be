package gen

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

type hostileCase struct {
	name  string
	input []byte
	err   error
	files []File
}

// injected is text that would become code if a comment, string or tag could be broken out of.
const injected = "func Injected() { panic(1) }"

// hostileNames are JSON names and texts that try to break out of identifiers, comments, strings and tags.
var hostileNames = []string{
	"*/ " + injected + " /*",
	"// \n" + injected,
	"`" + injected + "`",
	"\"" + injected + "\"",
	"\n" + injected + "\n",
	"\r\n" + injected,
	"\u2028" + injected,
	"a\x00b",
	"\x00",
	"type", "func", "range", "package", "import", "nil", "string", "len",
	"Close", "Client", "Validate", "UnmarshalJSON", "MarshalJSON", "String",
	"lаmp", // Cyrillic а
	"lamp", // Latin
	"ＬＡＭＰ", // full-width
	"l\u202eamp",
	"",
	"-",
	"_",
	" ",
	"on-off", "on_off", "onOff", "OnOff",
	strings.Repeat("x", 1000),
	strings.Repeat("x", 999) + "y",
	"温度",
	"2fast",
	"%",
	"\\",
	"json:\"evil\"",
	"a,omitempty",
}

func hostileCases() []hostileCase {
	var cases []hostileCase
	mk := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		cases = append(cases, hostileCase{name: name, input: b})
	}
	base := func(title string) map[string]any {
		return map[string]any{
			"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": title,
			"securityDefinitions": map[string]any{"nosec": map[string]any{"scheme": "nosec"}}, "security": "nosec",
		}
	}
	form := []any{map[string]any{"href": "wtp", "subprotocol": "webthingprotocol"}}

	// 1. Hostile names and texts everywhere.
	t := base("*/ " + injected + " /* `\x00\n")
	t["description"] = "*/\n" + injected + "\n/*"
	props := map[string]any{}
	actions := map[string]any{}
	events := map[string]any{}
	members := map[string]any{}
	var enum []any
	for i, n := range hostileNames {
		desc := hostileNames[(i+1)%len(hostileNames)]
		props[n] = map[string]any{"type": "integer", "minimum": 0, "title": n, "description": desc, "forms": form}
		actions[n] = map[string]any{"title": desc, "input": map[string]any{"type": "string", "pattern": n, "description": n}, "forms": form}
		events[n] = map[string]any{"data": map[string]any{"type": "number", "unit": n}, "forms": form}
		members[n] = map[string]any{"type": "string", "title": n, "default": n, "const": n}
		enum = append(enum, n)
	}
	props["object"] = map[string]any{"type": "object", "properties": members, "required": hostileNames, "forms": form}
	props["enum"] = map[string]any{"type": "string", "enum": enum, "forms": form}
	t["properties"], t["actions"], t["events"] = props, actions, events
	t["schemaDefinitions"] = map[string]any{"Client": map[string]any{"type": "string"}, "type": map[string]any{"type": "object", "properties": members}}
	mk("names", t)

	// 2. 5,000 properties.
	t = base("Many")
	props = map[string]any{}
	for i := range 5000 {
		props[fmt.Sprintf("p%d", i)] = map[string]any{"type": "integer", "maximum": i, "forms": form}
	}
	t["properties"] = props
	mk("5000-properties", t)

	// 3. 64-deep nesting, objects and arrays alternating.
	var deep any = map[string]any{"type": "string", "maxLength": 3}
	for i := range 64 {
		if i%2 == 0 {
			deep = map[string]any{"type": "object", "properties": map[string]any{"n": deep}, "required": []string{"n"}}
		} else {
			deep = map[string]any{"type": "array", "items": deep, "minItems": 1}
		}
	}
	t = base("Deep")
	m := deep.(map[string]any)
	m["forms"] = form
	t["properties"] = map[string]any{"deep": m}
	mk("64-deep", t)

	// 4. Empty and weird titles, keyword titles.
	for i, title := range []string{"", "package", "\x00", strings.Repeat("T", 1000)} {
		t = base(title)
		t["properties"] = map[string]any{"x": map[string]any{"type": "boolean", "forms": form}}
		mk(fmt.Sprintf("title-%d", i), t)
	}
	return cases
}

// TestHostile: hostile TDs generate code that compiles (in the shared build) and contains no code
// that came from the TD.
func TestHostile(t *testing.T) {
	b := sharedModule(t)
	if b.buildErr != "" {
		t.Fatalf("generated packages do not build:\n%s", b.buildErr)
	}
	for _, h := range b.hostile {
		if h.err != nil {
			t.Errorf("%s: %v", h.name, h.err)
			continue
		}
		for _, f := range h.files {
			checkNoInjection(t, h.name+"/"+f.Name, f.Content)
		}
	}
}

// checkNoInjection parses src and fails if any declaration or identifier carries the injected name.
func checkNoInjection(t *testing.T, name string, src []byte) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		t.Errorf("%s does not parse: %v", name, err)
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		// Names derived from the TD (FuncInjectedPanic1Property) are fine; the injected declaration and
		// its call are not.
		if id, ok := n.(*ast.Ident); ok && (id.Name == "Injected" || id.Name == "panic") {
			t.Errorf("%s: identifier %s came from the TD", name, id.Name)
		}
		return true
	})
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "/*") {
				t.Errorf("%s: block comment %q", name, c.Text)
			}
			if strings.ContainsAny(c.Text, "\x00\r\u2028\u2029\u202e") {
				t.Errorf("%s: comment with control characters %q", name, c.Text)
			}
		}
	}
}

// TestHostileInProcess runs without the go command: the output parses and has no injected code.
// Generation time is measured by BenchmarkGenerateHostile, not asserted here.
func TestHostileInProcess(t *testing.T) {
	for _, h := range hostileCases() {
		files, err := Generate(context.Background(), h.input, Options{Package: "h"})
		if err != nil {
			t.Errorf("%s: %v", h.name, err)
			continue
		}
		for _, f := range files {
			checkNoInjection(t, h.name+"/"+f.Name, f.Content)
		}
	}
}

func BenchmarkGenerateHostile(b *testing.B) {
	for _, h := range hostileCases() {
		if !strings.HasPrefix(h.name, "5000") && !strings.HasPrefix(h.name, "64") && h.name != "names" {
			continue
		}
		b.Run(h.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Generate(context.Background(), h.input, Options{Package: "h"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
