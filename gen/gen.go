// Package gen is the generator facade: Generate turns a Thing Description into formatted Go files in
// memory. It never touches the disk; the CLI writes the files.
package gen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/wotgen/wotgen/gen/build"
	"github.com/wotgen/wotgen/gen/emit"
	"github.com/wotgen/wotgen/gen/ir"
	"github.com/wotgen/wotgen/runtime/td"
)

// Parts that Options.Only can select.
const (
	PartTypes  = "types"
	PartClient = "client"
	PartServer = "server"
)

// Options configure Generate.
type Options struct {
	// Package is the Go package name of the generated files; derived from the TD title when empty.
	Package string
	// Source is written on the "// Source:" header line (the TD path or URL as the user gave it).
	Source string
	// Only selects parts ("types", "client", "server"); empty means all parts that are available.
	Only []string
	// Initialisms extends the initialism table (e.g. "CoAP", "PM25").
	Initialisms []string
	// Warn receives every warning (renames, unsupported patterns, untyped schemas); may be nil.
	Warn func(string)
}

// File is one generated file: a base name (no directory) and gofmt'd content.
type File struct {
	Name    string
	Content []byte
}

// Generate parses input (a TD as JSON) and returns the generated files, sorted by name.
func Generate(ctx context.Context, input []byte, o Options) ([]File, error) {
	t, err := td.Parse(input)
	if err != nil {
		return nil, fmt.Errorf("parse the Thing Description: %w", err)
	}
	return GenerateThing(ctx, t, o)
}

// GenerateThing is Generate for an already parsed (and, for Thing Models, resolved) Thing.
func GenerateThing(ctx context.Context, t *td.Thing, o Options) ([]File, error) {
	p, err := Build(t, o)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	parts, err := parts(o.Only)
	if err != nil {
		return nil, err
	}
	var files []File
	if parts[PartTypes] {
		f, err := emit.Types(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: f.Name, Content: f.Content})
	}
	// Client and server: the emitters in gen/emit/client*.go and server*.go.
	if parts[PartClient] {
		f, err := emit.Client(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: f.Name, Content: f.Content})
	}
	if parts[PartServer] {
		doc, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("marshal the Thing Description for the server: %w", err)
		}
		f, err := emit.Server(p, doc)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: f.Name, Content: f.Content})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// Build returns the IR for t (exported for emitters and tests that need the model).
func Build(t *td.Thing, o Options) (*ir.Package, error) {
	if t.Title == "" && o.Package == "" {
		return nil, fmt.Errorf("the Thing Description has no title: add a \"title\" or pass a package name")
	}
	return build.Build(t, build.Options{
		Package:     o.Package,
		Source:      filepathToSlash(o.Source),
		Initialisms: o.Initialisms,
		Warn:        o.Warn,
	})
}

// filepathToSlash makes a Windows path slash-separated. URLs keep scheme, host and path only: user
// info and query may hold credentials that must not end up in committed code.
func filepathToSlash(src string) string {
	if strings.Contains(src, "://") {
		if u, err := url.Parse(src); err == nil {
			u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
			return u.String()
		}
		return src
	}
	return strings.ReplaceAll(src, "\\", "/")
}

func parts(only []string) (map[string]bool, error) {
	m := map[string]bool{}
	if len(only) == 0 {
		return map[string]bool{PartTypes: true, PartClient: true, PartServer: true}, nil
	}
	for _, p := range only {
		for _, s := range strings.Split(p, ",") {
			s = strings.TrimSpace(s)
			switch s {
			case PartTypes, PartClient, PartServer:
				m[s] = true
			case "":
			default:
				return nil, fmt.Errorf("unknown part %q: want types, client or server", s)
			}
		}
	}
	return m, nil
}
