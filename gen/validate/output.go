package validate

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is an output format for results.
type Format string

// Output formats.
const (
	FormatText   Format = "text"   // file:line:col: severity code: message, for people
	FormatJSON   Format = "json"   // {"files":[...]} for scripts
	FormatGitHub Format = "github" // GitHub Actions workflow commands (annotations on the PR diff)
	FormatSARIF  Format = "sarif"  // SARIF 2.1.0 for code-scanning upload
)

// Formats lists the supported formats.
var Formats = []Format{FormatText, FormatJSON, FormatGitHub, FormatSARIF}

// WriteOptions tune Write.
type WriteOptions struct {
	Color   bool   // ANSI colours (text only); set it only when writing to a terminal
	Quiet   bool   // text/github: print findings only, no "ok" lines or summary
	Strict  bool   // warnings count as failures in the summary
	Version string // tool version for SARIF
}

// Write renders results in format f.
func Write(w io.Writer, f Format, results []Result, o WriteOptions) error {
	switch f {
	case FormatText, "":
		return writeText(w, results, o)
	case FormatJSON:
		return writeJSON(w, results)
	case FormatGitHub:
		return writeGitHub(w, results, o)
	case FormatSARIF:
		return writeSARIF(w, results, o)
	}
	return fmt.Errorf("unknown format %q: use text, json, github or sarif", f)
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
)

func writeText(w io.Writer, results []Result, o WriteOptions) error {
	paint := func(code, s string) string {
		if !o.Color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	files, failed, errs, warns := 0, 0, 0, 0
	for _, r := range results {
		files++
		e, wn := r.Counts()
		errs += e
		warns += wn
		if r.Failed(o.Strict) {
			failed++
		}
		if len(r.Diagnostics) == 0 {
			if !o.Quiet {
				fmt.Fprintf(&b, "%s: %s\n", paint(ansiBold, r.File), paint(ansiGreen, "ok"))
			}
			continue
		}
		for _, d := range r.Diagnostics {
			if o.Quiet && d.Severity == SeverityWarning && !o.Strict {
				continue
			}
			loc := r.File
			if d.Line > 0 {
				loc = fmt.Sprintf("%s:%d:%d", r.File, d.Line, d.Column)
			}
			sev := paint(ansiRed, string(d.Severity))
			if d.Severity == SeverityWarning {
				sev = paint(ansiYellow, string(d.Severity))
			}
			fmt.Fprintf(&b, "%s: %s %s: %s", paint(ansiBold, loc), sev, d.Code, d.Message)
			if d.Pointer != "" {
				fmt.Fprintf(&b, " %s", paint(ansiDim, "(at "+d.Pointer+")"))
			}
			b.WriteByte('\n')
		}
	}
	if !o.Quiet {
		fmt.Fprintf(&b, "%d %s checked, %d failed: %d %s, %d %s\n", files, plural(files, "file", "files"), failed,
			errs, plural(errs, "error", "errors"), warns, plural(warns, "warning", "warnings"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type jsonOut struct {
	Files []jsonFile `json:"files"`
}

type jsonFile struct {
	File        string     `json:"file"`
	Kind        Kind       `json:"kind"`
	Valid       bool       `json:"valid"`
	Diagnostics []jsonDiag `json:"diagnostics"`
}

type jsonDiag struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Pointer  string   `json:"pointer"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
}

func writeJSON(w io.Writer, results []Result) error {
	out := jsonOut{Files: make([]jsonFile, 0, len(results))}
	for _, r := range results {
		f := jsonFile{File: r.File, Kind: r.Kind, Valid: r.Valid, Diagnostics: make([]jsonDiag, 0, len(r.Diagnostics))}
		for _, d := range r.Diagnostics {
			f.Diagnostics = append(f.Diagnostics, jsonDiag{d.Severity, d.Code, d.Message, d.Pointer, d.Line, d.Column})
		}
		out.Files = append(out.Files, f)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// GitHub workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func writeGitHub(w io.Writer, results []Result, o WriteOptions) error {
	var b strings.Builder
	for _, r := range results {
		for _, d := range r.Diagnostics {
			level := "error"
			if d.Severity == SeverityWarning {
				level = "warning"
			}
			fmt.Fprintf(&b, "::%s file=%s", level, ghProp(filepath.ToSlash(r.File)))
			if d.Line > 0 {
				fmt.Fprintf(&b, ",line=%d,col=%d", d.Line, d.Column)
			}
			fmt.Fprintf(&b, ",title=%s::%s", ghProp(d.Code+" "+ruleByCode[d.Code].Title), ghData(d.Message+pointerSuffix(d.Pointer)))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pointerSuffix(p string) string {
	if p == "" {
		return ""
	}
	return " (at " + p + ")"
}

func writeSARIF(w io.Writer, results []Result, o WriteOptions) error {
	type msg struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     msg            `json:"shortDescription"`
		FullDescription      msg            `json:"fullDescription"`
		DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	}
	rules := make([]rule, 0, len(Rules))
	index := map[string]int{}
	for i, r := range Rules {
		index[r.Code] = i
		level := "error"
		if r.Severity == SeverityWarning {
			level = "warning"
		}
		rules = append(rules, rule{r.Code, r.Title, msg{r.Title}, msg{r.Help}, map[string]any{"level": level}})
	}
	var res []map[string]any
	for _, r := range results {
		uri := filepath.ToSlash(r.File)
		for _, d := range r.Diagnostics {
			level := "error"
			if d.Severity == SeverityWarning {
				level = "warning"
			}
			phys := map[string]any{"artifactLocation": map[string]any{"uri": uri}}
			if d.Line > 0 {
				phys["region"] = map[string]any{"startLine": d.Line, "startColumn": d.Column}
			}
			loc := map[string]any{"physicalLocation": phys}
			if d.Pointer != "" {
				loc["logicalLocations"] = []map[string]any{{"fullyQualifiedName": d.Pointer, "kind": "member"}}
			}
			item := map[string]any{
				"ruleId":    d.Code,
				"level":     level,
				"message":   msg{d.Message},
				"locations": []any{loc},
			}
			if i, ok := index[d.Code]; ok {
				item["ruleIndex"] = i
			}
			res = append(res, item)
		}
	}
	if res == nil {
		res = []map[string]any{}
	}
	version := o.Version
	if version == "" {
		version = "devel"
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name":           "wotgen",
				"informationUri": "https://github.com/wotgen/wotgen",
				"version":        version,
				"rules":          rules,
			}},
			"columnKind": "unicodeCodePoints",
			"results":    res,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
