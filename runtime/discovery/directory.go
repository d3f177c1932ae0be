package discovery

import (
	"bufio"
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
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// Directory is a client of a Thing Description Directory's HTTP API
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api). Its methods are safe for
// concurrent use. Errors the directory reports are *DirectoryError values.
type Directory struct {
	base    *url.URL
	things  *url.URL // listing and CRUD endpoint: {things}/{id}
	search  *url.URL // JSONPath search endpoint
	hc      *http.Client
	token   string
	maxBody int64
	timeout time.Duration // per request, event streams excepted; 0: none
	redirs  int
	header  http.Header
}

// A Directory is a Lister, so Discover can list a directory through it (Filter.DirectoryClients).
var _ Lister = (*Directory)(nil)

// DirectoryOption configures NewDirectory.
type DirectoryOption func(*Directory)

// WithDirectoryHTTPClient sets the HTTP client (TLS, proxies, timeouts). The default is a client
// without an overall timeout, because event streams are long-lived; bound calls with their context.
func WithDirectoryHTTPClient(c *http.Client) DirectoryOption {
	return func(d *Directory) { d.hc = c }
}

// WithDirectoryBearerToken sends Authorization: Bearer token on every request.
func WithDirectoryBearerToken(token string) DirectoryOption {
	return func(d *Directory) { d.token = token }
}

// WithDirectoryMaxResponse bounds the size of a response body the client reads (default 64 MiB).
func WithDirectoryMaxResponse(n int64) DirectoryOption {
	return func(d *Directory) { d.maxBody = n }
}

// WithDirectoryFetchOptions applies the bounds Discover uses for every HTTP request: o.Client,
// o.MaxSize (response size), o.Timeout (per request; event streams are not bounded), o.MaxRedirects
// and o.Header (e.g. credentials for reads). Zero fields keep the defaults.
func WithDirectoryFetchOptions(o td.FetchOptions) DirectoryOption {
	return func(d *Directory) {
		if o.Client != nil {
			d.hc = o.Client
		}
		if o.MaxSize > 0 {
			d.maxBody = o.MaxSize
		}
		if o.Timeout > 0 {
			d.timeout = o.Timeout
		}
		if o.MaxRedirects > 0 {
			d.redirs = o.MaxRedirects
		}
		d.header = o.Header
	}
}

// maxPages bounds how many rel="next" links List follows: a directory that pages forever (or in a
// loop the visited set misses) cannot keep a caller busy.
const maxPages = 10000

// NewDirectory returns a client for the directory whose API is rooted at baseURL (the URL before
// /things, e.g. "http://127.0.0.1:8081/"; a URL ending in /things is taken as its listing URL).
func NewDirectory(baseURL string, opts ...DirectoryOption) (*Directory, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discovery: directory URL %q must be the absolute http:// or https:// base URL of a Thing Description Directory", baseURL)
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/things") + "/"
	d := &Directory{base: u, hc: http.DefaultClient, maxBody: 64 << 20, redirs: td.DefaultMaxRedirects}
	d.things, _ = u.Parse("things")
	d.search, _ = u.Parse("search/jsonpath")
	for _, o := range opts {
		o(d)
	}
	// Redirects stay on http(s) and never downgrade https (as td.Fetch): a directory is a remote
	// party, and a token must not leave TLS.
	hc := *d.hc
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > d.redirs {
			return fmt.Errorf("more than %d redirects", d.redirs)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" || via[0].URL.Scheme == "https" && req.URL.Scheme == "http" {
			return fmt.Errorf("redirect to %s refused", td.RedactURL(req.URL))
		}
		return nil
	}
	d.hc = &hc
	return d, nil
}

