package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"
	"time"

	"github.com/wotgen/wotgen/gen/ir"
	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// The reach check: for every valid corpus TD, the generated client is constructed from the TD itself
// (wot.Consume, no network for HTTP forms), and then dials `wotgen serve` of the same TD over
// 127.0.0.1 and reads every property its forms let it read, validating each value with the
// generated Validate. One program (reach/reachcheck in the shared module) holds a check per package.

// reachPackage is one corpus package the check program drives.
type reachPackage struct {
	Pkg, File string
	Reads     []reachRead
}

type reachRead struct {
	Name, Method string
	Vars         string // the type of the method's URI variables argument, "" when it has none
	Validate     string // "", "value" or "pointer"
}

// reachResult is what the program reports per TD (one JSON line each).
type reachResult struct {
	File         string   `json:"file"`
	Constructed  bool     `json:"constructed"`
	ConstructErr string   `json:"constructErr,omitempty"`
	Reads        int      `json:"reads"`
	ReadOK       int      `json:"readOK"`
	Errors       []string `json:"errors,omitempty"`
}

func reachPackageOf(pkg, file string, p *ir.Package) reachPackage {
	rp := reachPackage{Pkg: pkg, File: file}
	for _, pr := range p.Thing.Properties {
		if !pr.HasOp(opReadProperty) || pr.WriteOnly {
			continue
		}
		r := reachRead{Name: pr.Name, Method: "Read" + pr.GoName}
		if v := pr.URIVariables; v != nil && v.Kind == ir.RefNamed && v.Decl != nil {
			r.Vars = v.Decl.Name
		}
		switch {
		case pr.Type.HasValidate():
			r.Validate = "value"
		case pr.Type.NeedsValidate():
			r.Validate = "pointer"
		}
		rp.Reads = append(rp.Reads, r)
	}
	return rp
}

const opReadProperty = "readproperty"

var reachProgram = template.Must(template.New("reach").Funcs(template.FuncMap{"quote": func(s string) string { b, _ := json.Marshal(s); return string(b) }}).Parse(`// Command reachcheck drives the generated client of every corpus TD (see gen/reach_test.go).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
{{range .}}
	{{.Pkg}} "example.com/wotgentest/corpus/{{.Pkg}}"{{end}}
)

type result struct {
	File         string   ` + "`json:\"file\"`" + `
	Constructed  bool     ` + "`json:\"constructed\"`" + `
	ConstructErr string   ` + "`json:\"constructErr,omitempty\"`" + `
	Reads        int      ` + "`json:\"reads\"`" + `
	ReadOK       int      ` + "`json:\"readOK\"`" + `
	Errors       []string ` + "`json:\"errors,omitempty\"`" + `
}

func (r *result) read(name string, err error) {
	r.Reads++
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("read %q: %v", name, err))
		return
	}
	r.ReadOK++
}

type check struct {
	pkg, file string
	run       func(ctx context.Context, tdURL string, r *result)
}

var checks = []check{
{{- range $p := .}}
	{ {{quote .Pkg}}, {{quote .File}}, func(ctx context.Context, tdURL string, r *result) {
		desc, err := {{.Pkg}}.ThingDescription()
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			return
		}
		// As if fetched from its device: relative hrefs resolve against the TD's URL. The reserved
		// .invalid domain (RFC 2606) makes sure nothing is contacted.
		if ct, err := wot.Consume(ctx, desc, "http://device.invalid/td"); err != nil {
			r.ConstructErr = err.Error()
		} else {
			r.Constructed = {{.Pkg}}.NewClient(ct) != nil
			ct.Close()
		}
		c, err := {{.Pkg}}.Dial(ctx, tdURL)
		if err != nil {
			r.Errors = append(r.Errors, "dial the simulator: "+err.Error())
			return
		}
		defer c.Close()
{{- range .Reads}}
		{
			v, err := c.{{.Method}}(ctx{{if .Vars}}, {{$p.Pkg}}.{{.Vars}}{}{{end}})
			{{- if eq .Validate "value"}}
			if err == nil {
				err = v.Validate()
			}
			{{- else if eq .Validate "pointer"}}
			if err == nil && v != nil {
				err = v.Validate()
			}
			{{- else}}
			_ = v
			{{- end}}
			r.read({{quote .Name}}, err)
		}
{{- end}}
	}},
{{- end}}
}

// main: reachcheck WOTGEN DIR — for every check, serve DIR/<file> with WOTGEN serve on 127.0.0.1
// and run the check against it; one JSON result per line on stdout.
func main() {
	wotgen, dir := os.Args[1], os.Args[2]
	enc := json.NewEncoder(os.Stdout)
	for _, c := range checks {
		r := result{File: c.file}
		url, stop, err := serve(wotgen, dir+"/"+c.file)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c.run(ctx, url, &r)
			cancel()
			stop()
		}
		enc.Encode(r)
	}
}

// serve starts wotgen serve on a free port and returns the TD URL it prints.
func serve(wotgen, file string) (string, func(), error) {
	cmd := exec.Command(wotgen, "serve", "-addr", "127.0.0.1:0", "-delay", "0", file)
	cmd.Stderr = nil
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		stdin.Close()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "TD:" {
				found <- f[1]
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if ok {
			return u, stop, nil
		}
	case <-time.After(20 * time.Second):
	}
	stop()
	return "", nil, fmt.Errorf("wotgen serve %s printed no TD URL", file)
}
`))

