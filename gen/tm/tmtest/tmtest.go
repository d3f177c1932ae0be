// Package tmtest gives tests access to the Thing Models of the shared corpus, resolved offline, and
// to sample placeholder values, so other packages (the generator's compile round trip, the CLI) can
// run the same TM → TD → generate pipeline as gen/tm's own tests.
package tmtest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/internal/testcorpus"
)

// Entry is one TM row of corpus/manifest.tsv.
type Entry struct {
	File       string // path inside the corpus, e.g. "tm/playground__ref.json"
	Local      string // absolute path of the file
	Repo, Path string // where it was published (GitHub owner/name and path), "" when unknown
	Commit     string
	Playground string // the playground oracle's verdict
	JSONSchema string // the official-schema oracle's verdict
}

// Name is the corpus file's base name.
func (e Entry) Name() string { return filepath.Base(e.File) }

// OracleValid reports whether both oracles accept the file.
func (e Entry) OracleValid() bool {
	return e.JSONSchema == "valid" && strings.HasPrefix(e.Playground, "valid")
}

// URL is where the model is published (its raw GitHub URL on the master branch), or its local path.
// Resolving it with Loader keeps the published relative references meaningful.
func (e Entry) URL() string {
	if e.Repo == "" || e.Repo == "unknown" {
		return e.Local
	}
	return "https://raw.githubusercontent.com/" + e.Repo + "/master/" + e.Path
}

// Entries reads the TM rows of the corpus manifest (skipping the test when the corpus is absent).
func Entries(tb testing.TB) []Entry {
	tb.Helper()
	dir := testcorpus.Dir(tb)
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 8 || !strings.HasPrefix(c[0], "tm/") {
			continue
		}
		out = append(out, Entry{File: c[0], Local: filepath.Join(dir, filepath.FromSlash(c[0])), Repo: c[1], Path: c[2], Commit: c[3], Playground: c[6], JSONSchema: c[7]})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Loader returns an offline Loader that serves every corpus TM at its published
// raw.githubusercontent.com URLs (crawled commit, master and main), so cross-references between
// corpus files resolve; anything else fails with tm.ErrOffline.
func Loader(entries []Entry) *tm.Loader {
	l := tm.NewLoader()
	l.Offline = true
	l.Mirrors = map[string]string{}
	for _, e := range entries {
		if e.Repo == "" || e.Repo == "unknown" {
			continue
		}
		for _, ref := range []string{e.Commit, "master", "main"} {
			l.Mirrors["https://raw.githubusercontent.com/"+e.Repo+"/"+ref+"/"+e.Path] = e.Local
		}
	}
	return l
}

// Resolved is a corpus TM that resolves offline.
type Resolved struct {
	Entry Entry
	Model *tm.Model
}

// ResolvedModels returns every corpus TM that resolves offline (46 of 81 at the time of writing;
// the others are invalid or link to models published only online).
func ResolvedModels(tb testing.TB) []Resolved {
	tb.Helper()
	entries := Entries(tb)
	var out []Resolved
	for _, e := range entries {
		m, err := tm.Resolve(context.Background(), Loader(entries), e.URL())
		if err == nil {
			out = append(out, Resolved{Entry: e, Model: m})
		}
	}
	return out
}

// SampleValues invents a plausible value for every placeholder of m from where it is used (numbers
// for bounds, booleans for flags, objects for schemas, strings elsewhere), so Derive succeeds.
func SampleValues(m *tm.Model) map[string]any {
	vals := map[string]any{}
	walk(m.Doc, "", func(key, s string) {
		for _, name := range m.Placeholders {
			p := "{{" + name + "}}"
			if _, ok := vals[name]; ok || !strings.Contains(s, p) {
				continue
			}
			whole := s == p
			switch {
			case whole && key == "version":
				vals[name] = map[string]any{"model": "1.0.0"}
			case whole && (strings.HasPrefix(key, "min") || strings.HasPrefix(key, "max") || strings.HasPrefix(key, "exclusive") || key == "multipleOf"):
				vals[name] = 10
			case whole && (key == "observable" || key == "readOnly" || key == "writeOnly" || key == "safe" || key == "idempotent" || key == "synchronous"):
				vals[name] = true
			case whole && (key == "properties" || key == "items" || key == "input" || key == "output" || key == "data"):
				vals[name] = map[string]any{}
			case whole && (key == "enum" || key == "required"):
				vals[name] = []any{"v1"}
			case whole && key == "scheme":
				vals[name] = "nosec"
			case strings.Contains(strings.ToUpper(name), "PORT"):
				vals[name] = 1883
			default:
				vals[name] = "v1"
			}
		}
	})
	return vals
}

func walk(v any, key string, fn func(key, s string)) {
	switch x := v.(type) {
	case string:
		fn(key, x)
	case map[string]any:
		for k, e := range x {
			walk(e, k, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, key, fn)
		}
	}
}
