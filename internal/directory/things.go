package directory

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DiscoveryContext is the context an Enriched TD lists
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-registration-info).
const DiscoveryContext = "https://www.w3.org/2022/wot/discovery"

// Rule codes of the directory's own checks, reported next to wotgen validate's TDxxx codes.
const (
	codeBody         = "TDD001" // the body is not a JSON object, or not one TD
	codeRegistration = "TDD002" // registration member malformed or out of bounds
	codeID           = "TDD003" // id missing, not a string, or not the one in the path
	codePatch        = "TDD004" // merge patch is not a JSON object
)

// timeFormat is RFC 3339 with an explicit offset, as the spec requires for registration times.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// maxIDLength bounds ids: PostgreSQL cannot index much longer keys, and no real id comes close.
const maxIDLength = 1024

// validID rejects ids no store can hold: empty, too long, not UTF-8, or with a NUL.
func validID(id string) bool {
	return id != "" && len(id) <= maxIDLength && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// thingID extracts the id from /things/{id}: the escaped path is unescaped once.
func thingID(r *http.Request) (string, bool) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/things/")
	id, err := url.PathUnescape(raw)
	if err != nil || !validID(id) {
		return "", false
	}
	return id, true
}

// location is the URL path of an entry, percent-encoding everything that is not unreserved.
func location(id string) string { return "/things/" + url.PathEscape(id) }

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(r)
	if !ok {
		s.problem(w, r, http.StatusNotFound, "the path names no valid Thing id", nil)
		return
	}
	now := s.now()
	e, err := s.store.Get(r.Context(), id, now)
	if errors.Is(err, errNotFound) {
		s.problem(w, r, http.StatusNotFound, fmt.Sprintf("no Thing Description with id %q", id), nil)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	body, err := render(e, now)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/td+json", body)
}

// readBody reads a bounded request body; it writes the problem itself when it fails.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.problem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", s.cfg.MaxBodyBytes), nil)
		return nil, false
	}
	if err != nil {
		s.problem(w, r, http.StatusBadRequest, "could not read the body: "+err.Error(), nil)
		return nil, false
	}
	return body, true
}

// tdMediaType accepts the JSON types a TD may be sent as; a missing Content-Type is read as JSON.
func (s *Server) tdMediaType(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "application/td+json", mt == "application/json", mt == "application/ld+json":
		return true
	}
	s.problem(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not a TD: send application/td+json", ct), nil)
	return false
}

// badRequest reports validation errors; it is an error so write callbacks can return it.
type badRequest struct {
	detail string
	errs   []validationError
}

func (e *badRequest) Error() string { return e.detail }

func invalid(code, ptr, format string, args ...any) *badRequest {
	msg := fmt.Sprintf(format, args...)
	return &badRequest{detail: "the input is not a valid Thing Description: " + msg,
		errs: []validationError{{Field: jsonField(ptr), Description: msg, Pointer: ptr, Code: code}}}
}

// submission is a checked TD ready to store: its members without "registration", and the client's
// registration wishes.
type submission struct {
	members    []member
	id         string // "" when the TD has none
	ttl        float64
	hasTTL     bool
	expires    time.Time
	hasExpires bool
}

// check validates a submitted TD with the rules of `wotgen validate` and reads its registration
// member (https://www.w3.org/TR/wot-discovery/#validation).
func (s *Server) check(body []byte, now time.Time) (*submission, error) {
	res := s.v.Validate("td.json", body)
	if !res.Valid {
		br := &badRequest{detail: "the input did not pass validation: fix the listed validationErrors"}
		for _, d := range res.Diagnostics {
			if d.Severity != "error" {
				continue
			}
			br.errs = append(br.errs, validationError{Field: jsonField(d.Pointer), Description: d.Message, Pointer: d.Pointer, Code: d.Code})
		}
		return nil, br
	}
	ms, err := topLevel(body)
	if err != nil {
		return nil, invalid(codeBody, "", "the body must be one JSON object: %v", err)
	}
	sub := &submission{}
	if v, ok := findMember(ms, "id"); ok {
		id, ok := rawString(v)
		if !ok || !validID(id) {
			return nil, invalid(codeID, "/id", "id must be a non-empty string of at most %d bytes without NUL characters", maxIDLength)
		}
		sub.id = id
	}
	if v, ok := findMember(ms, "registration"); ok {
		if err := s.readRegistration(v, now, sub); err != nil {
			return nil, err
		}
		ms = dropMember(ms, "registration")
	}
	sub.members = ms
	return sub, nil
}

