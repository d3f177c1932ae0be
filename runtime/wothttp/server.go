package wothttp

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// ServerLimits bounds what the HTTP server binding accepts and holds. Zero fields take the
// defaults named on each.
type ServerLimits struct {
	// MaxBodySize is the largest request body read (writeproperty, writemultipleproperties,
	// invokeaction); larger ones get 413. Default 1 MiB.
	MaxBodySize int64
	// SSEQueueBytes bounds the encoded messages waiting for one SSE stream; a stream whose
	// reader falls this far behind is closed (it resumes with Last-Event-ID). Default 4 MiB.
	SSEQueueBytes int
	// StallTimeout closes an SSE stream, or abandons a long-poll answer, when one write to
	// the connection makes no progress for this long. Default 30 s.
	StallTimeout time.Duration
	// Heartbeat is the interval of SSE comment lines that keep idle proxies from dropping
	// the stream. Default 15 s.
	Heartbeat time.Duration
	// MaxStreams bounds the SSE streams and held long polls at once; more get 503.
	// Default 10000.
	MaxStreams int
	// PollResume is how long after answering a long poll the binding remembers, for the
	// same connection and affordance, the last notification sent, so that the next poll
	// resumes after it instead of losing what happened in between. Default 30 s.
	PollResume time.Duration
}

// Defaults of ServerLimits.
const (
	defaultMaxBody    = 1 << 20
	defaultSSEQueue   = 4 << 20
	defaultStall      = 30 * time.Second
	defaultHeartbeat  = 15 * time.Second
	defaultMaxStreams = 10000
	defaultPollResume = 30 * time.Second
)

func (l ServerLimits) withDefaults() ServerLimits {
	if l.MaxBodySize <= 0 {
		l.MaxBodySize = defaultMaxBody
	}
	if l.SSEQueueBytes <= 0 {
		l.SSEQueueBytes = defaultSSEQueue
	}
	if l.StallTimeout <= 0 {
		l.StallTimeout = defaultStall
	}
	if l.Heartbeat <= 0 {
		l.Heartbeat = defaultHeartbeat
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = defaultMaxStreams
	}
	if l.PollResume <= 0 {
		l.PollResume = defaultPollResume
	}
	return l
}

// exposed is what the binding needs of an exposed Thing; *wot.Thing implements it. The
// binding's machinery is written (and unit-tested) against this interface.
type exposed interface {
	ID() string
	TDPath() string
	TD() *td.Thing
	ReadProperty(ctx context.Context, name string) (json.RawMessage, error)
	WriteProperty(ctx context.Context, name string, v json.RawMessage) (json.RawMessage, error)
	ReadProperties(ctx context.Context, names []string) (map[string]json.RawMessage, error)
	WriteProperties(ctx context.Context, values map[string]json.RawMessage) (map[string]json.RawMessage, error)
	InvokeAction(ctx context.Context, name string, input json.RawMessage) (*wot.Invocation, error)
	QueryAction(ctx context.Context, actionID string) (wot.ActionStatus, error)
	CancelAction(ctx context.Context, actionID string) error
	QueryAllActions(ctx context.Context) (map[string][]wot.ActionStatus, error)
	Subscribe(ctx context.Context, s wot.Subscriber, kind td.Kind, names []string, tag any, lastID string) error
	Forget(s wot.Subscriber)
}

