package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/runtime/td"
)

func init() {
	register(command{name: "td", summary: "derive a Thing Description instance from a Thing Model", run: runTD})
}

// setFlags collects repeated -set NAME=VALUE flags.
type setFlags map[string]any

func (s setFlags) String() string { return "" }

func (s setFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE (e.g. -set MAX_TEMP=40 or -set ROOM=kitchen), got %q", v)
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("placeholder %s is set twice", name)
	}
	s[name] = tm.ParseValue(value)
	return nil
}

func runTD(ctx context.Context, args []string, s stdio) int {
	fs := newFlagSet("td", "-tm MODEL [-set NAME=VALUE ...] [-base URL] [-wtp] [-optional] [-o FILE]", s)
	model := fs.String("tm", "", "Thing Model to instantiate: file path or http(s) URL (required)")
	values := setFlags{}
	fs.Var(values, "set", "placeholder value NAME=VALUE (repeatable); VALUE is JSON when it parses (40, true, {\"a\":1}, \"40\"), else a string")
	base := fs.String("base", "", "base URL of the Thing (ws/wss, or http/https: WTP hrefs then become ws/wss URLs)")
	wtp := fs.Bool("wtp", false, "add Web Thing Protocol forms to every affordance and the Thing-level meta operations")
	optional := fs.Bool("optional", false, "keep the model's tm:optional affordances (default: leave them out)")
	out := fs.String("o", "", "write the TD to FILE instead of standard output")
	modelURL := fs.String("model-url", "", "URL of the model for the TD's rel=type link (default: the -tm URL when it is http(s))")
	offline := fs.Bool("offline", false, "never fetch over the network (linked models must be local files)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *model == "" || fs.NArg() > 0 {
		if fs.NArg() > 0 {
			fmt.Fprintf(s.err, "wotgen td: unexpected argument %q; the model goes after -tm\n", fs.Arg(0))
		} else {
			fmt.Fprintln(s.err, "wotgen td: -tm MODEL is required")
		}
		fs.Usage()
		return exitUsage
	}
	l := tm.NewLoader()
	l.Offline = *offline
	m, err := tm.Resolve(ctx, l, *model)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen td: %v\n", err)
		var le *tm.LoadError
		if errors.As(err, &le) && errors.Is(err, os.ErrNotExist) {
			return exitUsage
		}
		return exitFindings
	}
	if diags := validateModel(m); len(diags) > 0 {
		fmt.Fprintf(s.err, "wotgen td: the model %s is not valid; fix it first:\n", *model)
		for _, d := range diags {
			fmt.Fprintf(s.err, "  %s\n", d)
		}
		return exitFindings
	}
	mu := *modelURL
	if mu == "" && (strings.HasPrefix(*model, "http://") || strings.HasPrefix(*model, "https://")) {
		mu = *model
	}
	doc, warns, err := tm.Derive(m, tm.Options{Values: values, Base: *base, WTP: *wtp, KeepOptional: *optional, ModelURL: mu})
	for _, w := range append(m.Warnings, warns...) {
		fmt.Fprintf(s.err, "wotgen td: warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(s.err, "wotgen td: %v\n", err)
		return exitFindings
	}
	if diags := validateDerived(doc); len(diags) > 0 {
		fmt.Fprintln(s.err, "wotgen td: the derived TD is not valid (the model cannot be instantiated as it is):")
		for _, d := range diags {
			fmt.Fprintf(s.err, "  %s\n", d)
		}
		return exitFindings
	}
	if *out == "" {
		if _, err := s.out.Write(doc); err != nil {
			fmt.Fprintf(s.err, "wotgen td: %v\n", err)
			return exitFindings
		}
		return exitOK
	}
	if err := writeFileAtomic(*out, doc); err != nil {
		fmt.Fprintf(s.err, "wotgen td: %v\n", err)
		return exitFindings
	}
	return exitOK
}

// validateModel returns the model's problems (empty when it may be instantiated). Resolution
// already rejects documents that are not Thing Models; gen/validate adds the schema checks.
func validateModel(m *tm.Model) []string { return nil }

// validateDerived checks that a derived TD is a usable TD.
func validateDerived(doc []byte) []string {
	t, err := td.Parse(doc)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	if t.Title == "" {
		out = append(out, "/title: missing")
	}
	if len(t.Security) == 0 {
		out = append(out, "/security: missing")
	}
	sort.Strings(out)
	return out
}

// writeFileAtomic writes data to path through a temporary file in the same directory, so a
// failure never leaves a truncated TD behind.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".wotgen-td-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
