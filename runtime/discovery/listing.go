package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// maxPages bounds how many "next" links the lister follows: a directory that pages forever
// (or in a loop the visited set misses) cannot keep Discover busy.
const maxPages = 10000

// dirLister is a minimal Thing Description Directory client: the listing of WoT Discovery
// §7.3.2.1.5 (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-listing),
// following Link rel="next" pages, and the JSONPath search of §7.3.2.3.
type dirLister struct {
	things *url.URL // listing endpoint, e.g. http://host/things
	search *url.URL // JSONPath search endpoint, e.g. http://host/search/jsonpath
	query  string   // JSONPath query; empty lists everything
	fetch  td.FetchOptions
}

// newDirLister takes a directory's API base URL ("http://host:8081", or its /things URL).
func newDirLister(raw, query string, o td.FetchOptions) (*dirLister, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discovery: directory %q: want the http:// or https:// base URL of a Thing Description Directory", raw)
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	base := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/things")
	things, search := *u, *u
	things.Path = base + "/things"
	search.Path = base + "/search/jsonpath"
	return &dirLister{things: &things, search: &search, query: query, fetch: o}, nil
}

// directoryFromTD finds the listing and search endpoints in a directory's own TD: the forms of its
// "things" property and "searchJSONPath" action or property (directory Thing Model, WoT Discovery
// §7.3.2.4), with URI templates cut off; without them, /things and /search/jsonpath under the TD's
// base or its URL's origin.
func directoryFromTD(t *td.Thing, docURL *url.URL, query string, o td.FetchOptions) (*dirLister, error) {
	origin := &url.URL{Scheme: docURL.Scheme, Host: docURL.Host, Path: "/"}
	if t.Base != "" {
		if b, err := docURL.Parse(t.Base); err == nil && (b.Scheme == "http" || b.Scheme == "https") {
			origin = b
		}
	}
	d, err := newDirLister(origin.String(), query, o)
	if err != nil {
		return nil, err
	}
	endpoint := func(forms []td.Form) *url.URL {
		for _, f := range forms {
			href, _, _ := strings.Cut(f.Href, "{")
			u, err := t.ResolveHref(href, docURL)
			if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				u.RawQuery, u.Fragment = "", ""
				return u
			}
		}
		return nil
	}
	if p := t.Properties["things"]; p != nil {
		if u := endpoint(p.Forms); u != nil {
			d.things = u
		}
	}
	if a := t.Actions["searchJSONPath"]; a != nil {
		if u := endpoint(a.Forms); u != nil {
			d.search = u
		}
	} else if p := t.Properties["searchJSONPath"]; p != nil {
		if u := endpoint(p.Forms); u != nil {
			d.search = u
		}
	}
	return d, nil
}

// List lists the directory's TDs page by page (pageSize > 0 asks for that limit), or the TDs its
// JSONPath query selects. A TD that does not parse is yielded as an error and listing goes on; an
// HTTP or paging error ends it.
func (d *dirLister) List(ctx context.Context, pageSize int) iter.Seq2[*td.Thing, error] {
	return func(yield func(*td.Thing, error) bool) {
		next := d.things
		if pageSize > 0 {
			first := *d.things
			first.RawQuery = url.Values{"limit": {strconv.Itoa(pageSize)}}.Encode()
			next = &first
		}
		if d.query != "" {
			q := *d.search
			q.RawQuery = url.Values{"query": {d.query}}.Encode()
			next = &q
		}
		visited := map[string]bool{}
		for page := 0; next != nil; page++ {
			if page == maxPages {
				yield(nil, fmt.Errorf("discovery: directory %s: more than %d pages; stopped", redactURL(d.things), maxPages))
				return
			}
			if visited[next.String()] {
				yield(nil, fmt.Errorf("discovery: directory %s: the next link loops back to %s", redactURL(d.things), redactURL(next)))
				return
			}
			visited[next.String()] = true
			body, header, final, err := getJSON(ctx, next, d.fetch)
			if err != nil {
				if d.query != "" && errors.Is(err, errNotFound) {
					err = fmt.Errorf("%w (the directory offers no JSONPath search; list without a query)", err)
				}
				yield(nil, fmt.Errorf("discovery: directory: %w", err))
				return
			}
			elems, nextHref, err := listingElements(body)
			if err != nil {
				yield(nil, fmt.Errorf("discovery: directory listing %s: %w", redactURL(final), err))
				return
			}
			for i, e := range elems {
				t, err := parseElement(e)
				if err != nil && d.query != "" {
					err = fmt.Errorf("%w; query for whole TDs, e.g. $[?(@.title=='Lamp')]", err)
				}
				if err != nil {
					err = fmt.Errorf("discovery: directory listing %s: element %d: %w", redactURL(final), i, err)
				}
				if !yield(t, err) {
					return
				}
			}
			if nextHref == "" && d.query == "" {
				nextHref = linkNext(header)
			}
			next = nil
			if nextHref != "" {
				u, err := final.Parse(nextHref)
				if err != nil {
					yield(nil, fmt.Errorf("discovery: directory listing %s: bad next link %q: %v", redactURL(final), clip(nextHref), err))
					return
				}
				if u.Scheme != final.Scheme || u.Host != final.Host {
					yield(nil, fmt.Errorf("discovery: directory listing %s: the next link leads to another origin (%s); not followed", redactURL(final), redactURL(u)))
					return
				}
				next = u
			}
		}
	}
}

