package wothttp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// Allow lists per route.
const (
	allowRead      = "GET, HEAD, OPTIONS"
	allowWrite     = "PUT, OPTIONS"
	allowReadWrite = "GET, HEAD, PUT, OPTIONS"
	allowInvoke    = "POST, OPTIONS"
	allowStatus    = "GET, HEAD, DELETE, OPTIONS"
)

func (e *entry) allow(rt route) string {
	switch rt.kind {
	case rProps:
		switch {
		case e.readable && e.writable:
			return allowReadWrite
		case e.writable:
			return allowWrite
		}
		return allowRead
	case rProp:
		p := e.props[rt.name]
		switch {
		case p.readOnly && p.writeOnly:
			return "OPTIONS"
		case p.readOnly:
			return allowRead
		case p.writeOnly:
			return allowWrite
		}
		return allowReadWrite
	case rAction:
		return allowInvoke
	case rActionStatus:
		return allowStatus
	}
	return allowRead
}

// allowed reports whether method is in the Allow list.
func allowed(method, allow string) bool {
	for m := range strings.SplitSeq(allow, ", ") {
		if m == method {
			return true
		}
	}
	return false
}

// Serve implements wot.ServerBinding: it handles the requests under a served Thing's TD
// path that have the shape of one of the binding's routes.
func (s *server) Serve(w http.ResponseWriter, r *http.Request) bool {
	e, rt, ok, known := s.match(r.URL.EscapedPath())
	if !ok {
		return false
	}
	cors(w, r)
	if !known {
		writeProblem(w, notFoundFor(rt, e))
		return true
	}
	allow := e.allow(rt)
	if r.Method == http.MethodOptions {
		preflight(w, r, allow)
		return true
	}
	if !allowed(r.Method, allow) {
		methodNotAllowed(w, r, allow, whyNotAllowed(e, rt, r.Method))
		return true
	}
	// The Server put the authenticated principal into the context as a wot.Caller without
	// session: HTTP has none.
	ctx := r.Context()
	switch rt.kind {
	case rProps:
		if r.Method == http.MethodPut {
			s.writeMultiple(ctx, w, r, e)
		} else {
			s.readAll(ctx, w, r, e)
		}
	case rProp:
		if r.Method == http.MethodPut {
			s.writeProperty(ctx, w, r, e, rt.name)
		} else {
			s.readProperty(ctx, w, r, e, rt.name)
		}
	case rAction:
		s.invoke(ctx, w, r, e, rt.name)
	case rActionStatus:
		s.actionStatus(ctx, w, r, e, rt)
	case rActions:
		s.queryAll(ctx, w, r, e)
	case rPropPoll, rEventPoll:
		kind := td.KindProperty
		if rt.kind == rEventPoll {
			kind = td.KindEvent
		}
		if wantsSSE(r) && !accepts(r, mediaJSON) {
			s.sse(ctx, w, r, e, kind, []string{rt.name})
		} else {
			s.longPoll(ctx, w, r, e, kind, rt.name)
		}
	case rPropSSE:
		s.sse(ctx, w, r, e, td.KindProperty, []string{rt.name})
	case rEventSSE:
		s.sse(ctx, w, r, e, td.KindEvent, []string{rt.name})
	case rAllPropsSSE:
		s.sse(ctx, w, r, e, td.KindProperty, nil)
	case rAllEventsSSE:
		s.sse(ctx, w, r, e, td.KindEvent, nil)
	}
	return true
}

func notFoundFor(rt route, e *entry) error {
	switch rt.kind {
	case rProps:
		return problemf(http.StatusNotFound, "Thing %s has no properties", e.t.ID())
	case rActions:
		return problemf(http.StatusNotFound, "Thing %s has no actions", e.t.ID())
	case rPropPoll, rPropSSE:
		if _, ok := e.props[rt.name]; ok {
			return problemf(http.StatusNotFound, "property %q is not observable", rt.name)
		}
		return problemf(http.StatusNotFound, "Thing %s has no property %q", e.t.ID(), rt.name)
	case rProp:
		return problemf(http.StatusNotFound, "Thing %s has no property %q", e.t.ID(), rt.name)
	case rAction, rActionStatus:
		return problemf(http.StatusNotFound, "Thing %s has no action %q", e.t.ID(), rt.name)
	case rEventPoll, rEventSSE:
		return problemf(http.StatusNotFound, "Thing %s has no event %q", e.t.ID(), rt.name)
	case rAllPropsSSE:
		return problemf(http.StatusNotFound, "Thing %s has no observable property", e.t.ID())
	case rAllEventsSSE:
		return problemf(http.StatusNotFound, "Thing %s has no events", e.t.ID())
	}
	return problemf(http.StatusNotFound, "no such resource")
}

