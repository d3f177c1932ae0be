package wot

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// Credentials are what a security scheme needs. Only the members the scheme uses matter:
// Token for bearer and oauth2, Username and Password for basic, APIKey for apikey.
type Credentials struct {
	Token    string
	Username string
	Password string
	APIKey   string
}

// authParts collects what the security schemes add to a request, so a failed oneOf
// alternative leaves the request untouched.
type authParts struct {
	header  http.Header
	query   [][2]string
	cookies []*http.Cookie
}

func (a *authParts) setHeader(name, value string) {
	if a.header == nil {
		a.header = http.Header{}
	}
	a.header.Set(name, value)
}

func (a *authParts) merge(b *authParts) {
	for k, vs := range b.header {
		for _, v := range vs {
			a.setHeader(k, v)
		}
	}
	a.query = append(a.query, b.query...)
	a.cookies = append(a.cookies, b.cookies...)
}

// Authorize applies the credentials for the effective security of form f of t (the form's
// own security, else the TD's) to req: nosec, basic, bearer, oauth2 (its token sent as a
// bearer token), apikey in a header, query parameter or cookie, and combo (oneOf: the first
// alternative with credentials; allOf: all of them). A WebSocket handshake is an HTTP
// request too. Headers from WithHeader are not added (the binding adds them), but a
// credential already given that way satisfies its scheme. The error says which option is
// missing.
func (c *Config) Authorize(req *http.Request, t *td.Thing, f *td.Form) error {
	if t == nil {
		return fmt.Errorf("wot: Authorize needs the TD")
	}
	a := &authParts{}
	for _, n := range t.EffectiveSecurity(f) {
		if err := c.applyScheme(req, t, n, a, 0); err != nil {
			return err
		}
	}
	for k, vs := range a.header {
		req.Header[k] = vs
	}
	if len(a.query) > 0 {
		q := req.URL.Query()
		for _, kv := range a.query {
			q.Set(kv[0], kv[1])
		}
		req.URL.RawQuery = q.Encode()
	}
	for _, ck := range a.cookies {
		req.AddCookie(ck)
	}
	return nil
}

// credentialsFor returns the credentials for scheme: the WithCredentials provider first,
// then the static options.
func (c *Config) credentialsFor(name string, s *td.SecurityScheme) (Credentials, error) {
	var cr Credentials
	if c.credentials != nil {
		var err error
		if cr, err = c.credentials(s); err != nil {
			return Credentials{}, fmt.Errorf("wot: credentials for security scheme %q (%s): %w", name, s.Scheme, err)
		}
	}
	if cr == (Credentials{}) {
		if c.bearerSet {
			cr.Token = c.bearer
		}
		if c.basicSet {
			cr.Username, cr.Password = c.basicUser, c.basicPass
		}
		if c.apiKeySet {
			cr.APIKey = c.apiKey
		}
	}
	return cr, nil
}

// givenByHand reports whether the header that carries a credential was set with WithHeader
// or on the request already.
func (c *Config) givenByHand(req *http.Request, name, def string) bool {
	if name == "" {
		name = def
	}
	return name != "" && (c.Header.Get(name) != "" || req.Header.Get(name) != "")
}

