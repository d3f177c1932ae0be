package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/gen/validate"
	"github.com/wotgen/wotgen/runtime/discovery"
	"github.com/wotgen/wotgen/runtime/td"
)

func newClient(t testing.TB, in *instance, opts ...discovery.DirectoryOption) *discovery.Directory {
	t.Helper()
	c, err := discovery.NewDirectory(in.url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustThing(t testing.TB, data []byte) *td.Thing {
	t.Helper()
	th, err := td.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// raw sends one request and returns status, headers and body.
func raw(t testing.TB, method, u, contentType string, body []byte, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

func wantStatus(t testing.TB, err error, status int) {
	t.Helper()
	if !discovery.IsDirectoryStatus(err, status) {
		t.Fatalf("got error %v, want status %d", err, status)
	}
}

func wantProblem(t testing.TB, status int, hdr http.Header, body []byte, wantStatus int) map[string]any {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	if p["status"] != float64(wantStatus) || p["title"] == "" {
		t.Fatalf("problem %s lacks status/title", body)
	}
	return p
}

func TestCRUD(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		in := startInstance(t, k.open(t), Config{})
		c := newClient(t, in)
		ctx := context.Background()

		// Create with id: 201 with Location, then 204 on the same id.
		id := "urn:example:lamp/1?x=y" // needs escaping in the path
		code, hdr, body := raw(t, "PUT", in.url+"things/"+strings.ReplaceAll(strings.ReplaceAll(id, "/", "%2F"), "?", "%3F"), "application/td+json", tdJSON(id, "Lamp", ""))
		if code != 201 || hdr.Get("Location") != "/things/urn:example:lamp%2F1%3Fx=y" {
			t.Fatalf("PUT new: %d %v %s", code, hdr, body)
		}
		created, err := c.Create(ctx, mustThing(t, tdJSON(id, "Lamp v2", "")))
		if err != nil || created {
			t.Fatalf("Create existing: created=%v err=%v, want replace", created, err)
		}
		// Retrieve: enriched, with the discovery context and registration.
		got, err := c.Get(ctx, id)
		if err != nil || got.Title != "Lamp v2" || got.ID != id {
			t.Fatalf("Get: %+v %v", got, err)
		}
		if !slices.ContainsFunc(got.Context, func(e td.ContextEntry) bool { return e.URI == DiscoveryContext }) {
			t.Errorf("@context %+v lacks %s", got.Context, DiscoveryContext)
		}
		reg, ok, err := discovery.RegistrationOf(got)
		if !ok || err != nil || reg.Created.IsZero() || reg.Modified.Before(reg.Created) || reg.Retrieved.IsZero() || !reg.Expires.IsZero() {
			t.Fatalf("registration %+v ok=%v err=%v", reg, ok, err)
		}
		code, hdr, _ = raw(t, "GET", in.url+"things/"+"urn:example:lamp%2F1%3Fx=y", "", nil)
		if code != 200 || hdr.Get("Content-Type") != "application/td+json" {
			t.Fatalf("GET: %d %q", code, hdr.Get("Content-Type"))
		}
		// HEAD: the GET's headers, no body.
		code, hdr, hb := raw(t, "HEAD", in.url+"things/"+"urn:example:lamp%2F1%3Fx=y", "", nil)
		if code != 200 || len(hb) != 0 || hdr.Get("Content-Type") != "application/td+json" {
			t.Fatalf("HEAD: %d %v %q", code, hdr, hb)
		}
		// Anonymous creation: 201, Location carries a urn:uuid id that retrieval places in id.
		anon, err := c.Register(ctx, mustThing(t, tdJSON("", "Anonymous", "")))
		if err != nil || !strings.HasPrefix(anon, "urn:uuid:") || len(anon) != len("urn:uuid:")+36 {
			t.Fatalf("Register: %q %v", anon, err)
		}
		at, err := c.Get(ctx, anon)
		if err != nil || at.ID != anon {
			t.Fatalf("Get anonymous: %v %v", at, err)
		}
		// PUT without id on an existing anonymous entry updates it.
		code, _, body = raw(t, "PUT", in.url+"things/"+anon, "application/json", tdJSON("", "Anonymous v2", ""))
		if code != 204 {
			t.Fatalf("PUT anonymous update: %d %s", code, body)
		}
		// Partial update.
		if err := c.Patch(ctx, id, map[string]any{"title": "Patched", "description": "added", "properties": map[string]any{"level": map[string]any{"type": "integer", "forms": []any{map[string]any{"href": "http://127.0.0.1:9/level"}}}}}); err != nil {
			t.Fatal(err)
		}
		got, _ = c.Get(ctx, id)
		if got.Title != "Patched" || got.Description != "added" || got.Properties["on"] == nil || got.Properties["level"] == nil {
			t.Fatalf("after patch: %+v", got)
		}
		// Patch with null removes a member.
		if err := c.Patch(ctx, id, json.RawMessage(`{"description": null}`)); err != nil {
			t.Fatal(err)
		}
		if got, _ = c.Get(ctx, id); got.Description != "" {
			t.Fatalf("description not removed: %q", got.Description)
		}
		// Listing sees both, in id order.
		var ids []string
		for th, err := range c.List(ctx, 10) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, th.ID)
		}
		if want := []string{id, anon}; !slices.Equal(ids, want) {
			t.Fatalf("list %v, want %v", ids, want)
		}
		// Delete: 204, then 404 for everything.
		if err := c.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.Delete(ctx, id), 404)
		_, err = c.Get(ctx, id)
		wantStatus(t, err, 404)
		wantStatus(t, c.Patch(ctx, id, map[string]any{}), 404)
		code, hdr, body = raw(t, "GET", in.url+"things/urn:nope", "", nil)
		wantProblem(t, code, hdr, body, 404)

		// Methods and endpoints the API lacks.
		code, hdr, body = raw(t, "PATCH", in.url+"things", "application/merge-patch+json", []byte(`{}`))
		wantProblem(t, code, hdr, body, 405)
		if a := hdr.Get("Allow"); a != "GET, HEAD, POST" {
			t.Errorf("Allow %q", a)
		}
		for _, p := range []string{"search/sparql?query=x", "search/xpath?query=x", "nothing"} {
			code, hdr, body = raw(t, "GET", in.url+p, "", nil)
			wantProblem(t, code, hdr, body, 404)
		}
	})
}

