package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// scaffoldFiles scaffolds src and returns its files by path, the served TD and the notes.
func scaffoldFiles(t *testing.T, src string) (map[string]string, *td.Thing, string) {
	t.Helper()
	files, notes, err := scaffold(context.Background(), src, "example.com/x", "", "")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	var served *td.Thing
	for _, f := range files {
		m[f.path] = string(f.data)
		if strings.HasSuffix(f.path, ".json") && !strings.Contains(f.path, "/") {
			if served, err = td.Parse(f.data); err != nil {
				t.Fatalf("served TD: %v", err)
			}
		}
	}
	if served == nil {
		t.Fatal("no TD among the scaffold's files")
	}
	return m, served, strings.Join(notes, "\n")
}

// TestNewSecurity: the scaffold keeps the TD's security, its server takes each scheme's secret
// from -secret or WOTGEN_SECRET_<NAME> and checks requests with wot.AuthFromTD, and its test's
// client presents the matching credentials; combo alternatives the server cannot check are
// dropped, and security it cannot check at all is replaced by nosec with a note.
func TestNewSecurity(t *testing.T) {
	corpus := filepath.Join(testcorpus.Dir(t), "td", "valid")
	for _, c := range []struct {
		file     string
		secrets  []string // name/scheme/env
		options  []string // in thing_test.go
		security string   // the served TD's top-level security
		note     string
	}{
		{"wot-testing__Panasonic-PanaSimRoomLight5.json", []string{"bearer_sc/bearer/WOTGEN_SECRET_BEARER_SC"},
			[]string{`wot.WithBearerToken("test-token")`}, "bearer_sc", ""},
		{"playground__basic-security.td.json", []string{"basic_sc/basic/WOTGEN_SECRET_BASIC_SC"},
			[]string{`wot.WithBasicAuth("test-user", "test-password")`}, "basic_sc", ""},
		{"wot-testing__Color-Lamp-onsite-TUM.td.json", []string{"basic_sc/apikey/WOTGEN_SECRET_BASIC_SC"},
			[]string{`wot.WithAPIKey("test-key")`}, "basic_sc", ""},
		{"playground__combo-security-def-oneOf.td.json", []string{"basic_sc/basic/WOTGEN_SECRET_BASIC_SC", "bearer_sc/bearer/WOTGEN_SECRET_BEARER_SC"},
			[]string{`wot.WithBearerToken("test-token")`, `wot.WithBasicAuth("test-user", "test-password")`}, "combo_sc",
			`combo security "combo_sc": the module accepts only basic_sc, bearer_sc of its alternatives (scheme "digest_sc" is digest)`},
		{"wot-testing__2022.06.Online-philips-hue-tum-daylight.td.json", nil, nil, "nosec_sc",
			`the TD's security cannot be checked by wot.AuthFromTD (scheme "api_sc" is apikey in uri); the module serves without authentication`},
	} {
		t.Run(c.file, func(t *testing.T) {
			files, served, notes := scaffoldFiles(t, filepath.Join(corpus, c.file))
			if c.note != "" && !strings.Contains(notes, c.note) {
				t.Errorf("notes lack %q:\n%s", c.note, notes)
			}
			if !slices.Equal(served.Security, []string{c.security}) {
				t.Errorf("served security %v, want %s", served.Security, c.security)
			}
			main, test := files["main.go"], files["thing_test.go"]
			if len(c.secrets) == 0 {
				if strings.Contains(main, "AuthFromTD") || !strings.Contains(main, `flag.String("token"`) {
					t.Errorf("an unsecured module should offer -token only:\n%s", main)
				}
				return
			}
			for _, s := range c.secrets {
				name, scheme, env := strings.Split(s, "/")[0], strings.Split(s, "/")[1], strings.Split(s, "/")[2]
				if served.SecurityDefinitions[name] == nil || served.SecurityDefinitions[name].Scheme != scheme {
					t.Errorf("served TD lost scheme %s (%s)", name, scheme)
				}
				for _, want := range []string{`{"` + name + `", "` + env + `"}`, name + " (" + scheme + ")"} {
					if !strings.Contains(main, want) {
						t.Errorf("main.go lacks %q", want)
					}
				}
				if !strings.Contains(files["README.md"], "`"+env+"`") {
					t.Errorf("README.md does not name %s", env)
				}
			}
			for _, want := range []string{"wot.AuthFromTD(desc, secrets)", "wot.WithAuthenticator(auth)", "os.LookupEnv(s.env)"} {
				if !strings.Contains(main, want) {
					t.Errorf("main.go lacks %q", want)
				}
			}
			for _, want := range append([]string{"func TestSecrets", "credentials...)"}, c.options...) {
				if !strings.Contains(test, want) {
					t.Errorf("thing_test.go lacks %q", want)
				}
			}
		})
	}
}

// TestNewSecurityAllOf: every scheme of an allOf combo needs its secret and its credential;
// security names are turned into distinct environment variable names.
func TestNewSecurityAllOf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "two.td.json")
	os.WriteFile(p, []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"Two","id":"urn:x:two",
		"securityDefinitions":{"tok-en":{"scheme":"bearer"},"tok_en":{"scheme":"apikey","in":"header","name":"X-Key"},
		  "both":{"scheme":"combo","allOf":["tok-en","tok_en"]}},"security":"both",
		"properties":{"on":{"type":"boolean","forms":[{"href":"http://h/on"}]}}}`), 0o644)
	files, served, _ := scaffoldFiles(t, p)
	if served.SecurityDefinitions["both"] == nil || len(served.SecurityDefinitions["both"].AllOf) != 2 {
		t.Fatalf("served security %+v", served.SecurityDefinitions)
	}
	for _, want := range []string{`{"tok-en", "WOTGEN_SECRET_TOK_EN"}`, `{"tok_en", "WOTGEN_SECRET_TOK_EN_2"}`} {
		if !strings.Contains(files["main.go"], want) {
			t.Errorf("main.go lacks %q", want)
		}
	}
	for _, want := range []string{`wot.WithBearerToken("test-token")`, `wot.WithAPIKey("test-key")`} {
		if !strings.Contains(files["thing_test.go"], want) {
			t.Errorf("thing_test.go lacks %q", want)
		}
	}
}