func whyNotAllowed(e *entry, rt route, method string) string {
	if rt.kind == rProp {
		p := e.props[rt.name]
		switch {
		case method == http.MethodPut && p.readOnly:
			return "property " + rt.name + " is readOnly"
		case (method == http.MethodGet || method == http.MethodHead) && p.writeOnly:
			return "property " + rt.name + " is writeOnly"
		}
	}
	return ""
}

func notAcceptable(want string) error {
	return problemf(http.StatusNotAcceptable, "this resource answers %s, which the Accept header excludes", want)
}

func (s *server) readProperty(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, name string) {
	if !accepts(r, mediaJSON) {
		writeProblem(w, notAcceptable(mediaJSON))
		return
	}
	v, err := e.t.ReadProperty(ctx, name)
	if err != nil {
		writeProblem(w, err)
		return
	}
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	sendJSON(w, http.StatusOK, v)
}

func (s *server) writeProperty(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, name string) {
	v, err := readBody(w, r, s.lim.MaxBodySize)
	if err == nil && v == nil {
		err = problemf(http.StatusBadRequest, "writeproperty needs the new value of %q as JSON in the request body", name)
	}
	if err == nil {
		_, err = e.t.WriteProperty(ctx, name, v)
	}
	if err != nil {
		writeProblem(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) readAll(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry) {
	if !accepts(r, mediaJSON) {
		writeProblem(w, notAcceptable(mediaJSON))
		return
	}
	m, err := e.t.ReadProperties(ctx, nil)
	if err != nil {
		writeProblem(w, err)
		return
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		writeProblem(w, err)
		return
	}
	sendJSON(w, http.StatusOK, b)
}

func (s *server) writeMultiple(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry) {
	body, err := readBody(w, r, s.lim.MaxBodySize)
	var values map[string]json.RawMessage
	if err == nil && (body == nil || json.Unmarshal(body, &values) != nil || values == nil) {
		err = problemf(http.StatusBadRequest, "writemultipleproperties needs a JSON object mapping property names to their new values")
	}
	if err == nil {
		_, err = e.t.WriteProperties(ctx, values)
	}
	if err != nil {
		writeProblem(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) invoke(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, name string) {
	if !accepts(r, mediaJSON) {
		writeProblem(w, notAcceptable(mediaJSON))
		return
	}
	input, err := readBody(w, r, s.lim.MaxBodySize)
	if err != nil {
		writeProblem(w, err)
		return
	}
	inv, err := e.t.InvokeAction(ctx, name, input)
	if err != nil {
		writeProblem(w, err)
		return
	}
	if inv == nil || inv.Status == nil {
		if inv == nil || len(inv.Output) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		sendJSON(w, http.StatusOK, inv.Output)
		return
	}
	href := s.statusHref(r, e, name, inv.Status.ActionID)
	b, err := json.Marshal(encodeStatus(inv.Status, href))
	if err != nil {
		writeProblem(w, err)
		return
	}
	w.Header().Set("Location", href)
	sendJSON(w, http.StatusCreated, b)
}

func (s *server) actionStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, rt route) {
	if r.Method != http.MethodDelete && !accepts(r, mediaJSON) {
		writeProblem(w, notAcceptable(mediaJSON))
		return
	}
	st, err := e.t.QueryAction(ctx, rt.id)
	if err == nil && st.Name != "" && st.Name != rt.name {
		err = problemf(http.StatusNotFound, "action %q has no instance %q", rt.name, rt.id)
	}
	if err == nil && r.Method == http.MethodDelete {
		err = e.t.CancelAction(ctx, rt.id)
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if err != nil {
		writeProblem(w, err)
		return
	}
	b, err := json.Marshal(encodeStatus(&st, s.statusHref(r, e, rt.name, rt.id)))
	if err != nil {
		writeProblem(w, err)
		return
	}
	sendJSON(w, http.StatusOK, b)
}

func (s *server) queryAll(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry) {
	if !accepts(r, mediaJSON) {
		writeProblem(w, notAcceptable(mediaJSON))
		return
	}
	all, err := e.t.QueryAllActions(ctx)
	if err != nil {
		writeProblem(w, err)
		return
	}
	out := make(map[string][]statusBody, len(all))
	for name, list := range all {
		l := make([]statusBody, len(list))
		for i := range list {
			l[i] = encodeStatus(&list[i], s.statusHref(r, e, name, list[i].ActionID))
		}
		out[name] = l
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeProblem(w, err)
		return
	}
	sendJSON(w, http.StatusOK, b)
}

// statusHref is the absolute URL of an action instance's status resource.
func (s *server) statusHref(r *http.Request, e *entry, name, id string) string {
	return baseString(s.base(r)) + e.hrefPath + "/actions/" + encodeName(name) + "/" + url.PathEscape(id)
}

// baseString writes scheme://host[/escaped-prefix] with no trailing slash.
func baseString(u *url.URL) string {
	return u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
}