func TestOwnTD(t *testing.T) {
	in := startInstance(t, storeKinds(t)[0].open(t), Config{Token: "tok"})
	code, hdr, body := raw(t, "GET", in.url+".well-known/wot", "", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/td+json" {
		t.Fatalf("%d %v", code, hdr)
	}
	v, _ := validate.New(validate.Options{})
	if res := v.Validate("directory.td.json", body); !res.Valid {
		t.Fatalf("the directory's TD is invalid: %+v", res.Diagnostics)
	}
	th := mustThing(t, body)
	if !slices.Contains(th.AtType, "ThingDirectory") || th.Properties["things"] == nil || th.Base != in.url {
		t.Fatalf("TD: type %v base %q", th.AtType, th.Base)
	}
	for _, a := range []string{"createThing", "createAnonymousThing", "retrieveThing", "updateThing", "partiallyUpdateThing", "deleteThing", "searchJSONPath"} {
		if th.Actions[a] == nil {
			t.Errorf("action %s missing", a)
		}
	}
	if f := th.Actions["deleteThing"].Forms[0]; !slices.Equal(f.Security, []string{"bearer_sc"}) {
		t.Errorf("deleteThing security %v, want bearer_sc", f.Security)
	}
	for _, e := range []string{"thingCreated", "thingUpdated", "thingDeleted"} {
		if th.Events[e] == nil {
			t.Errorf("event %s missing", e)
		}
	}
}

