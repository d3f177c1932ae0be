package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/tools/go/ast/astutil"

	"github.com/wotgen/wotgen/gen"
	"github.com/wotgen/wotgen/gen/ir"
	"github.com/wotgen/wotgen/internal/sample"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/templates"
)

func init() {
	register(command{name: "new", summary: "scaffold a Thing server module from a Thing Description", run: runNew})
}

const newSynopsis = `-td FILE -module PATH [-o DIR] [-pkg NAME] [-replace DIR] [-force] [-tidy=false]

Creates a Go module that serves the Thing over the Web Thing Protocol and builds, runs and passes its
own tests with nothing but Go: go.mod, the TD, generate.go (the //go:generate line), the generated
package, main.go (-addr, -token, graceful shutdown), thing.go (your implementation; in-memory until
you add device I/O), thing_test.go, README.md and .github/workflows/ci.yml.

A TD without Web Thing Protocol forms is copied with its forms replaced by WTP forms for every
operation (the module serves WTP); a TD without id gets a stable urn:uuid id. Existing files are
never overwritten without -force; files that already hold the same content are left alone. When go
is on the PATH, go mod tidy runs in the new module (-tidy=false skips it).

The TD's security stays: for each bearer, basic or apikey scheme it needs (also inside combo), the
server takes the secret from -secret NAME=VALUE or the environment variable WOTGEN_SECRET_NAME
(NAME upper-cased, other characters as _) and checks requests with wot.AuthFromTD; the test serves
with made-up secrets and its client presents them. Schemes the server cannot check (digest, oauth2,
psk, API keys in the URI or body) are dropped from combo oneOf lists, or else the module serves
without authentication and a note says so.`

// develVersion is required in go.mod when this wotgen is a development build (no module version);
// it resolves only through -replace.
const develVersion = "v0.0.0-00010101000000-000000000000"

// scaffoldGoVersion is the go directive of new modules: the runtime's own minimum.
const scaffoldGoVersion = "1.26.0"

