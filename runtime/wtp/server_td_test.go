package wtp

import (
	"encoding/json"
	"github.com/wotgen/wotgen/runtime/wot"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/runtime/td"
)

func getTD(t *testing.T, url string) (*td.Thing, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	d, err := td.Parse(b)
	if err != nil {
		t.Fatalf("served TD does not parse: %v\n%s", err, b)
	}
	return d, resp
}

func TestServeTD(t *testing.T) {
	_, hs := serve(t, []*Thing{newValve(t)})
	host := strings.TrimPrefix(hs.URL, "http://")
	for _, path := range []string{"/things/valve-7", "/.well-known/wot"} {
		d, resp := getTD(t, hs.URL+path)
		if ct := resp.Header.Get("Content-Type"); ct != "application/td+json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if d.Base != hs.URL+"/" || d.ID != valveID {
			t.Errorf("%s: base %q id %q", path, d.Base, d.ID)
		}
		if href := d.Properties["open"].Forms[0].Href; href != "ws://"+host+"/wtp" {
			t.Errorf("%s: WTP form href %q", path, href)
		}
		if href := d.Properties["label"].Forms[1].Href; href != "http://farm.example.org/label" {
			t.Errorf("%s: non-WTP form href %q", path, href)
		}
		u, _, err := d.WTPEndpoint(OpObserveProperty, "flowRate", nil)
		if err != nil || u.String() != "ws://"+host+"/wtp" {
			t.Errorf("%s: endpoint %v %v", path, u, err)
		}
	}
	resp, err := http.Post(hs.URL+"/things/valve-7", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST on TD: %d", resp.StatusCode)
	}
	resp, _ = http.Get(hs.URL + "/nothing")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func TestServeTDExternalURL(t *testing.T) {
	_, hs := serve(t, []*Thing{newValve(t)}, WithExternalURL("https://things.example.org/farm/"))
	d, _ := getTD(t, hs.URL+"/things/valve-7")
	if d.Base != "https://things.example.org/farm/" {
		t.Errorf("base %q", d.Base)
	}
	if href := d.Forms[0].Href; href != "wss://things.example.org/farm/wtp" {
		t.Errorf("href %q", href)
	}
	s := NewServer(WithExternalURL("not a url"))
	if err := s.AddThing(newValve(t)); err == nil {
		t.Error("a bad external URL was accepted")
	}
}

// A TD without WTP forms is served at /wtp, and the served TD says so.
func TestServeTDWithoutWTPForms(t *testing.T) {
	doc := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "lamp",
	 "properties": {"on": {"type": "boolean", "forms": [{"href": "http://lamp.local/on"}]},
	                "level": {"type": "integer", "readOnly": true, "forms": [{"href": "level"}]}},
	 "actions": {"toggle": {"forms": [{"href": "http://lamp.local/toggle"}]}},
	 "events": {"overheated": {"forms": [{"href": "http://lamp.local/oh"}]}}}`
	if _, err := NewThing(parseTD(t, doc)); err == nil || !strings.Contains(err.Error(), "WithID") {
		t.Fatalf("a TD without id: %v", err)
	}
	th, err := NewThing(parseTD(t, doc), wot.WithID("urn:dev:lamp"))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := serve(t, []*Thing{th})
	d, _ := getTD(t, hs.URL+"/things/urn:dev:lamp")
	host := strings.TrimPrefix(hs.URL, "http://")
	if d.ID != "urn:dev:lamp" {
		t.Errorf("id %q", d.ID)
	}
	if href := d.Properties["level"].Forms[0].Href; href != hs.URL+"/things/level" {
		t.Errorf("relative non-WTP href not made absolute: %q", href)
	}
	for op, name := range map[string]string{OpReadProperty: "on", OpObserveProperty: "level", OpInvokeAction: "toggle",
		OpSubscribeEvent: "overheated", OpReadAllProperties: "", OpQueryAllActions: ""} {
		u, f, err := d.WTPEndpoint(op, name, nil)
		if err != nil || u.String() != "ws://"+host+"/wtp" || f.Subprotocol != Subprotocol {
			t.Errorf("%s %s: %v %v", op, name, u, err)
		}
	}
	if _, _, err := d.WTPEndpoint(OpWriteProperty, "level", nil); err == nil {
		t.Error("a read-only property got writeproperty")
	}
	c := dial(t, hs)
	c.thingID = "urn:dev:lamp"
	c.ok(OpWriteProperty, func(m *Message) { m.Name = "on"; m.Value = raw("true") })
	c.ok(OpObserveAllProperties, nil)
}

func TestServeSeveralTDsAtWellKnown(t *testing.T) {
	b, err := NewThing(parseTD(t, valveTD), wot.WithID("urn:dev:valve-8"))
	if err != nil {
		t.Fatal(err)
	}
	s, hs := serve(t, []*Thing{newValve(t), b})
	resp, err := http.Get(hs.URL + "/.well-known/wot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 2 {
		t.Fatalf("want an array of 2 TDs: %v %d", err, len(list))
	}
	if d, _ := getTD(t, hs.URL+"/things/urn:dev:valve-8"); d.ID != "urn:dev:valve-8" {
		t.Fatalf("id %q", d.ID)
	}
	if err := s.AddThing(b); err == nil {
		t.Error("the same Thing was added twice")
	}
	c, _ := NewThing(parseTD(t, valveTD), wot.WithID("urn:dev:valve-9"), WithTDPath("/things/valve-7"))
	if err := s.AddThing(c); err == nil || !strings.Contains(err.Error(), "WithTDPath") {
		t.Errorf("TD path clash: %v", err)
	}
	if err := NewServer().AddThing(b); err == nil {
		t.Error("a Thing was served by two Servers")
	}
}

func TestTDPathWithSpecialCharacters(t *testing.T) {
	th, err := NewThing(parseTD(t, valveTD), wot.WithID("urn:dev:shed 4/valve?7"))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := serve(t, []*Thing{th})
	if d, _ := getTD(t, hs.URL+"/things/urn:dev:shed%204%2Fvalve%3F7"); d.ID != "urn:dev:shed 4/valve?7" {
		t.Fatalf("id %q", d.ID)
	}
}
