package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// secretEnvPrefix starts the environment variable a scaffolded server reads a scheme's secret from.
const secretEnvPrefix = "WOTGEN_SECRET_"

// scaffoldSecret is a security scheme of the served TD that needs a secret at run time: the
// scaffold's server takes it from -secret NAME=VALUE or from Env and hands it to wot.AuthFromTD.
type scaffoldSecret struct {
	Name   string // the securityDefinitions key
	Scheme string // bearer, basic or apikey
	Env    string // the environment variable that may hold the secret
	Format string // what the secret is, for -help: a token, user:password or a key
	Test   string // the made-up secret the scaffold's test serves with
}

// Made-up secrets of the scaffold's test, one per kind, so that one client option per kind
// (wot.WithBearerToken, WithBasicAuth, WithAPIKey) fits every scheme of that kind.
const (
	testBearerToken = "test-token"
	testBasicUser   = "test-user"
	testBasicPass   = "test-password"
	testAPIKey      = "test-key"
)

// scaffoldSecurity makes d's top-level security one the scaffold's server can check with
// wot.AuthFromTD and returns the schemes that need a secret, in securityDefinitions order.
// Alternatives of a oneOf combo the server cannot check (digest, oauth2, psk, an API key in the
// URI or the body, …) are dropped from the served TD; when what remains still cannot be checked,
// the module serves without authentication (nosec) and a note says so.
func scaffoldSecurity(d *td.Thing) ([]scaffoldSecret, []string) {
	var notes []string
	if len(d.Security) == 0 {
		return nil, nil
	}
	reason := checkable(d, d.Security, 0, &notes)
	var secrets []scaffoldSecret
	if reason == "" {
		secrets = secretsOf(d)
		given := map[string]string{}
		for _, s := range secrets {
			given[s.Name] = s.Test
		}
		if _, err := wot.AuthFromTD(d, given); err != nil {
			reason = err.Error()
		}
	}
	if reason != "" {
		notes = append(notes, fmt.Sprintf("the TD's security cannot be checked by wot.AuthFromTD (%s); the module serves without authentication: write a wot.Authenticator (wot.WithAuthenticator in main.go) and put the TD's security back", reason))
		d.SecurityDefinitions = map[string]*td.SecurityScheme{"nosec_sc": {Scheme: td.SchemeNoSec}}
		d.Security = td.StringList{"nosec_sc"}
		return nil, notes
	}
	return secrets, notes
}

// checkable returns why the schemes names (all required) cannot be checked, or "". It drops
// the alternatives of oneOf combos that cannot be checked, noting each.
func checkable(d *td.Thing, names []string, depth int, notes *[]string) string {
	if depth > 8 {
		return "combo schemes nest too deeply"
	}
	for _, n := range names {
		s := d.SecurityDefinitions[n]
		if s == nil {
			return fmt.Sprintf("%q is not in securityDefinitions", n)
		}
		switch {
		case s.Scheme == td.SchemeCombo && len(s.OneOf) > 0:
			var kept []string
			var why []string
			for _, alt := range s.OneOf {
				if r := checkable(d, []string{alt}, depth+1, notes); r != "" {
					why = append(why, r)
					continue
				}
				kept = append(kept, alt)
			}
			if len(kept) == 0 {
				return strings.Join(why, "; ")
			}
			if len(kept) < len(s.OneOf) {
				*notes = append(*notes, fmt.Sprintf("combo security %q: the module accepts only %s of its alternatives (%s)", n, strings.Join(kept, ", "), strings.Join(why, "; ")))
				c := *s
				c.OneOf = kept
				d.SecurityDefinitions[n] = &c
			}
		case s.Scheme == td.SchemeCombo:
			if r := checkable(d, s.AllOf, depth+1, notes); r != "" {
				return r
			}
		case s.Scheme == td.SchemeNoSec:
		case s.Scheme == td.SchemeBearer && slices.Contains([]string{"", "header", "query"}, s.In):
		case s.Scheme == td.SchemeBasic && slices.Contains([]string{"", "header"}, s.In):
		case s.Scheme == td.SchemeAPIKey && slices.Contains([]string{"", "header", "query", "cookie"}, s.In) && headerToken(s.Name):
		default:
			where := ""
			if s.In != "" {
				where = " in " + s.In
			}
			return fmt.Sprintf("scheme %q is %s%s", n, s.Scheme, where)
		}
	}
	return ""
}

// headerToken reports whether name can be a header, query parameter or cookie name (an RFC 9110
// token), which is what an API key's name must be for the server to find it.
func headerToken(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// secretsOf lists the schemes d's security reaches that need a secret, sorted by name, each with
// a distinct environment variable.
func secretsOf(d *td.Thing) []scaffoldSecret {
	seen := map[string]bool{}
	var walk func(names []string, depth int)
	walk = func(names []string, depth int) {
		for _, n := range names {
			s := d.SecurityDefinitions[n]
			if s == nil || seen[n] || depth > 8 {
				continue
			}
			seen[n] = true
			if s.Scheme == td.SchemeCombo {
				walk(s.OneOf, depth+1)
				walk(s.AllOf, depth+1)
			}
		}
	}
	walk(d.Security, 0)
	var names []string
	for n := range seen {
		if s := d.SecurityDefinitions[n].Scheme; s == td.SchemeBearer || s == td.SchemeBasic || s == td.SchemeAPIKey {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	envs := map[string]bool{}
	var out []scaffoldSecret
	for _, n := range names {
		s := scaffoldSecret{Name: n, Scheme: d.SecurityDefinitions[n].Scheme}
		switch s.Scheme {
		case td.SchemeBearer:
			s.Format, s.Test = "the bearer token", testBearerToken
		case td.SchemeBasic:
			s.Format, s.Test = "user:password", testBasicUser+":"+testBasicPass
		case td.SchemeAPIKey:
			s.Format, s.Test = "the API key", testAPIKey
		}
		s.Env = secretEnvPrefix + envName(n)
		for i := 2; envs[s.Env]; i++ {
			s.Env = fmt.Sprintf("%s%s_%d", secretEnvPrefix, envName(n), i)
		}
		envs[s.Env] = true
		out = append(out, s)
	}
	return out
}

// envName turns a securityDefinitions name into the tail of an environment variable name:
// upper case letters, digits and underscores.
func envName(n string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(n) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
