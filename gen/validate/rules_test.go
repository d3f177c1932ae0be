package validate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustNew(t testing.TB, o Options) *Validator {
	t.Helper()
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ruleFile finds testdata/rules/<code>-<which>.json or .tm.json.
func ruleFile(t *testing.T, code, which string) (string, []byte) {
	t.Helper()
	for _, ext := range []string{".json", ".tm.json"} {
		p := filepath.Join("testdata", "rules", code+"-"+which+ext)
		if data, err := os.ReadFile(p); err == nil {
			return filepath.ToSlash(p), data
		}
	}
	t.Fatalf("missing testdata/rules/%s-%s.json (or .tm.json): every rule needs a failing and a passing case", code, which)
	return "", nil
}

// TestRules checks that every rule fires on its failing case and that its passing case is clean.
func TestRules(t *testing.T) {
	v := mustNew(t, Options{})
	for _, r := range Rules {
		if r.Code == CodeUnreadable || r.Code == CodeInstance {
			continue // an I/O condition and the -tm check: covered by the CLI tests
		}
		t.Run(r.Code, func(t *testing.T) {
			name, data := ruleFile(t, r.Code, "fail")
			res := v.Validate(name, data)
			found := false
			for _, d := range res.Diagnostics {
				if d.Code == r.Code {
					found = true
					if d.Severity != r.Severity && r.Code != CodeDuplicateKey {
						t.Errorf("%s: severity %s, rule says %s", name, d.Severity, r.Severity)
					}
					if d.Line == 0 && r.Code != CodeTooMany {
						t.Errorf("%s: %s has no position", name, d)
					}
				}
			}
			if !found {
				t.Errorf("%s: rule %s did not fire; got %v", name, r.Code, res.Diagnostics)
			}
			if r.Severity == SeverityError && res.Valid {
				t.Errorf("%s: valid despite error rule %s", name, r.Code)
			}
			name, data = ruleFile(t, r.Code, "pass")
			res = v.Validate(name, data)
			if len(res.Diagnostics) != 0 || !res.Valid {
				t.Errorf("%s: want no findings, got %v", name, res.Diagnostics)
			}
		})
	}
}

// TestGolden renders every failing rule case in each output format.
func TestGolden(t *testing.T) {
	v := mustNew(t, Options{})
	paths, err := filepath.Glob(filepath.Join("testdata", "rules", "*-fail*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results []Result
	for _, p := range paths {
		if strings.Contains(p, CodeTooMany) {
			continue // a thousand findings; TestRules covers it
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, v.Validate(filepath.ToSlash(p), data))
	}
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, f, results, WriteOptions{Version: "test"}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", "rules."+string(f)+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the output (go test -update rewrites it):\n%s", golden, firstDiff(string(want), buf.String()))
			}
		})
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return ""
}