// readRegistration takes ttl and expires from the client; created, modified and retrieved are the
// server's and ignored (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-registration-info).
func (s *Server) readRegistration(v json.RawMessage, now time.Time, sub *submission) error {
	var reg map[string]json.RawMessage
	if err := json.Unmarshal(v, &reg); err != nil || reg == nil {
		return invalid(codeRegistration, "/registration", "registration must be an object")
	}
	limit := s.cfg.MaxTTL.Seconds()
	if raw, ok := reg["ttl"]; ok {
		var ttl float64
		if err := json.Unmarshal(raw, &ttl); err != nil || ttl < 0 || math.IsInf(ttl, 0) || ttl > 100*365*24*3600 {
			return invalid(codeRegistration, "/registration/ttl", "ttl must be a non-negative number of seconds")
		}
		if limit > 0 && ttl > limit {
			return invalid(codeRegistration, "/registration/ttl", "ttl %g s is above this directory's maximum of %g s", ttl, limit)
		}
		sub.ttl, sub.hasTTL = ttl, true
	}
	if raw, ok := reg["expires"]; ok && !sub.hasTTL {
		str, ok := rawString(raw)
		t, err := time.Parse(time.RFC3339Nano, str)
		if !ok || err != nil {
			return invalid(codeRegistration, "/registration/expires", "expires must be an RFC 3339 date-time with an offset, e.g. 2030-01-02T15:04:05Z")
		}
		if !t.After(now) {
			return invalid(codeRegistration, "/registration/expires", "expires %s is not in the future", str)
		}
		if limit > 0 && t.Sub(now) > s.cfg.MaxTTL {
			return invalid(codeRegistration, "/registration/expires", "expires is more than this directory's maximum lifetime of %g s away", limit)
		}
		sub.expires, sub.hasExpires = t.UTC(), true
	}
	return nil
}

// entry builds what is stored: ttl wins over expires (an expiring server computes expires from ttl).
func (sub *submission) entry(id string, old *Entry, now time.Time) Entry {
	e := Entry{ID: id, Created: now, Modified: now, TTL: sub.ttl, HasTTL: sub.hasTTL}
	if old != nil {
		e.Created = old.Created
	}
	switch {
	case sub.hasTTL:
		e.Expires = now.Add(time.Duration(sub.ttl * float64(time.Second)))
	case sub.hasExpires:
		e.Expires = sub.expires
	}
	idv, _ := marshalJSON(id)
	e.TD = encodeMembers(setMember(sub.members, "id", idv, "@context"))
	return e
}

// writeMutation turns a new entry into the stored mutation with its event: the whole TD for a
// creation, the merge patch from the old TD for an update (the diff=true payloads of
// https://www.w3.org/TR/wot-discovery/#exploration-directory-api-notification).
func writeMutation(n Entry, old *Entry) (mutation, error) {
	newDoc, err := render(n, time.Time{})
	if err != nil {
		return mutation{}, err
	}
	if old == nil {
		return mutation{entry: n, eventType: eventCreated, diff: newDoc}, nil
	}
	oldDoc, err := render(*old, time.Time{})
	if err != nil {
		return mutation{}, err
	}
	ov, err1 := decodeJSON(oldDoc)
	nv, err2 := decodeJSON(newDoc)
	om, ok1 := ov.(map[string]any)
	nm, ok2 := nv.(map[string]any)
	if err1 != nil || err2 != nil || !ok1 || !ok2 {
		return mutation{}, errors.New("stored TD is not a JSON object")
	}
	d := mergeDiff(om, nm)
	d["id"] = n.ID
	diff, err := marshalJSON(d)
	if err != nil {
		return mutation{}, err
	}
	return mutation{entry: n, eventType: eventUpdated, diff: diff}, nil
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		s.problem(w, r, http.StatusBadRequest, br.detail, br.errs)
	case errors.Is(err, errNotFound):
		s.problem(w, r, http.StatusNotFound, "no Thing Description with this id", nil)
	default:
		s.internalError(w, r, err)
	}
}

