// Package templates holds the text/template files wotgen new renders into a new Thing server module:
// the user-owned files (go.mod, main.go, thing.go, thing_test.go, generate.go, README.md and the CI
// workflow). Generated Go is never templated; it comes from gen.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"
)

//go:embed *.tmpl
var files embed.FS

// Names lists the templates, one per scaffold file, in the order wotgen new writes them.
var Names = []string{
	"go.mod.tmpl",
	"generate.go.tmpl",
	"main.go.tmpl",
	"discovery.go.tmpl",
	"thing.go.tmpl",
	"thing_test.go.tmpl",
	"README.md.tmpl",
	"ci.yml.tmpl",
}

var funcs = template.FuncMap{
	// quote makes a Go string literal.
	"quote": strconv.Quote,
	// lit makes a Go string literal that reads well for JSON: raw when it can be.
	"lit": func(s string) string {
		if strings.ContainsAny(s, "`\r") || !utf8.ValidString(s) {
			return strconv.Quote(s)
		}
		return "`" + s + "`"
	},
	// comment makes text safe inside a // comment line.
	"comment": func(s string) string {
		return strings.Join(strings.Fields(s), " ")
	},
}

var all = template.Must(template.New("").Funcs(funcs).Option("missingkey=error").ParseFS(files, "*.tmpl"))

// Render executes the named template with data.
func Render(name string, data any) ([]byte, error) {
	t := all.Lookup(name)
	if t == nil {
		return nil, fmt.Errorf("templates: no template %q", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("templates: %s: %w", name, err)
	}
	return b.Bytes(), nil
}
