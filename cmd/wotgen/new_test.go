package main

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/testcorpus"
)

// moduleRoot is the wotgen working tree (for -replace).
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// runNewCmd runs "wotgen new" and returns the exit code, stdout and stderr.
func runNewCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runContext(context.Background(), append([]string{"new"}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

// snapshot returns every file under dir with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeLampTD(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lamp.td.json")
	if err := os.WriteFile(p, []byte(lampTD), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNewScaffoldFiles: the module has every file, the Go files parse, a re-run without -force changes
// nothing, an edited file is kept, -force restores it.
func TestNewScaffoldFiles(t *testing.T) {
	tdPath := writeLampTD(t)
	dir := filepath.Join(t.TempDir(), "lamp")
	code, out, errOut := runNewCmd(t, "-td", tdPath, "-module", "example.com/lamp", "-o", dir, "-replace", moduleRoot(t), "-tidy=false")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"lamp.td.json", "go.mod", "generate.go", "main.go", "thing.go", "thing_test.go", "README.md",
		".github/workflows/ci.yml", "lamp/lamp_types_gen.go", "lamp/lamp_client_gen.go", "lamp/lamp_server_gen.go"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("missing %s", want)
		}
		if !strings.Contains(out, filepath.ToSlash(filepath.Join(dir, want))) {
			t.Errorf("output does not list %s:\n%s", want, out)
		}
	}
	for _, want := range []string{"Not running go mod tidy (-tidy=false).", "Next:", "go mod tidy", "go test ./...", "go run ."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.Contains(errOut, "no Web Thing Protocol forms") {
		t.Errorf("no note about the rewritten forms: %s", errOut)
	}
	files := snapshot(t, dir)
	for p, content := range files {
		if strings.HasSuffix(p, ".go") {
			if _, err := parser.ParseFile(token.NewFileSet(), p, content, parser.AllErrors); err != nil {
				t.Errorf("%s does not parse: %v", p, err)
			}
		}
	}
	gomod := files[filepath.Join(dir, "go.mod")]
	for _, want := range []string{"module example.com/lamp", "require github.com/wotgen/wotgen ", "replace github.com/wotgen/wotgen => " + filepath.ToSlash(moduleRoot(t)), "tool github.com/wotgen/wotgen/cmd/wotgen"} {
		if !strings.Contains(gomod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, gomod)
		}
	}
	if g := files[filepath.Join(dir, "generate.go")]; !strings.Contains(g, "//go:generate go tool wotgen generate -pkg lamp -o lamp lamp.td.json") {
		t.Errorf("generate.go:\n%s", g)
	}
	ci := files[filepath.Join(dir, ".github", "workflows", "ci.yml")]
	for _, want := range []string{"wotgen validate lamp.td.json", "wotgen diff -pkg lamp -o lamp lamp.td.json", "go test ./..."} {
		if !strings.Contains(ci, want) {
			t.Errorf("ci.yml lacks %q", want)
		}
	}
	thing := files[filepath.Join(dir, "thing.go")]
	for _, want := range []string{"Device I/O", "func (t *thing) ReadLevel", "func (t *thing) WriteLevel", "func (t *thing) Fade", "EmitOverheated"} {
		if !strings.Contains(thing, want) {
			t.Errorf("thing.go lacks %q", want)
		}
	}

	// Re-running changes nothing.
	code, out, _ = runNewCmd(t, "-td", tdPath, "-module", "example.com/lamp", "-o", dir, "-replace", moduleRoot(t), "-tidy=false")
	if code != exitOK || strings.Contains(out, "wrote") || !strings.Contains(out, "0 written") {
		t.Errorf("re-run: exit %d\n%s", code, out)
	}
	if again := snapshot(t, dir); !equalMaps(files, again) {
		t.Error("re-running wotgen new changed files")
	}

	// An edited file is kept without -force and restored with it.
	thingPath := filepath.Join(dir, "thing.go")
	edited := thing + "\n// my change\n"
	os.WriteFile(thingPath, []byte(edited), 0o644)
	os.Remove(filepath.Join(dir, "README.md"))
	code, out, _ = runNewCmd(t, "-td", tdPath, "-module", "example.com/lamp", "-o", dir, "-replace", moduleRoot(t), "-tidy=false")
	if b, _ := os.ReadFile(thingPath); code != exitOK || string(b) != edited || !strings.Contains(out, "kept") {
		t.Errorf("edited thing.go was not kept (exit %d):\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Error("a deleted scaffold file was not written again")
	}
	code, _, _ = runNewCmd(t, "-td", tdPath, "-module", "example.com/lamp", "-o", dir, "-replace", moduleRoot(t), "-tidy=false", "-force")
	if b, _ := os.ReadFile(thingPath); code != exitOK || string(b) != thing {
		t.Error("-force did not restore thing.go")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestNewUsage(t *testing.T) {
	tdPath := writeLampTD(t)
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	tm := filepath.Join(dir, "m.tm.json")
	os.WriteFile(tm, []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","@type":"tm:ThingModel","title":"M"}`), 0o644)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-module", "example.com/x"}, "want -td FILE and -module PATH"},
		{[]string{"-td", tdPath}, "want -td FILE and -module PATH"},
		{[]string{"-td", tdPath, "-module", "/abs"}, "not a module path"},
		{[]string{"-td", tdPath, "-module", "example.com/a b"}, "may not contain"},
		{[]string{"-td", tdPath, "-module", "example.com/x", "-replace", dir}, "want a wotgen checkout"},
		{[]string{"-td", filepath.Join(dir, "missing.json"), "-module", "example.com/x"}, "no such file"},
		{[]string{"-td", tm, "-module", "example.com/x"}, "Thing Model"},
		{[]string{"-td", tdPath, "-module", "example.com/x", "-o", notDir}, "not a directory"},
	} {
		code, _, errOut := runNewCmd(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, exitUsage, c.msg)
		}
	}
}

// TestNewRendersEveryCorpusTD: for every valid corpus TD (a quarter of them with -short) the scaffold
// renders and its Go files are syntactically valid and formatted (TestNewBuilds compiles a selection).
func TestNewRendersEveryCorpusTD(t *testing.T) {
	var rendered, refused int
	files := testcorpus.Files(t, "td/valid")
	step, want := 1, 200
	if testing.Short() {
		step, want = 4, 50 // a quarter of the corpus, spread over it
	}
	for i, f := range files {
		if i%step != 0 {
			continue
		}
		files, _, err := scaffold(context.Background(), f, "example.com/x", "", "")
		if err != nil {
			// The generator refuses some TDs (for example without title); that is its call.
			refused++
			t.Logf("%s: %v", filepath.Base(f), err)
			continue
		}
		rendered++
		for _, sf := range files {
			if strings.HasSuffix(sf.path, ".go") {
				if _, err := parser.ParseFile(token.NewFileSet(), sf.path, sf.data, parser.AllErrors); err != nil {
					t.Errorf("%s: %s does not parse: %v", filepath.Base(f), sf.path, err)
				}
			}
		}
	}
	t.Logf("%d corpus TDs scaffolded, %d refused by the generator", rendered, refused)
	if rendered < want {
		t.Errorf("only %d corpus TDs could be scaffolded", rendered)
	}
}

// newBuildCorpus are corpus TDs of different shapes for TestNewBuilds: many typed properties and
// objects, unions (oneOf), sync actions with outputs, events with data, binary content, consts; and
// HTTP TDs secured with bearer, basic, an API key in a header and a oneOf combo (basic or bearer;
// its digest alternative is dropped).
var newBuildCorpus = []string{
	"wot-testing__Panasonic-PanaSimRoomLight5.json",
	"playground__basic-security.td.json",
	"wot-testing__Color-Lamp-onsite-TUM.td.json",
	"playground__combo-security-def-oneOf.td.json",
	"playground__basic-td.td.json",
	"wot-testing__HueColorLight1.td.json",
	"wot-testing__e-paper-image-converter.td.json",
	"playground__mqtt-experimental.json",
	"playground__constOneOf.json",
	"playground__MinimalThing.json",
}

// TestNewBuilds scaffolds the lamp and corpus TDs (wotgen new runs go mod tidy) and runs go build,
// go vet and go test in each new module (against this working tree) with nothing else first and
// without -mod=mod, so a missing go.sum line fails; and go generate in the lamp's, which must change
// nothing.
func TestNewBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests scaffolded modules; slow")
	}
	root := moduleRoot(t)
	corpus := filepath.Join(testcorpus.Dir(t), "td", "valid")
	hostile := filepath.Join(t.TempDir(), "my lamp's #1.json")
	if err := os.WriteFile(hostile, []byte(hostileTD), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := []string{writeLampTD(t), hostile}
	for _, n := range newBuildCorpus {
		inputs = append(inputs, filepath.Join(corpus, n))
	}
	for i, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "thing")
			module := "example.com/thing" + string(rune('a'+i))
			code, out, errOut := runNewCmd(t, "-td", in, "-module", module, "-o", dir, "-replace", root)
			if code != exitOK {
				t.Fatalf("wotgen new: exit %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(out, "Running go mod tidy") || strings.Contains(out, "\tgo mod tidy") {
				t.Errorf("wotgen new did not run go mod tidy itself:\n%s", out)
			}
			goStrict(t, dir, "build", "./...")
			goStrict(t, dir, "vet", "./...")
			goStrict(t, dir, "test", "-count=1", "./...")
			if i == 0 {
				before := snapshot(t, filepath.Join(dir, "lamp"))
				goCmd(t, dir, "generate", "./...")
				if after := snapshot(t, filepath.Join(dir, "lamp")); !equalMaps(before, after) {
					t.Error("go generate changed the generated package: the scaffold is not what go generate produces")
				}
			}
		})
	}
}

