package wtp

import (
	"context"
	"encoding/json"
	"github.com/wotgen/wotgen/runtime/wot"
	"reflect"
	"testing"
)

func TestReadProperty(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	if err := th.SetProperty("flowRate", 12.5); err != nil {
		t.Fatal(err)
	}
	resp := c.ok(OpReadProperty, func(m *Message) { m.Name = "flowRate" })
	if resp.Name != "flowRate" || string(resp.Value) != "12.5" || resp.ThingID != valveID {
		t.Fatalf("got %+v", resp)
	}
	// Initial store values: schema zero values, minimum when zero is out of range.
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "open" }).Value; string(v) != "false" {
		t.Errorf("open = %s", v)
	}

	c.fails(OpReadProperty, func(m *Message) { m.Name = "pressure" }, 404, `no property "pressure"`)
	c.fails(OpReadProperty, nil, 400, `missing member "name"`)
	c.fails(OpReadProperty, func(m *Message) { m.Name = "servicePin" }, 400, "write-only")

	// A handler replaces the store.
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return json.RawMessage(`13.1`), nil })
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "flowRate" }).Value; string(v) != "13.1" {
		t.Errorf("handler value = %s", v)
	}
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return nil, Unavailable("sensor asleep") })
	c.fails(OpReadProperty, func(m *Message) { m.Name = "flowRate" }, 503, "sensor asleep")
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return nil, errBoom })
	c.fails(OpReadProperty, func(m *Message) { m.Name = "flowRate" }, 500, errBoom.Error())
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { panic("bug") })
	c.fails(OpReadProperty, func(m *Message) { m.Name = "flowRate" }, 500, "panicked")
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return make(chan int), nil })
	c.fails(OpReadProperty, func(m *Message) { m.Name = "flowRate" }, 500, "cannot be marshalled")
}

