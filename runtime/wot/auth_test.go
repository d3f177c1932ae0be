package wot

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/runtime/td"
)

func TestAuthFromTD(t *testing.T) {
	doc := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}, "bearer_sc": {"scheme": "bearer"},
	   "key_sc": {"scheme": "apikey", "in": "header", "name": "X-Key"},
	   "either": {"scheme": "combo", "oneOf": ["bearer_sc", "key_sc"]},
	   "both": {"scheme": "combo", "allOf": ["bearer_sc", "key_sc"]}},
	 "security": "either"}`
	d := mustParseTD(t, doc)
	secrets := map[string]string{"bearer_sc": "tok", "key_sc": "k"}
	check := func(a Authenticator, h http.Header, want bool) {
		t.Helper()
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header = h
		if _, err := a.Authenticate(r); (err == nil) != want {
			t.Errorf("%v: got %v", h, err)
		}
	}
	a, err := AuthFromTD(d, secrets)
	if err != nil {
		t.Fatal(err)
	}
	check(a, http.Header{"Authorization": {"Bearer tok"}}, true)
	check(a, http.Header{"X-Key": {"k"}}, true)
	check(a, http.Header{}, false)
	d.Security = td.StringList{"both"}
	a, _ = AuthFromTD(d, secrets)
	check(a, http.Header{"Authorization": {"Bearer tok"}}, false)
	check(a, http.Header{"Authorization": {"Bearer tok"}, "X-Key": {"k"}}, true)
	d.Security = td.StringList{"nosec_sc"}
	if a, err := AuthFromTD(d, nil); a != nil || err != nil {
		t.Errorf("nosec: %v %v", a, err)
	}
	d.Security = td.StringList{"bearer_sc"}
	if _, err := AuthFromTD(d, nil); err == nil {
		t.Error("missing secret accepted")
	}
	d.Security = td.StringList{"nope"}
	if _, err := AuthFromTD(d, secrets); err == nil {
		t.Error("unknown scheme name accepted")
	}
}

func TestAuthFromScheme(t *testing.T) {
	for _, tc := range []struct {
		scheme td.SecurityScheme
		secret string
		ok     bool
		nilA   bool
	}{
		{td.SecurityScheme{Scheme: "nosec"}, "", true, true},
		{td.SecurityScheme{Scheme: "bearer"}, "tok", true, false},
		{td.SecurityScheme{Scheme: "bearer", In: "query"}, "tok", true, false},
		{td.SecurityScheme{Scheme: "bearer", In: "cookie"}, "tok", false, false},
		{td.SecurityScheme{Scheme: "basic"}, "u:p", true, false},
		{td.SecurityScheme{Scheme: "basic"}, "nocolon", false, false},
		{td.SecurityScheme{Scheme: "apikey", In: "header", Name: "X-Key"}, "k", true, false},
		{td.SecurityScheme{Scheme: "apikey"}, "k", false, false},
		{td.SecurityScheme{Scheme: "oauth2"}, "k", false, false},
	} {
		a, err := authFromScheme(&tc.scheme, tc.secret)
		if (err == nil) != tc.ok || (a == nil) != (tc.nilA || !tc.ok) {
			t.Errorf("%+v: %v %v", tc.scheme, a, err)
		}
	}
}

func TestSecretEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		eq   bool
	}{
		{"s3cret", "s3cret", true},
		{"s3cret", "s3creT", false},
		{"s3cret", "s3cre", false},      // prefix
		{"s3cret", "s3cret\x00", false}, // longer
		{"", "", true},                  // both empty (callers refuse empty secrets themselves)
		{"", "x", false},                // empty
		{strings.Repeat("a", 10000), "a", false},
	} {
		if got := secretEqual(tc.a, tc.b); got != tc.eq {
			t.Errorf("secretEqual(%.10q, %.10q) = %v", tc.a, tc.b, got)
		}
	}
	// An empty API key never matches a configured one, even when the parameter is present.
	r := httptest.NewRequest("GET", "/x?key=", nil)
	if _, err := APIKeyAuth("query", "key", "k3y").Authenticate(r); err == nil {
		t.Fatal("an empty API key was accepted")
	}
}

// Schemes that must all pass cannot share where a request carries their credentials: the
// Thing could not be reached at all, so AuthFromTD says so instead.
func TestAuthFromTDSameCarrier(t *testing.T) {
	doc := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "securityDefinitions": {"basic_sc": {"scheme": "basic"}, "bearer_sc": {"scheme": "bearer"},
	   "auth_key": {"scheme": "apikey", "in": "header", "name": "authorization"},
	   "q1": {"scheme": "apikey", "in": "query", "name": "key"}, "q2": {"scheme": "bearer", "in": "query", "name": "key"},
	   "x_key": {"scheme": "apikey", "in": "header", "name": "X-Key"},
	   "both": {"scheme": "combo", "allOf": ["basic_sc", "bearer_sc"]},
	   "nested": {"scheme": "combo", "allOf": ["x_key", "both"]},
	   "either": {"scheme": "combo", "oneOf": ["basic_sc", "bearer_sc"]}},
	 "security": "both"}`
	d := mustParseTD(t, doc)
	secrets := map[string]string{"basic_sc": "u:p", "bearer_sc": "tok", "auth_key": "k", "q1": "a", "q2": "b", "x_key": "x"}
	for _, c := range []struct {
		security []string
		want     string // "" when it must work
	}{
		{[]string{"both"}, `"basic_sc" and "bearer_sc" must both pass but both need the header Authorization`},
		{[]string{"nested"}, `"basic_sc" and "bearer_sc"`},
		{[]string{"basic_sc", "auth_key"}, `"basic_sc" and "auth_key"`},
		{[]string{"q1", "q2"}, "query parameter key"},
		{[]string{"either"}, ""},
		{[]string{"x_key", "either"}, ""},
		{[]string{"x_key", "bearer_sc"}, ""},
	} {
		d.Security = c.security
		_, err := AuthFromTD(d, secrets)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("security %v: %v, want %q", c.security, err, c.want)
		}
	}
}
