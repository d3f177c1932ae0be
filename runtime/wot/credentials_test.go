package wot

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/runtime/td"
)

func TestAuthorizePlacesEveryScheme(t *testing.T) {
	th := parseTD(t, `{`+strings.Replace(tdHead, `"securityDefinitions": {"n": {"scheme": "nosec"}}`, `"securityDefinitions": {
		"n": {"scheme": "nosec"},
		"basic": {"scheme": "basic"},
		"bearer": {"scheme": "bearer"},
		"bearerq": {"scheme": "bearer", "in": "query", "name": "access_token"},
		"oauth": {"scheme": "oauth2", "flow": "client"},
		"hdr": {"scheme": "apikey", "in": "header", "name": "X-Key"},
		"query": {"scheme": "apikey", "in": "query", "name": "key"},
		"dflt": {"scheme": "apikey", "name": "k"},
		"cookie": {"scheme": "apikey", "in": "cookie", "name": "session"},
		"either": {"scheme": "combo", "oneOf": ["bearer", "basic"]},
		"both": {"scheme": "combo", "allOf": ["hdr", "basic"]},
		"loop": {"scheme": "combo", "allOf": ["loop"]},
		"digest": {"scheme": "digest"},
		"nameless": {"scheme": "apikey", "in": "header"}}`, 1)+`}`)
	type want struct{ header, value, query, cookie string }
	cfg := newConfig([]DialOption{WithBasicAuth("u", "p"), WithAPIKey("k1"), WithBearerToken("tok")})
	cases := []struct {
		sec  string
		cfg  *Config
		want want
	}{
		{"n", cfg, want{"Authorization", "", "", ""}},
		{"basic", cfg, want{"Authorization", "Basic dTpw", "", ""}},
		{"bearer", cfg, want{"Authorization", "Bearer tok", "", ""}},
		{"bearerq", cfg, want{"Authorization", "", "access_token=tok", ""}},
		{"oauth", cfg, want{"Authorization", "Bearer tok", "", ""}},
		{"hdr", cfg, want{"X-Key", "k1", "", ""}},
		{"query", cfg, want{"", "", "key=k1", ""}},
		{"dflt", cfg, want{"", "", "k=k1", ""}},
		{"cookie", cfg, want{"Cookie", "session=k1", "", ""}},
		{"either", cfg, want{"Authorization", "Bearer tok", "", ""}},
		{"either", newConfig([]DialOption{WithBasicAuth("u", "p")}), want{"Authorization", "Basic dTpw", "", ""}}, // no token: the basic alternative
		{"both", cfg, want{"X-Key", "k1", "", ""}},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, "https://thing.example/p?x=1", nil)
		if err := tc.cfg.Authorize(req, th, &td.Form{Security: td.StringList{tc.sec}}); err != nil {
			t.Errorf("%s: %v", tc.sec, err)
			continue
		}
		if tc.want.header != "" {
			if got := req.Header.Get(tc.want.header); got != tc.want.value {
				t.Errorf("%s: %s = %q, want %q", tc.sec, tc.want.header, got, tc.want.value)
			}
		}
		wantQ := "x=1"
		if tc.want.query != "" {
			wantQ = tc.want.query + "&x=1" // url.Values.Encode sorts by key
		}
		if req.URL.RawQuery != wantQ {
			t.Errorf("%s: query %q, want %q", tc.sec, req.URL.RawQuery, wantQ)
		}
	}
	// allOf adds both.
	req, _ := http.NewRequest(http.MethodGet, "https://thing.example/", nil)
	if err := cfg.Authorize(req, th, &td.Form{Security: td.StringList{"both"}}); err != nil || req.Header.Get("Authorization") != "Basic dTpw" {
		t.Errorf("allOf: %v, Authorization %q", err, req.Header.Get("Authorization"))
	}
	// The form's security replaces the Thing's (nosec); without form security the Thing's applies.
	req, _ = http.NewRequest(http.MethodGet, "https://thing.example/", nil)
	if err := cfg.Authorize(req, th, &td.Form{}); err != nil || req.Header.Get("Authorization") != "" {
		t.Errorf("Thing-level nosec: %v, %v", err, req.Header)
	}

	failures := []struct {
		sec  string
		cfg  *Config
		want string
	}{
		{"bearer", newConfig(nil), "WithBearerToken"},
		{"oauth", newConfig(nil), "oauth2"},
		{"basic", newConfig(nil), "WithBasicAuth"},
		{"hdr", newConfig(nil), "WithAPIKey"},
		{"either", newConfig(nil), "WithBearerToken"},
		{"loop", cfg, "nest too deeply"},
		{"digest", newConfig(nil), "WithHeader"},
		{"missing", cfg, "securityDefinitions"},
		{"nameless", cfg, `no "name"`},
	}
	for _, tc := range failures {
		req, _ := http.NewRequest(http.MethodGet, "https://thing.example/", nil)
		err := tc.cfg.Authorize(req, th, &td.Form{Security: td.StringList{tc.sec}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.sec, err, tc.want)
		}
	}
	// A credential given by hand with WithHeader satisfies its scheme.
	req, _ = http.NewRequest(http.MethodGet, "https://thing.example/", nil)
	if err := newConfig([]DialOption{WithHeader("Authorization", "Bearer manual")}).Authorize(req, th, &td.Form{Security: td.StringList{"bearer"}}); err != nil {
		t.Errorf("hand-set Authorization: %v", err)
	}
	// A provider wins over static credentials and sees the scheme; it runs on every call.
	calls := 0
	pcfg := newConfig([]DialOption{WithBearerToken("static"), WithCredentials(func(s *td.SecurityScheme) (Credentials, error) {
		calls++
		if s.Scheme != td.SchemeBearer {
			return Credentials{}, errors.New("unexpected scheme " + s.Scheme)
		}
		return Credentials{Token: "fresh"}, nil
	})})
	for range 2 {
		req, _ = http.NewRequest(http.MethodGet, "https://thing.example/", nil)
		if err := pcfg.Authorize(req, th, &td.Form{Security: td.StringList{"bearer"}}); err != nil || req.Header.Get("Authorization") != "Bearer fresh" {
			t.Errorf("provider: %v, %q", err, req.Header.Get("Authorization"))
		}
	}
	if calls != 2 {
		t.Errorf("provider called %d times, want 2", calls)
	}
	req, _ = http.NewRequest(http.MethodGet, "https://thing.example/", nil)
	if err := pcfg.Authorize(req, th, &td.Form{Security: td.StringList{"basic"}}); err == nil || !strings.Contains(err.Error(), "unexpected scheme basic") {
		t.Errorf("provider error: %v", err)
	}
}