// NewDirectoryFromTD returns a client for the directory a TD describes (one IsDirectory accepts),
// fetched from docURL: the listing and search endpoints are the forms of its "things" property and
// "searchJSONPath" action or property (the directory Thing Model,
// https://www.w3.org/TR/wot-discovery/#exploration-directory-api), URI templates cut off; without
// them, /things and /search/jsonpath under the TD's base, or else under docURL's origin.
func NewDirectoryFromTD(t *td.Thing, docURL *url.URL, opts ...DirectoryOption) (*Directory, error) {
	origin := &url.URL{Scheme: docURL.Scheme, Host: docURL.Host, Path: "/"}
	if t.Base != "" {
		if b, err := docURL.Parse(t.Base); err == nil && (b.Scheme == "http" || b.Scheme == "https") {
			origin = b
		}
	}
	d, err := NewDirectory(origin.String(), opts...)
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

// ThingURL is where the directory serves the TD with id (retrieval,
// https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-retrieval); for "" it is
// the listing URL.
func (d *Directory) ThingURL(id string) string {
	if id == "" {
		return d.things.String()
	}
	return d.thingRef(id)
}

// DirectoryError is an error answer of the directory: its status and RFC 9457 problem details.
type DirectoryError struct {
	StatusCode int
	Type       string `json:"type"`
	Title      string `json:"title"`
	Detail     string `json:"detail"`
	Instance   string `json:"instance"`
	// ValidationErrors lists why a TD was refused
	// (https://www.w3.org/TR/wot-discovery/#validation).
	ValidationErrors []DirectoryValidationError `json:"validationErrors"`
}

// DirectoryValidationError is one problem with a submitted TD. Pointer and Code are wotgen's
// extensions: the RFC 6901 pointer and the rule code of `wotgen validate`.
type DirectoryValidationError struct {
	Field       string `json:"field"`
	Description string `json:"description"`
	Pointer     string `json:"pointer,omitempty"`
	Code        string `json:"code,omitempty"`
}

func (e *DirectoryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "directory: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		b.WriteString(" (the directory needs credentials for this: give it its bearer token)")
	}
	for i, v := range e.ValidationErrors {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.ValidationErrors)-5)
			break
		}
		fmt.Fprintf(&b, "; %s: %s", v.Field, v.Description)
	}
	return b.String()
}

// IsDirectoryStatus reports whether err is a *DirectoryError with the given HTTP status.
func IsDirectoryStatus(err error, status int) bool {
	var de *DirectoryError
	return errors.As(err, &de) && de.StatusCode == status
}

func (d *Directory) resolve(ref string) string {
	u, err := d.base.Parse(ref)
	if err != nil {
		return d.base.String() + ref
	}
	return u.String()
}

// thingRef is the URL of one entry: {things}/{id}.
func (d *Directory) thingRef(id string) string {
	return strings.TrimSuffix(d.things.String(), "/") + "/" + url.PathEscape(id)
}

// do sends a request, bounded by the client's per-request timeout, and returns the response when its
// status is one of ok; otherwise it reads the problem details into a *DirectoryError.
func (d *Directory) do(ctx context.Context, method, ref, contentType string, body []byte, header http.Header, ok ...int) (*http.Response, error) {
	if d.timeout <= 0 {
		return d.send(ctx, method, ref, contentType, body, header, ok...)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	resp, err := d.send(ctx, method, ref, contentType, body, header, ok...)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

// send is do without the timeout, for event streams.
func (d *Directory) send(ctx context.Context, method, ref, contentType string, body []byte, header http.Header, ok ...int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.resolve(ref), rd)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its URL may carry a query secret; redactURL prints it without
			err = ue.Err
		}
		return nil, fmt.Errorf("discovery: %s %s: %w", method, td.RedactURL(req.URL), err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	de := &DirectoryError{StatusCode: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, de) != nil || de.Title == "" && de.Detail == "" {
		de.Detail = strings.TrimSpace(string(data))
		if len(de.Detail) > 200 {
			de.Detail = de.Detail[:200] + "…"
		}
	}
	de.StatusCode = resp.StatusCode
	return nil, de
}

func (d *Directory) readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, d.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("discovery: read %s: %w", td.RedactURL(resp.Request.URL), err)
	}
	if int64(len(data)) > d.maxBody {
		return nil, fmt.Errorf("discovery: response of %s: %w: more than %d bytes", td.RedactURL(resp.Request.URL), td.ErrTooLarge, d.maxBody)
	}
	return data, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
}

// Create stores t under its id (PUT /things/{id}); created is false when it replaced a stored TD.
func (d *Directory) Create(ctx context.Context, t *td.Thing) (created bool, err error) {
	if t == nil || t.ID == "" {
		return false, errors.New("discovery: Create needs a TD with an id; use Register for anonymous TDs")
	}
	body, err := json.Marshal(t)
	if err != nil {
		return false, fmt.Errorf("discovery: encode TD: %w", err)
	}
	return d.CreateJSON(ctx, t.ID, body)
}