func runNew(ctx context.Context, args []string, s stdio) int {
	fl := newFlagSet("new", newSynopsis, s)
	tdSrc := fl.String("td", "", "the Thing Description: a `file` or an http(s) URL (required)")
	module := fl.String("module", "", "module `path` of the new module, e.g. example.com/lamp (required)")
	out := fl.String("o", "", "output `directory` (default: the last element of the module path)")
	pkg := fl.String("pkg", "", "Go package `name` of the generated code (default: derived from the TD title)")
	replace := fl.String("replace", "", "build against the wotgen checkout in `DIR` (adds a replace directive; for local development)")
	force := fl.Bool("force", false, "overwrite existing files that differ")
	tidy := fl.Bool("tidy", true, "run go mod tidy in the new module when go is on the PATH (-tidy=false: leave it to you)")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	if fl.NArg() != 0 || *tdSrc == "" || *module == "" {
		fmt.Fprintln(s.err, "wotgen new: want -td FILE and -module PATH (and no other arguments)")
		fl.Usage()
		return exitUsage
	}
	if err := checkModulePath(*module); err != nil {
		fmt.Fprintf(s.err, "wotgen new: -module: %v\n", err)
		return exitUsage
	}
	dir := *out
	if dir == "" {
		dir = path.Base(*module)
	}
	repl := ""
	if *replace != "" {
		abs, err := filepath.Abs(*replace)
		if err == nil {
			_, err = os.Stat(filepath.Join(abs, "go.mod"))
		}
		if err != nil {
			fmt.Fprintf(s.err, "wotgen new: -replace %s: want a wotgen checkout (a directory with go.mod): %v\n", *replace, err)
			return exitUsage
		}
		repl = filepath.ToSlash(abs)
		if strings.ContainsAny(repl, " \t\"'`\\") {
			repl = strconv.Quote(repl) // go.mod accepts Go string literals
		}
	}

	files, notes, err := scaffold(ctx, *tdSrc, *module, *pkg, repl)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen new: %v\n", err)
		var ie *inputError
		if errors.As(err, &ie) {
			return exitUsage
		}
		return exitFindings
	}
	for _, n := range notes {
		fmt.Fprintf(s.err, "wotgen new: note: %s\n", n)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		fmt.Fprintf(s.err, "wotgen new: %s exists and is not a directory; choose another -o\n", dir)
		return exitUsage
	}
	var wrote, same, kept int
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		old, err := os.ReadFile(p)
		switch {
		case err == nil && bytes.Equal(old, f.data):
			same++
			fmt.Fprintf(s.out, "unchanged  %s\n", filepath.ToSlash(p))
			continue
		case err == nil && !*force:
			kept++
			fmt.Fprintf(s.out, "kept       %s (it differs; -force overwrites it)\n", filepath.ToSlash(p))
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(s.err, "wotgen new: %v\n", err)
			return exitFindings
		}
		if err := writeAtomic(p, f.data); err != nil {
			fmt.Fprintf(s.err, "wotgen new: %v\n", err)
			return exitFindings
		}
		wrote++
		fmt.Fprintf(s.out, "wrote      %s\n", filepath.ToSlash(p))
	}
	fmt.Fprintf(s.out, "\n%d written, %d unchanged, %d kept.\n", wrote, same, kept)
	if kept > 0 {
		fmt.Fprintf(s.out, "Kept files are yours now (go.mod changes with go mod tidy); -force would overwrite them with the scaffold.\n")
	}
	devel := repl == "" && version() == "(devel)"
	if devel {
		fmt.Fprintf(s.err, "wotgen new: note: this wotgen is a development build, so go.mod requires the placeholder %s; run with -replace /path/to/wotgen, or set the require line to a released version\n", develVersion)
	}
	tidied := false
	switch goBin, err := exec.LookPath("go"); {
	case !*tidy:
		fmt.Fprintln(s.out, "Not running go mod tidy (-tidy=false).")
	case err != nil:
		fmt.Fprintln(s.out, "Not running go mod tidy: go is not on the PATH.")
	case devel:
		fmt.Fprintln(s.out, "Not running go mod tidy: the placeholder wotgen version in go.mod does not resolve (see the note).")
	default:
		fmt.Fprintf(s.out, "Running go mod tidy in %s …\n", dir)
		if err := goModTidy(ctx, goBin, dir); err != nil {
			fmt.Fprintf(s.err, "wotgen new: go mod tidy in %s failed: %v\nThe files are written; fix the cause (network, GOPROXY, go.mod) and run go mod tidy there.\n", dir, err)
			return exitFindings
		}
		tidied = true
	}
	next := "\nNext:\n\tcd " + dir + "\n"
	if !tidied {
		next += "\tgo mod tidy\n"
	}
	fmt.Fprintf(s.out, "%s\tgo test ./...\n\tgo run . -addr 127.0.0.1:8080\n", next)
	return exitOK
}

// goModTidy runs go mod tidy in dir, within ctx and at most ten minutes; its output becomes the
// error on failure.
func goModTidy(ctx context.Context, goBin, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "tidy")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("%w\n%s", err, msg)
		}
		return err
	}
	return nil
}

// checkModulePath accepts module paths `go mod init` would (a conservative subset).
func checkModulePath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return fmt.Errorf("%q is not a module path (want something like example.com/lamp)", p)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == "." || elem == ".." || strings.HasPrefix(elem, ".") || strings.HasSuffix(elem, ".") {
			return fmt.Errorf("%q is not a module path: bad element %q", p, elem)
		}
		for _, r := range elem {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return fmt.Errorf("%q is not a module path: %q may not contain %q", p, elem, r)
			}
		}
	}
	return nil
}

// scaffoldFile is one file of the new module, path relative to its root.
type scaffoldFile struct {
	path string
	data []byte
}

