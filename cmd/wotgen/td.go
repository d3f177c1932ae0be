package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/gen/validate"
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
	diags, nwarn := validateModel(l, *model, m)
	if len(diags) > 0 {
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
	if nwarn > 0 {
		fmt.Fprintf(s.err, "wotgen td: note: the validator has %d warning(s) about the model; run \"wotgen validate %s\" to see them\n", nwarn, *model)
	}
	if err != nil {
		fmt.Fprintf(s.err, "wotgen td: %v\n", err)
		return exitFindings
	}
	name := "derived TD"
	if *out != "" {
		name = *out
	}
	if diags := validateDerived(name, doc, s.err); len(diags) > 0 {
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

// validateModel validates every Thing Model document the resolution loaded (the model and the
// models it extends or composes). It returns the error diagnostics and the number of warnings;
// the warnings are not printed because resolution already reports the ones that matter for
// instantiation (and "wotgen validate MODEL" lists them all).
func validateModel(l *tm.Loader, root string, m *tm.Model) (errs []string, warnings int) {
	v, err := validate.New(validate.Options{Kind: validate.KindTM})
	if err != nil {
		return []string{err.Error()}, 0
	}
	for _, d := range l.Documents() {
		if !tm.IsThingModel(d.Data) {
			continue // a tm:ref target that is not a model (e.g. a file of shared schemas)
		}
		name := d.URL.String()
		if name == m.URL {
			name = root
		} else if d.URL.Scheme == "file" {
			name = filepath.FromSlash(d.URL.Path)
		}
		for _, diag := range v.Validate(name, d.Data).Diagnostics {
			if diag.Severity == validate.SeverityError {
				errs = append(errs, diag.String())
			} else {
				warnings++
			}
		}
	}
	return errs, warnings
}

// validateDerived validates a derived TD and returns its error diagnostics; warnings go to warn.
func validateDerived(name string, doc []byte, warn io.Writer) []string {
	v, err := validate.New(validate.Options{Kind: validate.KindTD})
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	seen := map[string]int{} // warnings per code: the first is shown, the rest counted
	var order []string
	for _, d := range v.Validate(name, doc).Diagnostics {
		if d.Severity == validate.SeverityError {
			errs = append(errs, d.String())
			continue
		}
		if seen[d.Code] == 0 {
			fmt.Fprintf(warn, "wotgen td: %s\n", d)
			order = append(order, d.Code)
		}
		seen[d.Code]++
	}
	for _, c := range order {
		if n := seen[c] - 1; n > 0 {
			fmt.Fprintf(warn, "wotgen td: (%d more %s warning(s) like the one above)\n", n, c)
		}
	}
	return errs
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