// CreateJSON is Create for a TD already encoded as JSON.
func (d *Directory) CreateJSON(ctx context.Context, id string, tdJSON []byte) (created bool, err error) {
	resp, err := d.do(ctx, http.MethodPut, d.thingRef(id), "application/td+json", tdJSON, nil, http.StatusCreated, http.StatusNoContent)
	if err != nil {
		return false, err
	}
	drain(resp)
	return resp.StatusCode == http.StatusCreated, nil
}

// Register stores an anonymous TD (POST /things) and returns the id the directory gave it.
func (d *Directory) Register(ctx context.Context, t *td.Thing) (id string, err error) {
	if t == nil {
		return "", errors.New("discovery: Register needs a TD")
	}
	if t.ID != "" {
		return "", fmt.Errorf("discovery: Register takes anonymous TDs; this one has id %q, so use Create", t.ID)
	}
	body, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("discovery: encode TD: %w", err)
	}
	return d.RegisterJSON(ctx, body)
}

// RegisterJSON is Register for a TD already encoded as JSON.
func (d *Directory) RegisterJSON(ctx context.Context, tdJSON []byte) (id string, err error) {
	resp, err := d.do(ctx, http.MethodPost, d.things.String(), "application/td+json", tdJSON, nil, http.StatusCreated)
	if err != nil {
		return "", err
	}
	drain(resp)
	return d.idFromLocation(resp)
}

// idFromLocation reads the new id from Location: a URL under things/ (the rest, unescaped), or, as
// some directories send, the id itself as an absolute non-HTTP URI (e.g. urn:uuid:…).
func (d *Directory) idFromLocation(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", errors.New("discovery: the directory answered 201 without a Location header")
	}
	if u, err := url.Parse(loc); err == nil && u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return loc, nil
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("discovery: bad Location %q: %w", loc, err)
	}
	prefix := strings.TrimSuffix(d.things.String(), "/") + "/"
	if rest, ok := strings.CutPrefix(u.String(), prefix); ok && rest != "" {
		if id, err := url.PathUnescape(rest); err == nil {
			return id, nil
		}
	}
	return "", fmt.Errorf("discovery: Location %q is not under %s", loc, prefix)
}

// Get returns the enriched TD with id (registration information is in Extra["registration"]; see
// RegistrationOf).
func (d *Directory) Get(ctx context.Context, id string) (*td.Thing, error) {
	data, err := d.GetJSON(ctx, id)
	if err != nil {
		return nil, err
	}
	t, err := td.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("discovery: TD %s from the directory: %w", id, err)
	}
	return t, nil
}