// scaffold renders every file of the module in memory.
func scaffold(ctx context.Context, src, module, pkgName, replace string) ([]scaffoldFile, []string, error) {
	raw, _, err := td.ReadSource(ctx, src, td.FetchOptions{})
	if err != nil {
		return nil, nil, &inputError{err}
	}
	thing, err := td.Parse(raw)
	if err != nil {
		return nil, nil, &inputError{fmt.Errorf("%s: %w", src, err)}
	}
	if thing.IsTM() {
		return nil, nil, &inputError{fmt.Errorf("%s is a Thing Model (@type tm:ThingModel); wotgen new needs a Thing Description: instantiate the model first", src)}
	}
	tdBytes, secrets, notes, err := scaffoldTD(thing, raw)
	if err != nil {
		return nil, nil, err
	}
	p, err := gen.Build(mustParse(tdBytes), gen.Options{Package: pkgName})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", src, err)
	}
	pkg := p.Name
	if scaffoldReserved[pkg] {
		if pkgName != "" {
			return nil, nil, &inputError{fmt.Errorf("-pkg %s: the scaffold's own files use that name (an import or a variable); choose another package name", pkgName)}
		}
		renamed := pkg + "wot"
		if p, err = gen.Build(mustParse(tdBytes), gen.Options{Package: renamed}); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", src, err)
		}
		notes = append(notes, fmt.Sprintf("the package name %q derived from the title is used by the scaffold's own files; the package is %s (-pkg chooses another)", pkg, p.Name))
		pkg = p.Name
	}
	tdFile := pkg + ".td.json"
	if !td.IsURL(src) {
		// The name goes into the //go:generate line and the CI workflow unquoted.
		if b := filepath.Base(src); strings.HasSuffix(b, ".json") && plainFileName(b) {
			tdFile = b
		}
	}
	// Exactly what "go generate" will produce from the copied TD, so "wotgen diff" starts clean.
	genFiles, err := gen.Generate(ctx, tdBytes, gen.Options{Package: pkg, Source: tdFile,
		Warn: func(msg string) { notes = append(notes, msg) }})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", src, err)
	}
	data, more := scaffoldData(p, mustParse(tdBytes))
	notes = append(notes, more...)
	data.Module, data.Pkg, data.TDFile, data.Replace = module, pkg, tdFile, replace
	data.Secrets = secrets
	data.SecretUsage = "`NAME=VALUE`: the secret of the TD's security scheme NAME (repeatable; else from the environment):"
	for _, s := range secrets {
		data.SecretUsage += fmt.Sprintf("\n%s (%s): %s, or $%s", s.Name, s.Scheme, s.Format, s.Env)
		data.Bearer = data.Bearer || s.Scheme == td.SchemeBearer
		data.Basic = data.Basic || s.Scheme == td.SchemeBasic
		data.APIKey = data.APIKey || s.Scheme == td.SchemeAPIKey
	}
	data.TestBearerToken, data.TestBasicUser, data.TestBasicPass, data.TestAPIKey = testBearerToken, testBasicUser, testBasicPass, testAPIKey
	data.Command = path.Base(module)
	data.GoVersion = scaffoldGoVersion
	data.Version = version()
	if data.Version == "(devel)" || data.Version == "" {
		data.Version = develVersion
	}

	out := []scaffoldFile{{path: tdFile, data: tdBytes}}
	dest := map[string]string{
		"go.mod.tmpl": "go.mod", "generate.go.tmpl": "generate.go", "main.go.tmpl": "main.go", "discovery.go.tmpl": "discovery.go",
		"thing.go.tmpl": "thing.go", "thing_test.go.tmpl": "thing_test.go", "README.md.tmpl": "README.md",
		"ci.yml.tmpl": ".github/workflows/ci.yml",
	}
	for _, name := range templates.Names {
		b, err := templates.Render(name, data)
		if err != nil {
			return nil, nil, fmt.Errorf("internal error: %w; please report it", err)
		}
		to := dest[name]
		if strings.HasSuffix(to, ".go") {
			formatted, err := pruneImports(to, b)
			if err != nil {
				return nil, nil, fmt.Errorf("internal error: the scaffold %s does not format (%v); please report it with the TD", to, err)
			}
			b = formatted
		}
		out = append(out, scaffoldFile{path: to, data: b})
	}
	for _, f := range genFiles {
		out = append(out, scaffoldFile{path: pkg + "/" + f.Name, data: f.Content})
	}
	return out, notes, nil
}

