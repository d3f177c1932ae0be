package wothttp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// textTD is a Thing in the style of ECHONET Lite gateways: every form carries text/plain.
const textTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "urn:test:aircon", "title": "Aircon", "base": "%s/",
  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
  "properties": {
    "OperationStatus": {"type": "string", "enum": ["ON", "OFF"], "forms": [{"href": "property/OperationStatus", "contentType": "text/plain"}]},
    "RoomMeasuredTemp": {"type": "number", "readOnly": true, "forms": [{"href": "property/RoomMeasuredTemp", "contentType": "text/plain"}]},
    "Quiet": {"type": "boolean", "forms": [{"href": "property/Quiet", "contentType": "text/plain"}]},
    "DB": {"forms": [{"href": "property/DB", "contentType": "text/plain"}]},
    "Label": {"type": "string", "readOnly": true, "forms": [{"href": "property/Label", "contentType": "text/plain"}]},
    "Schedule": {"type": "object", "forms": [{"href": "property/Schedule", "contentType": "text/plain"}]},
    "Mislabelled": {"type": "object", "readOnly": true, "forms": [{"href": "property/Mislabelled"}]}
  },
  "actions": {
    "Beep": {"input": {"type": "string"}, "output": {"type": "integer"}, "forms": [{"href": "action/Beep", "contentType": "text/plain"}]}
  }
}`

// textThing answers textTD's forms as such a gateway does.
type textThing struct {
	mu     sync.Mutex
	values map[string]string // the text of each property
	types  map[string]string // the Content-Type of each answer; "" sends none
	seen   []string          // "METHOD path Content-Type body" of each write and invoke
}

func (x *textThing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.mu.Lock()
	defer x.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/property/")
	if strings.HasPrefix(r.URL.Path, "/action/") || r.Method == http.MethodPut {
		b, _ := io.ReadAll(r.Body)
		x.seen = append(x.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(b))
		if r.Method == http.MethodPut {
			x.values[name] = string(b)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "3\n")
		return
	}
	v, ok := x.values[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if ct, ok := x.types[name]; !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else if ct != "" {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header()["Content-Type"] = nil // net/http would sniff one
	}
	io.WriteString(w, v)
}

func TestTextPlainValues(t *testing.T) {
	leakCheck(t)
	x := &textThing{
		values: map[string]string{"OperationStatus": "ON\r\n", "RoomMeasuredTemp": " 23.5\n", "Quiet": "false", "DB": "42", "Label": "", "Mislabelled": `{"a": 1}`},
		types:  map[string]string{"DB": "", "Mislabelled": "text/plain"},
	}
	srv := newServer(t, x)
	ct := consume(t, srv.URL, textTD)
	ctx := ctxT(t)

	for name, want := range map[string]string{
		"OperationStatus":  `"ON"`,  // a line ending is not part of the value
		"RoomMeasuredTemp": `23.5`,  // a number's literal
		"Quiet":            `false`, // a boolean's
		"DB":               `"42"`,  // no type, no Content-Type: the form's text/plain, read as a string
		"Label":            `""`,    // an empty text is the empty string
		"Mislabelled":      `{"a": 1}`,
	} {
		v, err := ct.ReadProperty(ctx, name)
		if err != nil || string(v) != want {
			t.Errorf("read %s = %s, %v; want %s", name, v, err, want)
		}
	}

	if _, err := ct.WriteProperty(ctx, "OperationStatus", "OFF"); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.WriteProperty(ctx, "Quiet", true); err != nil {
		t.Fatal(err)
	}
	out, err := ct.InvokeAction(ctx, "Beep", "twice")
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Output) != "3" {
		t.Errorf("Beep output = %s, want 3", out.Output)
	}
	x.mu.Lock()
	seen := strings.Join(x.seen, "|")
	x.mu.Unlock()
	if want := "PUT /property/OperationStatus text/plain OFF|PUT /property/Quiet text/plain true|POST /action/Beep text/plain twice"; seen != want {
		t.Errorf("the Thing saw\n %s\nwant\n %s", seen, want)
	}

	// An object has no text/plain form: the write fails before anything is sent.
	if _, err := ct.WriteProperty(ctx, "Schedule", map[string]int{"at": 7}); err == nil {
		t.Error("an object was written as text/plain")
	}
	// Text that is not what the schema says is an error, not a wrong value.
	x.mu.Lock()
	x.values["RoomMeasuredTemp"] = "warm"
	x.values["Quiet"] = "yes"
	x.mu.Unlock()
	for _, name := range []string{"RoomMeasuredTemp", "Quiet"} {
		if v, err := ct.ReadProperty(ctx, name); err == nil || !strings.Contains(err.Error(), "text/plain") {
			t.Errorf("read %s = %s, %v; want an error about the text", name, v, err)
		}
	}
}

// The conversions on their own, including hostile text.
func TestTextConversions(t *testing.T) {
	str, num, integer, boolean, obj := &td.DataSchema{Type: "string"}, &td.DataSchema{Type: "number"}, &td.DataSchema{Type: "integer"}, &td.DataSchema{Type: "boolean"}, &td.DataSchema{Type: "object"}
	for _, c := range []struct {
		text       string
		s          *td.DataSchema
		expectJSON bool
		want       string // "" for an error
	}{
		{`say "hi"`, str, false, `"say \"hi\""`},
		{`"quoted"`, str, false, `"\"quoted\""`},
		{`"quoted"`, str, true, `"quoted"`}, // the TD promised JSON: a JSON string is taken as it is
		{"1e999", num, false, ""},
		{"0x10", integer, false, ""},
		{"NaN", num, false, ""},
		{"-7", integer, false, "-7"},
		{"TRUE", boolean, false, ""},
		{"\xff\xfe", str, false, ""},
		{"{}", obj, false, ""},
		{"{}", obj, true, "{}"},
		{"[1]", nil, true, "[1]"},
	} {
		got, err := jsonFromText([]byte(c.text), c.s, c.expectJSON)
		if c.want == "" {
			if err == nil {
				t.Errorf("jsonFromText(%q) = %s, want an error", c.text, got)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("jsonFromText(%q) = %s, %v; want %s", c.text, got, err, c.want)
		}
	}
	for _, in := range []string{"", "  ", "{", `"unterminated`, "[1]", "null"} {
		if got, err := bytesFromJSON([]byte(in)); err == nil && in != "null" {
			t.Errorf("bytesFromJSON(%q) = %q, want an error", in, got)
		}
	}
	for in, want := range map[string]string{`"a\nb"`: "a\nb", "12.5": "12.5", "true": "true", `{"a":1}`: "", "[]": ""} {
		got, err := textFromJSON([]byte(in))
		if (err != nil) != (want == "") || err == nil && string(got) != want {
			t.Errorf("textFromJSON(%s) = %q, %v", in, got, err)
		}
	}
}

