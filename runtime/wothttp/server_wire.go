package wothttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

// Header values shared by every response (net/http never modifies them).
var (
	hdrJSON    = []string{"application/json"}
	hdrProblem = []string{"application/problem+json"}
	hdrSSE     = []string{"text/event-stream"}
	hdrNoCache = []string{"no-cache"}
)

const (
	mediaJSON = "application/json"
	mediaSSE  = "text/event-stream"
)

// writeProblem sends err as application/problem+json with its status.
func writeProblem(w http.ResponseWriter, err error) {
	p := wot.ProblemOf(err)
	b, merr := json.Marshal(p)
	if merr != nil {
		b = []byte(`{"status":500,"title":"Internal Server Error"}`)
		p = &wot.Error{Status: http.StatusInternalServerError}
	}
	h := w.Header()
	h["Content-Type"] = hdrProblem
	h.Del("Content-Length")
	h.Del("Last-Event-ID")
	if p.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	w.Write(b)
}

func problemf(status int, format string, a ...any) *wot.Error {
	if len(a) == 0 {
		return wot.NewError(status, format)
	}
	return wot.NewError(status, fmt.Sprintf(format, a...))
}

// methodNotAllowed sends 405 with the Allow header.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string, why string) {
	w.Header().Set("Allow", allow)
	if why == "" {
		why = "this resource answers " + allow
	}
	writeProblem(w, problemf(http.StatusMethodNotAllowed, "%s is not allowed here: %s", r.Method, why))
}

// sendJSON sends 200 with a JSON body that is already encoded.
func sendJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

// accepts reports whether the Accept header admits the media type want (type/subtype,
// lower case). No Accept header admits everything.
func accepts(r *http.Request, want string) bool {
	vals := r.Header.Values("Accept")
	if len(vals) == 0 {
		return true
	}
	slash := strings.IndexByte(want, '/')
	typ := want[:slash]
	for _, v := range vals {
		for rng := range strings.SplitSeq(v, ",") {
			mt, params, _ := strings.Cut(rng, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			if mt == "" {
				continue
			}
			if q := qValue(params); q == 0 {
				continue
			}
			if mt == "*/*" || mt == want || mt == typ+"/*" {
				return true
			}
			// application/json is what application/problem+json and friends build on; a
			// consumer asking for td+json gets plain JSON values.
			if want == mediaJSON && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json") {
				return true
			}
		}
	}
	return false
}

// qValue returns the q parameter of a media range's parameters (1 when absent or unreadable).
func qValue(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 1
		}
		return q
	}
	return 1
}

// wantsSSE reports whether the request asks for an event stream in particular.
func wantsSSE(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for rng := range strings.SplitSeq(v, ",") {
			mt, params, _ := strings.Cut(rng, ";")
			if strings.EqualFold(strings.TrimSpace(mt), mediaSSE) && qValue(params) > 0 {
				return true
			}
		}
	}
	return false
}

// jsonContentType checks a request's Content-Type: none, application/json or any
// application/*+json, in UTF-8.
func jsonContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == mediaJSON || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return problemf(http.StatusUnsupportedMediaType, "Content-Type %q is not supported; send application/json (UTF-8)", ct)
}

// readBody reads a JSON request body of at most max bytes. An empty body gives nil.
func readBody(w http.ResponseWriter, r *http.Request, max int64) (json.RawMessage, error) {
	if err := jsonContentType(r); err != nil {
		return nil, err
	}
	if r.ContentLength > max {
		return nil, problemf(http.StatusRequestEntityTooLarge, "the request body has %d bytes; at most %d are accepted", r.ContentLength, max)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, problemf(http.StatusRequestEntityTooLarge, "the request body is larger than %d bytes", max)
		}
		return nil, problemf(http.StatusBadRequest, "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, problemf(http.StatusBadRequest, "the request body is not valid JSON")
	}
	return b, nil
}

// cors adds the CORS response headers for a cross-origin request. The binding allows any
// origin without ambient credentials (cookies, cached HTTP auth): browser code sends its
// Authorization header explicitly, which the preflight admits.
func cors(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location, Last-Event-ID, Allow, Retry-After")
}

// preflight answers OPTIONS: a CORS preflight, or the Allow list.
func preflight(w http.ResponseWriter, r *http.Request, allow string) {
	h := w.Header()
	h.Set("Allow", allow)
	if r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", allow)
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// statusBody is an ActionStatus as the HTTP Basic Profile writes it.
type statusBody struct {
	Status        wot.ActionState `json:"status"`
	Output        json.RawMessage `json:"output,omitempty"`
	Error         *wot.Error      `json:"error,omitempty"`
	Href          string          `json:"href,omitempty"`
	TimeRequested string          `json:"timeRequested,omitempty"`
	TimeEnded     string          `json:"timeEnded,omitempty"`
}

func encodeStatus(st *wot.ActionStatus, href string) statusBody {
	return statusBody{Status: st.State, Output: st.Output, Error: st.Error, Href: href,
		TimeRequested: rfc3339(st.TimeRequested), TimeEnded: rfc3339(st.TimeEnded)}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