func TestReadPropertyNotOffered(t *testing.T) {
	doc := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "properties": {"p": {"type": "integer", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol", "op": "writeproperty"}]},
	               "h": {"type": "integer", "forms": [{"href": "http://example.org/h"}]}},
	 "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol", "op": "readmultipleproperties"}]}`
	th, err := NewThing(parseTD(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	c.thingID = "urn:x"
	c.fails(OpReadProperty, func(m *Message) { m.Name = "p" }, 400, "does not offer readproperty")
	c.fails(OpReadProperty, func(m *Message) { m.Name = "h" }, 400, "does not offer readproperty")
	c.fails(OpObserveProperty, func(m *Message) { m.Name = "p" }, 400, "does not offer observeproperty")
	c.fails(OpReadAllProperties, nil, 400, "does not offer readallproperties")
	c.ok(OpWriteProperty, func(m *Message) { m.Name = "p"; m.Value = raw("3") })
	if v := c.ok(OpReadMultipleProperties, func(m *Message) { m.Names = []string{"p", "h"} }).Values; string(v["p"]) != "3" {
		t.Errorf("values %v", v)
	}
}

func TestWriteProperty(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	resp := c.ok(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("18") })
	if resp.Name != "targetFlow" || string(resp.Value) != "18" {
		t.Fatalf("write response %+v", resp)
	}
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "targetFlow" }).Value; string(v) != "18" {
		t.Fatalf("read back %s", v)
	}
	// A write-only value is never echoed.
	resp = c.ok(OpWriteProperty, func(m *Message) { m.Name = "servicePin"; m.Value = raw(`"4711"`) })
	if resp.Value != nil {
		t.Fatalf("write-only value echoed: %s", resp.Value)
	}
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "flowRate"; m.Value = raw("1") }, 400, "read-only")
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("41") }, 400, "targetFlow")
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw(`"x"`) }, 400, "invalid")
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("1.5") }, 400, "invalid")
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow" }, 400, `missing member "value"`)
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "nope"; m.Value = raw("1") }, 404, `no property "nope"`)
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "label"; m.Value = raw(`"x"`) }, 400, "does not offer writeproperty")
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "targetFlow" }).Value; string(v) != "18" {
		t.Fatalf("a rejected write changed the value to %s", v)
	}

	// Handler-backed: validated before the handler; nil confirmation = no value.
	var got record
	th.HandleWrite("targetFlow", func(ctx context.Context, v json.RawMessage) (any, error) { got.add(string(v)); return nil, nil })
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("-1") }, 400, "invalid")
	if got.get() != nil {
		t.Fatal("handler saw an invalid value")
	}
	if resp := c.ok(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("20") }); resp.Value != nil || got.get()[0] != "20" {
		t.Fatalf("unconfirmed write: resp %+v handler got %v", resp, got.get())
	}
	th.HandleWrite("targetFlow", func(ctx context.Context, v json.RawMessage) (any, error) { return 3.14, nil })
	if v := c.ok(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("3") }).Value; string(v) != "3.14" {
		t.Fatalf("confirmed value %s", v)
	}
	th.HandleWrite("targetFlow", func(ctx context.Context, v json.RawMessage) (any, error) {
		return nil, Forbidden("locked by the farmer")
	})
	c.fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("3") }, 403, "locked")
}

func TestWithoutValidation(t *testing.T) {
	th := newValve(t, wot.WithValidation(false))
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	c.ok(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("99") })
}

func TestReadAllAndMultipleProperties(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)
	th.SetProperty("flowRate", 12.5)
	th.SetProperty("open", true)

	resp := c.ok(OpReadAllProperties, nil)
	want := map[string]json.RawMessage{"open": raw("true"), "flowRate": raw("12.5"), "targetFlow": raw("0"), "label": raw(`""`)}
	if !reflect.DeepEqual(resp.Values, want) {
		t.Fatalf("readallproperties = %v, want %v (write-only excluded)", resp.Values, want)
	}
	resp = c.ok(OpReadMultipleProperties, func(m *Message) { m.Names = []string{"open", "flowRate"} })
	if len(resp.Values) != 2 || string(resp.Values["open"]) != "true" {
		t.Fatalf("readmultipleproperties = %v", resp.Values)
	}
	c.fails(OpReadMultipleProperties, nil, 400, `missing member "names"`)
	c.fails(OpReadMultipleProperties, func(m *Message) { m.Names = []string{} }, 400, "names is empty")
	c.fails(OpReadMultipleProperties, func(m *Message) { m.Names = []string{"open", "pressure"} }, 400, `no property "pressure"`)
	resp = c.fails(OpReadMultipleProperties, func(m *Message) { m.Names = []string{"open", "servicePin"} }, 400, "write-only")
	if !reflect.DeepEqual(resp.Names, []string{"open", "servicePin"}) {
		t.Errorf("error response does not echo names: %+v", resp)
	}

	// A failing read: 500 with the values that were read.
	th.HandleRead("flowRate", func(ctx context.Context) (any, error) { return nil, errBoom })
	resp = c.fails(OpReadAllProperties, nil, 500, "flowRate")
	if string(resp.Values["open"]) != "true" || resp.Values["flowRate"] != nil {
		t.Fatalf("partial values %v", resp.Values)
	}
	resp = c.fails(OpReadMultipleProperties, func(m *Message) { m.Names = []string{"open", "flowRate"} }, 500, errBoom.Error())
	if len(resp.Values) != 1 {
		t.Fatalf("partial values %v", resp.Values)
	}
}

func TestWriteAllAndMultipleProperties(t *testing.T) {
	th := newValve(t)
	_, hs := serve(t, []*Thing{th})
	c := dial(t, hs)

	all := map[string]json.RawMessage{"open": raw("true"), "targetFlow": raw("20"), "servicePin": raw(`"4711"`), "label": raw(`"v7"`)}
	resp := c.ok(OpWriteAllProperties, func(m *Message) { m.Values = all })
	want := map[string]json.RawMessage{"open": raw("true"), "targetFlow": raw("20"), "label": raw(`"v7"`)}
	if !reflect.DeepEqual(resp.Values, want) {
		t.Fatalf("writeallproperties echo = %v, want %v (write-only omitted)", resp.Values, want)
	}
	with := func(k, v string) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for kk, vv := range all {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = raw(v)
		}
		return m
	}
	c.fails(OpWriteAllProperties, func(m *Message) { m.Values = with("servicePin", "") }, 400, `missing writeable property "servicePin"`)
	c.fails(OpWriteAllProperties, func(m *Message) { m.Values = with("flowRate", "1") }, 400, "read-only")
	c.fails(OpWriteAllProperties, func(m *Message) { m.Values = with("pressure", "1") }, 400, `no property "pressure"`)
	c.fails(OpWriteAllProperties, func(m *Message) { m.Values = with("targetFlow", "100") }, 400, "targetFlow")
	c.fails(OpWriteAllProperties, nil, 400, `missing member "values"`)
	if v := c.ok(OpReadProperty, func(m *Message) { m.Name = "open" }).Value; string(v) != "true" {
		t.Fatal("state changed")
	}

	resp = c.ok(OpWriteMultipleProperties, func(m *Message) { m.Values = map[string]json.RawMessage{"open": raw("false"), "targetFlow": raw("0")} })
	if len(resp.Values) != 2 || string(resp.Values["open"]) != "false" {
		t.Fatalf("writemultipleproperties echo %v", resp.Values)
	}
	c.fails(OpWriteMultipleProperties, func(m *Message) { m.Values = map[string]json.RawMessage{} }, 400, "values is empty")
	c.fails(OpWriteMultipleProperties, func(m *Message) { m.Values = map[string]json.RawMessage{"flowRate": raw("1")} }, 400, "read-only")
	c.fails(OpWriteMultipleProperties, func(m *Message) { m.Values = map[string]json.RawMessage{"x": raw("1")} }, 400, `no property "x"`)
	c.fails(OpWriteMultipleProperties, func(m *Message) { m.Values = map[string]json.RawMessage{"open": raw("1")} }, 400, "open")

	// A failing write: 500 with what was written (writes go in name order).
	th.HandleWrite("open", func(ctx context.Context, v json.RawMessage) (any, error) { return nil, errBoom })
	resp = c.fails(OpWriteAllProperties, func(m *Message) { m.Values = all }, 500, `"open"`)
	if !reflect.DeepEqual(resp.Values, map[string]json.RawMessage{"label": raw(`"v7"`)}) {
		t.Fatalf("partial values %v", resp.Values)
	}
	th.HandleWrite("open", nil)
	th.HandleWrite("targetFlow", func(ctx context.Context, v json.RawMessage) (any, error) { return nil, errBoom })
	resp = c.fails(OpWriteMultipleProperties, func(m *Message) {
		m.Values = map[string]json.RawMessage{"open": raw("true"), "targetFlow": raw("5")}
	}, 500, `"targetFlow"`)
	if !reflect.DeepEqual(resp.Values, map[string]json.RawMessage{"open": raw("true")}) {
		t.Fatalf("partial values %v", resp.Values)
	}
}