func TestAuth(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		in := startInstance(t, k.open(t), Config{Token: "s3cret"})
		ctx := context.Background()
		anon := newClient(t, in)
		wrong := newClient(t, in, discovery.WithDirectoryBearerToken("nope"))
		good := newClient(t, in, discovery.WithDirectoryBearerToken("s3cret"))
		th := mustThing(t, tdJSON("urn:a", "A", ""))
		for _, c := range []*discovery.Directory{anon, wrong} {
			_, err := c.Create(ctx, th)
			wantStatus(t, err, 401)
		}
		code, hdr, body := raw(t, "DELETE", in.url+"things/urn:a", "", nil)
		wantProblem(t, code, hdr, body, 401)
		if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
		}
		if _, err := good.Create(ctx, th); err != nil {
			t.Fatal(err)
		}
		// Reads are open.
		if _, err := anon.Get(ctx, "urn:a"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, wrong.Delete(ctx, "urn:a"), 401)
		wantStatus(t, anon.Patch(ctx, "urn:a", map[string]any{}), 401)
		if _, err := anon.Get(ctx, "urn:a"); err != nil {
			t.Fatalf("refused writes changed the store: %v", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		in := startInstance(t, k.open(t), Config{MaxBodyBytes: 64 << 10, MaxTTL: time.Hour})
		ctx := context.Background()
		c := newClient(t, in)
		if _, err := c.Create(ctx, mustThing(t, tdJSON("urn:keep", "Keep", ""))); err != nil {
			t.Fatal(err)
		}
		seqBefore, _ := in.store.LastSeq(ctx)
		type vcase struct {
			name, method, path, ctype string
			body                      []byte
			status                    int
			code, pointer             string // an expected validationErrors entry
		}
		huge := tdJSON("urn:huge", "Huge", `"description": "`+strings.Repeat("x", 70<<10)+`"`)
		cases := []vcase{
			{"duplicate key", "PUT", "things/urn:dup", "application/td+json", []byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:dup", "title": "A", "title": "B", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"}`), 400, "TD002", "/title"},
			{"undefined security", "PUT", "things/urn:sec", "application/td+json", []byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:sec", "title": "A", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "basic_sc"}`), 400, "TD020", "/security"},
			{"not JSON", "POST", "things", "application/td+json", []byte(`{"title": `), 400, "", ""},
			{"array body", "POST", "things", "application/td+json", []byte(`[]`), 400, "", ""},
			{"id differs from path", "PUT", "things/urn:one", "application/td+json", tdJSON("urn:two", "A", ""), 400, codeID, "/id"},
			{"PUT creates without id", "PUT", "things/urn:new", "application/td+json", tdJSON("", "A", ""), 400, codeID, "/id"},
			{"POST with id", "POST", "things", "application/td+json", tdJSON("urn:x", "A", ""), 400, codeID, "/id"},
			{"negative ttl", "PUT", "things/urn:ttl", "", tdJSON("urn:ttl", "A", `"registration": {"ttl": -1}`), 400, codeRegistration, "/registration/ttl"},
			{"ttl above maximum", "PUT", "things/urn:ttl", "", tdJSON("urn:ttl", "A", `"registration": {"ttl": 7200}`), 400, codeRegistration, "/registration/ttl"},
			{"expires in the past", "PUT", "things/urn:exp", "", tdJSON("urn:exp", "A", `"registration": {"expires": "2001-01-01T00:00:00Z"}`), 400, codeRegistration, "/registration/expires"},
			{"expires not a date", "PUT", "things/urn:exp", "", tdJSON("urn:exp", "A", `"registration": {"expires": "tomorrow"}`), 400, codeRegistration, "/registration/expires"},
			{"huge body", "PUT", "things/urn:huge", "application/td+json", huge, 413, "", ""},
			{"wrong media type", "PUT", "things/urn:x", "text/plain", tdJSON("urn:x", "A", ""), 415, "", ""},
			{"patch: wrong media type", "PATCH", "things/urn:keep", "application/json", []byte(`{"title": "X"}`), 400, "", ""},
			{"patch: malformed JSON", "PATCH", "things/urn:keep", "application/merge-patch+json", []byte(`{"title": `), 400, codePatch, ""},
			{"patch: not an object", "PATCH", "things/urn:keep", "application/merge-patch+json", []byte(`["title"]`), 400, codePatch, ""},
			{"patch: result invalid", "PATCH", "things/urn:keep", "application/merge-patch+json", []byte(`{"security": "missing_sc"}`), 400, "TD020", "/security"},
			{"patch: removes required title", "PATCH", "things/urn:keep", "application/merge-patch+json", []byte(`{"title": null}`), 400, "", ""},
			{"patch: changes id", "PATCH", "things/urn:keep", "application/merge-patch+json", []byte(`{"id": "urn:other"}`), 400, codeID, "/id"},
			{"patch: huge", "PATCH", "things/urn:keep", "application/merge-patch+json", fmt.Appendf(nil, `{"description": %q}`, strings.Repeat("x", 70<<10)), 413, "", ""},
			{"patch: unknown id", "PATCH", "things/urn:absent", "application/merge-patch+json", []byte(`{}`), 404, "", ""},
			{"delete: unknown id", "DELETE", "things/urn:absent", "", nil, 404, "", ""},
			{"get: NUL in id", "GET", "things/urn%00x", "", nil, 404, "", ""},
			{"get: id not UTF-8", "GET", "things/urn%FFx", "", nil, 404, "", ""},
			{"get: id too long", "GET", "things/" + strings.Repeat("x", 2000), "", nil, 404, "", ""},
			{"post: id too long", "POST", "things", "", tdJSON("urn:"+strings.Repeat("x", 2000), "A", ""), 400, codeID, "/id"},
			{"search: bad JSONPath", "GET", "search/jsonpath?query=" + "%24%5B%3F%28%40.title%3D%3D%29%5D", "", nil, 400, "", ""},
			{"search: not RFC 9535", "GET", "search/jsonpath?query=*/id", "", nil, 400, "", ""},
			{"search: missing query", "GET", "search/jsonpath", "", nil, 400, "", ""},
			{"search: too long", "GET", "search/jsonpath?query=$" + strings.Repeat(".a", 3000), "", nil, 400, "", ""},
			{"list: bad limit", "GET", "things?limit=0", "", nil, 400, "", ""},
			{"list: bad offset", "GET", "things?offset=-1&limit=2", "", nil, 400, "", ""},
			{"list: bad format", "GET", "things?format=xml", "", nil, 400, "", ""},
			{"events: unknown type", "GET", "events/thing_renamed", "", nil, 404, "", ""},
			{"events: bad diff", "GET", "events?diff=maybe", "", nil, 400, "", ""},
			{"events: bad Last-Event-ID", "GET", "events", "", nil, 400, "", ""},
		}
		for _, tc := range cases {
			var hdr []string
			if tc.name == "events: bad Last-Event-ID" {
				hdr = []string{"Last-Event-ID", "abc"}
			}
			code, h, body := raw(t, tc.method, in.url+tc.path, tc.ctype, tc.body, hdr...)
			p := wantProblem(t, code, h, body, tc.status)
			if tc.code != "" {
				found := false
				errs, _ := p["validationErrors"].([]any)
				for _, e := range errs {
					m, _ := e.(map[string]any)
					if m["code"] == tc.code && (tc.pointer == "" || m["pointer"] == tc.pointer) && m["field"] != "" && m["description"] != "" {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: validationErrors lack code %s at %q: %s", tc.name, tc.code, tc.pointer, body)
				}
			}
		}
		// Nothing was stored or changed, and no event was recorded.
		if seq, _ := in.store.LastSeq(ctx); seq != seqBefore {
			t.Errorf("refused requests recorded events: seq %d → %d", seqBefore, seq)
		}
		n, _, _ := in.store.Count(ctx, time.Now())
		if n != 1 {
			t.Errorf("%d entries stored, want 1", n)
		}
		if got, err := c.Get(ctx, "urn:keep"); err != nil || got.Title != "Keep" {
			t.Errorf("urn:keep changed: %v %v", got, err)
		}
	})
}

