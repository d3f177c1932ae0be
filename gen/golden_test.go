package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// repoRoot returns the module root (this file is gen/golden_test.go).
func repoRoot(tb testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the source file")
	}
	return filepath.Dir(filepath.Dir(file))
}

// caseOptions is testdata/<case>/options.json.
type caseOptions struct {
	Package     string   `json:"package"`
	Initialisms []string `json:"initialisms"`
	Only        []string `json:"only"`
}

// TestGolden generates every testdata/<case>/thing.td.json and compares the files in want/ (and the
// warnings in warnings.txt), or the error in want.err for expected failures. -update rewrites them.
func TestGolden(t *testing.T) {
	root := filepath.Join(repoRoot(t), "testdata")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		input, err := os.ReadFile(filepath.Join(dir, "thing.td.json"))
		if err != nil {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			opts := Options{Package: strings.ReplaceAll(e.Name(), "-", ""), Source: "thing.td.json"}
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				var co caseOptions
				if err := json.Unmarshal(b, &co); err != nil {
					t.Fatalf("options.json: %v", err)
				}
				if co.Package != "" {
					opts.Package = co.Package
				}
				opts.Initialisms, opts.Only = co.Initialisms, co.Only
			}
			var warns []string
			opts.Warn = func(s string) { warns = append(warns, s) }
			files, err := Generate(context.Background(), input, opts)
			errFile := filepath.Join(dir, "want.err")
			if err != nil {
				checkGolden(t, errFile, []byte(err.Error()+"\n"))
				return
			}
			if _, statErr := os.Stat(errFile); statErr == nil && !*update {
				t.Fatalf("want an error (want.err), got success")
			}
			for _, f := range files {
				if formatted, err := format.Source(f.Content); err != nil || !bytes.Equal(formatted, f.Content) {
					t.Errorf("%s is not gofmt-stable (err %v)", f.Name, err)
				}
			}
			wantDir := filepath.Join(dir, "want")
			if *update {
				_ = os.RemoveAll(wantDir)
				_ = os.Remove(errFile)
			}
			got := map[string]bool{}
			for _, f := range files {
				got[f.Name] = true
				checkGolden(t, filepath.Join(wantDir, f.Name), f.Content)
			}
			old, _ := filepath.Glob(filepath.Join(wantDir, "*.go"))
			for _, o := range old {
				if !got[filepath.Base(o)] {
					t.Errorf("%s is no longer generated (run with -update)", o)
				}
			}
			sort.Strings(warns)
			var wb bytes.Buffer
			for _, w := range warns {
				wb.WriteString(w + "\n")
			}
			checkGolden(t, filepath.Join(dir, "warnings.txt"), wb.Bytes())
		})
	}
	if n == 0 {
		t.Fatal("no golden cases under testdata/")
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 && strings.HasSuffix(path, "warnings.txt") {
			_ = os.Remove(path)
			return
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		if len(got) == 0 && os.IsNotExist(err) {
			return
		}
		t.Errorf("missing golden %s (run go test ./gen -update): %v", path, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generated output (run go test ./gen -update and review the diff):\n%s",
			path, firstDiff(string(want), string(got)))
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
			return "line " + itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(no line differs)"
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestGoldensCompile runs go build and go vet in testdata (its own module), so committed goldens
// always compile.
func TestGoldensCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the golden packages; skipped with -short")
	}
	dir := filepath.Join(repoRoot(t), "testdata")
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in testdata: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestSourceLine(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "lamp", "thing.td.json"))
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		`dir\lamp.td.json`: "// Source: dir/lamp.td.json\n",
		"https://user:secret@example.com/td?token=x#f": "// Source: https://example.com/td\n",
		"evil\n" + injected:                            "// Source: evil " + injected + "\n",
		"":                                             "",
	} {
		files, err := Generate(context.Background(), in, Options{Package: "p", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		head := strings.SplitAfterN(string(files[0].Content), "\n", 3)
		got := head[1]
		if want == "" {
			if strings.HasPrefix(got, "// Source") {
				t.Errorf("empty source gave %q", got)
			}
			continue
		}
		if got != want {
			t.Errorf("source %q: header line %q, want %q", src, got, want)
		}
	}
}

func BenchmarkGenerateShapes(b *testing.B) {
	in, err := os.ReadFile(filepath.Join(repoRoot(b), "testdata", "shapes", "thing.td.json"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Generate(context.Background(), in, Options{Package: "p"}); err != nil {
			b.Fatal(err)
		}
	}
}