// pruneImports drops the imports a rendered Go template does not use (the templates import everything
// any TD may need) and formats the file.
func pruneImports(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var unused []string
	for _, spec := range f.Imports {
		if p := strings.Trim(spec.Path.Value, `"`); !astutil.UsesImport(f, p) {
			unused = append(unused, p)
		}
	}
	for _, p := range unused {
		astutil.DeleteImport(fset, f, p)
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plainFileName reports whether a file name needs no quoting in a shell, YAML or a go:generate line.
func plainFileName(name string) bool {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._", r)) {
			return false
		}
	}
	return name != "" && name[0] != '-' && name[0] != '.'
}

// scaffoldReserved are the names the templates use for imports and variables; the generated package
// may not take one of them.
var scaffoldReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`main context errors flag fmt slog net http os signal syscall time td wtp json sync
		httptest testing a c v t th url ctx cancel err seen sub got srv hs ln log desc opts exposed addr token
		errc sctx stop data in js values thing initial actionDuration strings secrets secretSchemes secretEnv
		secretNames name value ok s given auth names testSecrets credentials wrong`) {
		m[n] = true
	}
	return m
}()

func mustParse(b []byte) *td.Thing {
	t, err := td.Parse(b)
	if err != nil {
		panic("wotgen new: a TD it wrote itself does not parse: " + err.Error())
	}
	return t
}

// scaffoldTD returns the TD the module serves and the security schemes whose secrets its server
// needs: the input as is when it already has Web Thing Protocol forms (with an id added when
// missing), else the input with every form replaced by WTP forms, as wotgen serve does. Either
// keeps the TD's security, reduced to what the server can check (scaffoldSecurity).
func scaffoldTD(t *td.Thing, raw []byte) ([]byte, []scaffoldSecret, []string, error) {
	var notes []string
	d := t.Clone()
	asIs := hasWTPForm(t)
	if asIs {
		if u, err := url.Parse(t.ID); t.ID == "" || err != nil || !u.IsAbs() {
			asIs = false
			d.ID = nameUUID(raw)
			notes = append(notes, fmt.Sprintf("the TD has no usable id; the copy gets %s", d.ID))
		}
	} else {
		var more []string
		d, more = simulatedTD(t, raw, "")
		notes = append(notes, more...)
		notes = append(notes, "the TD has no Web Thing Protocol forms; the copy has WTP forms for every operation instead of the original forms")
		sec := t.Clone() // the simulated TD is open to all; the module keeps the TD's security
		d.SecurityDefinitions, d.Security = sec.SecurityDefinitions, sec.Security
	}
	before, _ := json.Marshal(d.SecurityDefinitions)
	secrets, more := scaffoldSecurity(d)
	notes = append(notes, more...)
	if after, _ := json.Marshal(d.SecurityDefinitions); asIs && bytes.Equal(before, after) {
		return raw, secrets, notes, nil
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("internal error: cannot encode the TD: %w", err)
	}
	return append(b, '\n'), secrets, notes, nil
}

// hasWTPForm reports whether any form of the TD is a Web Thing Protocol form.
func hasWTPForm(t *td.Thing) bool {
	found := false
	check := func(forms []td.Form) {
		for i := range forms {
			found = found || forms[i].IsWTP()
		}
	}
	check(t.Forms)
	for _, p := range t.Properties {
		if p != nil {
			check(p.Forms)
		}
	}
	for _, a := range t.Actions {
		if a != nil {
			check(a.Forms)
		}
	}
	for _, e := range t.Events {
		if e != nil {
			check(e.Forms)
		}
	}
	return found
}

// scaffoldTemplateData is what the templates see.
type scaffoldTemplateData struct {
	Module, Pkg, TDFile, Replace, Command, Title, GoVersion, Version string

	Props    []scaffoldProp
	Actions  []scaffoldAction
	Events   []scaffoldEvent
	Observed *scaffoldProp // a property the test observes while writing it; nil when none fits

	// Secrets are the TD's security schemes that need a secret; Bearer, Basic and APIKey say which
	// kinds occur (the test's client presents one credential of each kind).
	Secrets                                                   []scaffoldSecret
	SecretUsage                                               string // the -secret flag's usage text
	Bearer, Basic, APIKey                                     bool
	TestBearerToken, TestBasicUser, TestBasicPass, TestAPIKey string
}

