// Package deps holds the test that enforces the repository's dependency direction:
// the runtime that generated code links against stays small, and the generator never depends on the
// WebSocket runtime.
package deps

import (
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/wotgen/wotgen"

// rules: packages under the prefix must not import (directly or indirectly) anything under the banned
// prefixes.
var rules = []struct {
	prefix string
	banned []string
	why    string
}{
	{module + "/runtime/", []string{module + "/gen", "github.com/dave/jennifer", "golang.org/x/tools"},
		"the runtime is what users' binaries link; it must not pull in the generator"},
	{module + "/runtime/td", []string{"github.com/santhosh-tekuri/jsonschema", "github.com/coder/websocket"},
		"runtime/td is the stdlib-only document model"},
	{module + "/runtime/console", []string{module, "github.com"},
		"the console is a plain http.Handler over embedded files (stdlib only), mountable by any binding"},
	{module + "/gen", []string{module + "/runtime/wtp", "github.com/coder/websocket"},
		"the generator emits code that calls runtime/wtp but never runs it"},
}

func TestDependencyDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every package of the module; skipped with -short")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps, Dir: "../.."}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 3 {
		t.Fatalf("loaded only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		if strings.HasSuffix(p.PkgPath, "_test") || strings.HasSuffix(p.PkgPath, ".test") {
			continue
		}
		for _, r := range rules {
			if !strings.HasPrefix(p.PkgPath+"/", r.prefix) && p.PkgPath != strings.TrimSuffix(r.prefix, "/") {
				continue
			}
			seen := map[string]bool{}
			var walk func(q *packages.Package, via string)
			walk = func(q *packages.Package, via string) {
				for path, imp := range q.Imports {
					if seen[path] {
						continue
					}
					seen[path] = true
					for _, b := range r.banned {
						if path == b || strings.HasPrefix(path, b+"/") {
							t.Errorf("%s imports %s (via %s): %s", p.PkgPath, path, via+q.PkgPath, r.why)
						}
					}
					walk(imp, via+q.PkgPath+" → ")
				}
			}
			walk(p, "")
		}
	}
}
