// Package discovery finds Things and makes them findable, after W3C WoT Discovery
// (https://www.w3.org/TR/wot-discovery/).
//
// Introductions (https://www.w3.org/TR/wot-discovery/#introduction-mech): FetchTDs reads a TD (or
// a JSON array of TDs) from a direct URL or a host's /.well-known/wot (#introduction-well-known,
// WellKnownURL); Browse finds _wot._tcp instances with DNS-SD over multicast DNS
// (#introduction-dns-sd-sec) and Announce advertises a served Thing or directory there.
//
// Exploration (https://www.w3.org/TR/wot-discovery/#exploration-directory-api): Directory is
// the client of a Thing Description Directory — create, retrieve, update, patch, delete, the paged
// listing (List, bounded: a page cap, no next link to another origin or back to a read page), the
// JSONPath search (Search) and the notification stream (Events). NewDirectoryFromTD builds one from
// a directory's own TD.
//
// Discover merges every source — URLs, DNS-SD, directories (listed, or searched with a JSONPath
// Query) and the directories those lead to — into one de-duplicated stream of TDs, in the shape of
// the WoT Scripting API's discover() (https://www.w3.org/TR/wot-scripting-api/#the-discover-method).
//
// Register is the exposing side of a directory: it keeps a Thing's served TD registered with a ttl,
// refreshed, updated when it changes, re-created after the directory lost it, and deleted at the end.
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/url"
	"reflect"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// Source says through which introduction a TD was found.
type Source string

const (
	SourceMDNS      Source = "mdns"      // DNS-SD over multicast DNS
	SourceURL       Source = "url"       // a URL given by the caller (direct or /.well-known/wot)
	SourceDirectory Source = "directory" // listed by a Thing Description Directory
)

// Lister is a Thing Description Directory client Discover can list: anything that yields the TDs
// a directory holds, pageSize at a time (0: the directory's own page size), following its pages
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-listing).
type Lister interface {
	List(ctx context.Context, pageSize int) iter.Seq2[*td.Thing, error]
}

// Filter selects the sources of a discovery and what is kept.
type Filter struct {
	// MDNS browses the local link for _wot._tcp instances (Things and directories).
	MDNS bool
	// Interfaces for MDNS; default every interface that is up and multicast-capable.
	Interfaces []net.Interface
	// URLs are introductions given directly: a TD's URL, or a host's origin, whose /.well-known/wot
	// is fetched. A URL may serve a JSON array of TDs.
	URLs []string
	// Directories are base URLs of Thing Description Directories (their /things is listed), read
	// through a *Directory with the bounds of Fetch.
	Directories []string
	// DirectoryClients are further directories, listed through their own client: a *Directory (for
	// one that needs a token, say) or any other Lister.
	DirectoryClients []Lister
	// Query is a JSONPath query (RFC 9535) sent to every directory read through a *Directory (those
	// of Directories, those found through MDNS or URLs, and DirectoryClients that are *Directory)
	// instead of listing everything
	// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-search). It must select
	// whole TDs. Other Listers apply their own filtering.
	Query string
	// NoExpand keeps directories found through MDNS or URLs unlisted, and Thing Links (IsThingLink)
	// unfollowed: only their own TD is yielded. By default the TD a Thing Link points at is
	// fetched and yielded too (chains of links up to maxLinkHops).
	// By default each is listed once (one level: directories listed by a directory are not).
	NoExpand bool
	// Timeout ends the discovery; 0 means it ends with ctx or when every source is done (MDNS is
	// never done on its own, so set a Timeout or cancel ctx with it).
	Timeout time.Duration
	// Fragment keeps only TDs that have each of its top-level members with an equal value (the
	// Scripting API's ThingFilter.fragment; numbers compare as JSON numbers).
	Fragment map[string]any
	// Fetch bounds every HTTP request (size, time, redirects) and can add headers.
	Fetch td.FetchOptions
}

// Result is one discovered TD.
type Result struct {
	Thing  *td.Thing
	URL    string // where the TD can be fetched: the introduction URL, or the directory's URL for the TD (empty for Listers other than *Directory)
	Source Source
	Via    string // the introduction: a DNS-SD instance name, a given URL, or a directory URL
}

