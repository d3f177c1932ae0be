package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTD(t *testing.T) {
	valve := filepath.Join("..", "..", "gen", "tm", "testdata", "valve.tm.json")
	dir := t.TempDir()
	out := filepath.Join(dir, "valve.td.json")
	invalid := filepath.Join(dir, "bad.tm.json")
	if err := os.WriteFile(invalid, []byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "tm:ThingModel", "title": "bad",
  "properties": {"p": {"type": "strin"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"td"}, exitUsage, "", "-tm MODEL is required"},
		{[]string{"td", "-h"}, exitOK, "", "Usage: wotgen td"},
		{[]string{"td", "-tm", valve, "extra"}, exitUsage, "", `unexpected argument "extra"`},
		{[]string{"td", "-tm", valve, "-set", "NOEQUALS"}, exitUsage, "", "want NAME=VALUE"},
		{[]string{"td", "-tm", "does-not-exist.tm.json"}, exitUsage, "", "no such file"},
		{[]string{"td", "-tm", invalid, "-wtp"}, exitFindings, "", "bad.tm.json:2:"},
		{[]string{"td", "-tm", valve, "-wtp", "-set", "VALVE_NO=7"}, exitFindings, "", "MAX_FLOW (at /properties/targetFlow/maximum), VALVE_UUID"},
		{[]string{"td", "-tm", valve, "-set", "VALVE_NO=7", "-set", "VALVE_UUID=u1", "-set", "MAX_FLOW=40"}, exitFindings, "", "pass -wtp"},
		{[]string{"td", "-tm", valve, "-wtp", "-set", "VALVE_NO=7", "-set", "VALVE_UUID=u1", "-set", "MAX_FLOW=40", "-base", "https://farm.example.org/v7/"}, exitOK, `"href": "wss://farm.example.org/v7/wtp"`, "nosec"},
		{[]string{"td", "-tm", valve, "-wtp", "-optional", "-set", "VALVE_NO=7", "-set", "VALVE_UUID=u1", "-set", "MAX_FLOW=40", "-o", out}, exitOK, "", ""},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			t.Errorf("wotgen %q = %d\nstdout: %s\nstderr: %s\nwant %d, stdout ~%q, stderr ~%q", c.args, code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	props := d["properties"].(map[string]any)
	if props["targetFlow"].(map[string]any)["maximum"] != 40.0 || props["flowLocal"] == nil || d["title"] != "Valve 7" {
		t.Errorf("-o output:\n%s", data)
	}
}

func TestTDFromURL(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("..", "..", "gen", "tm", "testdata", "lamp.tm.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/tm+json")
		w.Write(model)
	}))
	defer srv.Close()
	url := srv.URL + "/models/lamp.tm.json"
	code, stdout, stderr := runCLI(t, "", "td", "-tm", url, "-wtp")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var d struct {
		Links  []struct{ Rel, Href, Type string }
		Events map[string]any
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Links) != 1 || d.Links[0].Rel != "type" || d.Links[0].Href != url || d.Links[0].Type != "application/tm+json" {
		t.Errorf("links = %+v", d.Links)
	}
	if len(d.Events) != 0 {
		t.Errorf("optional event kept without -optional: %v", d.Events)
	}
	if code, _, stderr := runCLI(t, "", "td", "-tm", url, "-offline"); code != exitFindings || !strings.Contains(stderr, "network access is disabled") {
		t.Errorf("-offline: exit %d: %s", code, stderr)
	}
}