type scaffoldProp struct {
	Name, GoName, Type, Initial            string
	Read, Write, Notify                    bool // Handler methods / Notify exist
	ClientRead, ClientWrite, ClientObserve bool // client methods exist
}

type scaffoldAction struct {
	Name, GoName, In, Out, InSample, OutSample string
	Async, Handler, ClientInvoke               bool
}

type scaffoldEvent struct {
	Name, GoName, Data, DataSample string
	ClientSubscribe                bool
}

// scaffoldData derives the template data from the IR (names, types, operations) and the TD
// (schemas for sample values).
func scaffoldData(p *ir.Package, t *td.Thing) (scaffoldTemplateData, []string) {
	var notes []string
	d := scaffoldTemplateData{Title: t.Title}
	initial := func(what string, s *td.DataSchema) string {
		v, err := sample.Initial(s)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: no schema-valid value found (%v); thing.go starts with %s", what, err, v))
		}
		return string(v)
	}
	for _, pr := range p.Thing.Properties {
		aff := t.Properties[pr.Name]
		if aff == nil {
			continue
		}
		sp := scaffoldProp{
			Name: pr.Name, GoName: pr.GoName, Type: goType(pr.Type, p.Name),
			Initial:     initial(fmt.Sprintf("property %q", pr.Name), &aff.DataSchema),
			Read:        !pr.WriteOnly,
			Write:       !pr.ReadOnly && pr.HasOp(td.OpWriteProperty),
			Notify:      !pr.WriteOnly,
			ClientRead:  pr.HasOp(td.OpReadProperty),
			ClientWrite: pr.HasOp(td.OpWriteProperty) && !pr.ReadOnly,
		}
		sp.ClientObserve = pr.HasOp(td.OpObserveProperty)
		d.Props = append(d.Props, sp)
	}
	for i := range d.Props {
		if sp := &d.Props[i]; sp.ClientObserve && sp.ClientWrite && sp.Write && sp.Notify && d.Observed == nil {
			d.Observed = sp
		}
	}
	for _, a := range p.Thing.Actions {
		aff := t.Actions[a.Name]
		if aff == nil {
			continue
		}
		sa := scaffoldAction{Name: a.Name, GoName: a.GoName, Async: a.Synchronous != nil && !*a.Synchronous,
			Handler: a.HasOp(td.OpInvokeAction), ClientInvoke: a.HasOp(td.OpInvokeAction)}
		if a.Input != nil {
			sa.In = goType(a.Input, p.Name)
			sa.InSample = initial(fmt.Sprintf("input of action %q", a.Name), aff.Input)
		}
		if a.Output != nil {
			sa.Out = goType(a.Output, p.Name)
			sa.OutSample = initial(fmt.Sprintf("output of action %q", a.Name), aff.Output)
		}
		d.Actions = append(d.Actions, sa)
	}
	for _, e := range p.Thing.Events {
		aff := t.Events[e.Name]
		if aff == nil {
			continue
		}
		se := scaffoldEvent{Name: e.Name, GoName: e.GoName, ClientSubscribe: e.HasOp(td.OpSubscribeEvent)}
		if e.Data != nil {
			se.Data = goType(e.Data, p.Name)
			se.DataSample = initial(fmt.Sprintf("data of event %q", e.Name), aff.Data)
		}
		d.Events = append(d.Events, se)
	}
	return d, notes
}

// goType writes a type reference as seen from outside the generated package.
func goType(r *ir.TypeRef, pkg string) string {
	switch r.Kind {
	case ir.RefNamed:
		return pkg + "." + r.Name
	case ir.RefSlice, ir.RefMap, ir.RefPointer:
		prefix := map[ir.RefKind]string{ir.RefSlice: "[]", ir.RefMap: "map[string]", ir.RefPointer: "*"}[r.Kind]
		return prefix + goType(r.Elem, pkg)
	}
	return r.String()
}

// writeAtomic writes data to path (creating directories) through a temporary file and a rename, so
// an interrupted run never leaves a half-written file.
func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
