package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "urn:example:lamp",
  "title": "Lamp",
  "base": "wss://lamp.example.org/",
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
  "security": "nosec_sc",
  "properties": {"on": {"type": "boolean", "forms": [{"href": "wtp", "subprotocol": "webthingprotocol"}]}}
}
`

// cliTDWarning has one warning (an unused security scheme) and no error.
var cliTDWarning = strings.Replace(cliTD, `{"nosec_sc": {"scheme": "nosec"}}`, `{"nosec_sc": {"scheme": "nosec"}, "basic_sc": {"scheme": "basic"}}`, 1)

// cliTDError has one error: an undefined security name.
var cliTDError = strings.Replace(cliTD, `"subprotocol": "webthingprotocol"}`, `"subprotocol": "webthingprotocol",
    "security": "bearer_sc"}`, 1)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExitCodes(t *testing.T) {
	dir := t.TempDir()
	ok := writeFile(t, dir, "ok.td.json", cliTD)
	warn := writeFile(t, dir, "warn.td.json", cliTDWarning)
	bad := writeFile(t, dir, "bad.td.json", cliTDError)
	binary := writeFile(t, dir, "bin.json", "\x00\x01\x02\xff\xfe")
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{"valid", []string{"validate", ok}, "", exitOK, "ok.td.json: ok", ""},
		{"warning passes", []string{"validate", warn}, "", exitOK, "warning TD021", ""},
		{"warning fails under -strict", []string{"validate", "-strict", warn}, "", exitFindings, "warning TD021", ""},
		{"error", []string{"validate", bad}, "", exitFindings, "bad.td.json:9:5: error TD020", ""},
		{"quiet valid", []string{"validate", "-q", ok}, "", exitOK, "", ""},
		{"quiet hides warnings", []string{"validate", "-q", warn}, "", exitOK, "", ""},
		{"binary", []string{"validate", binary}, "", exitFindings, "TD001", ""},
		{"stdin", []string{"validate", "-"}, cliTD, exitOK, "<stdin>: ok", ""},
		{"stdin error", []string{"validate", "-"}, cliTDError, exitFindings, "<stdin>:9:5", ""},
		{"missing file", []string{"validate", filepath.Join(dir, "nope.json")}, "", exitUsage, "TD000", "no such file"},
		{"no args", []string{"validate"}, "", exitUsage, "", "no PATH"},
		{"bad format", []string{"validate", "-format", "xml", ok}, "", exitUsage, "", "unknown -format"},
		{"bad kind", []string{"validate", "-kind", "x", ok}, "", exitUsage, "", "unknown -kind"},
		{"help", []string{"validate", "-h"}, "", exitOK, "", "Usage: wotgen validate"},
		{"disable", []string{"validate", "-strict", "-disable", "TD021", warn}, "", exitOK, "ok", ""},
		{"github", []string{"validate", "-format", "github", bad}, "", exitFindings, "::error file=", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.stdin, c.args...)
			if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errs, c.stderr) {
				t.Errorf("wotgen %q = %d\nstdout: %s\nstderr: %s\nwant %d, stdout ~%q, stderr ~%q", c.args, code, out, errs, c.code, c.stdout, c.stderr)
			}
			if c.name == "quiet valid" && out != "" {
				t.Errorf("-q printed %q for a valid file", out)
			}
		})
	}
}

func TestValidateDirectoryAndJSON(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/lamp.td.json", cliTD)
	writeFile(t, dir, "a/b/thing", cliTDError) // no extension: found by content
	writeFile(t, dir, "a/package.json", `{"name": "not-a-td", "version": "1.0.0"}`)
	writeFile(t, dir, "a/model.tm.json", `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "tm:ThingModel", "title": "Lamp {{N}}"}`)
	writeFile(t, dir, "a/.git/x.json", cliTDError) // hidden directories are skipped
	writeFile(t, dir, "a/readme.txt", "hello")
	code, out, errs := runCLI(t, "", "validate", "-format", "json", filepath.Join(dir, "a"))
	if code != exitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, errs)
	}
	var got struct {
		Files []struct {
			File        string `json:"file"`
			Kind        string `json:"kind"`
			Valid       bool   `json:"valid"`
			Diagnostics []struct {
				Severity, Code, Message, Pointer string
				Line, Column                     int
			} `json:"diagnostics"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("-format json output is not JSON: %v\n%s", err, out)
	}
	var summary []string
	for _, f := range got.Files {
		rel, _ := filepath.Rel(dir, f.File)
		summary = append(summary, fmt.Sprintf("%s %s %v %d", filepath.ToSlash(rel), f.Kind, f.Valid, len(f.Diagnostics)))
	}
	want := []string{"a/b/thing td false 1", "a/lamp.td.json td true 0", "a/model.tm.json tm true 0"}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Fatalf("files:\n%s\nwant:\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
	d := got.Files[0].Diagnostics[0]
	if d.Severity != "error" || d.Code != "TD020" || d.Pointer != "/properties/on/forms/0/security" || d.Line != 9 || d.Column != 5 {
		t.Fatalf("diagnostic = %+v", d)
	}
}

func TestValidateURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lamp":
			w.Header().Set("Content-Type", "application/td+json")
			fmt.Fprint(w, cliTD)
		case "/big":
			w.Write([]byte(`{"title": "`))
			chunk := []byte(strings.Repeat("x", 1<<20))
			for i := 0; i < 20; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if code, out, errs := runCLI(t, "", "validate", srv.URL+"/lamp"); code != exitOK || !strings.Contains(out, "ok") {
		t.Errorf("URL: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "validate", srv.URL+"/missing"); code != exitUsage || !strings.Contains(errs+"", "") {
		t.Errorf("404: exit %d, want 2; %s", code, errs)
	}
	if code, out, _ := runCLI(t, "", "validate", "-format", "json", srv.URL+"/big"); code != exitUsage || !strings.Contains(out, "too large") {
		t.Errorf("oversized URL: exit %d, want 2 with a too-large diagnostic\n%s", code, out)
	}
}

func TestValidateSARIF(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.td.json", cliTDError)
	code, out, _ := runCLI(t, "", "validate", "-format", "sarif", bad)
	if code != exitFindings {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						Region struct{ StartLine, StartColumn int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 1 {
		t.Fatalf("unexpected SARIF: %s", out)
	}
	r := doc.Runs[0].Results[0]
	if r.RuleID != "TD020" || r.Level != "error" || r.Locations[0].PhysicalLocation.Region.StartLine != 9 {
		t.Fatalf("unexpected result: %+v", r)
	}
}

// TestValidateAgainstThingModel derives a TD from a model with "wotgen td", checks it with
// "validate -tm", then breaks it the ways an instance can go wrong.
func TestValidateAgainstThingModel(t *testing.T) {
	model := filepath.Join("..", "..", "gen", "tm", "testdata", "lamp.tm.json")
	dir := t.TempDir()
	good := filepath.Join(dir, "lamp.td.json")
	if code, _, errs := runCLI(t, "", "td", "-tm", model, "-wtp", "-base", "ws://127.0.0.1:8080/", "-o", good); code != exitOK {
		t.Fatalf("wotgen td: %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "", "validate", "-tm", model, good); code != exitOK {
		t.Fatalf("derived TD is not an instance: %d\n%s%s", code, out, errs)
	}
	data, _ := os.ReadFile(good)
	var doc map[string]any
	json.Unmarshal(data, &doc)
	delete(doc["actions"].(map[string]any), "toggle")
	doc["properties"].(map[string]any)["status"].(map[string]any)["type"] = "integer"
	bad := filepath.Join(dir, "bad.td.json")
	b, _ := json.MarshalIndent(doc, "", "  ")
	os.WriteFile(bad, b, 0o644)
	code, out, _ := runCLI(t, "", "validate", "-tm", model, bad)
	if code != exitFindings || strings.Count(out, "TM010") < 2 || !strings.Contains(out, "toggle") {
		t.Errorf("broken instance: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "", "validate", "-tm", filepath.Join(dir, "missing.tm.json"), good); code != exitUsage || !strings.Contains(errs, "-tm") {
		t.Errorf("missing model: exit %d %s", code, errs)
	}
}
