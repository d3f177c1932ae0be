package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/gen/tm"
	"github.com/wotgen/wotgen/gen/validate"
	"github.com/wotgen/wotgen/runtime/td"
)

func init() {
	register(command{name: "validate", summary: "check Thing Descriptions and Thing Models for CI (schema and semantic rules, with positions)", run: runValidate})
}

// Input bounds. A TD is rarely above a few hundred KB; the limits only stop runaway inputs.
const (
	maxFileSize  = 64 << 20
	maxURLSize   = 16 << 20
	urlTimeout   = 30 * time.Second
	sniffPrefix  = 512
	stdinName    = "<stdin>"
	walkMaxFiles = 1_000_000
)

// input is one document to validate: a name for messages and how to get its bytes.
type input struct {
	name   string
	read   func(ctx context.Context) ([]byte, error) // file or URL named on the command line
	data   []byte                                    // already read (stdin)
	walked bool                                      // found by a directory walk: validated only if it looks like a TD/TM
	dir    string                                    // the directory argument it was found under
}

type inputState uint8

const (
	validated inputState = iota
	skipped
	failedRead
)

func runValidate(ctx context.Context, args []string, s stdio) int {
	fset := newFlagSet("validate", "[flags] PATH...\n\nPATH is a TD or TM file, a directory (searched recursively; TDs and TMs are recognised by\ncontent), - for standard input, or an http(s) URL", s)
	format := fset.String("format", "text", "output `format`: text, json, github (workflow annotations) or sarif (2.1.0)")
	strict := fset.Bool("strict", false, "treat warnings as failures (exit 1)")
	quiet := fset.Bool("q", false, "quiet: print findings only (errors, and warnings with -strict), no summary")
	kind := fset.String("kind", "auto", "read every document as `td`, tm, or auto (by content: @type tm:ThingModel or *.tm.json is a Thing Model)")
	disable := fset.String("disable", "", "comma-separated rule `codes` to skip, e.g. TD037,TD043")
	model := fset.String("tm", "", "also check that each TD is a correct instance of this Thing `model` (file or URL): mandatory affordances present, types and data schemas not widened (TM010)")
	if code, ok := parseFlags(fset, args); !ok {
		return code
	}
	f := validate.Format(*format)
	okFormat := false
	for _, known := range validate.Formats {
		okFormat = okFormat || f == known
	}
	if !okFormat {
		fmt.Fprintf(s.err, "wotgen validate: unknown -format %q: use text, json, github or sarif\n", *format)
		return exitUsage
	}
	opts := validate.Options{}
	switch *kind {
	case "auto", "":
	case "td", "tm":
		opts.Kind = validate.Kind(*kind)
	default:
		fmt.Fprintf(s.err, "wotgen validate: unknown -kind %q: use td, tm or auto\n", *kind)
		return exitUsage
	}
	if *disable != "" {
		opts.Disable = strings.Split(*disable, ",")
	}
	if fset.NArg() == 0 {
		fmt.Fprintln(s.err, "wotgen validate: no PATH given: name TD/TM files, directories, - (stdin) or URLs")
		fset.Usage()
		return exitUsage
	}
	v, err := validate.New(opts)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen validate: %v\n", err)
		return exitFindings
	}

	var tmodel *tm.Model
	if *model != "" {
		if tmodel, err = tm.Resolve(ctx, tm.NewLoader(), *model); err != nil {
			fmt.Fprintf(s.err, "wotgen validate: -tm %s: %v\n", *model, err)
			return exitUsage
		}
	}

	inputs, bad := collectInputs(fset.Args(), s)
	unreadable := len(bad) > 0
	results := make([]validate.Result, len(inputs))
	state := make([]inputState, len(inputs)) // each written by one worker only
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(inputs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				in := inputs[i]
				data := in.data
				if data == nil {
					var err error
					if in.walked {
						var ok bool
						data, ok, err = sniffFile(in.name)
						if err == nil && !ok {
							state[i] = skipped
							continue
						}
					} else {
						data, err = in.read(ctx)
					}
					if err != nil {
						results[i] = validate.Unreadable(in.name, err)
						state[i] = failedRead
						continue
					}
				}
				results[i] = v.Validate(in.name, data)
				if tmodel != nil && results[i].Kind == validate.KindTD {
					v.Add(&results[i], data, instanceFindings(tmodel, *model, data)...)
				}
			}
		}()
	}
