package wot

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// RequestThingDescription fetches and parses the TD at rawURL (http or https), the Scripting
// API's requestThingDescription, with td.Fetch's bounds: size (WithMaxTDSize), time
// (WithRequestTimeout, and the context) and redirects (at most 5, http/https only).
// WithHeader, WithHTTPClient and WithTLSConfig apply; static bearer or basic credentials are
// sent too, since TD directories usually sit behind the same authentication.
func RequestThingDescription(ctx context.Context, rawURL string, opts ...DialOption) (*td.Thing, error) {
	t, _, err := fetchTD(ctx, rawURL, newConfig(opts))
	return t, err
}

// fetchTD returns the TD and the URL it was finally served from (relative hrefs resolve
// against it).
func fetchTD(ctx context.Context, rawURL string, cfg *Config) (*td.Thing, *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("wot: TD URL %q must be http:// or https:// (to connect to a WTP endpoint directly, Dial a ws:// URL with WithThingID)", rawURL)
	}
	hc, err := cfg.HTTPClient()
	if err != nil {
		return nil, nil, err
	}
	hdr := cfg.Header.Clone()
	switch {
	case hdr.Get("Authorization") != "":
	case cfg.bearerSet:
		hdr.Set("Authorization", "Bearer "+cfg.bearer)
	case cfg.basicSet:
		hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.basicUser+":"+cfg.basicPass)))
	}
	body, final, err := td.Fetch(ctx, rawURL, td.FetchOptions{
		Client:  hc,
		MaxSize: cfg.MaxTDSize,
		Timeout: cfg.RequestTimeout,
		Header:  hdr,
	})
	if err != nil {
		hint := ""
		switch {
		case errors.Is(err, td.ErrTooLarge):
			hint = "; raise the limit with WithMaxTDSize if the TD is genuine"
		case strings.Contains(err.Error(), "HTTP 401"), strings.Contains(err.Error(), "HTTP 403"):
			hint = "; the TD needs credentials: pass WithBearerToken, WithBasicAuth or WithHeader"
		case errors.Is(err, context.DeadlineExceeded):
			hint = "; the server did not deliver the TD in time (WithRequestTimeout, or the context's deadline)"
		}
		return nil, nil, fmt.Errorf("wot: requesting the TD: %w%s", err, hint)
	}
	t, err := td.Parse(body)
	if err != nil {
		return nil, nil, fmt.Errorf("wot: the document at %s is not a valid TD: %w", td.RedactURL(final), err)
	}
	return t, final, nil
}