func TestExpiry(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		clk := newClock()
		in := startInstance(t, k.open(t), Config{Now: clk.Now, PurgeInterval: time.Hour})
		ctx := context.Background()
		c := newClient(t, in)
		if _, err := c.Create(ctx, mustThing(t, tdJSON("urn:short", "Short", `"registration": {"ttl": 60, "expires": "2001-01-01T00:00:00Z"}`))); err != nil {
			t.Fatal(err)
		}
		// An absolute expiry without ttl is kept as given.
		exp := clk.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
		if _, err := c.Create(ctx, mustThing(t, tdJSON("urn:abs", "Abs", fmt.Sprintf(`"registration": {"expires": %q}`, exp.Format(time.RFC3339))))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(ctx, mustThing(t, tdJSON("urn:forever", "Forever", ""))); err != nil {
			t.Fatal(err)
		}
		got, _ := c.Get(ctx, "urn:short")
		reg, _, _ := discovery.RegistrationOf(got)
		if reg.TTL == nil || *reg.TTL != 60 || !reg.Expires.Equal(reg.Modified.Add(60*time.Second)) {
			t.Fatalf("ttl registration %+v: want expires = modified + 60 s (client expires ignored)", reg)
		}
		got, _ = c.Get(ctx, "urn:abs")
		if reg, _, _ := discovery.RegistrationOf(got); !reg.Expires.Equal(exp) || reg.TTL != nil {
			t.Fatalf("absolute registration %+v, want expires %v", reg, exp)
		}
		// An empty patch renews a ttl registration.
		clk.Advance(50 * time.Second)
		if err := c.Patch(ctx, "urn:short", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		got, _ = c.Get(ctx, "urn:short")
		if reg, _, _ := discovery.RegistrationOf(got); !reg.Expires.Equal(reg.Modified.Add(60 * time.Second)) {
			t.Fatalf("renewed registration %+v", reg)
		}
		events, err := c.Events(ctx, discovery.DirectoryEventsOptions{Type: discovery.EventThingDeleted})
		if err != nil {
			t.Fatal(err)
		}
		defer events.Close()
		clk.Advance(61 * time.Second) // past the renewed expiry
		_, err = c.Get(ctx, "urn:short")
		wantStatus(t, err, 404)
		if res, _ := c.Search(ctx, "$[*].id"); len(res) != 2 {
			t.Fatalf("search sees expired entries: %s", res)
		}
		var ids []string
		for th, err := range c.List(ctx, 10) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, th.ID)
		}
		if !slices.Equal(ids, []string{"urn:abs", "urn:forever"}) {
			t.Fatalf("listing %v", ids)
		}
		wantStatus(t, c.Delete(ctx, "urn:short"), 404)
		if n, err := in.srv.PurgeNow(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		ev := nextEvent(t, events)
		if ev.Type != discovery.EventThingDeleted || ev.ThingID != "urn:short" {
			t.Fatalf("event %+v, want thing_deleted urn:short", ev)
		}
		// Purged for good: a second purge finds nothing, and the id can be created afresh.
		if n, _ := in.srv.PurgeNow(ctx); n != 0 {
			t.Fatalf("second purge removed %d", n)
		}
		clk.Advance(10 * time.Minute)
		if created, err := c.Create(ctx, mustThing(t, tdJSON("urn:abs", "Abs again", ""))); err != nil || !created {
			t.Fatalf("re-create over an expired entry: created=%v err=%v", created, err)
		}
	})
}

