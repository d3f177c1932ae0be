package wot

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// Authenticator verifies the credentials of a request (for WTP, the WebSocket handshake).
// It returns the principal (who is calling) or an error; the request is then refused with
// 401 (or the status of a returned *Error, e.g. Forbidden for 403), before any binding sees
// it. An Authenticator that knows its WWW-Authenticate challenge has a method Challenge()
// string; the 401 carries it.
type Authenticator interface {
	Authenticate(r *http.Request) (principal string, err error)
}

// challenger is an Authenticator that knows its WWW-Authenticate challenge.
type challenger interface {
	Challenge() string
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (string, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, error) { return f(r) }

// errBadCredentials is deliberately vague: it must not tell a guesser which part was wrong.
var errBadCredentials = errors.New("wot: missing or wrong credentials")

// secretEqual compares in constant time, independent of the lengths too (both sides are
// hashed first), so response timing reveals nothing about the secret.
func secretEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

type bearerAuth struct{ token, query string }

// BearerAuth accepts "Authorization: Bearer <token>" with the given token (TD scheme
// "bearer"). The principal is "bearer".
func BearerAuth(token string) Authenticator { return bearerAuth{token: token} }

// BearerQueryAuth accepts the token in the Authorization header or in the query parameter
// name (default "access_token", RFC 6750 §2.3): browsers cannot set headers on a
// WebSocket handshake or an EventSource (TD bearer scheme with "in": "query"). URLs end up
// in logs, so prefer headers where the consumer can send them. The principal is "bearer".
func BearerQueryAuth(name, token string) Authenticator {
	if name == "" {
		name = "access_token"
	}
	return bearerAuth{token: token, query: name}
}

func (a bearerAuth) Authenticate(r *http.Request) (string, error) {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok && a.query != "" && r.Header.Get("Authorization") == "" {
		cred, scheme, ok = r.URL.Query().Get(a.query), "Bearer", r.URL.Query().Has(a.query)
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || !secretEqual(strings.TrimSpace(cred), a.token) {
		return "", errBadCredentials
	}
	return "bearer", nil
}

func (bearerAuth) Challenge() string { return `Bearer realm="wot"` }

type basicAuth struct{ user, pass string }

// BasicAuth accepts HTTP Basic credentials (TD scheme "basic"). The principal is the user.
func BasicAuth(user, pass string) Authenticator { return basicAuth{user, pass} }

func (a basicAuth) Authenticate(r *http.Request) (string, error) {
	u, p, ok := r.BasicAuth()
	// Evaluate both comparisons so timing does not reveal which one failed.
	userOK, passOK := secretEqual(u, a.user), secretEqual(p, a.pass)
	if !ok || !userOK || !passOK {
		return "", errBadCredentials
	}
	return u, nil
}

func (basicAuth) Challenge() string { return `Basic realm="wot", charset="UTF-8"` }

type apiKeyAuth struct{ in, name, key string }

// APIKeyAuth accepts an API key (TD scheme "apikey") in a header, a query parameter or a
// cookie: in is "header", "query" or "cookie" (TD default "query"), name is the header,
// parameter or cookie name. Prefer headers: URLs end up in logs.
// The principal is "apikey".
func APIKeyAuth(in, name, key string) Authenticator {
	if in == "" {
		in = "query"
	}
	return apiKeyAuth{in, name, key}
}

func (a apiKeyAuth) Authenticate(r *http.Request) (string, error) {
	var got string
	switch a.in {
	case "header":
		got = r.Header.Get(a.name)
	case "query":
		got = r.URL.Query().Get(a.name)
	case "cookie":
		if c, err := r.Cookie(a.name); err == nil {
			got = c.Value
		}
	default:
		return "", fmt.Errorf("wot: API key location %q is not supported; use header, query or cookie", a.in)
	}
	if got == "" || !secretEqual(got, a.key) {
		return "", errBadCredentials
	}
	return "apikey", nil
}

func (a apiKeyAuth) Challenge() string {
	return fmt.Sprintf(`APIKey realm="wot", in=%q, name=%q`, a.in, a.name)
}

// AnyAuth accepts a request that any of the authenticators accepts (a TD with several
// alternative security schemes).
func AnyAuth(as ...Authenticator) Authenticator { return anyAuth(as) }

type anyAuth []Authenticator

func (as anyAuth) Authenticate(r *http.Request) (string, error) {
	err := error(errBadCredentials)
	for _, a := range as {
		p, e := a.Authenticate(r)
		if e == nil {
			return p, nil
		}
		err = e
	}
	return "", err
}

func (as anyAuth) Challenge() string {
	var parts []string
	for _, a := range as {
		if c, ok := a.(challenger); ok {
			parts = append(parts, c.Challenge())
		}
	}
	return strings.Join(parts, ", ")
}

// authFromScheme builds the Authenticator for one TD security scheme with the expected
// secret: the token (bearer), "user:password" (basic) or the key (apikey). nosec returns
// nil (no authentication).
func authFromScheme(s *td.SecurityScheme, secret string) (Authenticator, error) {
	switch s.Scheme {
	case td.SchemeNoSec:
		return nil, nil
	case td.SchemeBearer:
		switch s.In {
		case "", "header":
			return BearerAuth(secret), nil
		case "query":
			return BearerQueryAuth(s.Name, secret), nil
		}
		return nil, fmt.Errorf("wot: bearer tokens in %q are not supported; use in: header or in: query", s.In)
	case td.SchemeBasic:
		user, pass, ok := strings.Cut(secret, ":")
		if !ok {
			return nil, errors.New(`wot: basic credentials must be given as "user:password"`)
		}
		return BasicAuth(user, pass), nil
	case td.SchemeAPIKey:
		if s.Name == "" {
			return nil, errors.New("wot: the apikey scheme has no name; set the header, query or cookie name in the TD")
		}
		return APIKeyAuth(s.In, s.Name, secret), nil
	}
	return nil, fmt.Errorf("wot: security scheme %q is not supported by the request authenticator; use nosec, basic, bearer or apikey, or write an Authenticator", s.Scheme)
}

// AuthFromTD builds the Authenticator for a TD's top-level security: every
// scheme listed must pass (TD semantics), "combo" schemes combine their oneOf/allOf members,
// and nosec needs nothing. secrets maps securityDefinitions names to the expected secret
// (see authFromScheme). It returns nil when nothing needs checking.
func AuthFromTD(t *td.Thing, secrets map[string]string) (Authenticator, error) {
	return authFromNames(t, t.Security, secrets, true, 0)
}

func authFromNames(t *td.Thing, names []string, secrets map[string]string, all bool, depth int) (Authenticator, error) {
	if depth > 8 {
		return nil, errors.New("wot: combo security schemes nest too deeply (a cycle?)")
	}
	if all {
		if err := sameCarrier(t, names); err != nil {
			return nil, err
		}
	}
	var list []Authenticator
	for _, name := range names {
		s := t.SecurityDefinitions[name]
		if s == nil {
			return nil, fmt.Errorf("wot: security %q is not in securityDefinitions", name)
		}
		var a Authenticator
		var err error
		switch {
		case s.Scheme == td.SchemeCombo && len(s.OneOf) > 0:
			a, err = authFromNames(t, s.OneOf, secrets, false, depth+1)
		case s.Scheme == td.SchemeCombo:
			a, err = authFromNames(t, s.AllOf, secrets, true, depth+1)
		case s.Scheme == td.SchemeNoSec:
			if !all {
				return nil, nil // one alternative needs nothing: nothing to check
			}
			continue
		default:
			secret, ok := secrets[name]
			if !ok {
				return nil, fmt.Errorf("wot: no secret given for security scheme %q (%s)", name, s.Scheme)
			}
			a, err = authFromScheme(s, secret)
		}
		if err != nil {
			return nil, err
		}
		if a != nil {
			list = append(list, a)
		}
	}
	switch {
	case len(list) == 0:
		return nil, nil
	case len(list) == 1:
		return list[0], nil
	case all:
		return allAuth(list), nil
	}
	return anyAuth(list), nil
}

// sameCarrier refuses schemes that must all pass (a Thing's security list, a combo's allOf,
// nested allOf combos) when two of them need the same header, query parameter or cookie: a
// request carries one value there, so no request could pass (basic and bearer, say, both
// need Authorization).
func sameCarrier(t *td.Thing, names []string) error {
	seen := map[string]string{} // where a credential travels → the scheme that needs it there
	var walk func(names []string, depth int) error
	walk = func(names []string, depth int) error {
		if depth > 8 {
			return nil // authFromNames reports the cycle
		}
		for _, name := range names {
			s := t.SecurityDefinitions[name]
			if s == nil {
				continue // authFromNames reports it
			}
			if s.Scheme == td.SchemeCombo && len(s.OneOf) == 0 {
				if err := walk(s.AllOf, depth+1); err != nil {
					return err
				}
				continue
			}
			where := carrier(s)
			if where == "" {
				continue
			}
			if other, ok := seen[where]; ok && other != name {
				return fmt.Errorf("wot: security schemes %q and %q must both pass but both need the %s: no request can carry both; make them alternatives (combo oneOf) or move one elsewhere (in/name)", other, name, where)
			}
			seen[where] = name
		}
		return nil
	}
	return walk(names, 0)
}

// carrier is where a request carries the credential of a basic, bearer or apikey scheme
// ("header Authorization", "query access_token"), or "" for other schemes.
func carrier(s *td.SecurityScheme) string {
	switch s.Scheme {
	case td.SchemeBasic:
		return "header Authorization"
	case td.SchemeBearer:
		if s.In == "query" {
			return "query parameter " + cmp.Or(s.Name, "access_token")
		}
		return "header Authorization"
	case td.SchemeAPIKey:
		switch s.In {
		case "query":
			return "query parameter " + s.Name
		case "cookie":
			return "cookie " + s.Name
		}
		return "header " + http.CanonicalHeaderKey(s.Name)
	}
	return ""
}

// allAuth accepts a request that every authenticator accepts; the principal is the first's.
type allAuth []Authenticator

func (as allAuth) Authenticate(r *http.Request) (string, error) {
	principal := ""
	for i, a := range as {
		p, err := a.Authenticate(r)
		if err != nil {
			return "", err
		}
		if i == 0 {
			principal = p
		}
	}
	return principal, nil
}

func (as allAuth) Challenge() string { return anyAuth(as).Challenge() }