// handlePut creates (201) or replaces (204) the TD with the id in the path
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-creation).
func (s *Server) handlePut(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(r)
	if !ok {
		s.problem(w, r, http.StatusNotFound, "the path names no valid Thing id", nil)
		return
	}
	if !s.tdMediaType(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	now := s.now()
	sub, err := s.check(body, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if sub.id != "" && sub.id != id {
		s.writeError(w, r, invalid(codeID, "/id", "the body's id %q differs from the id %q in the path", sub.id, id))
		return
	}
	created, err := s.store.Write(r.Context(), id, now, func(old *Entry) (mutation, error) {
		if old == nil && sub.id == "" {
			// Anonymous TDs are created with POST /things only.
			return mutation{}, invalid(codeID, "/id", "a new TD created with PUT must carry the id %q; POST /things creates anonymous TDs", id)
		}
		return writeMutation(sub.entry(id, old, now), old)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.poke()
	if created {
		w.Header().Set("Location", location(id))
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleCreateAnonymous stores a TD without id under a new urn:uuid (UUIDv4) id and answers 201 with
// Location (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-creation).
func (s *Server) handleCreateAnonymous(w http.ResponseWriter, r *http.Request) {
	if !s.tdMediaType(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	now := s.now()
	sub, err := s.check(body, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if sub.id != "" {
		s.writeError(w, r, invalid(codeID, "/id", "POST /things creates anonymous TDs only; this TD has id %q, so create it with PUT /things/{id}", sub.id))
		return
	}
	id := newUUID()
	_, err = s.store.Write(r.Context(), id, now, func(old *Entry) (mutation, error) {
		if old != nil {
			return mutation{}, fmt.Errorf("generated id %s already exists", id)
		}
		return writeMutation(sub.entry(id, nil, now), nil)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.poke()
	w.Header().Set("Location", location(id))
	w.WriteHeader(http.StatusCreated)
}

// newUUID returns a random (version 4) UUID URN, as the spec recommends for anonymous TDs.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// handlePatch applies a JSON Merge Patch to the stored TD (its registration ttl and expires
// included), validates the result and stores it (204)
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-update).
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(r)
	if !ok {
		s.problem(w, r, http.StatusNotFound, "the path names no valid Thing id", nil)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/merge-patch+json" {
		s.problem(w, r, http.StatusBadRequest, "PATCH needs Content-Type application/merge-patch+json (RFC 7396)", nil)
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	pv, err := decodeJSON(body)
	if err != nil {
		s.writeError(w, r, invalid(codePatch, "", "the merge patch is not valid JSON: %v", err))
		return
	}
	patch, ok := pv.(map[string]any)
	if !ok {
		s.writeError(w, r, invalid(codePatch, "", "the merge patch must be a JSON object (a partial TD)"))
		return
	}
	now := s.now()
	_, err = s.store.Write(r.Context(), id, now, func(old *Entry) (mutation, error) {
		if old == nil {
			return mutation{}, errNotFound
		}
		cur, err := decodeJSON(old.TD)
		if err != nil {
			return mutation{}, err
		}
		curm, _ := cur.(map[string]any)
		reg := map[string]any{}
		if old.HasTTL {
			reg["ttl"] = old.TTL
		}
		if !old.Expires.IsZero() && !old.HasTTL {
			reg["expires"] = formatTime(old.Expires)
		}
		if len(reg) > 0 {
			curm["registration"] = reg
		}
		merged, err := marshalJSON(mergePatch(curm, patch))
		if err != nil {
			return mutation{}, err
		}
		if int64(len(merged)) > s.cfg.MaxBodyBytes {
			return mutation{}, invalid(codePatch, "", "the patched TD would exceed %d bytes", s.cfg.MaxBodyBytes)
		}
		sub, err := s.check(merged, now)
		if err != nil {
			return mutation{}, err
		}
		if sub.id != "" && sub.id != id {
			return mutation{}, invalid(codeID, "/id", "the patch changes the id to %q; the id of a stored TD cannot change", sub.id)
		}
		return writeMutation(sub.entry(id, old, now), old)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.poke()
	w.WriteHeader(http.StatusNoContent)
}

// handleDelete removes a TD (204) (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-deletion).
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(r)
	if !ok {
		s.problem(w, r, http.StatusNotFound, "the path names no valid Thing id", nil)
		return
	}
	if err := s.store.Delete(r.Context(), id, s.now()); err != nil {
		if errors.Is(err, errNotFound) {
			s.problem(w, r, http.StatusNotFound, fmt.Sprintf("no Thing Description with id %q", id), nil)
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.hub.poke()
	w.WriteHeader(http.StatusNoContent)
}

// render returns the Enriched TD: the stored TD with the discovery context and the registration
// member (created, modified, expires, ttl, and retrieved unless zero).
func render(e Entry, retrieved time.Time) ([]byte, error) {
	ms, err := topLevel(e.TD)
	if err != nil {
		return nil, fmt.Errorf("stored TD %s: %w", e.ID, err)
	}
	if c, ok := findMember(ms, "@context"); ok {
		ms = setMember(ms, "@context", withDiscoveryContext(c), "")
	}
	reg := struct {
		Created   string   `json:"created"`
		Modified  string   `json:"modified"`
		Expires   string   `json:"expires,omitempty"`
		TTL       *float64 `json:"ttl,omitempty"`
		Retrieved string   `json:"retrieved,omitempty"`
	}{Created: formatTime(e.Created), Modified: formatTime(e.Modified)}
	if !e.Expires.IsZero() {
		reg.Expires = formatTime(e.Expires)
	}
	if e.HasTTL {
		ttl := e.TTL
		reg.TTL = &ttl
	}
	if !retrieved.IsZero() {
		reg.Retrieved = formatTime(retrieved)
	}
	rv, err := marshalJSON(reg)
	if err != nil {
		return nil, err
	}
	ms = append(dropMember(ms, "registration"), member{"registration", rv})
	return encodeMembers(ms), nil
}

// withDiscoveryContext adds the discovery context to @context unless it is there: after the last
// string entry of an array, or turning a single string into an array.
func withDiscoveryContext(c json.RawMessage) json.RawMessage {
	var one string
	if json.Unmarshal(c, &one) == nil {
		if one == DiscoveryContext {
			return c
		}
		out, _ := marshalJSON([]string{one, DiscoveryContext})
		return out
	}
	var arr []json.RawMessage
	if json.Unmarshal(c, &arr) != nil {
		return c
	}
	at := 0
	for i, v := range arr {
		if s, ok := rawString(v); ok {
			if s == DiscoveryContext {
				return c
			}
			at = i + 1
		}
	}
	dc, _ := marshalJSON(DiscoveryContext)
	arr = append(arr, nil)
	copy(arr[at+1:], arr[at:])
	arr[at] = dc
	out, _ := marshalJSON(arr)
	return out
}

// listQuery is the parsed query of GET /things.
type listQuery struct {
	offset, limit int
	hasLimit      bool
	collection    bool
}

func (s *Server) parseListQuery(r *http.Request) (listQuery, error) {
	var q listQuery
	v := r.URL.Query()
	if o := v.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			return q, fmt.Errorf("offset %q must be a non-negative integer", o)
		}
		q.offset = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return q, fmt.Errorf("limit %q must be a positive integer", l)
		}
		q.limit, q.hasLimit = min(n, s.cfg.MaxPageSize), true
	}
	switch f := v.Get("format"); f {
	case "", "array":
	case "collection":
		q.collection = true
		if !q.hasLimit {
			q.limit, q.hasLimit = s.cfg.MaxPageSize, true
		}
	default:
		return q, fmt.Errorf("format %q is not supported: use array or collection", f)
	}
	return q, nil
}

func (q listQuery) url(offset int) string {
	u := fmt.Sprintf("/things?offset=%d&limit=%d", offset, q.limit)
	if q.collection {
		u += "&format=collection"
	}
	return u
}

// handleList lists TDs in id order, paged with offset/limit and Link headers
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-listing). Without limit the
// whole collection is streamed in bounded chunks (keyset reads, no long transaction).
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseListQuery(r)
	if err != nil {
		s.problem(w, r, http.StatusBadRequest, err.Error(), nil)
		return
	}
	ctx, now := r.Context(), s.now()
	if !q.hasLimit {
		w.Header().Set("Content-Type", "application/ld+json")
		if r.Method == http.MethodHead {
			return
		}
		page, err := s.store.List(ctx, now, q.offset, s.cfg.MaxPageSize)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "[")
		first := true
		for len(page) > 0 {
			for _, e := range page {
				body, err := render(e, now)
				if err != nil {
					s.cfg.Logger.Error("directory: render", "id", e.ID, "err", err)
					continue
				}
				if !first {
					io.WriteString(w, ",")
				}
				first = false
				w.Write(body)
			}
			if len(page) < s.cfg.MaxPageSize {
				break
			}
			if page, err = s.store.ListAfter(ctx, now, page[len(page)-1].ID, s.cfg.MaxPageSize); err != nil {
				// The status is sent: end with a broken array so the client sees a truncated body.
				s.cfg.Logger.Error("directory: list", "err", err)
				return
			}
		}
		io.WriteString(w, "]")
		return
	}
	total, version, err := s.store.Count(ctx, now)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	page, err := s.store.List(ctx, now, q.offset, q.limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	members := make([]json.RawMessage, 0, len(page))
	for _, e := range page {
		body, err := render(e, now)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		members = append(members, body)
	}
	next := ""
	if q.offset+len(page) < total && len(page) > 0 {
		next = q.url(q.offset + len(page))
		w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
	}
	w.Header().Add("Link", fmt.Sprintf(`</things>; rel="canonical"; etag="v%d"`, version))
	var out any = members
	if q.collection {
		out = struct {
			Context string            `json:"@context"`
			Type    string            `json:"@type"`
			ID      string            `json:"@id"`
			Members []json.RawMessage `json:"members"`
			Total   int               `json:"total"`
			Next    string            `json:"next,omitempty"`
		}{DiscoveryContext, "ThingCollection", q.url(q.offset), members, total, next}
	}
	body, err := marshalJSON(out)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/ld+json", body)
}
