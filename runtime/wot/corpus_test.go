package wot

import (
	"os"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// Every valid corpus TD is consumed without a panic by a binding that accepts http(s)
// forms; each property with an http(s) form for readproperty gets a route there, and the
// others get an error naming their protocols.
func TestConsumeCorpusTDs(t *testing.T) {
	var consumed, routed int
	for _, f := range testcorpus.Files(t, "td/valid") {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		th, err := td.Parse(raw)
		if err != nil {
			continue
		}
		b := &fakeBinding{name: "http", scheme: "http"}
		bs := &fakeBinding{name: "https", scheme: "https"}
		c, err := Consume(testCtx(t), th, "http://corpus.example/td", WithBindings(b, bs), WithThingID("urn:corpus"))
		if err != nil {
			if !strings.Contains(err.Error(), "no usable form") && !strings.Contains(err.Error(), "has no forms") {
				t.Errorf("%s: %v", f, err)
			}
			continue
		}
		consumed++
		for _, n := range c.TD().PropertyNames() {
			r := c.routeFor(td.OpReadProperty, n)
			if r.err != nil {
				if !strings.Contains(r.err.Error(), "no usable form") {
					t.Errorf("%s: property %q: %v", f, n, r.err)
				}
				continue
			}
			if s := r.form.URL.Scheme; s != "http" && s != "https" {
				t.Errorf("%s: property %q routed to %v", f, n, r.form.URL)
			}
			routed++
		}
		c.Close()
	}
	t.Logf("%d corpus TDs consumed over http(s), %d readproperty routes", consumed, routed)
	if consumed < 200 {
		t.Errorf("only %d corpus TDs were consumable over http(s)", consumed)
	}
}
