package wtp

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// Every valid TD of the shared corpus can be served: NewThing accepts it (or explains why
// not), the server serves its TD, and readallproperties answers over a real connection.
func TestCorpusTDsAreServable(t *testing.T) {
	files := testcorpus.Files(t, "td/valid")
	if testing.Short() {
		var sample []string
		for i := 0; i < len(files); i += 10 {
			sample = append(sample, files[i])
		}
		files = sample
	}
	s, hs := serve(t, nil)
	var things []*Thing
	refused, skipped := 0, 0
	for i, f := range files {
		d, err := td.ParseFile(f)
		if err != nil {
			skipped++ // parsing is runtime/td's business
			continue
		}
		// Many corpus TDs share an id (or have none): give each its own.
		opts := []ThingOption{WithTDPath(fmt.Sprintf("/corpus/%d", i)), wot.WithID(fmt.Sprintf("urn:corpus:%d", i))}
		th, err := NewThing(d, opts...)
		if err != nil {
			if d.IsTM() {
				skipped++
				continue
			}
			refused++
			t.Logf("%s: %v", filepath.Base(f), err)
			if !strings.Contains(err.Error(), "WithValidation(false)") {
				t.Errorf("%s: refused without a way out: %v", filepath.Base(f), err)
			}
			continue
		}
		if err := s.AddThing(th); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		things = append(things, th)
	}
	t.Logf("%d of %d corpus TDs served, %d refused", len(things), len(files), refused)
	if len(things)+refused+skipped < len(files) {
		t.Fatalf("only %d of %d corpus TDs could be served (%d refused)", len(things), len(files), refused)
	}
	for i, th := range things {
		if i%10 != 0 {
			continue // a sample is enough for the round trips
		}
		if _, resp := getTD(t, hs.URL+th.TDPath()); resp.StatusCode != 200 {
			t.Fatalf("%s: TD status %d", th.ID(), resp.StatusCode)
		}
	}
	c := dial(t, hs)
	b := s.Binding("wtp").(*serverBinding)
	for _, th := range things {
		info := b.info(th)
		if len(info.props) == 0 || !info.thingOps.has(OpReadAllProperties) {
			continue
		}
		c.thingID = th.ID()
		if info.paths[0] != "/wtp" {
			continue // served on another endpoint
		}
		c.ok(OpReadAllProperties, nil)
	}
}