// GetJSON returns the enriched TD with id as the directory sent it.
func (d *Directory) GetJSON(ctx context.Context, id string) ([]byte, error) {
	resp, err := d.do(ctx, http.MethodGet, d.thingRef(id), "", nil, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return d.readAll(resp)
}

// Update replaces the stored TD with t (PUT /things/{t.ID}); a TD not yet stored is created.
func (d *Directory) Update(ctx context.Context, t *td.Thing) error {
	_, err := d.Create(ctx, t)
	return err
}

// Patch applies a JSON Merge Patch (RFC 7396) to the stored TD. patch is any value that encodes to a
// JSON object (a json.RawMessage is sent as is); an empty object renews a registration with a ttl.
func (d *Directory) Patch(ctx context.Context, id string, patch any) error {
	body, ok := patch.(json.RawMessage)
	if !ok {
		var err error
		if body, err = json.Marshal(patch); err != nil {
			return fmt.Errorf("discovery: encode patch: %w", err)
		}
	}
	resp, err := d.do(ctx, http.MethodPatch, d.thingRef(id), "application/merge-patch+json", body, nil, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// Delete removes the TD with id.
func (d *Directory) Delete(ctx context.Context, id string) error {
	resp, err := d.do(ctx, http.MethodDelete, d.thingRef(id), "", nil, nil, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// ListPage is one page of a listing.
type ListPage struct {
	Things []json.RawMessage
	// Next is the next page's absolute URL (from Link rel="next", or the next member of a
	// ThingCollection), "" on the last page. It may lead to another origin: List refuses that.
	Next string
	// URL is the page's URL after redirects.
	URL string
}

// Page reads one page of the listing
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-listing): ref is "" for
// the first page (with pageSize TDs, 0 for the directory's choice) or the Next of the previous page.
func (d *Directory) Page(ctx context.Context, ref string, pageSize int) (ListPage, error) {
	if ref == "" {
		first := *d.things
		if pageSize > 0 {
			first.RawQuery = "limit=" + strconv.Itoa(pageSize)
		}
		ref = first.String()
	}
	resp, err := d.do(ctx, http.MethodGet, ref, "", nil, http.Header{"Accept": {"application/ld+json, application/json"}}, http.StatusOK)
	if err != nil {
		return ListPage{}, err
	}
	page := ListPage{URL: resp.Request.URL.String()}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && !strings.HasSuffix(mt, "json") {
			drain(resp)
			return ListPage{}, fmt.Errorf("discovery: directory listing %s: Content-Type %s, want JSON", td.RedactURL(resp.Request.URL), mt)
		}
	}
	next := nextLink(resp.Header.Values("Link"))
	data, err := d.readAll(resp)
	if err != nil {
		return ListPage{}, err
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &page.Things); err != nil {
			return ListPage{}, fmt.Errorf("discovery: directory listing %s: not a JSON array of TDs: %w", td.RedactURL(resp.Request.URL), err)
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		// format=collection pages are ThingCollection objects with members.
		var c struct {
			Members []json.RawMessage `json:"members"`
			Next    string            `json:"next"`
		}
		if err := json.Unmarshal(trimmed, &c); err != nil || c.Members == nil {
			return ListPage{}, fmt.Errorf("discovery: directory listing %s: a JSON object without members, want a JSON array of TDs", td.RedactURL(resp.Request.URL))
		}
		page.Things = c.Members
		if next == "" {
			next = c.Next
		}
	default:
		return ListPage{}, fmt.Errorf("discovery: directory listing %s: not JSON (starts with %q), want a JSON array of TDs", td.RedactURL(resp.Request.URL), clip(string(trimmed[:min(len(trimmed), 20)])))
	}
	if next != "" {
		// Resolve against the URL that answered, as RFC 8288 links are.
		u, err := resp.Request.URL.Parse(next)
		if err != nil {
			return ListPage{}, fmt.Errorf("discovery: directory listing %s: bad next link %q: %v", td.RedactURL(resp.Request.URL), clip(next), err)
		}
		next = u.String()
	}
	page.Next = next
	return page, nil
}

// nextLink finds rel="next" in Link headers, whether sent as several headers or one comma-joined.
func nextLink(values []string) string {
	for _, v := range values {
		for _, part := range splitLinks(v) {
			part = strings.TrimSpace(part)
			end := strings.IndexByte(part, '>')
			if !strings.HasPrefix(part, "<") || end < 0 {
				continue
			}
			for _, p := range strings.Split(part[end+1:], ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") {
					for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
						if strings.EqualFold(rel, "next") {
							return part[1:end]
						}
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header at commas outside <…> and quotes.
func splitLinks(v string) []string {
	var out []string
	inURL, inQuote, start := false, false, 0
	for i, r := range v {
		switch {
		case r == '<' && !inQuote:
			inURL = true
		case r == '>' && !inQuote:
			inURL = false
		case r == '"' && !inURL:
			inQuote = !inQuote
		case r == ',' && !inURL && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// List iterates over every TD of the directory, pageSize at a time (0: the directory's page size),
// following the next links for at most 10000 pages, never to another origin and never back to a
// page already read. A TD that does not parse is yielded as an error and listing goes on; an HTTP
// or paging error is yielded and ends it.
func (d *Directory) List(ctx context.Context, pageSize int) iter.Seq2[*td.Thing, error] {
	return func(yield func(*td.Thing, error) bool) {
		ref := ""
		visited := map[string]bool{}
		for n := 0; ; n++ {
			if n == maxPages {
				yield(nil, fmt.Errorf("discovery: directory %s: more than %d pages; stopped", td.RedactURL(d.things), maxPages))
				return
			}
			page, err := d.Page(ctx, ref, pageSize)
			if err != nil {
				yield(nil, err)
				return
			}
			visited[page.URL] = true
			for i, raw := range page.Things {
				t, err := parseElement(raw)
				if err != nil {
					err = fmt.Errorf("discovery: directory listing %s: element %d: %w", redactPage(page.URL), i, err)
				}
				if !yield(t, err) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			cur, _ := url.Parse(page.URL)
			next, _ := url.Parse(page.Next)
			switch {
			case next.Scheme != cur.Scheme || next.Host != cur.Host:
				yield(nil, fmt.Errorf("discovery: directory listing %s: the next link leads to another origin (%s); not followed", td.RedactURL(cur), td.RedactURL(next)))
				return
			case visited[page.Next]:
				yield(nil, fmt.Errorf("discovery: directory %s: the next link loops back to %s", td.RedactURL(d.things), td.RedactURL(next)))
				return
			}
			ref = page.Next
		}
	}
}

func redactPage(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	return td.RedactURL(u)
}

// Search runs an RFC 9535 JSONPath query (GET /search/jsonpath,
// https://www.w3.org/TR/wot-discovery/#exploration-directory-api-search-jsonpath) over the array of
// all TDs and returns the selected nodes: whole TDs or fragments, depending on the query.
func (d *Directory) Search(ctx context.Context, query string) ([]json.RawMessage, error) {
	u := *d.search
	u.RawQuery = url.Values{"query": {query}}.Encode()
	resp, err := d.do(ctx, http.MethodGet, u.String(), "", nil, nil, http.StatusOK)
	if IsDirectoryStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("%w (the directory offers no JSONPath search; list without a query)", err)
	}
	if err != nil {
		return nil, err
	}
	data, err := d.readAll(resp)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("discovery: search result is not a JSON array: %w", err)
	}
	return out, nil
}

// RegistrationInfo is the registration member of an enriched TD
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-registration-info). Zero times are
// absent members.
type RegistrationInfo struct {
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
	Expires   time.Time `json:"expires"`
	Retrieved time.Time `json:"retrieved"`
	TTL       *float64  `json:"ttl"`
}

// RegistrationOf reads the registration member of a TD returned by a directory; ok is false when
// it has none.
func RegistrationOf(t *td.Thing) (info RegistrationInfo, ok bool, err error) {
	raw, ok := t.Extra["registration"]
	if !ok {
		return info, false, nil
	}
	var r struct {
		Created, Modified, Expires, Retrieved string
		TTL                                   *float64
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return info, true, fmt.Errorf("discovery: registration: %w", err)
	}
	for _, f := range []struct {
		s string
		t *time.Time
	}{{r.Created, &info.Created}, {r.Modified, &info.Modified}, {r.Expires, &info.Expires}, {r.Retrieved, &info.Retrieved}} {
		if f.s == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339Nano, f.s); err != nil {
			return info, true, fmt.Errorf("discovery: registration time %q: %w", f.s, err)
		}
	}
	info.TTL = r.TTL
	return info, true, nil
}

// discoveryContext is the context a directory adds to the TDs it serves.
const discoveryContext = "https://www.w3.org/2022/wot/discovery"

// StripEnrichment returns a TD as a directory served it without what the directory added: the
// registration member and the discovery context of an Enriched TD
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-registration-info), so that code
// generated from a directory's entry is the code generated from the Thing's own TD. Anything else
// (a TD without a registration member, or not a JSON object) is returned as it is.
func StripEnrichment(raw []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	if _, ok := doc["registration"]; !ok {
		return raw
	}
	delete(doc, "registration")
	var ctxs []json.RawMessage
	if json.Unmarshal(doc["@context"], &ctxs) == nil {
		kept := ctxs[:0]
		for _, c := range ctxs {
			var s string
			if json.Unmarshal(c, &s) == nil && s == discoveryContext {
				continue
			}
			kept = append(kept, c)
		}
		var single string
		if len(kept) == 1 && json.Unmarshal(kept[0], &single) == nil {
			doc["@context"] = kept[0] // the single context a TD usually has, as a string again
		} else {
			doc["@context"], _ = json.Marshal(kept)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return raw
	}
	return out
}

// Directory event types (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-notification).
const (
	EventThingCreated = "thing_created"
	EventThingUpdated = "thing_updated"
	EventThingDeleted = "thing_deleted"
)

// DirectoryEventsOptions select a notification stream.
type DirectoryEventsOptions struct {
	// Type is one of the EventThing* types; "" subscribes to all.
	Type string
	// Diff asks for the full TD on creation and a merge patch on update instead of the id alone.
	Diff bool
	// LastEventID resumes after an event received earlier (e.g. before a restart); "" starts with
	// the events that follow the subscription.
	LastEventID string
	// MaxRetry caps the delay between reconnections (default 30 s).
	MaxRetry time.Duration
}

// DirectoryEvent is one notification. Data is the JSON the directory sent: at least {"id": …}.
type DirectoryEvent struct {
	ID      string
	Type    string
	ThingID string
	Data    json.RawMessage
}

// DirectoryEvents is a notification stream that reconnects after a drop, sending Last-Event-ID so
// the directory replays what was missed. Read it with Next; Close ends it.
type DirectoryEvents struct {
	d      *Directory
	opts   DirectoryEventsOptions
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan DirectoryEvent
	err    error // set before ch is closed

	mu     sync.Mutex
	lastID string // the last event id seen: sent as Last-Event-ID on reconnection
}

// Events subscribes to the directory's notifications. The stream runs until ctx ends, Close is
// called, or the directory refuses the subscription (a 4xx answer).
func (d *Directory) Events(ctx context.Context, opts DirectoryEventsOptions) (*DirectoryEvents, error) {
	switch opts.Type {
	case "", EventThingCreated, EventThingUpdated, EventThingDeleted:
	default:
		return nil, fmt.Errorf("discovery: unknown event type %q: use %s, %s or %s", opts.Type, EventThingCreated, EventThingUpdated, EventThingDeleted)
	}
	if opts.MaxRetry <= 0 {
		opts.MaxRetry = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &DirectoryEvents{d: d, opts: opts, ctx: ctx, cancel: cancel, ch: make(chan DirectoryEvent, 64), lastID: opts.LastEventID}
	// Connect once synchronously so a refused subscription is an error here.
	resp, err := s.connect()
	if err != nil {
		cancel()
		return nil, err
	}
	go s.run(resp)
	return s, nil
}

// Next returns the next event; after the stream ends it returns the reason (io.EOF after Close).
func (s *DirectoryEvents) Next(ctx context.Context) (DirectoryEvent, error) {
	select {
	case ev, ok := <-s.ch:
		if !ok {
			return DirectoryEvent{}, s.err
		}
		return ev, nil
	case <-ctx.Done():
		return DirectoryEvent{}, ctx.Err()
	}
}

// LastEventID is the id of the last event delivered to the stream, for resuming later.
func (s *DirectoryEvents) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Close ends the stream.
func (s *DirectoryEvents) Close() error {
	s.cancel()
	return nil
}

func (s *DirectoryEvents) connect() (*http.Response, error) {
	ref := "events"
	if s.opts.Type != "" {
		ref += "/" + s.opts.Type
	}
	if s.opts.Diff {
		ref += "?diff=true"
	}
	h := http.Header{"Accept": {"text/event-stream"}}
	if last := s.LastEventID(); last != "" {
		h.Set("Last-Event-ID", last)
	}
	resp, err := s.d.send(s.ctx, http.MethodGet, ref, "", nil, h, http.StatusOK)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("discovery: %s answered %q, not text/event-stream", td.RedactURL(resp.Request.URL), mt)
	}
	return resp, nil
}

func (s *DirectoryEvents) run(resp *http.Response) {
	defer close(s.ch)
	retry := time.Second
	failures := 0
	for {
		if resp != nil {
			if got, r := s.read(resp); got {
				failures = 0
				if r > 0 {
					retry = r
				}
			} else if r > 0 {
				retry = r
			}
		}
		if s.ctx.Err() != nil {
			s.err = io.EOF
			return
		}
		// Back off: the server's retry hint first, doubling on repeated failures.
		wait := min(retry<<min(failures, 5), s.opts.MaxRetry)
		failures++
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			s.err = io.EOF
			return
		case <-t.C:
		}
		var err error
		resp, err = s.connect()
		var de *DirectoryError
		if errors.As(err, &de) && de.StatusCode >= 400 && de.StatusCode < 500 && de.StatusCode != http.StatusTooManyRequests {
			s.err = err
			return
		}
	}
}

// read parses one connection's stream (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// until it ends. got reports whether any event arrived; retry is the last retry: field.
func (s *DirectoryEvents) read(resp *http.Response) (got bool, retry time.Duration) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), int(min(s.d.maxBody, 1<<31-1)))
	var id, typ string
	var data strings.Builder
	hasID := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data.Len() > 0 {
				ev := DirectoryEvent{Type: typ, Data: json.RawMessage(strings.TrimSuffix(data.String(), "\n"))}
				if ev.Type == "" {
					ev.Type = "message"
				}
				s.mu.Lock()
				if hasID {
					s.lastID = id
				}
				ev.ID = s.lastID
				s.mu.Unlock()
				var m struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(ev.Data, &m) == nil {
					ev.ThingID = m.ID
				}
				select {
				case s.ch <- ev:
					got = true
				case <-s.ctx.Done():
					return got, retry
				}
			}
			typ, hasID = "", false
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.ContainsRune(value, 0) {
				id, hasID = value, true
			}
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return got, retry
}
