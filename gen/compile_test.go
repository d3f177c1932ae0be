package gen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/gen/tm/tmtest"
	"github.com/wotgen/wotgen/gen/validate"
	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// The compile-heavy tests (corpus, hostile TDs, differential) share ONE temporary module that holds a
// package per input and the differential checker program; it is built once per test run with a single
// `go build ./...` followed by `go vet ./...`.

const tempModule = "example.com/wotgentest"

type genFailure struct{ name, err string }

type sharedBuild struct {
	dir        string
	buildErr   string // go build / vet output when they failed
	elapsed    time.Duration
	corpus     []string // corpus files that generated
	corpusFail []genFailure
	models     []string // corpus Thing Models whose derived TD generated
	modelFail  []genFailure
	hostile    []hostileCase
	diff       []*diffCase
	diffBin    string
}

var shared struct {
	once sync.Once
	b    *sharedBuild
}

// sharedModule generates every package and builds the module (once per test binary run).
func sharedModule(t *testing.T) *sharedBuild {
	t.Helper()
	if testing.Short() {
		t.Skip("builds generated packages with the go command; skipped with -short")
	}
	shared.once.Do(func() {
		var models []tmtest.Resolved
		if testcorpus.Root() != "" {
			models = tmtest.ResolvedModels(t)
		}
		shared.b = buildShared(repoRoot(t), models)
	})
	return shared.b
}

func buildShared(root string, models []tmtest.Resolved) *sharedBuild {
	b := &sharedBuild{}
	// A stable directory per checkout keeps the go build cache warm across runs (cache keys include
	// the package directory); it is emptied first and removed by TestMain.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("wotgen-compile-%08x", fnv32(root)))
	if err := os.RemoveAll(dir); err != nil {
		b.buildErr = err.Error()
		return b
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.buildErr = err.Error()
		return b
	}
	b.dir = dir
	write := func(rel string, content []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.buildErr += err.Error() + "\n"
		}
	}
	write("go.mod", []byte("module "+tempModule+"\n\ngo 1.26\n\nrequire github.com/wotgen/wotgen v0.0.0\n\nreplace github.com/wotgen/wotgen => "+root+"\n"))

	// Every valid corpus TD: one package each.
	var reach []reachPackage
	if c := testcorpus.Root(); c != "" {
		files, _ := filepath.Glob(filepath.Join(c, "corpus", "td", "valid", "*.json"))
		sort.Strings(files)
		for i, f := range files {
			input, err := os.ReadFile(f)
			if err != nil {
				b.corpusFail = append(b.corpusFail, genFailure{filepath.Base(f), err.Error()})
				continue
			}
			pkg := fmt.Sprintf("c%03d", i)
			out, err := Generate(context.Background(), input, Options{Package: pkg, Source: "corpus/td/valid/" + filepath.Base(f)})
			if err != nil {
				b.corpusFail = append(b.corpusFail, genFailure{filepath.Base(f), err.Error()})
				continue
			}
			for _, o := range out {
				write("corpus/"+pkg+"/"+o.Name, o.Content)
			}
			b.corpus = append(b.corpus, filepath.Base(f))
			if th, err := td.Parse(input); err == nil {
				if p, err := Build(th, Options{Package: pkg}); err == nil {
					reach = append(reach, reachPackageOf(pkg, filepath.Base(f), p))
				}
			}
		}
		if err := writeReachProgram(reach, write); err != nil {
			b.buildErr += err.Error() + "\n"
		}
	}

	// Every corpus Thing Model that resolves: TM → TD (wotgen td -wtp) → validate → generate.
	v, err := validate.New(validate.Options{})
	if err != nil {
		b.buildErr += err.Error() + "\n"
	}
	for i, r := range models {
		name := r.Entry.Name()
		doc, _, err := tm.Derive(r.Model, tm.Options{Values: tmtest.SampleValues(r.Model), WTP: true, Base: "ws://127.0.0.1:8080/"})
		if err != nil {
			b.modelFail = append(b.modelFail, genFailure{name, "derive: " + err.Error()})
			continue
		}
		if res := v.Validate(strings.TrimSuffix(name, ".tm.json")+".derived.td.json", doc); !res.Valid {
			b.modelFail = append(b.modelFail, genFailure{name, fmt.Sprintf("derived TD does not validate: %v", res.Diagnostics)})
			continue
		}
		pkg := fmt.Sprintf("m%03d", i)
		out, err := Generate(context.Background(), doc, Options{Package: pkg, Source: "corpus/tm/" + name})
		if err != nil {
			b.modelFail = append(b.modelFail, genFailure{name, "generate: " + err.Error()})
			continue
		}
		for _, o := range out {
			write("models/"+pkg+"/"+o.Name, o.Content)
		}
		b.models = append(b.models, name)
	}

	// Hostile TDs.
	for i, h := range hostileCases() {
		pkg := fmt.Sprintf("h%02d", i)
		out, err := Generate(context.Background(), h.input, Options{Package: pkg, Source: "hostile/" + h.name})
		h.err = err
		for _, o := range out {
			write("hostile/"+pkg+"/"+o.Name, o.Content)
			h.files = append(h.files, o)
		}
		b.hostile = append(b.hostile, h)
	}

	// Differential cases and the checker program.
	b.diff = diffCases(root)
	var main bytes.Buffer
	if err := writeDiffPackages(b.diff, write, &main); err != nil {
		b.buildErr += err.Error() + "\n"
	}
	write("diff/cmd/main.go", main.Bytes())

	start := time.Now()
	b.diffBin = filepath.Join(dir, "bin", "cmd")
	for _, args := range [][]string{{"build", "-trimpath", "-o", filepath.Join(dir, "bin") + string(filepath.Separator), "./..."}, {"vet", "-trimpath", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.buildErr += fmt.Sprintf("go %s: %v\n%s", strings.Join(args, " "), err, limitOutput(out))
			break
		}
	}
	b.elapsed = time.Since(start)
	return b
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func limitOutput(out []byte) string {
	s := string(out)
	if len(s) > 8000 {
		s = s[:8000] + "\n…"
	}
	return s
}