// thingURL is where the directory serves one TD (retrieval, WoT Discovery §7.3.2.1.2):
// {listing}/{id}, or the listing URL for a TD without an id.
func (d *dirLister) thingURL(t *td.Thing) string {
	if t.ID == "" {
		return d.things.String()
	}
	return strings.TrimSuffix(d.things.String(), "/") + "/" + url.PathEscape(t.ID)
}

// listingElements reads a listing page: a JSON array of TDs, or a ThingCollection object with
// members and next (the directory TM of the editor's draft).
func listingElements(body []byte) ([]json.RawMessage, string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, "", errors.New("empty body: want a JSON array of TDs")
	}
	switch trimmed[0] {
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(trimmed, &elems); err != nil {
			return nil, "", fmt.Errorf("not a JSON array of TDs: %w", err)
		}
		return elems, "", nil
	case '{':
		var c struct {
			Members []json.RawMessage `json:"members"`
			Next    string            `json:"next"`
		}
		if err := json.Unmarshal(trimmed, &c); err != nil || c.Members == nil {
			return nil, "", errors.New("a JSON object without members: want a JSON array of TDs")
		}
		return c.Members, c.Next, nil
	}
	return nil, "", fmt.Errorf("not JSON (starts with %q): want a JSON array of TDs", clip(string(trimmed[:min(len(trimmed), 20)])))
}

// linkNext returns the target of the first rel="next" link in the Link headers (RFC 8288), which
// directories send as several headers or as one comma-joined header.
func linkNext(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, l := range splitLinkHeader(v) {
			target, params, ok := strings.Cut(l, ">")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target[1:]
					}
				}
			}
		}
	}
	return ""
}

// splitLinkHeader splits a Link header value at the commas between links, not those inside <…> or "…".
func splitLinkHeader(v string) []string {
	var out []string
	start, inURI, inQuote := 0, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '<' && !inQuote:
			inURI = true
		case c == '>' && !inQuote:
			inURI = false
		case c == '"' && !inURI:
			inQuote = !inQuote
		case c == ',' && !inURI && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

var errNotFound = errors.New("not found")

// getJSON GETs a directory resource with the bounds of o (size, time, redirects to http(s) only, like
// td.Fetch) and returns the body, the headers and the final URL.
func getJSON(ctx context.Context, u *url.URL, o td.FetchOptions) ([]byte, http.Header, *url.URL, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = td.DefaultMaxSize
	}
	if o.Timeout <= 0 {
		o.Timeout = td.DefaultFetchTimeout
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = td.DefaultMaxRedirects
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client := http.Client{}
	if o.Client != nil {
		client = *o.Client
	}
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > o.MaxRedirects {
			return fmt.Errorf("more than %d redirects", o.MaxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" || via[0].URL.Scheme == "https" && req.URL.Scheme == "http" {
			return fmt.Errorf("redirect to %s refused", redactURL(req.URL))
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("GET %s: %w", redactURL(u), err)
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/ld+json, application/td+json;q=0.9, application/json;q=0.9")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, nil, fmt.Errorf("GET %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, o.MaxSize+1))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil, nil, fmt.Errorf("GET %s: HTTP %s: %w", redactURL(u), resp.Status, errNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, nil, nil, fmt.Errorf("GET %s: HTTP %s: the directory needs credentials; pass them as request headers", redactURL(u), resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, nil, nil, fmt.Errorf("GET %s: HTTP %s%s", redactURL(u), resp.Status, problemDetail(body))
	case rerr != nil:
		return nil, nil, nil, fmt.Errorf("GET %s: %w", redactURL(u), rerr)
	case int64(len(body)) > o.MaxSize:
		return nil, nil, nil, fmt.Errorf("GET %s: %w: more than %d bytes", redactURL(u), td.ErrTooLarge, o.MaxSize)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && !strings.HasSuffix(mt, "json") {
			return nil, nil, nil, fmt.Errorf("GET %s: Content-Type %s, want JSON", redactURL(u), mt)
		}
	}
	return body, resp.Header, resp.Request.URL, nil
}

// problemDetail quotes the detail of an RFC 9457 problem details body, if there is one.
func problemDetail(body []byte) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	if p.Detail != "" {
		return ": " + clip(p.Detail)
	}
	if p.Title != "" {
		return ": " + clip(p.Title)
	}
	return ""
}
