package wothttp

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// TestCorpusTDsServedOverHTTP serves every valid corpus TD (most of which carry HTTP forms of
// the device they were written for) and checks, as a consumer following hrefs: every
// http(s) form of the served TD points at this server, and every readable property and
// readallproperties answer 200.
func TestServerCorpusTDsServedOverHTTP(t *testing.T) {
	files := testcorpus.Files(t, "td/valid")
	srv := wot.NewServer(wot.WithServerBindings(newServerBinding(ServerLimits{})))
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	var things []*wot.Thing
	for i, f := range files {
		d, err := td.ParseFile(f)
		if err != nil || d.IsTM() {
			continue
		}
		opts := []wot.ThingOption{wot.WithTDPath(fmt.Sprintf("/corpus/%d", i)), wot.WithID(fmt.Sprintf("urn:corpus:%d", i))}
		th, err := wot.NewThing(d, opts...)
		if err != nil {
			th, err = wot.NewThing(d, append(opts, wot.WithValidation(false))...)
		}
		if err != nil {
			t.Logf("%s: not servable: %v", filepath.Base(f), err)
			continue
		}
		if err := srv.AddThing(th); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		things = append(things, th)
	}
	if len(things) < len(files)/2 {
		t.Fatalf("only %d of %d corpus TDs could be served", len(things), len(files))
	}
	h := &harness{t: t, url: hs.URL}
	reads := 0
	for _, th := range things {
		h.thing = th
		d := h.servedTD()
		check := func(where string, forms []td.Form) {
			for _, f := range forms {
				u, err := d.ResolveHref(f.Href, nil)
				if err != nil {
					continue
				}
				if (u.Scheme == "http" || u.Scheme == "https") && !strings.HasPrefix(u.String(), hs.URL+"/corpus/") {
					t.Errorf("%s %s: foreign HTTP form kept: %s", th.ID(), where, f.Href)
				}
			}
		}
		check("Thing", d.Forms)
		readable := false
		for name, p := range d.Properties {
			check("property "+name, p.Forms)
			if p.IsWriteOnly() {
				continue
			}
			readable = true
			h.expect(200, "GET", ours(t, p.Forms, td.OpReadProperty, hs.URL), "")
			reads++
		}
		for name, a := range d.Actions {
			check("action "+name, a.Forms)
		}
		for name, e := range d.Events {
			check("event "+name, e.Forms)
		}
		if readable {
			h.expect(200, "GET", ours(t, d.Forms, td.OpReadAllProperties, hs.URL), "")
		}
	}
	t.Logf("%d corpus Things served, %d properties read by href", len(things), reads)
}

// ours returns the href of the first form for op that points at the server.
func ours(t *testing.T, forms []td.Form, op, server string) string {
	t.Helper()
	for _, f := range forms {
		if f.Op.Contains(op) && strings.HasPrefix(f.Href, server+"/") {
			return f.Href
		}
	}
	t.Fatalf("no %s form pointing at %s in %+v", op, server, forms)
	return ""
}