// bytesTD has the shapes of corpus TDs: an action answering image/jpeg to a JSON request, an
// action taking image/jpeg and answering JSON, a property read as audio/wav.
const bytesTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "urn:test:camera", "title": "Camera", "base": "%s/",
  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
  "properties": {
    "sound": {"readOnly": true, "forms": [{"href": "sound", "contentType": "audio/wav"}]}
  },
  "actions": {
    "crop": {"forms": [{"href": "crop", "contentType": "application/json", "htv:methodName": "POST", "response": {"contentType": "image/jpeg"}}]},
    "detect": {"output": {"type": "array"}, "forms": [{"href": "detect", "contentType": "image/jpeg", "response": {"contentType": "application/json"}}]}
  }
}`

func TestOpaqueBytes(t *testing.T) {
	leakCheck(t)
	frame := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0, '\n', 0xff, 0xd9}
	var mu sync.Mutex
	var got []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sound", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Write([]byte("RIFF\x00\x01WAVE"))
	})
	mux.HandleFunc("POST /crop", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, "crop accept="+r.Header.Get("Accept"))
		mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(frame)
	})
	mux.HandleFunc("POST /detect", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, "detect "+r.Header.Get("Content-Type")+" "+strings.ToValidUTF8(string(b), "?"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"label": "cat"}]`)
	})
	srv := newServer(t, mux)
	ct := consume(t, srv.URL, bytesTD)
	ctx := ctxT(t)

	v, err := ct.ReadProperty(ctx, "sound")
	if err != nil || string(v) != `"UklGRgABV0FWRQ=="` {
		t.Errorf("read sound = %s, %v; want the bytes in base64", v, err)
	}
	inv, err := ct.InvokeAction(ctx, "crop", nil)
	if err != nil || string(inv.Output) != `"/9j/4AAQSkZJRgAK/9k="` {
		t.Errorf("crop = %+v, %v; want the frame in base64", inv, err)
	}
	inv, err = ct.InvokeAction(ctx, "detect", "aGVsbG8gZnJhbWU=") // "hello frame"
	if err != nil || string(inv.Output) != `[{"label": "cat"}]` {
		t.Errorf("detect = %+v, %v", inv, err)
	}
	// The typed helpers generated code calls: []byte is carried as base64 by encoding/json,
	// so a generated []byte method gets and gives the bytes themselves.
	img, err := wot.CallAction[[]byte](ctx, ct, "crop", nil)
	if err != nil || !bytes.Equal(img, frame) {
		t.Errorf("CallAction[[]byte](crop) = %x, %v; want the frame", img, err)
	}
	if _, err := wot.CallAction[json.RawMessage](ctx, ct, "detect", []byte("hello frame")); err != nil {
		t.Errorf("CallAction(detect, []byte): %v", err)
	}
	mu.Lock()
	seen := strings.Join(got, "|")
	mu.Unlock()
	if want := "crop accept=image/jpeg|detect image/jpeg hello frame|crop accept=image/jpeg|detect image/jpeg hello frame"; seen != want {
		t.Errorf("the Thing saw %q, want %q", seen, want)
	}
	// Bytes are given as a base64 string; anything else fails before it is sent.
	for _, in := range []any{42, "not base64!"} {
		if _, err := ct.InvokeAction(ctx, "detect", in); err == nil || !strings.Contains(err.Error(), "image/jpeg") {
			t.Errorf("detect(%v): %v, want an error naming the form's media type", in, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 {
		t.Errorf("a bad value reached the Thing: %q", got)
	}
}

// The conversions never panic, and what they make of any text is valid JSON of the schema's
// type, or an error.
func FuzzMediaConversions(f *testing.F) {
	for _, s := range []string{"", "42", " 23.5\n", "true", `"q"`, "{}", "\xff", "1e999", "null", "aGk="} {
		f.Add([]byte(s), uint8(0), false)
	}
	types := []string{"", "string", "number", "integer", "boolean", "null", "object", "array"}
	f.Fuzz(func(t *testing.T, b []byte, typ uint8, expectJSON bool) {
		s := &td.DataSchema{Type: types[int(typ)%len(types)]}
		if v, err := jsonFromText(b, s, expectJSON); err == nil {
			if !json.Valid(v) {
				t.Fatalf("jsonFromText(%q, %s) = %q: not JSON", b, s.Type, v)
			}
			if k := jsonKind(v); s.Type != "" && k != s.Type && !(s.Type == "integer" && k == "number") {
				t.Fatalf("jsonFromText(%q, %s) = %s, a %s", b, s.Type, v, k)
			}
		}
		textFromJSON(b)
		if out, err := bytesFromJSON(b); err == nil {
			if back := jsonFromBytes(out); !json.Valid(back) {
				t.Fatalf("jsonFromBytes(%x) = %q", out, back)
			}
		}
	})
}
