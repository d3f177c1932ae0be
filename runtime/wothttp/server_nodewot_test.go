package wothttp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/wotgen/wotgen/internal/nodewot"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// TestServerNodeWoTConsumer has node-wot 0.9.2's HTTP consumer use a Thing served by
// wot.Server and this binding: it fetches the TD (node-wot's schema check included), picks
// the forms it can use, and performs every operation it supports, observation and events by
// long poll included.
func TestServerNodeWoTConsumer(t *testing.T) {
	env := nodewot.Require(t)
	d, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:nodewot:lamp", "title": "Lamp",
	  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
	  "properties": {
	    "count": {"type": "integer", "minimum": 0, "maximum": 100, "observable": true},
	    "status": {"type": "string", "readOnly": true},
	    "secret": {"type": "string", "writeOnly": true},
	    "a/b c": {"type": "string"}},
	  "actions": {
	    "add": {"input": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}, "output": {"type": "number"}, "synchronous": true},
	    "fire": {"synchronous": true}},
	  "events": {"alarm": {"data": {"type": "string"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	th, err := wot.NewThing(d)
	if err != nil {
		t.Fatal(err)
	}
	th.HandleAction("add", func(ctx context.Context, in json.RawMessage) (any, error) {
		var v struct{ A, B float64 }
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, wot.BadRequest("add needs {a, b}")
		}
		return v.A + v.B, nil
	})
	th.HandleAction("fire", func(ctx context.Context, in json.RawMessage) (any, error) {
		return nil, th.EmitEvent("alarm", "fire!")
	})
	th.SetProperty("status", "ok")
	srv := wot.NewServer(wot.WithoutBinding("wtp"))
	if err := srv.AddThing(th); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Start()
	defer hs.Close()
	defer srv.Close()

	rs := env.Consume(t, hs.URL+"/things/urn:nodewot:lamp", nodewot.Plan{Steps: []nodewot.Step{
		{Op: "readproperty", Name: "count", Expect: 0},
		{Op: "writeproperty", Name: "count", Value: 42, ReadBack: true},
		{ID: "write out of range", Op: "writeproperty", Name: "count", Value: 420, ExpectError: true},
		{Op: "readproperty", Name: "status", Expect: "ok"},
		{Op: "writeproperty", Name: "secret", Value: "pw"},
		{Op: "writeproperty", Name: "a/b c", Value: "slash", ReadBack: true},
		{Op: "invokeaction", Name: "add", Input: map[string]any{"a": 1, "b": 2}, Expect: 3},
		{Op: "invokeaction", Name: "fire"},
		{Op: "readallproperties", Names: []string{"count", "status", "a/b c"}},
		{Op: "writemultipleproperties", Values: map[string]any{"count": 7}},
		{Op: "observeproperty", Name: "count", Count: 2,
			Trigger: &nodewot.Trigger{Op: "writeproperty", Name: "count", Values: []any{1, 2, 3, 4, 5, 6}}},
		{Op: "subscribeevent", Name: "alarm", Count: 2, Expect: "fire!", Trigger: &nodewot.Trigger{Op: "invokeaction", Name: "fire"}},
	}})
	rs.RequireOK(t)
	if r := rs.Get(t, "write out of range"); r.Error != "Client error: Bad Request" {
		t.Errorf("out-of-range write: node-wot saw %q, want a 400", r.Error)
	}
}