feed:
	for i := range inputs {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		fmt.Fprintf(s.err, "wotgen validate: interrupted: %v\n", err)
		return exitUsage
	}
	kept := results[:0]
	foundPerDir := map[string]int{}
	for i, st := range state {
		if st == skipped {
			continue
		}
		if st == failedRead {
			unreadable = true
		}
		if inputs[i].dir != "" {
			foundPerDir[inputs[i].dir]++
		}
		kept = append(kept, results[i])
	}
	results = append(kept, bad...)
	for _, in := range inputs {
		if in.dir != "" && foundPerDir[in.dir] == 0 {
			fmt.Fprintf(s.err, "wotgen validate: %s: no TD or TM files found\n", in.dir)
			foundPerDir[in.dir] = -1 // say it once
		}
	}

	wo := validate.WriteOptions{Color: f == validate.FormatText && isTerminal(s.out), Quiet: *quiet, Strict: *strict, Version: version()}
	if err := validate.Write(s.out, f, results, wo); err != nil {
		fmt.Fprintf(s.err, "wotgen validate: writing output: %v\n", err)
		return exitUsage
	}
	if unreadable {
		return exitUsage
	}
	for i := range results {
		if results[i].Failed(*strict) {
			return exitFindings
		}
	}
	return exitOK
}

// instanceFindings checks data against the Thing Model and returns the findings as TM010.
func instanceFindings(m *tm.Model, name string, data []byte) []validate.Diagnostic {
	var out []validate.Diagnostic
	for _, d := range tm.CheckInstance(m, data) {
		sev := validate.SeverityError
		if d.Severity == tm.SeverityWarning {
			sev = validate.SeverityWarning
		}
		out = append(out, validate.NewDiagnostic(validate.CodeInstance, sev, d.Pointer, d.Msg+" (Thing Model "+name+")"))
	}
	return out
}

// collectInputs expands the PATH arguments. Directory walks read and sniff files here so that only
// TDs and TMs are validated; explicit files are always validated. Paths that cannot be read at all
// come back as results of their own; they make the exit code 2.
func collectInputs(args []string, s stdio) ([]input, []validate.Result) {
	var inputs []input
	var bad []validate.Result
	fail := func(name string, err error) {
		fmt.Fprintf(s.err, "wotgen validate: %s: %v\n", name, err)
		bad = append(bad, validate.Unreadable(name, err))
	}
	stdinUsed := false
	for _, arg := range args {
		switch {
		case arg == "-":
			if stdinUsed {
				continue
			}
			stdinUsed = true
			data, err := readLimited(s.in, maxFileSize)
			if err != nil {
				fail(stdinName, err)
				continue
			}
			inputs = append(inputs, input{name: stdinName, data: data})
		case td.IsURL(arg):
			u := arg
			inputs = append(inputs, input{name: u, read: func(ctx context.Context) ([]byte, error) {
				body, _, err := td.Fetch(ctx, u, td.FetchOptions{MaxSize: maxURLSize, Timeout: urlTimeout})
				return body, err
			}})
		default:
			fi, err := os.Stat(arg)
			if err != nil {
				fail(arg, friendlyPathError(err))
				continue
			}
			if !fi.IsDir() {
				p := arg
				inputs = append(inputs, input{name: p, read: func(context.Context) ([]byte, error) { return readFile(p) }})
				continue
			}
			dir := arg
			n := 0
			err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					fail(p, friendlyPathError(err))
					if d != nil && d.IsDir() {
						return fs.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					name := d.Name()
					if p != arg && (strings.HasPrefix(name, ".") || name == "node_modules") {
						return fs.SkipDir
					}
					return nil
				}
				if !d.Type().IsRegular() {
					return nil
				}
				if n++; n > walkMaxFiles {
					return fs.SkipAll
				}
				inputs = append(inputs, input{name: p, walked: true, dir: dir})
				return nil
			})
			if err != nil {
				fail(arg, err)
			}
			if n == 0 {
				fmt.Fprintf(s.err, "wotgen validate: %s: no TD or TM files found\n", arg)
			}
		}
	}
	return inputs, bad
}

// sniffFile reads a file found by a directory walk if it looks like a TD or TM (ok); files that do
// not start like a JSON object are not read past their first bytes.
func sniffFile(path string) (data []byte, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, friendlyPathError(err)
	}
	defer f.Close()
	head := make([]byte, sniffPrefix)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")), " \t\r\n")
	if !validate.LooksLikeWoT(path, nil) && (len(trimmed) == 0 || trimmed[0] != '{') {
		return nil, false, nil
	}
	rest, err := readLimited(f, maxFileSize-int64(n))
	if err != nil {
		return nil, false, err
	}
	data = append(head, rest...)
	return data, validate.LooksLikeWoT(path, data), nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, friendlyPathError(err)
	}
	defer f.Close()
	return readLimited(f, maxFileSize)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d MiB; no TD is that big: check that this is the right file", limit>>20)
	}
	return data, nil
}

func friendlyPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return errors.New("no such file or directory")
		case errors.Is(err, fs.ErrPermission):
			return errors.New("permission denied")
		}
		return pe.Err
	}
	return err
}

// isTerminal reports whether w is a character device, and colour is not switched off (NO_COLOR).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