// TestCorpusCompiles: every valid TD of the shared corpus generates types, and all packages compile
// and pass go vet in one build.
func TestCorpusCompiles(t *testing.T) {
	testcorpus.Dir(t) // skip (or fail in CI) without the corpus
	b := sharedModule(t)
	for _, f := range b.corpusFail {
		t.Errorf("generate %s: %s", f.name, f.err)
	}
	if b.buildErr != "" {
		t.Fatalf("generated packages do not build:\n%s", b.buildErr)
	}
	if len(b.corpus) == 0 {
		t.Fatal("no corpus TD generated")
	}
	t.Logf("%d corpus TDs generated, compiled and vetted (one go build + vet of %s, %v)", len(b.corpus), tempModule, b.elapsed.Round(time.Millisecond))
}

// TestThingModelsRoundTrip: every corpus Thing Model that resolves derives a TD that validates, whose
// generated types, client and server compile and vet (in the shared build).
func TestThingModelsRoundTrip(t *testing.T) {
	testcorpus.Dir(t)
	b := sharedModule(t)
	// Defects of the models themselves, which a derived TD rightly inherits.
	known := map[string]string{
		"wot-testing__siemens-fuse.tm.json": "TD040", // the model's own id is a relative path, not a URI
	}
	for _, f := range b.modelFail {
		if code, ok := known[f.name]; ok && strings.Contains(f.err, code) {
			t.Logf("%s: expected model defect %s", f.name, code)
			continue
		}
		t.Errorf("%s: %s", f.name, f.err)
	}
	if b.buildErr != "" {
		t.Fatalf("shared build failed:\n%s", b.buildErr)
	}
	if len(b.models) == 0 {
		t.Fatal("no Thing Model went through")
	}
	t.Logf("%d corpus Thing Models: derived, validated, generated, compiled and vetted", len(b.models))
}

// TestMain removes the shared temporary module after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.b != nil && shared.b.dir != "" {
		_ = os.RemoveAll(shared.b.dir)
	}
	os.Exit(code)
}