// Error is a failure of one source or one introduction; Discover goes on after it.
type Error struct {
	Source Source
	Via    string
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %v", e.Source, e.Via, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ErrNoSource is returned when a Filter names no source at all.
var ErrNoSource = errors.New("discovery: no source: set MDNS, URLs, Directories or DirectoryClients")

// Discover runs every source of f at once and yields each TD found, de-duplicated by TD id (by URL
// for TDs without id), as soon as it arrives. Failures are yielded as *Error values and the
// discovery goes on. It ends when every source is done, f.Timeout passes, ctx ends or the loop
// breaks; in every case all its goroutines and sockets are gone when the range statement returns.
//
// An iterator rather than a process object with Next/Stop (the Scripting API's
// ThingDiscoveryProcess): breaking out of the loop is stop(), the end of the loop is done, and
// errors arrive in order with the results, so there is no state left to query or to leak.
func Discover(ctx context.Context, f Filter) iter.Seq2[Result, error] {
	return func(yield func(Result, error) bool) {
		if !f.MDNS && len(f.URLs) == 0 && len(f.Directories) == 0 && len(f.DirectoryClients) == 0 {
			yield(Result{}, ErrNoSource)
			return
		}
		var fragment map[string]any
		if len(f.Fragment) > 0 {
			b, err := json.Marshal(f.Fragment)
			if err == nil {
				err = json.Unmarshal(b, &fragment)
			}
			if err != nil {
				yield(Result{}, fmt.Errorf("discovery: fragment filter is not JSON: %w", err))
				return
			}
		}
		var cancel context.CancelFunc
		if f.Timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, f.Timeout)
		} else {
			ctx, cancel = context.WithCancel(ctx)
		}
		r := &discoverRun{ctx: ctx, f: f, out: make(chan item), listed: map[string]bool{}, followed: map[string]bool{}, fetches: make(chan struct{}, maxFetches)}
		r.start()
		go func() { r.wg.Wait(); close(r.out) }()
		defer func() {
			cancel()
			for range r.out { // every producer ends once ctx is done; wait for all of them
			}
		}()
		seen := map[string]bool{}
		for it := range r.out {
			if it.err != nil {
				if ctx.Err() != nil && errors.Is(it.err, ctx.Err()) {
					continue // the end of the discovery, not a failure
				}
				if !yield(Result{}, it.err) {
					return
				}
				continue
			}
			key := "url:" + it.res.URL
			if it.res.Thing.ID != "" {
				key = "id:" + it.res.Thing.ID
			}
			if seen[key] || !matches(it.res.Thing, fragment) {
				continue
			}
			seen[key] = true
			if !yield(it.res, nil) {
				return
			}
		}
	}
}

type item struct {
	res Result
	err error
}

// discoverRun is one Discover call: producers send on out until ctx ends.
type discoverRun struct {
	ctx context.Context
	f   Filter
	out chan item
	wg  sync.WaitGroup

	fetches chan struct{} // one token per TD fetch in flight

	mu       sync.Mutex
	listed   map[string]bool // directory listing URLs already expanded, so loops end
	followed map[string]bool // Thing Link targets already fetched, so loops end
}

// maxLinkHops bounds a chain of Thing Links (a link to a link to …).
const maxLinkHops = 4

// maxFetches bounds the TD fetches in flight, so a network announcing thousands of instances does
// not open thousands of connections at once.
const maxFetches = 16

func (r *discoverRun) spawn(fn func()) {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); fn() }()
}

// emit sends one item; false once the discovery is over.
func (r *discoverRun) emit(it item) bool {
	select {
	case r.out <- it:
		return true
	case <-r.ctx.Done():
		return false
	}
}

func (r *discoverRun) fail(src Source, via string, err error) bool {
	return r.emit(item{err: &Error{Source: src, Via: via, Err: err}})
}

func (r *discoverRun) start() {
	if r.f.MDNS {
		r.spawn(r.browse)
	}
	for _, u := range r.f.URLs {
		r.spawn(func() { r.fetch(SourceURL, u, u, false, 0) })
	}
	for _, d := range r.f.Directories {
		r.spawn(func() {
			c, err := NewDirectory(d, WithDirectoryFetchOptions(r.f.Fetch))
			if err != nil {
				r.fail(SourceDirectory, d, err)
				return
			}
			r.list(SourceDirectory, d, c)
		})
	}
	for i, d := range r.f.DirectoryClients {
		via := fmt.Sprintf("client %d", i)
		if dir, ok := d.(*Directory); ok {
			via = td.RedactURL(dir.base)
		}
		r.spawn(func() { r.list(SourceDirectory, via, d) })
	}
}

func (r *discoverRun) browse() {
	for inst, err := range Browse(r.ctx, BrowseOptions{Interfaces: r.f.Interfaces}) {
		if err != nil {
			if !r.fail(SourceMDNS, "_wot._tcp", err) {
				return
			}
			continue
		}
		if inst.Scheme != "http" && inst.Scheme != "https" {
			if !r.fail(SourceMDNS, inst.Name, fmt.Errorf("TD at %s: only http and https TDs can be fetched", inst.URL)) {
				return
			}
			continue
		}
		r.spawn(func() { r.fetch(SourceMDNS, inst.Name, inst.URL, inst.Type == TypeDirectory, 0) })
	}
}