func nextEvent(t testing.TB, s *discovery.DirectoryEvents) discovery.DirectoryEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for an event: %v", err)
	}
	return ev
}

func TestPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		in := startInstance(t, k.open(t), Config{MaxPageSize: 300})
		ctx := context.Background()
		c := newClient(t, in)
		const n = 1005
		want := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		work := make(chan int)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					_, err := c.CreateJSON(ctx, want[i], tdJSON(want[i], fmt.Sprint("T", i), ""))
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		for i := range n {
			want[i] = fmt.Sprintf("urn:dev:%04d", (i*7919)%n) // created out of order
		}
		for i := range n {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		slices.Sort(want)

		// The iterator follows rel=next links through every page.
		var got []string
		for th, err := range c.List(ctx, 100) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, th.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged listing: %d ids, want %d in order", len(got), len(want))
		}
		// The headers of one page.
		code, hdr, body := raw(t, "GET", in.url+"things?limit=100&offset=200", "", nil)
		links := hdr.Values("Link")
		if code != 200 || hdr.Get("Content-Type") != "application/ld+json" || !slices.Contains(links, `</things?offset=300&limit=100>; rel="next"`) ||
			!slices.ContainsFunc(links, func(l string) bool { return strings.HasPrefix(l, `</things>; rel="canonical"; etag=`) }) {
			t.Fatalf("page headers: %d %v", code, hdr)
		}
		var page []map[string]any
		json.Unmarshal(body, &page)
		if len(page) != 100 || page[0]["id"] != want[200] {
			t.Fatalf("page: %d entries, first %v", len(page), page[0]["id"])
		}
		// A limit above the maximum is clamped, and the next link says so.
		_, hdr, body = raw(t, "GET", in.url+"things?limit=5000", "", nil)
		json.Unmarshal(body, &page)
		if len(page) != 300 || !slices.Contains(hdr.Values("Link"), `</things?offset=300&limit=300>; rel="next"`) {
			t.Fatalf("clamped page: %d entries, links %v", len(page), hdr.Values("Link"))
		}
		// The last page has no next link; past the end is an empty array.
		_, hdr, body = raw(t, "GET", in.url+"things?limit=100&offset=1000", "", nil)
		json.Unmarshal(body, &page)
		if len(page) != 5 || strings.Contains(strings.Join(hdr.Values("Link"), ","), "next") {
			t.Fatalf("last page: %d entries, links %v", len(page), hdr.Values("Link"))
		}
		_, _, body = raw(t, "GET", in.url+"things?limit=100&offset=5000", "", nil)
		if strings.TrimSpace(string(body)) != "[]" {
			t.Fatalf("past the end: %s", body)
		}
		// format=collection.
		_, _, body = raw(t, "GET", in.url+"things?limit=10&offset=10&format=collection", "", nil)
		var coll struct {
			Type    string            `json:"@type"`
			ID      string            `json:"@id"`
			Members []json.RawMessage `json:"members"`
			Total   int               `json:"total"`
			Next    string            `json:"next"`
		}
		if err := json.Unmarshal(body, &coll); err != nil || coll.Type != "ThingCollection" || coll.Total != n || len(coll.Members) != 10 ||
			coll.Next != "/things?offset=20&limit=10&format=collection" || coll.ID != "/things?offset=10&limit=10&format=collection" {
			t.Fatalf("collection: %+v %v", coll, err)
		}
		// Without limit the whole array is streamed, in chunks of the page size.
		_, _, body = raw(t, "GET", in.url+"things", "", nil)
		var all []struct{ ID string }
		if err := json.Unmarshal(body, &all); err != nil || len(all) != n || all[0].ID != want[0] || all[n-1].ID != want[n-1] {
			t.Fatalf("unpaged listing: %d %v", len(all), err)
		}
		// The etag changes when an entry appears or goes, not on an update.
		etag := func() string {
			_, hdr, _ := raw(t, "GET", in.url+"things?limit=1", "", nil)
			return hdr.Values("Link")[1]
		}
		e1 := etag()
		c.Patch(ctx, want[0], map[string]any{"title": "changed"})
		e2 := etag()
		c.Delete(ctx, want[0])
		if e3 := etag(); e1 != e2 || e2 == e3 {
			t.Fatalf("etags %q %q %q", e1, e2, e3)
		}
	})
}

