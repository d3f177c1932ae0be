package wothttp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// DefaultMaxBodySize bounds a response body and one server-sent event unless
// WithMaxBodySize says otherwise.
const DefaultMaxBodySize = 16 << 20

// maxRedirects is how many redirects a request follows.
const maxRedirects = 5

func init() { wot.Register(Binding{}) }

// WithMaxBodySize bounds the body of every answer and the data of every server-sent event
// the HTTP binding reads (default DefaultMaxBodySize, 16 MiB): a Thing that sends more gets
// an error instead of the consumer's memory.
func WithMaxBodySize(n int64) wot.DialOption { return wot.DialSetting(maxBodyKey{}, n) }

type maxBodyKey struct{}

func maxBodyOf(cfg *wot.Config) int64 {
	if n, ok := cfg.Setting(maxBodyKey{}).(int64); ok && n > 0 {
		return n
	}
	return DefaultMaxBodySize
}

// secretHeaders lists the request headers that may carry credentials for t: the standard
// ones, every header a security scheme of the TD names, and those given with WithHeader
// (a key given that way is a credential as far as the client can tell).
func secretHeaders(t *td.Thing, cfg *wot.Config) []string {
	hs := []string{"Authorization", "Proxy-Authorization", "Cookie"}
	for _, s := range t.SecurityDefinitions {
		if s != nil && s.Name != "" && (s.In == "" || strings.EqualFold(s.In, "header")) {
			hs = append(hs, http.CanonicalHeaderKey(s.Name))
		}
	}
	for k := range cfg.Header {
		hs = append(hs, http.CanonicalHeaderKey(k))
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// checkRedirect follows at most maxRedirects redirects, reports a loop as such, and strips
// every credential header when a redirect leaves the origin (scheme, host and port) of the
// first request: credentials meant for one Thing never reach another server. next is the
// configured client's own policy, consulted afterwards.
func (c *client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		for _, v := range via {
			if sameURL(v.URL, req.URL) {
				return fmt.Errorf("redirect loop: %s redirects back to itself (through %d hops); fix the Thing's redirects", td.RedactURL(req.URL), len(via))
			}
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects (last to %s)", maxRedirects, td.RedactURL(req.URL))
		}
		if origin(req.URL) != origin(via[0].URL) {
			for _, h := range c.secret {
				req.Header.Del(h)
			}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

func sameURL(a, b *url.URL) bool {
	return origin(a) == origin(b) && a.EscapedPath() == b.EscapedPath() && a.RawQuery == b.RawQuery
}

// origin is the RFC 6454 origin of an http(s) URL, with the default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
