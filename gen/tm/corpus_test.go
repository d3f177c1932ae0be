package tm

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

type corpusEntry struct {
	file, repo, path, commit string
	playground, jsonschema   string
	local                    string
}

func readManifest(t *testing.T) []corpusEntry {
	t.Helper()
	dir := testcorpus.Dir(t)
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 8 || !strings.HasPrefix(c[0], "tm/") {
			continue
		}
		out = append(out, corpusEntry{file: c[0], repo: c[1], path: c[2], commit: c[3], playground: c[6], jsonschema: c[7], local: filepath.Join(dir, filepath.FromSlash(c[0]))})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// corpusLoader serves every corpus TM at its published raw.githubusercontent.com URLs (at the
// crawled commit and on the master/main branches), so published cross-references between corpus
// files resolve offline; everything else fails with ErrOffline.
func corpusLoader(entries []corpusEntry) *Loader {
	l := NewLoader()
	l.Offline = true
	l.Mirrors = map[string]string{}
	for _, e := range entries {
		if e.repo == "" || e.repo == "unknown" {
			continue
		}
		for _, ref := range []string{e.commit, "master", "main"} {
			l.Mirrors["https://raw.githubusercontent.com/"+e.repo+"/"+ref+"/"+e.path] = e.local
		}
	}
	return l
}

func rootURL(e corpusEntry) string {
	if e.repo == "" || e.repo == "unknown" {
		return e.local
	}
	return "https://raw.githubusercontent.com/" + e.repo + "/master/" + e.path
}

var oraclePtrRe = regexp.MustCompile(`^invalid\((\S*) `)
var oracleReqRe = regexp.MustCompile(`required property '([^']+)'`)

// oraclePointer extracts the JSON pointer of the official-schema oracle's first error.
func oraclePointer(res string) string {
	m := oraclePtrRe.FindStringSubmatch(res)
	if m == nil {
		return ""
	}
	p := m[1]
	if p == "/" {
		if r := oracleReqRe.FindStringSubmatch(res); r != nil {
			return "/" + r[1]
		}
	}
	return p
}

func ptrRelated(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// TestCorpus resolves every corpus TM and compares with the oracles (manifest.tsv): models both
// oracles accept must resolve, unless a linked model is only published online (the oracles ran
// offline without following links); models they reject must fail for the same reason (same JSON
// pointer, or invalid JSON). Every model that resolves goes TM → TD (Derive with WTP) → parse →
// CheckInstance, and through GenerationDocument.
func TestCorpus(t *testing.T) {
	entries := readManifest(t)
	if len(entries) != 81 {
		t.Errorf("manifest lists %d TMs, want 81", len(entries))
	}
	var resolved, offline, rejected, agree, derived int
	for _, e := range entries {
		name := filepath.Base(e.file)
		oracleValid := e.jsonschema == "valid" && strings.HasPrefix(e.playground, "valid")
		m, err := Resolve(context.Background(), corpusLoader(entries), rootURL(e))
		switch {
		case err == nil:
			resolved++
			if oracleValid {
				agree++
			} else {
				t.Errorf("%s: resolved, but the oracle says %s", name, e.jsonschema)
			}
		case errors.Is(err, ErrOffline):
			offline++
			if oracleValid {
				agree++
			} else {
				t.Errorf("%s: failed only for a missing linked model (%v), but the oracle says %s", name, err, e.jsonschema)
			}
		default:
			rejected++
			if oracleValid {
				t.Errorf("%s: %v; the oracles accept it", name, err)
				continue
			}
			var re *Error
			switch {
			case e.jsonschema == "invalid(json)":
				if !strings.Contains(err.Error(), "invalid JSON") {
					t.Errorf("%s: %v; the oracle says invalid JSON", name, err)
					continue
				}
			case errors.As(err, &re) && ptrRelated(re.Pointer, oraclePointer(e.jsonschema)):
			default:
				t.Errorf("%s: %v; the oracle says %s", name, err, e.jsonschema)
				continue
			}
			agree++
		}
		if err != nil {
			continue
		}
		roundTrip(t, name, m)
		derived++
	}
	t.Logf("corpus TMs: %d, resolved %d, unavailable offline (linked model not in the corpus) %d, rejected %d; agreement with the oracles %d/%d; derived and checked %d",
		len(entries), resolved, offline, rejected, agree, len(entries), derived)
}

func roundTrip(t *testing.T, name string, m *Model) {
	t.Helper()
	vals := corpusValues(m)
	for _, keep := range []bool{false, true} {
		out, _, err := Derive(m, Options{Values: vals, WTP: true, KeepOptional: keep, ModelURL: m.URL, Base: "wss://things.example.org/" + strings.TrimSuffix(name, ".json") + "/"})
		if err != nil {
			t.Errorf("%s: Derive: %v", name, err)
			return
		}
		if placeholderRe.Match(out) {
			t.Errorf("%s: placeholders left in the TD", name)
		}
		th, err := td.Parse(out)
		if err != nil {
			t.Errorf("%s: derived TD does not parse: %v", name, err)
			return
		}
		if th.IsTM() || th.Title == "" || th.ID == "" || th.Version == nil || len(th.Security) == 0 {
			t.Errorf("%s: derived TD lacks TD metadata:\n%s", name, out)
		}
		for _, n := range th.PropertyNames() {
			if len(th.Properties[n].Forms) == 0 {
				t.Errorf("%s: property %s has no forms", name, n)
			}
		}
		validateDerivedForTest(t, name, out)
		if diags := CheckInstance(m, out); HasErrors(diags) {
			t.Errorf("%s: the derived TD is not an instance of its model: %v", name, diags)
		}
	}
	if gen, _, err := GenerationDocument(m); err == nil {
		if _, err := td.Parse(gen); err != nil {
			t.Errorf("%s: generation document does not parse: %v", name, err)
		}
	} else if !strings.Contains(err.Error(), "placeholder") {
		t.Errorf("%s: GenerationDocument: %v", name, err)
	}
}

// corpusValues invents a plausible value for every placeholder from where it is used.
func corpusValues(m *Model) map[string]any {
	vals := map[string]any{}
	walkStrings(m.Doc, "", func(ptr, s string) {
		key := ptr[strings.LastIndexByte(ptr, '/')+1:]
		for _, sm := range placeholderRe.FindAllStringSubmatch(s, -1) {
			name := sm[1]
			if _, ok := vals[name]; ok {
				continue
			}
			whole := sm[0] == s
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