// server is the server side of the HTTP binding: the WoT HTTP Binding Templates
// (https://w3c.github.io/wot-binding-templates/bindings/protocols/http/) in the shape of the
// WoT HTTP Basic and SSE Profiles (https://w3c.github.io/wot-profile/), with node-wot 0.9.2
// consumers in mind.
//
// Routes live under each Thing's TD path <td> (wot.Thing.TDPath), so they cannot collide
// with the TD itself or with the WTP endpoint (/wtp), and several Things share one server:
//
//	<td>/properties                  GET readallproperties (readable ones), PUT writemultipleproperties
//	<td>/properties/{p}              GET readproperty, PUT writeproperty (204)
//	<td>/properties/{p}/observable   observeproperty by long poll (HEAD 200 at once; GET held)
//	<td>/properties/{p}/sse          observeproperty by Server-Sent Events
//	<td>/actions                     GET queryallactions
//	<td>/actions/{a}                 POST invokeaction (200/204 synchronous, 201 + Location asynchronous)
//	<td>/actions/{a}/{id}            GET queryaction, DELETE cancelaction (204, then 404)
//	<td>/events/{e}                  subscribeevent by long poll
//	<td>/events/{e}/sse              subscribeevent by Server-Sent Events
//	<td>/sse/properties              observeallproperties (Server-Sent Events)
//	<td>/sse/events                  subscribeallevents (Server-Sent Events)
//
// An affordance name is one path segment, percent-encoded (a "/" in a name is %2F); names
// that are empty, consist of dots only ("." and ".." would be removed by URL normalisation)
// or start with "~" get a "~" in front, which the router strips. Routing splits the escaped
// path, so a name containing "/properties/" cannot reach another route. The TD part of the
// path is compared decoded, like the Server's TD routing.
//
// Errors are application/problem+json (wot.Error) with the statuses of the Profile reading
// in use: 400 invalid input, 404 unknown affordance or action instance, 405 + Allow for a
// method the resource does not offer (writing a readOnly property included), 406 when
// Accept excludes what the route produces, 413 for bodies over MaxBodySize, 415 for a
// request Content-Type other than JSON (none at all is taken as JSON), 503 when the Thing
// or the stream limit says so, 500 when a handler fails.
//
// Notifications: an SSE stream is a wot.Subscriber whose Notify encodes the message into a
// per-stream queue bounded in bytes and returns, so the Thing never waits for a network
// write. The handler goroutine drains the queue; each write must make progress within
// StallTimeout and the queue must stay under SSEQueueBytes, otherwise the stream is closed
// and its consumer reconnects with Last-Event-ID. SSE ids are the wot.Notification IDs, the
// same ids WTP sends as lastNotificationID: one Thing history serves both resumptions.
//
// A long poll subscribes for one notification, answers with it (200 and the JSON value, or
// an empty body for an event without data; the Last-Event-ID response header carries its
// id) and unsubscribes. A GET carrying Last-Event-ID resumes after that notification from
// the Thing's history; without it, the binding remembers for PollResume the last id sent per
// (principal, connection, affordance), so a consumer that polls again on the same keep-alive
// connection (node-wot does) does not lose what happened between two polls. A consumer on
// a new connection without Last-Event-ID starts from the next notification.
type server struct {
	lim ServerLimits
	log *slog.Logger

	// thingAt returns the Thing whose TD is at the decoded path, or nil (set by Start);
	// base returns the external URL of the server for a request (scheme://host[/prefix],
	// no trailing slash).
	thingAt func(path string) exposed
	base    func(r *http.Request) *url.URL

	mu      sync.RWMutex
	byPath  map[string]*entry // by decoded TD path without trailing slash ("" for "/")
	byThing map[exposed]*entry

	smu     sync.Mutex
	streams int           // SSE streams and held long polls
	live    int           // those of them subscribed to their Thing
	closing chan struct{} // closed by Shutdown
	closed  bool
	wg      sync.WaitGroup // held requests

	polls pollResume
}

func newServerBinding(lim ServerLimits) *server {
	return &server{
		lim:     lim.withDefaults(),
		log:     slog.New(slog.DiscardHandler),
		byPath:  map[string]*entry{},
		byThing: map[exposed]*entry{},
		closing: make(chan struct{}),
		base:    requestBase,
	}
}

// requestBase is the server's URL as the request reached it.
func requestBase(r *http.Request) *url.URL {
	u := &url.URL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u
}

// Name implements wot.ServerBinding.
func (s *server) Name() string { return "http" }

