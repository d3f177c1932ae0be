package td

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Fetch limits used when FetchOptions leaves them zero.
const (
	DefaultMaxSize      = 8 << 20 // bytes; the largest public TDs are a few hundred KB
	DefaultFetchTimeout = 30 * time.Second
	DefaultMaxRedirects = 5
)

// FetchOptions bounds what Fetch and ReadSource accept. The zero value gives safe defaults.
type FetchOptions struct {
	Client       *http.Client  // default: a client with no cookie jar; its CheckRedirect is replaced
	MaxSize      int64         // maximum document size in bytes
	Timeout      time.Duration // for the whole request, body included
	MaxRedirects int
	Header       http.Header // extra request headers (for example Authorization)
}

func (o FetchOptions) withDefaults() FetchOptions {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFetchTimeout
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	return o
}

// ErrTooLarge is returned (wrapped) when a document exceeds FetchOptions.MaxSize.
var ErrTooLarge = errors.New("document too large")

// IsURL reports whether src names an http or https URL rather than a file.
func IsURL(src string) bool {
	s := strings.ToLower(src)
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Fetch retrieves a TD (the Scripting API's requestThingDescription) over http or https, with the size,
// time and redirect bounds of o. Redirects may only lead to http or https URLs. It returns the body
// and the final URL, against which relative hrefs resolve when the TD has no base.
func Fetch(ctx context.Context, rawURL string, o FetchOptions) ([]byte, *url.URL, error) {
	o = o.withDefaults()
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("fetch %q: want an http:// or https:// URL", rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client := http.Client{Timeout: o.Timeout}
	if o.Client != nil {
		client = *o.Client
	}
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > o.MaxRedirects {
			return fmt.Errorf("more than %d redirects", o.MaxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s: only http and https are followed", req.URL.Scheme)
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme == "http" {
			return fmt.Errorf("redirect from https to http refused: it would send the request unencrypted")
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", RedactURL(u), err)
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/td+json, application/json;q=0.9, */*;q=0.1")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", RedactURL(u), scrubURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, nil, fmt.Errorf("fetch %s: HTTP %s: the TD itself needs credentials; pass them as request headers", RedactURL(u), resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("fetch %s: HTTP %s", RedactURL(u), resp.Status)
	}
	if resp.ContentLength > o.MaxSize {
		return nil, nil, fmt.Errorf("fetch %s: %w: %d bytes, limit %d", RedactURL(u), ErrTooLarge, resp.ContentLength, o.MaxSize)
	}
	body, err := readLimited(resp.Body, o.MaxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", RedactURL(u), err)
	}
	return body, resp.Request.URL, nil
}

// ReadSource reads a TD from a file path or an http(s) URL with the bounds of o. For a file the
// returned URL is its file:// URL.
func ReadSource(ctx context.Context, src string, o FetchOptions) ([]byte, *url.URL, error) {
	if IsURL(src) {
		return Fetch(ctx, src, o)
	}
	o = o.withDefaults()
	f, err := os.Open(src)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is a directory, not a TD file", src)
	}
	body, err := readLimited(f, o.MaxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", src, err)
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		abs = src
	}
	return body, &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return body, nil
}

// RedactURL renders u for error messages and logs: without user info, and with a query (where
// API keys travel) shown as "?REDACTED". A nil u is "<no URL>".
func RedactURL(u *url.URL) string {
	if u == nil {
		return "<no URL>"
	}
	c := *u
	c.User = nil
	c.ForceQuery = false
	if c.RawQuery != "" {
		c.RawQuery = "REDACTED"
	}
	return c.String()
}

// scrubURLError keeps the cause of a *url.Error but drops its copy of the URL, which RedactURL
// already printed without secrets.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
