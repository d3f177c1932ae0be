package wothttp

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// TestClientCorpusAccepts asks Accepts about every form and op of every valid corpus TD: it
// must never panic, and a plain JSON form over http(s) (no subprotocol, default method)
// must be accepted for every request/response op and for observeproperty/subscribeevent.
func TestClientCorpusAccepts(t *testing.T) {
	files := testcorpus.Files(t, "td/valid")
	var tds, httpTDs, forms, accepted int
	for _, f := range files {
		d, err := td.ParseFile(f)
		if err != nil || d.IsTM() {
			continue
		}
		tds++
		n := td.Normalize(d)
		docURL, _ := url0("https://corpus.example/td")
		sawHTTP := false
		for _, op := range td.AllOps() {
			names := []string{""}
			switch td.KindOf(op) {
			case td.KindProperty:
				names = n.PropertyNames()
			case td.KindAction:
				names = n.ActionNames()
			case td.KindEvent:
				names = n.EventNames()
			}
			for _, name := range names {
				for _, fm := range n.AffordanceForms(op, name) {
					u, err := n.ResolveHref(fm.Href, docURL)
					if err != nil {
						continue
					}
					forms++
					ok := Binding{}.Accepts(fm, u, op)
					if ok {
						accepted++
					}
					if u.Scheme == "http" || u.Scheme == "https" {
						sawHTTP = true
					}
					plain := (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && fm.Subprotocol == "" &&
						(isJSON(fm.ContentType) || oneValueOp(op) && isScalarMedia(fm.ContentType)) &&
						(fm.Response == nil || isJSON(fm.Response.ContentType) || oneValueOp(op) && isScalarMedia(fm.Response.ContentType)) &&
						fm.Extra["htv:methodName"] == nil && fm.Extra["htv:headers"] == nil && !thingStreamOp(op)
					sse := (u.Scheme == "http" || u.Scheme == "https") && fm.Subprotocol == "sse" && (isStreamOp(op) || isUnstreamOp(op)) &&
						(isJSON(fm.ContentType) || isEventStream(fm.ContentType))
					if (plain || sse) && !ok {
						t.Errorf("%s: %s %q: form %s (%s %s) not accepted", filepath.Base(f), op, name, fm.Href, fm.ContentType, fm.Subprotocol)
					}
				}
			}
		}
		if sawHTTP {
			httpTDs++
		}
	}
	t.Logf("%d TDs (%d with http(s) forms): %d of %d (form, op) pairs accepted", tds, httpTDs, accepted, forms)
	if httpTDs < tds/2 {
		t.Errorf("only %d of %d TDs have http(s) forms: is the corpus complete?", httpTDs, tds)
	}
}

// TestClientCorpusOverServer serves every valid corpus TD with the HTTP server binding and
// consumes each with the client through wot.Dial: every readable property is read.
func TestClientCorpusOverServer(t *testing.T) {
	if testing.Short() {
		t.Skip("serves the whole corpus; skipped with -short")
	}
	leakCheck(t)
	files := testcorpus.Files(t, "td/valid")
	srv := wot.NewServer(wot.WithServerBindings(newServerBinding(ServerLimits{})))
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
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
		if err != nil || srv.AddThing(th) != nil {
			continue
		}
		things = append(things, th)
	}
	if len(things) < len(files)/2 {
		t.Fatalf("only %d of %d corpus TDs could be served", len(things), len(files))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reads, unset, unsupported, consumed := 0, 0, 0, 0
	for _, th := range things {
		if d := th.TD(); len(d.Properties)+len(d.Actions)+len(d.Events) == 0 {
			continue // no affordance, so no form: nothing to consume
		}
		// The server checks no credentials, but the TDs ask for some: give every kind.
		ct, err := wot.Dial(ctx, hs.URL+th.TDPath(), wot.WithBindings(NewBinding()),
			wot.WithBasicAuth("u", "p"), wot.WithBearerToken("t"), wot.WithAPIKey("k"))
		if err != nil {
			t.Errorf("%s: dial: %v", th.ID(), err)
			continue
		}
		consumed++
		d := ct.TD()
		for _, name := range d.PropertyNames() {
			p := d.Properties[name]
			if p.WriteOnly != nil && *p.WriteOnly {
				continue
			}
			_, err := ct.ReadProperty(ctx, name)
			switch {
			case err == nil:
				reads++
			case errors.As(err, new(*wot.Error)) && slices.Contains([]int{404, 500}, wot.StatusOf(err)):
				unset++ // the store has no value for it and there is no handler
			case !errors.As(err, new(*wot.Error)) && strings.Contains(err.Error(), "security scheme") && strings.Contains(err.Error(), "not supported"),
				strings.Contains(err.Error(), "fix the TD"):
				unsupported++ // digest, psk, apikey in the URI, a header name with spaces: refused before sending, clearly
			default:
				t.Errorf("%s: read %q: %v", th.ID(), name, err)
			}
		}
		ct.Close()
	}
	t.Logf("%d corpus Things consumed over HTTP: %d properties read, %d without a value, %d refused for an unsupported or broken security scheme", consumed, reads, unset, unsupported)
}

func url0(s string) (*url.URL, error) { return url.Parse(s) }