// goStrict runs go in dir with the module checks of a fresh shell: no -mod=mod, no workspace.
func goStrict(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// TestNewReservedPackageName: a title that would make the package shadow an import of the scaffold
// gets a suffix; an explicit -pkg of that kind is refused.
func TestNewReservedPackageName(t *testing.T) {
	p := filepath.Join(t.TempDir(), "time.td.json")
	os.WriteFile(p, []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"Time","id":"urn:x:time",
		"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",
		"properties":{"now":{"type":"string","format":"date-time","forms":[{"href":"/wtp","subprotocol":"webthingprotocol"}]}}}`), 0o644)
	files, notes, err := scaffold(context.Background(), p, "example.com/clock", "", "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		found = found || strings.HasPrefix(f.path, "timewot/")
	}
	if !found || !strings.Contains(strings.Join(notes, "\n"), "timewot") {
		t.Errorf("package not renamed: notes %v", notes)
	}
	if _, _, err := scaffold(context.Background(), p, "example.com/clock", "wtp", ""); err == nil {
		t.Error("-pkg wtp was accepted")
	}
}

// hostileTD has names that are not Go-, string- or shell-friendly.
const hostileTD = `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"Lamp \"X\" */ %v","id":"urn:x:l",
		"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",
		"properties":{"a\"b%v\\n":{"type":"string","default":"` + "`" + `tick","forms":[{"href":"x"}]},"type":{"type":"integer","forms":[{"href":"x"}]}},
		"actions":{"do it\"":{"input":{"type":"string"},"output":{"type":"string","const":"a` + "`" + `b"},"forms":[{"href":"x"}]}},
		"events":{"%s\"":{"data":{"type":"boolean"},"forms":[{"href":"x"}]}}}`

// TestNewHostileNames: affordance names and file names that are not Go- or shell-friendly still give
// a scaffold whose Go files parse.
func TestNewHostileNames(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "my lamp's #1.json")
	os.WriteFile(p, []byte(hostileTD), 0o644)
	files, _, err := scaffold(context.Background(), p, "example.com/lamp", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.path, ".go") {
			if _, err := parser.ParseFile(token.NewFileSet(), f.path, f.data, parser.AllErrors); err != nil {
				t.Errorf("%s does not parse: %v\n%s", f.path, err, f.data)
			}
		}
		if strings.HasSuffix(f.path, ".td.json") && strings.ContainsAny(f.path, " '#") {
			t.Errorf("TD copied as %q; want a plain file name", f.path)
		}
	}
}