// Shutdown ends the SSE streams and held long polls (a held poll gets 503) and waits for
// their handlers to return, or for ctx.
func (s *server) Shutdown(ctx context.Context) error {
	s.smu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.smu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold reserves a slot for a held request (SSE stream or long poll); release with unhold.
func (s *server) hold() bool {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.closed || s.streams >= s.lim.MaxStreams {
		return false
	}
	s.streams++
	s.wg.Add(1)
	return true
}

func (s *server) unhold() {
	s.smu.Lock()
	s.streams--
	s.smu.Unlock()
	s.wg.Done()
}

// subscribed counts a held request as live (d = 1) once its Thing subscription is in
// place, and no longer (d = -1) when it ends.
func (s *server) subscribed(d int) {
	s.smu.Lock()
	s.live += d
	s.smu.Unlock()
}

// activeStreams reports the held requests whose subscription is in place, from which point
// no notification is missed (for tests).
func (s *server) activeStreams() int {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.live
}

// entry is what routing needs of one Thing, computed once from its TD.
type entry struct {
	t        exposed
	path     string // decoded TD path, no trailing slash
	hrefPath string // the same, escaped for hrefs
	props    map[string]propInfo
	actions  map[string]bool
	events   map[string]bool

	readable, writable, observable bool // some property is
}

type propInfo struct{ readOnly, writeOnly, observable bool }

func newEntry(t exposed) *entry {
	d := t.TD()
	p := strings.TrimSuffix(t.TDPath(), "/")
	e := &entry{t: t, path: p, hrefPath: (&url.URL{Path: p}).EscapedPath(),
		props: map[string]propInfo{}, actions: map[string]bool{}, events: map[string]bool{}}
	for n, pa := range d.Properties {
		if pa == nil {
			continue
		}
		pi := propInfo{readOnly: pa.IsReadOnly(), writeOnly: pa.IsWriteOnly(), observable: pa.IsObservable()}
		e.props[n] = pi
		e.readable = e.readable || !pi.writeOnly
		e.writable = e.writable || !pi.readOnly
		e.observable = e.observable || pi.observable
	}
	for n := range d.Actions {
		e.actions[n] = true
	}
	for n := range d.Events {
		e.events[n] = true
	}
	return e
}

// entryOf returns the routing entry of t, building it on first use.
func (s *server) entryOf(t exposed) *entry {
	s.mu.RLock()
	e := s.byThing[t]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	e = newEntry(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byThing[t]; old != nil {
		return old
	}
	s.byThing[t] = e
	s.byPath[e.path] = e
	return e
}

// lookup returns the Thing served at the decoded TD path p ("" for "/").
func (s *server) lookup(p string) *entry {
	s.mu.RLock()
	e := s.byPath[p]
	s.mu.RUnlock()
	if e != nil || s.thingAt == nil {
		return e
	}
	if p == "" {
		p = "/"
	}
	if t := s.thingAt(p); t != nil {
		return s.entryOf(t)
	}
	return nil
}

// routeKind names the routes of the doc comment of server.
type routeKind int

const (
	rProps routeKind = iota + 1
	rProp
	rPropPoll
	rPropSSE
	rActions
	rAction
	rActionStatus
	rEventPoll
	rEventSSE
	rAllPropsSSE
	rAllEventsSSE
)

type route struct {
	kind routeKind
	name string // affordance
	id   string // action instance
}

// match finds the Thing and route of an escaped request path. ok is false when the path is
// not under a served Thing's TD path or not shaped like one of the routes; known is false
// when it is shaped like a route but names no affordance of the Thing (404).
func (s *server) match(escaped string) (e *entry, rt route, ok, known bool) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, rt, false, false
	}
	raw := strings.Split(escaped[1:], "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		d, err := url.PathUnescape(r)
		if err != nil {
			return nil, rt, false, false
		}
		segs[i] = d
	}
	// The remainder after the TD path has 1 to 3 segments; prefer the longest TD path.
	for k := len(segs) - 1; k >= 0 && k >= len(segs)-3; k-- {
		p := ""
		if k > 0 {
			p = "/" + strings.Join(segs[:k], "/")
		}
		e = s.lookup(p)
		if e == nil {
			continue
		}
		if rt, ok = parseRoute(segs[k:]); ok {
			return e, rt, true, e.has(rt)
		}
	}
	return nil, rt, false, false
}

func parseRoute(rest []string) (route, bool) {
	switch len(rest) {
	case 1:
		switch rest[0] {
		case "properties":
			return route{kind: rProps}, true
		case "actions":
			return route{kind: rActions}, true
		}
	case 2:
		name := decodeName(rest[1])
		switch rest[0] {
		case "properties":
			return route{kind: rProp, name: name}, true
		case "actions":
			return route{kind: rAction, name: name}, true
		case "events":
			return route{kind: rEventPoll, name: name}, true
		case "sse":
			switch rest[1] {
			case "properties":
				return route{kind: rAllPropsSSE}, true
			case "events":
				return route{kind: rAllEventsSSE}, true
			}
		}
	case 3:
		name := decodeName(rest[1])
		switch {
		case rest[0] == "properties" && rest[2] == "observable":
			return route{kind: rPropPoll, name: name}, true
		case rest[0] == "properties" && rest[2] == "sse":
			return route{kind: rPropSSE, name: name}, true
		case rest[0] == "events" && rest[2] == "sse":
			return route{kind: rEventSSE, name: name}, true
		case rest[0] == "actions" && rest[2] != "":
			return route{kind: rActionStatus, name: name, id: rest[2]}, true
		}
	}
	return route{}, false
}

// has reports whether the route names an affordance (or Thing-level resource) e offers.
func (e *entry) has(rt route) bool {
	switch rt.kind {
	case rProps:
		return len(e.props) > 0
	case rProp:
		_, ok := e.props[rt.name]
		return ok
	case rPropPoll, rPropSSE:
		return e.props[rt.name].observable
	case rActions:
		return len(e.actions) > 0
	case rAction, rActionStatus:
		return e.actions[rt.name]
	case rEventPoll, rEventSSE:
		return e.events[rt.name]
	case rAllPropsSSE:
		return e.observable
	case rAllEventsSSE:
		return len(e.events) > 0
	}
	return false
}

// encodeName turns an affordance name into one path segment (see the server doc comment).
func encodeName(name string) string {
	if name == "" || strings.Trim(name, ".") == "" || name[0] == '~' {
		name = "~" + name
	}
	return url.PathEscape(name)
}

// decodeName inverts encodeName on an unescaped segment.
func decodeName(seg string) string { return strings.TrimPrefix(seg, "~") }