func TestSearch(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		dsn := k.open(t)
		in := startInstance(t, dsn, Config{})
		ctx := context.Background()
		c := newClient(t, in)
		for i, tag := range []string{"kitchen", "garden", "kitchen"} {
			id := fmt.Sprintf("urn:s:%d", i)
			if _, err := c.Create(ctx, mustThing(t, tdJSON(id, fmt.Sprint("Lamp ", i), fmt.Sprintf(`"tag": %q`, tag)))); err != nil {
				t.Fatal(err)
			}
		}
		check := func(q string, want ...string) {
			t.Helper()
			res, err := c.Search(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var got []string
			for _, r := range res {
				var s string
				if json.Unmarshal(r, &s) != nil {
					var obj struct{ ID string }
					json.Unmarshal(r, &obj)
					s = obj.ID
				}
				got = append(got, s)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: got %v, want %v", q, got, want)
			}
		}
		check(`$[?(@.tag=='kitchen')].id`, "urn:s:0", "urn:s:2")
		check(`$[?@.title == 'Lamp 1']`, "urn:s:1") // whole TDs
		check(`$[?search(@.title, '^Lamp [12]$')].id`, "urn:s:1", "urn:s:2")
		check(`$[?@.tag=='cellar'].id`)
		check(`$[?@.registration.created].id`, "urn:s:0", "urn:s:1", "urn:s:2")
		// The cache follows writes.
		c.Delete(ctx, "urn:s:0")
		c.Patch(ctx, "urn:s:1", map[string]any{"tag": "kitchen"})
		check(`$[?(@.tag=='kitchen')].id`, "urn:s:1", "urn:s:2")
		// A write through another instance on the same database is seen at once.
		other := newClient(t, startInstance(t, dsn, Config{}))
		if _, err := other.Create(ctx, mustThing(t, tdJSON("urn:s:9", "Lamp 9", `"tag": "kitchen"`))); err != nil {
			t.Fatal(err)
		}
		check(`$[?(@.tag=='kitchen')].id`, "urn:s:1", "urn:s:2", "urn:s:9")
		code, hdr, _ := raw(t, "GET", in.url+"search/jsonpath?query=%24", "", nil)
		if code != 200 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("search: %d %v", code, hdr)
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		dsn := k.open(t)
		// Two instances on one database, as behind a load balancer.
		a := startInstance(t, dsn, Config{})
		b := startInstance(t, dsn, Config{})
		ctx := context.Background()
		clients := []*discovery.Directory{newClient(t, a), newClient(t, b)}
		if _, err := clients[0].Create(ctx, mustThing(t, tdJSON("urn:shared", "Shared", ""))); err != nil {
			t.Fatal(err)
		}
		const writers = 24
		var wg sync.WaitGroup
		errs := make(chan error, 3*writers)
		var mu sync.Mutex
		createdCount := 0
		anonIDs := map[string]bool{}
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := clients[i%2]
				// Each patch adds its own property: a lost update would drop one.
				name := fmt.Sprintf("p%02d", i)
				patch := map[string]any{"properties": map[string]any{name: map[string]any{"type": "integer", "forms": []any{map[string]any{"href": "http://127.0.0.1:9/" + name}}}}}
				if err := c.Patch(ctx, "urn:shared", patch); err != nil {
					errs <- err
				}
				// Everyone creates the same id: exactly one creation.
				created, err := c.Create(ctx, mustThing(t, tdJSON("urn:race", name, "")))
				if err != nil {
					errs <- err
				}
				// Anonymous registrations never share an id.
				id, err := c.Register(ctx, mustThing(t, tdJSON("", name, "")))
				if err != nil {
					errs <- err
				}
				mu.Lock()
				if created {
					createdCount++
				}
				anonIDs[id] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := clients[1].Get(ctx, "urn:shared")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Properties) != writers+1 {
			t.Fatalf("%d properties after %d concurrent patches, want %d: lost updates", len(got.Properties), writers, writers+1)
		}
		if createdCount != 1 || len(anonIDs) != writers {
			t.Fatalf("%d creations of one id (want 1), %d distinct anonymous ids (want %d)", createdCount, len(anonIDs), writers)
		}
		total := 0
		for _, err := range clients[0].List(ctx, 7) {
			if err != nil {
				t.Fatal(err)
			}
			total++
		}
		if total != writers+2 {
			t.Fatalf("%d entries, want %d", total, writers+2)
		}
		// Every write has exactly one event, numbered without gaps.
		evs, err := a.store.Events(ctx, 0, "", 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1+3*writers {
			t.Fatalf("%d events, want %d", len(evs), 1+3*writers)
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, ev.Seq)
			}
		}
	})
}