func (c *Config) applyScheme(req *http.Request, t *td.Thing, name string, a *authParts, depth int) error {
	if depth > 8 {
		return fmt.Errorf("wot: security scheme %q: combo schemes nest too deeply (a cycle?); fix the TD's securityDefinitions", name)
	}
	s := t.SecurityDefinitions[name]
	if s == nil {
		return fmt.Errorf("wot: the TD names security %q but securityDefinitions has no such entry; fix the TD", name)
	}
	switch strings.ToLower(s.Scheme) {
	case td.SchemeNoSec:
		return nil
	case td.SchemeCombo:
		if len(s.AllOf) > 0 {
			for _, n := range s.AllOf {
				if err := c.applyScheme(req, t, n, a, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		var firstErr error
		for _, n := range s.OneOf {
			try := &authParts{}
			err := c.applyScheme(req, t, n, try, depth+1)
			if err == nil {
				a.merge(try)
				return nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("wot: combo security scheme %q has neither oneOf nor allOf; fix the TD", name)
		}
		return firstErr
	case td.SchemeBearer, td.SchemeOAuth2:
		cr, err := c.credentialsFor(name, s)
		if err != nil {
			return err
		}
		if cr.Token == "" {
			if c.givenByHand(req, s.Name, "Authorization") {
				return nil
			}
			return fmt.Errorf("wot: the Thing requires a bearer token (security scheme %q, %s); pass WithBearerToken or WithCredentials", name, s.Scheme)
		}
		return place(name, s, "header", "Authorization", "Bearer "+cr.Token, cr.Token, a)
	case td.SchemeBasic:
		cr, err := c.credentialsFor(name, s)
		if err != nil {
			return err
		}
		if cr.Username == "" && cr.Password == "" {
			if c.givenByHand(req, s.Name, "Authorization") {
				return nil
			}
			return fmt.Errorf("wot: the Thing requires a user name and password (security scheme %q, basic); pass WithBasicAuth or WithCredentials", name)
		}
		v := base64.StdEncoding.EncodeToString([]byte(cr.Username + ":" + cr.Password))
		return place(name, s, "header", "Authorization", "Basic "+v, v, a)
	case td.SchemeAPIKey:
		cr, err := c.credentialsFor(name, s)
		if err != nil {
			return err
		}
		if s.Name == "" {
			return fmt.Errorf("wot: apikey security scheme %q has no \"name\"; fix the TD or set the key with WithHeader", name)
		}
		if cr.APIKey == "" {
			if c.givenByHand(req, s.Name, "") {
				return nil
			}
			return fmt.Errorf("wot: the Thing requires an API key (security scheme %q, %s %q); pass WithAPIKey or WithCredentials", name, inOr(s.In, "query"), s.Name)
		}
		return place(name, s, "query", "", cr.APIKey, cr.APIKey, a)
	case td.SchemeAuto:
		// "auto" lets the client pick: whatever static credentials we were given.
		cr, err := c.credentialsFor(name, s)
		if err != nil {
			return err
		}
		switch {
		case cr.Token != "":
			a.setHeader("Authorization", "Bearer "+cr.Token)
		case cr.Username != "" || cr.Password != "":
			a.setHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cr.Username+":"+cr.Password)))
		}
		return nil
	default:
		if len(c.Header) > 0 {
			return nil // assume the caller supplied it with WithHeader
		}
		return fmt.Errorf("wot: security scheme %q (%s) is not supported; send the credentials with WithHeader", name, s.Scheme)
	}
}

// place puts a credential where the scheme's "in"/"name" say: headerValue (with its
// auth-scheme prefix) in an Authorization header, raw anywhere else.
func place(schemeName string, s *td.SecurityScheme, defIn, defName, headerValue, raw string, a *authParts) error {
	in := inOr(s.In, defIn)
	name := s.Name
	if name == "" {
		name = defName
	}
	switch in {
	case "header", "auto":
		if name == "" {
			name = "Authorization"
		}
		if strings.EqualFold(name, "Authorization") {
			a.setHeader(name, headerValue)
		} else {
			a.setHeader(name, raw)
		}
	case "query":
		if name == "" {
			name = "access_token"
		}
		a.query = append(a.query, [2]string{name, raw})
	case "cookie":
		if name == "" {
			return fmt.Errorf("wot: security scheme %q puts the credential in a cookie but has no \"name\"; fix the TD", schemeName)
		}
		a.cookies = append(a.cookies, &http.Cookie{Name: name, Value: raw})
	default:
		return fmt.Errorf("wot: security scheme %q: credentials \"in\": %q are not supported; send them with WithHeader", schemeName, in)
	}
	return nil
}

func inOr(in, def string) string {
	if in == "" {
		return def
	}
	return strings.ToLower(in)
}