// fetch retrieves the TDs at an introduction URL and lists the directories among them: those whose
// @type says so, and the TD of an instance announced with TXT type=Directory.
func (r *discoverRun) fetch(src Source, via, rawURL string, announcedDir bool, hops int) {
	select {
	case r.fetches <- struct{}{}:
	case <-r.ctx.Done():
		return
	}
	things, final, err := FetchTDs(r.ctx, rawURL, r.f.Fetch)
	<-r.fetches
	if err != nil && !r.fail(src, via, err) {
		return
	}
	for _, t := range things {
		if !r.emit(item{res: Result{Thing: t, URL: final.String(), Source: src, Via: via}}) {
			return
		}
		r.followLink(src, via, t, final, hops)
		if !(IsDirectory(t) || announcedDir && len(things) == 1) || r.f.NoExpand {
			continue
		}
		c, err := NewDirectoryFromTD(t, final, WithDirectoryFetchOptions(r.f.Fetch))
		if err != nil {
			r.fail(src, via, err)
			continue
		}
		r.mu.Lock()
		dup := r.listed[c.things.String()]
		r.listed[c.things.String()] = true
		r.mu.Unlock()
		if !dup {
			r.spawn(func() { r.list(SourceDirectory, c.things.String(), c) })
		}
	}
}

// list yields what a directory holds: through its JSONPath search when the Filter has a Query and
// the directory is a *Directory, else its listing.
func (r *discoverRun) list(src Source, via string, l Lister) {
	c, _ := l.(*Directory)
	seq := l.List(r.ctx, 0)
	if c != nil {
		r.mu.Lock()
		r.listed[c.things.String()] = true
		r.mu.Unlock()
		if r.f.Query != "" {
			seq = searchThings(r.ctx, c, r.f.Query)
		}
	}
	for t, err := range seq {
		if err != nil {
			if !r.fail(src, via, err) {
				return
			}
			continue
		}
		res := Result{Thing: t, Source: src, Via: via}
		if c != nil {
			res.URL = c.ThingURL(t.ID)
		}
		if !r.emit(item{res: res}) {
			return
		}
		if u, err := url.Parse(res.URL); err == nil && res.URL != "" {
			r.followLink(src, via, t, u, 0)
		}
	}
}

// followLink fetches, on a goroutine of its own, the TD a Thing Link points at (its
// "describedby" links resolved against docURL, where the link was found), once per target
// and for at most maxLinkHops links in a row.
func (r *discoverRun) followLink(src Source, via string, t *td.Thing, docURL *url.URL, hops int) {
	if !IsThingLink(t) || r.f.NoExpand {
		return
	}
	if hops >= maxLinkHops {
		r.fail(src, via, fmt.Errorf("discovery: Thing Link %q: more than %d links in a row; not followed further", t.ID, maxLinkHops))
		return
	}
	for _, l := range t.Links {
		if l.Rel != "describedby" {
			continue
		}
		target, err := t.ResolveHref(l.Href, docURL)
		if err != nil || (target.Scheme != "http" && target.Scheme != "https") {
			r.fail(src, via, fmt.Errorf("discovery: Thing Link %q: its describedby link %q is not an http(s) URL", t.ID, l.Href))
			continue
		}
		key := target.String()
		r.mu.Lock()
		seen := r.followed[key]
		r.followed[key] = true
		r.mu.Unlock()
		if !seen {
			r.spawn(func() { r.fetch(src, via, key, false, hops+1) })
		}
	}
}

// searchThings yields the TDs a JSONPath query selects; a selected node that is not a TD is an error.
func searchThings(ctx context.Context, c *Directory, query string) iter.Seq2[*td.Thing, error] {
	return func(yield func(*td.Thing, error) bool) {
		nodes, err := c.Search(ctx, query)
		if err != nil {
			yield(nil, err)
			return
		}
		for i, n := range nodes {
			t, err := parseElement(n)
			if err != nil {
				err = fmt.Errorf("discovery: search result %d: %w; query for whole TDs, e.g. $[?(@.title=='Lamp')]", i, err)
			}
			if !yield(t, err) {
				return
			}
		}
	}
}

// matches applies the Scripting API's ThingFilter.fragment: every top-level member of fragment
// must be in the TD with a deeply equal JSON value.
func matches(t *td.Thing, fragment map[string]any) bool {
	if len(fragment) == 0 {
		return true
	}
	b, err := json.Marshal(t)
	if err != nil {
		return false
	}
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return false
	}
	for k, want := range fragment {
		if got, ok := doc[k]; !ok || !reflect.DeepEqual(got, want) {
			return false
		}
	}
	return true
}
