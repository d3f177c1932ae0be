package wtp

import (
	"encoding/json"
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
	if _, err := NewThing(parseTD(t, doc)); err == nil || !strings.Contains(err.Error(), "WithThingID") {
		t.Fatalf("a TD without id: %v", err)
	}
	th, err := NewThing(parseTD(t, doc), WithThingID("urn:dev:lamp"))
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
	b, err := NewThing(parseTD(t, valveTD), WithThingID("urn:dev:valve-8"))
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
	c, _ := NewThing(parseTD(t, valveTD), WithThingID("urn:dev:valve-9"), WithTDPath("/things/valve-7"))
	if err := s.AddThing(c); err == nil || !strings.Contains(err.Error(), "WithTDPath") {
		t.Errorf("TD path clash: %v", err)
	}
	if err := NewServer().AddThing(b); err == nil {
		t.Error("a Thing was served by two Servers")
	}
}

func TestNewThingErrors(t *testing.T) {
	if _, err := NewThing(nil); err == nil {
		t.Error("nil TD")
	}
	if _, err := NewThing(parseTD(t, valveTD), WithThingID("not a uri")); err == nil || !strings.Contains(err.Error(), "absolute URI") {
		t.Errorf("bad thingID: %v", err)
	}
	bad := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "properties": {"p": {"type": "string", "pattern": "(?<=a)b", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol"}]}}}`
	if _, err := NewThing(parseTD(t, bad)); err == nil || !strings.Contains(err.Error(), "WithValidation(false)") {
		t.Errorf("uncompilable schema: %v", err)
	}
	if _, err := NewThing(parseTD(t, bad), WithValidation(false)); err != nil {
		t.Errorf("without validation: %v", err)
	}
	remote := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "properties": {"p": {"type": "string", "$ref": "file:///etc/passwd", "forms": [{"href": "/wtp", "subprotocol": "webthingprotocol"}]}}}`
	if _, err := NewThing(parseTD(t, remote)); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("a $ref to a file was followed: %v", err)
	}
	th := newValve(t)
	defer func() {
		if recover() == nil {
			t.Error("HandleRead of an unknown property did not panic")
		}
	}()
	th.HandleRead("nope", nil)
}

func TestInitialValues(t *testing.T) {
	for schema, want := range map[string]string{
		`{"type":"integer","default":7}`:     "7",
		`{"type":"string","const":"c"}`:      `"c"`,
		`{"type":"string","enum":["a","b"]}`: `"a"`,
		`{"type":"number","minimum":2.5}`:    "2.5",
		`{"type":"array"}`:                   "[]",
		`{"type":"object"}`:                  "{}",
		`{}`:                                 "null",
	} {
		var s td.DataSchema
		if err := json.Unmarshal([]byte(schema), &s); err != nil {
			t.Fatal(err)
		}
		if got := string(initialValue(&s)); got != want {
			t.Errorf("%s: initial %s, want %s", schema, got, want)
		}
	}
}

func TestAuthFromTD(t *testing.T) {
	doc := `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "x",
	 "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}, "bearer_sc": {"scheme": "bearer"},
	   "key_sc": {"scheme": "apikey", "in": "header", "name": "X-Key"},
	   "either": {"scheme": "combo", "oneOf": ["bearer_sc", "key_sc"]},
	   "both": {"scheme": "combo", "allOf": ["bearer_sc", "key_sc"]}},
	 "security": "either"}`
	d := parseTD(t, doc)
	secrets := map[string]string{"bearer_sc": "tok", "key_sc": "k"}
	check := func(a Authenticator, h http.Header, want bool) {
		t.Helper()
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header = h
		if _, err := a.Authenticate(r); (err == nil) != want {
			t.Errorf("%v: got %v", h, err)
		}
	}
	a, err := AuthFromTD(d, secrets)
	if err != nil {
		t.Fatal(err)
	}
	check(a, http.Header{"Authorization": {"Bearer tok"}}, true)
	check(a, http.Header{"X-Key": {"k"}}, true)
	check(a, http.Header{}, false)
	d.Security = td.StringList{"both"}
	a, _ = AuthFromTD(d, secrets)
	check(a, http.Header{"Authorization": {"Bearer tok"}}, false)
	check(a, http.Header{"Authorization": {"Bearer tok"}, "X-Key": {"k"}}, true)
	d.Security = td.StringList{"nosec_sc"}
	if a, err := AuthFromTD(d, nil); a != nil || err != nil {
		t.Errorf("nosec: %v %v", a, err)
	}
	d.Security = td.StringList{"bearer_sc"}
	if _, err := AuthFromTD(d, nil); err == nil {
		t.Error("missing secret accepted")
	}
	d.Security = td.StringList{"nope"}
	if _, err := AuthFromTD(d, secrets); err == nil {
		t.Error("unknown scheme name accepted")
	}
}

func TestAuthFromScheme(t *testing.T) {
	for _, tc := range []struct {
		scheme td.SecurityScheme
		secret string
		ok     bool
		nilA   bool
	}{
		{td.SecurityScheme{Scheme: "nosec"}, "", true, true},
		{td.SecurityScheme{Scheme: "bearer"}, "tok", true, false},
		{td.SecurityScheme{Scheme: "bearer", In: "query"}, "tok", true, false},
		{td.SecurityScheme{Scheme: "bearer", In: "cookie"}, "tok", false, false},
		{td.SecurityScheme{Scheme: "basic"}, "u:p", true, false},
		{td.SecurityScheme{Scheme: "basic"}, "nocolon", false, false},
		{td.SecurityScheme{Scheme: "apikey", In: "header", Name: "X-Key"}, "k", true, false},
		{td.SecurityScheme{Scheme: "apikey"}, "k", false, false},
		{td.SecurityScheme{Scheme: "oauth2"}, "k", false, false},
	} {
		a, err := AuthFromScheme(&tc.scheme, tc.secret)
		if (err == nil) != tc.ok || (a == nil) != (tc.nilA || !tc.ok) {
			t.Errorf("%+v: %v %v", tc.scheme, a, err)
		}
	}
}

func TestTDPathWithSpecialCharacters(t *testing.T) {
	th, err := NewThing(parseTD(t, valveTD), WithThingID("urn:dev:shed 4/valve?7"))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := serve(t, []*Thing{th})
	if d, _ := getTD(t, hs.URL+"/things/urn:dev:shed%204%2Fvalve%3F7"); d.ID != "urn:dev:shed 4/valve?7" {
		t.Fatalf("id %q", d.ID)
	}
}
