package wtp

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// handshakeAuth is what the security schemes of one form add to the WebSocket handshake.
type handshakeAuth struct {
	header  http.Header
	query   url.Values
	cookies []string
}

func (a *handshakeAuth) setHeader(name, value string) {
	if a.header == nil {
		a.header = http.Header{}
	}
	a.header.Set(name, value)
}

func (a *handshakeAuth) setQuery(name, value string) {
	if a.query == nil {
		a.query = url.Values{}
	}
	a.query.Set(name, value)
}

// credentialsFor returns the credentials for scheme: the WithCredentials provider first,
// then the static options.
func (cfg *dialConfig) credentialsFor(name string, s *td.SecurityScheme) (Credentials, error) {
	var cr Credentials
	if cfg.credentials != nil {
		var err error
		if cr, err = cfg.credentials(s); err != nil {
			return Credentials{}, fmt.Errorf("wtp: credentials for security scheme %q (%s): %w", name, s.Scheme, err)
		}
	}
	if cr.isZero() {
		if cfg.bearerSet {
			cr.Token = cfg.bearer
		}
		if cfg.basicSet {
			cr.Username, cr.Password = cfg.basicUser, cfg.basicPass
		}
		if cfg.apiKeySet {
			cr.APIKey = cfg.apiKey
		}
	}
	return cr, nil
}

// authFor resolves the security definitions named by a form (or the TD) into handshake
// credentials. Names in the list all apply (TD semantics); combo schemes are expanded.
func (cfg *dialConfig) authFor(t *td.Thing, names []string) (*handshakeAuth, error) {
	a := &handshakeAuth{}
	for _, n := range names {
		if err := cfg.applyScheme(t, n, a, 0); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (cfg *dialConfig) applyScheme(t *td.Thing, name string, a *handshakeAuth, depth int) error {
	if depth > 8 {
		return fmt.Errorf("wtp: security scheme %q: combo schemes nest too deeply (a cycle?); fix the TD's securityDefinitions", name)
	}
	s := t.SecurityDefinitions[name]
	if s == nil {
		return fmt.Errorf("wtp: the TD names security %q but securityDefinitions has no such entry; fix the TD", name)
	}
	switch strings.ToLower(s.Scheme) {
	case td.SchemeNoSec:
		return nil
	case td.SchemeCombo:
		if len(s.AllOf) > 0 {
			for _, n := range s.AllOf {
				if err := cfg.applyScheme(t, n, a, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		// oneOf: the first alternative we have credentials for.
		var firstErr error
		for _, n := range s.OneOf {
			try := &handshakeAuth{}
			err := cfg.applyScheme(t, n, try, depth+1)
			if err == nil {
				a.merge(try)
				return nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("wtp: combo security scheme %q has neither oneOf nor allOf; fix the TD", name)
		}
		return firstErr
	case td.SchemeBearer, td.SchemeOAuth2:
		cr, err := cfg.credentialsFor(name, s)
		if err != nil {
			return err
		}
		if cr.Token == "" {
			if hasHeader(cfg.header, s.Name, "Authorization") {
				return nil // the caller set it by hand with WithHeader
			}
			return fmt.Errorf("wtp: the Thing requires a bearer token (security scheme %q, %s); pass WithBearerToken or WithCredentials", name, s.Scheme)
		}
		return placeCredential(name, s, "header", "Authorization", "Bearer "+cr.Token, cr.Token, a)
	case td.SchemeBasic:
		cr, err := cfg.credentialsFor(name, s)
		if err != nil {
			return err
		}
		if cr.Username == "" && cr.Password == "" {
			if hasHeader(cfg.header, s.Name, "Authorization") {
				return nil
			}
			return fmt.Errorf("wtp: the Thing requires a user name and password (security scheme %q, basic); pass WithBasicAuth or WithCredentials", name)
		}
		v := base64.StdEncoding.EncodeToString([]byte(cr.Username + ":" + cr.Password))
		return placeCredential(name, s, "header", "Authorization", "Basic "+v, v, a)
	case td.SchemeAPIKey:
		cr, err := cfg.credentialsFor(name, s)
		if err != nil {
			return err
		}
		if s.Name == "" {
			return fmt.Errorf("wtp: apikey security scheme %q has no \"name\"; fix the TD or set the key with WithHeader", name)
		}
		if cr.APIKey == "" {
			if hasHeader(cfg.header, s.Name, "") {
				return nil
			}
			return fmt.Errorf("wtp: the Thing requires an API key (security scheme %q, %s %q); pass WithAPIKey or WithCredentials", name, inOrDefault(s.In, "query"), s.Name)
		}
		return placeCredential(name, s, "query", "", cr.APIKey, cr.APIKey, a)
	case td.SchemeAuto:
		// "auto" lets the client pick: use whatever static credentials we were given.
		cr, err := cfg.credentialsFor(name, s)
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
		if len(cfg.header) > 0 {
			return nil // assume the caller supplied it with WithHeader
		}
		return fmt.Errorf("wtp: security scheme %q (%s) is not supported by the WTP consumer; send the credentials with WithHeader", name, s.Scheme)
	}
}

// placeCredential puts a credential where the scheme's "in"/"name" say. headerValue is
// used in the Authorization header (with its auth-scheme prefix), raw elsewhere.
func placeCredential(schemeName string, s *td.SecurityScheme, defIn, defName, headerValue, raw string, a *handshakeAuth) error {
	in := inOrDefault(s.In, defIn)
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
		a.setQuery(name, raw)
	case "cookie":
		if name == "" {
			return fmt.Errorf("wtp: security scheme %q puts the credential in a cookie but has no \"name\"; fix the TD", schemeName)
		}
		a.cookies = append(a.cookies, (&http.Cookie{Name: name, Value: raw}).String())
	default:
		return fmt.Errorf("wtp: security scheme %q: credentials \"in\": %q are not supported over WebSocket; send them with WithHeader", schemeName, in)
	}
	return nil
}

func (a *handshakeAuth) merge(b *handshakeAuth) {
	for k, vs := range b.header {
		for _, v := range vs {
			a.setHeader(k, v)
		}
	}
	for k, vs := range b.query {
		for _, v := range vs {
			a.setQuery(k, v)
		}
	}
	a.cookies = append(a.cookies, b.cookies...)
}

func inOrDefault(in, def string) string {
	if in == "" {
		return def
	}
	return strings.ToLower(in)
}

func hasHeader(h http.Header, name, def string) bool {
	if name == "" {
		name = def
	}
	return name != "" && h.Get(name) != ""
}

// authWithoutTD is used for Dial with a ws URL: there are no schemes, so the static
// credentials go where they usually go.
func (cfg *dialConfig) authWithoutTD() (*handshakeAuth, error) {
	a := &handshakeAuth{}
	switch {
	case cfg.bearerSet:
		a.setHeader("Authorization", "Bearer "+cfg.bearer)
	case cfg.basicSet:
		a.setHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.basicUser+":"+cfg.basicPass)))
	}
	if cfg.apiKeySet {
		return nil, fmt.Errorf("wtp: WithAPIKey needs the TD's apikey scheme to know where the key goes; Dial the TD URL instead, or send the key with WithHeader")
	}
	return a, nil
}