// protocolsOf names what a TD's forms speak: "http" and/or "wtp", else the other schemes.
func protocolsOf(t *td.Thing) map[string]bool {
	seen := map[string]bool{}
	doc := &url.URL{Scheme: "http", Host: "localhost", Path: "/"}
	each := func(forms []td.Form) {
		for i := range forms {
			f := &forms[i]
			u, err := t.ResolveHref(f.Href, doc)
			switch {
			case f.IsWTP():
				seen["wtp"] = true
			case err != nil:
			case u.Scheme == "http" || u.Scheme == "https":
				seen["http"] = true
			default:
				seen[u.Scheme] = true
			}
		}
	}
	each(t.Forms)
	for _, p := range t.Properties {
		each(p.Forms)
	}
	for _, a := range t.Actions {
		each(a.Forms)
	}
	for _, e := range t.Events {
		each(e.Forms)
	}
	return seen
}

// TestCorpusReach: the generated client of every valid corpus TD with HTTP or WTP forms is
// constructed from its TD, and reads every readable property of `wotgen serve` of that TD, each
// value passing the generated Validate.
func TestCorpusReach(t *testing.T) {
	corpus := testcorpus.Dir(t)
	b := sharedModule(t)
	if b.buildErr != "" {
		t.Fatalf("shared build failed:\n%s", b.buildErr)
	}
	wotgen := filepath.Join(b.dir, "bin", "wotgen")
	build := exec.Command("go", "build", "-o", wotgen, "./cmd/wotgen")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wotgen: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, filepath.Join(b.dir, "bin", "reachcheck"), wotgen, filepath.Join(corpus, "td", "valid"))
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("reachcheck: %v\n%s", err, limitOutput(stderr.Bytes()))
	}
	// TDs the generated client cannot fully use, each for a reason that lies in the TD or in a
	// documented limit of the bindings.
	known := map[string]string{
		"wot-testing__whisper.td.json": "its only action takes multipart/form-data; the HTTP binding sends JSON, plain text or opaque bytes",
		"playground__enumConst.json":   "the schema's const is not in its enum, so no value is valid (the simulator's sample fails Validate)",
	}
	var total, reachable, constructed, reads, readOK, servedAll int
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r reachResult
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("reachcheck printed %q: %v", line, err)
		}
		total++
		raw, err := os.ReadFile(filepath.Join(corpus, "td", "valid", r.File))
		if err != nil {
			t.Fatal(err)
		}
		th, err := td.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", r.File, err)
		}
		protos := protocolsOf(th)
		if !protos["http"] && !protos["wtp"] {
			t.Logf("%s: no HTTP or WTP form (%v); not counted", r.File, keys(protos))
			continue
		}
		reachable++
		reads += r.Reads
		readOK += r.ReadOK
		report := t.Errorf
		if why, ok := known[r.File]; ok {
			report = func(format string, a ...any) { t.Logf("known: "+why+": "+format, a...) }
		}
		if r.Constructed {
			constructed++
		} else if protos["http"] {
			report("%s: the generated client cannot be constructed from the TD: %s", r.File, r.ConstructErr)
		} else {
			t.Logf("%s: a WTP-only TD connects at construction; its device is not here: %s", r.File, r.ConstructErr)
		}
		for _, e := range r.Errors {
			report("%s: %s", r.File, e)
		}
		if len(r.Errors) == 0 {
			servedAll++
		}
	}
	t.Logf("%d corpus TDs; %d with HTTP or WTP forms: %d clients constructed from their TD; against wotgen serve %d of %d read every readable property (%d of %d reads valid)",
		total, reachable, constructed, servedAll, reachable, readOK, reads)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// writeReachProgram writes the check program for the corpus packages generated so far.
func writeReachProgram(pkgs []reachPackage, write func(string, []byte)) error {
	var buf bytes.Buffer
	if err := reachProgram.Execute(&buf, pkgs); err != nil {
		return fmt.Errorf("reach program: %w", err)
	}
	write("reach/reachcheck/main.go", buf.Bytes())
	return nil
}
