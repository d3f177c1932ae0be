package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wotgen/wotgen/gen"
	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/runtime/discovery"
	"github.com/wotgen/wotgen/runtime/td"
)

func init() {
	register(command{name: "generate", summary: "generate typed Go (types, client, server) from a Thing Description", run: runGenerate})
	register(command{name: "diff", summary: "report generated code that is out of date (exit 1 and a unified diff)", run: runDiff})
}

// parts are the values -only accepts, in output order.
var parts = []string{"types", "client", "server"}

// genFlags are the flags generate and diff share, so diff checks exactly what generate writes.
type genFlags struct {
	pkg         string
	out         string
	only        string
	initialisms string
	input       string
}

const genSynopsis = "[-pkg NAME] [-o DIR] [-only types,client,server] INPUT"

func parseGenFlags(name string, args []string, s stdio) (genFlags, int, bool) {
	var g genFlags
	fs := newFlagSet(name, genSynopsis, s)
	fs.StringVar(&g.pkg, "pkg", "", "Go package `name` of the generated code (default: derived from the TD title)")
	fs.StringVar(&g.out, "o", ".", "output `directory` (created if missing)")
	fs.StringVar(&g.only, "only", strings.Join(parts, ","), "comma-separated `parts` to generate: types, client, server")
	fs.StringVar(&g.initialisms, "initialisms", "", "extra comma-separated `initialisms` for Go names (e.g. LED,RGB)")
	if code, ok := parseFlags(fs, args); !ok {
		return g, code, false
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(s.err, "wotgen %s: want exactly one INPUT (a TD file or an http(s) URL), got %d arguments\n", name, fs.NArg())
		fs.Usage()
		return g, exitUsage, false
	}
	g.input = fs.Arg(0)
	if _, err := g.parts(); err != nil {
		fmt.Fprintf(s.err, "wotgen %s: %v\n", name, err)
		return g, exitUsage, false
	}
	return g, exitOK, true
}

// parts returns the selected parts, checked and de-duplicated.
func (g genFlags) parts() ([]string, error) {
	seen := map[string]bool{}
	for _, p := range strings.Split(g.only, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !contains(parts, p) {
			return nil, fmt.Errorf("-only: unknown part %q; use a comma-separated subset of %s", p, strings.Join(parts, ","))
		}
		seen[p] = true
	}
	var out []string
	for _, p := range parts {
		if seen[p] {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only selects nothing; use a comma-separated subset of %s", strings.Join(parts, ","))
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// generateFiles reads the input and runs the generator in memory. Warnings go to s.err.
func generateFiles(ctx context.Context, name string, g genFlags, s stdio) ([]gen.File, error) {
	only, _ := g.parts()
	var initialisms []string
	for _, w := range strings.Split(g.initialisms, ",") {
		if w = strings.TrimSpace(w); w != "" {
			initialisms = append(initialisms, w)
		}
	}
	body, _, err := td.ReadSource(ctx, g.input, td.FetchOptions{})
	if err != nil {
		return nil, &inputError{err}
	}
	// A directory's entry (http://dir/things/{id}) generates what the Thing's own TD generates.
	body = discovery.StripEnrichment(body)
	if tm.IsThingModel(body) {
		// A Thing Model: generate from the resolved model (tm:extends, tm:ref, submodels), with WTP forms
		// assumed; tm:optional affordances are marked so the generated API documents them.
		var warns []tm.Warning
		body, warns, err = tm.ResolveForGeneration(ctx, tm.NewLoader(), g.input)
		for _, w := range warns {
			fmt.Fprintf(s.err, "wotgen %s: warning: %s\n", name, w)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: resolve the Thing Model: %w", g.input, err)
		}
	}
	files, err := gen.Generate(ctx, body, gen.Options{
		Package:     g.pkg,
		Source:      sourceLine(g.input),
		Only:        only,
		Initialisms: initialisms,
		Warn:        func(msg string) { fmt.Fprintf(s.err, "wotgen %s: warning: %s\n", name, msg) },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.input, err)
	}
	for _, f := range files {
		// The generator is ours, but a file name outside DIR or not ours to own is never written.
		if f.Name != filepath.Base(f.Name) || !strings.HasSuffix(f.Name, "_gen.go") || strings.ContainsAny(f.Name, `/\`) {
			return nil, fmt.Errorf("internal error: generator returned the file name %q (want a base name ending in _gen.go); please report it", f.Name)
		}
	}
	return files, nil
}

// inputError marks an unreadable INPUT (exit 2, like a usage error).
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// failCode is the exit code for an error of generateFiles.
func failCode(err error) int {
	var ie *inputError
	if errors.As(err, &ie) {
		return exitUsage
	}
	return exitFindings
}

// sourceLine is what the "// Source:" header names: the input as given, slash-separated for files
// so the output is the same on every OS.
func sourceLine(input string) string {
	if td.IsURL(input) {
		return input
	}
	return filepath.ToSlash(input)
}

func runGenerate(ctx context.Context, args []string, s stdio) int {
	g, code, ok := parseGenFlags("generate", args, s)
	if !ok {
		return code
	}
	files, err := generateFiles(ctx, "generate", g, s)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen generate: %v\n", err)
		return failCode(err)
	}
	if err := os.MkdirAll(g.out, 0o755); err != nil {
		fmt.Fprintf(s.err, "wotgen generate: %v\n", err)
		return exitFindings
	}
	for _, f := range files {
		path := filepath.Join(g.out, f.Name)
		wrote, err := writeIfChanged(path, f.Content)
		if err != nil {
			fmt.Fprintf(s.err, "wotgen generate: %v\n", err)
			return exitFindings
		}
		if wrote {
			fmt.Fprintf(s.out, "wrote %s\n", filepath.ToSlash(path))
		}
	}
	return exitOK
}

// writeIfChanged writes data to path unless the file already holds exactly data (keeping the build
// cache warm). It writes a temporary file in the same directory and renames it over path, so a
// reader or a crash never sees a half-written file.
func writeIfChanged(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err == nil && !isGenerated(old) {
		return false, fmt.Errorf("%s exists and was not generated by wotgen (no \"Code generated\" header); move it away or choose another -o", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, err
	}
	return true, nil
}

// isGenerated reports whether src carries the standard generated-code line (go.dev/s/generatedcode)
// before the package clause.
func isGenerated(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "// Code generated ") && strings.HasSuffix(line, " DO NOT EDIT.") {
			return true
		}
		if strings.HasPrefix(line, "package ") {
			return false
		}
	}
	return false
}
