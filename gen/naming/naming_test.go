package naming

import (
	"go/token"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

func TestExported(t *testing.T) {
	n := New()
	tests := []struct{ in, want string }{
		{"onOff", "OnOff"},
		{"on-off", "OnOff"},
		{"on_off", "OnOff"},
		{"ON OFF", "OnOff"},
		{"OnOff", "OnOff"},
		{"brightness", "Brightness"},
		{"id", "ID"},
		{"deviceId", "DeviceID"},
		{"device_id", "DeviceID"},
		{"targetURL", "TargetURL"},
		{"url", "URL"},
		{"HTTPServer", "HTTPServer"},
		{"httpServer", "HTTPServer"},
		{"co2", "CO2"},
		{"co2Level", "CO2Level"},
		{"CO2_level", "CO2Level"},
		{"jsonApiUuid", "JSONAPIUUID"},
		{"ipv4", "IPv4"},
		{"IPv4Address", "IPv4Address"},
		{"mqttQos", "MQTTQoS"},
		{"LED_STATE", "LEDState"},
		{"TEMPERATURE", "Temperature"},
		{"temp2Max", "Temp2Max"},
		{"2ndFloor", "N2ndFloor"},
		{"3", "N3"},
		{"-1", "Minus1"},
		{"+1", "Plus1"},
		{"humidity%", "HumidityPercent"},
		{"%", "Percent"},
		{"@type", "AtType"},
		{"a&b", "AAndB"},
		{"-", "Minus"},
		{"_", "Underscore"},
		{"...", "DotDotDot"},
		{"", "Empty"},
		{"   ", "SpaceSpaceSpace"},
		{"type", "Type"},
		{"range", "Range"},
		{"température", "Température"},
		{"übergröße", "Übergröße"},
		{"温度", "X温度"},
		{"ÄÖÜ", "Äöü"},
		{"a.b/c:d", "ABCD"},
		{"status/latest", "StatusLatest"},
		{"*/ injected", "StarInjected"},
		{"emoji😀name", "EmojiName"},
		{"\x00nul", "Nul"},
		{"bad\xffutf8", "BadUTF8"},
		{"with\u202ebidi", "WithBidi"},
		{"κόσμε", "Κόσμε"},
		{"٣ab", "N٣ab"},
	}
	for _, tt := range tests {
		got := n.Exported(tt.in)
		if got != tt.want {
			t.Errorf("Exported(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !token.IsIdentifier(got) || !token.IsExported(got) {
			t.Errorf("Exported(%q) = %q is not an exported identifier", tt.in, got)
		}
	}
}

func TestUnexported(t *testing.T) {
	n := New()
	tests := []struct{ in, want string }{
		{"onOff", "onOff"},
		{"On-Off", "onOff"},
		{"ID", "id"},
		{"idValue", "idValue"},
		{"URLPath", "urlPath"},
		{"type", "type_"},
		{"range", "range_"},
		{"func", "func_"},
		{"string", "string_"},
		{"len", "len_"},
		{"nil", "nil_"},
		{"any", "any_"},
		{"2x", "n2x"},
		{"", "empty"},
		{"ctx", "ctx"},
	}
	for _, tt := range tests {
		got := n.Unexported(tt.in)
		if got != tt.want {
			t.Errorf("Unexported(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !token.IsIdentifier(got) {
			t.Errorf("Unexported(%q) = %q is not an identifier", tt.in, got)
		}
	}
}

func TestInitialismsExtend(t *testing.T) {
	n := New("CoAP", "pm25", " ")
	if got := n.Exported("coap_server"); got != "CoAPServer" {
		t.Errorf("got %q", got)
	}
	if got := n.Exported("pm25"); got != "Pm25" {
		// an initialism is capitalised when it starts an exported name
		t.Errorf("got %q", got)
	}
	n = New("PM25")
	if got := n.Exported("pm25_value"); got != "PM25Value" {
		t.Errorf("got %q", got)
	}
	// The default table is untouched by another Namer.
	if got := New().Exported("coap"); got != "Coap" {
		t.Errorf("got %q", got)
	}
}

func TestLongNames(t *testing.T) {
	n := New()
	a := strings.Repeat("a", 1000) + "x"
	b := strings.Repeat("a", 1000) + "y"
	ga, gb := n.Exported(a), n.Exported(b)
	if ga == gb {
		t.Fatalf("long names collapsed to %q", ga)
	}
	for _, g := range []string{ga, gb, n.Unexported(a)} {
		if len([]rune(g)) > maxIdentLen || !token.IsIdentifier(g) {
			t.Errorf("bad long name %q", g)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"fooBarBaz", []string{"foo", "Bar", "Baz"}},
		{"HTTPServerURL", []string{"HTTP", "Server", "URL"}},
		{"a--b", []string{"a", "b"}},
		{"", nil},
		{"x%", []string{"x", "Percent"}},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPackageAndFileBase(t *testing.T) {
	pk := []struct{ in, want string }{
		{"Smart Lamp", "smartlamp"},
		{"", "thing"},
		{"温度", "thing"},
		{"123 go", "thing123go"},
		{"type", "typething"},
		{"main", "mainthing"},
		{"Lampe Küche", "lampekche"},
	}
	for _, tt := range pk {
		if got := Package(tt.in); got != tt.want {
			t.Errorf("Package(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Package(tt.in); !token.IsIdentifier(got) || IsReserved(got) {
			t.Errorf("Package(%q) = %q is not usable", tt.in, got)
		}
	}
	fb := []struct{ in, want string }{
		{"Smart Lamp v2", "smart_lamp_v2"},
		{"MyLampThing", "my_lamp_thing"},
		{"", "thing"},
		{"*/../../etc/passwd", "star_etc_passwd"},
		{"9 Lives", "thing_9_lives"},
		{"温度 sensor", "sensor"},
		{strings.Repeat("long ", 100), strings.TrimRight(strings.Repeat("long_", 9)+"lon", "_")},
	}
	for _, tt := range fb {
		if got := FileBase(tt.in); got != tt.want {
			t.Errorf("FileBase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	n := New()
	mk := func(k Kind, js string) Entry { return Entry{Kind: k, JSON: js, Go: n.Exported(js)} }
	entries := []Entry{
		mk(KindProperty, "on_off"),
		mk(KindProperty, "onOff"),
		mk(KindProperty, "on-off"),
		mk(KindProperty, "status"),
		mk(KindEvent, "status"),
		mk(KindProperty, "close"),
		mk(KindAction, "validate"),
		mk(KindProperty, "OnOff2"),
		mk(KindProperty, "level"),
	}
	var warns []string
	got := Resolve(entries, map[string]bool{"Close": true, "Validate": true}, func(s string) { warns = append(warns, s) })
	want := []string{"OnOff4", "OnOff3", "OnOff", "StatusProperty", "StatusEvent", "CloseProperty", "ValidateAction", "OnOff2", "Level"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve = %q, want %q", got, want)
	}
	if len(warns) != 6 {
		t.Errorf("want 6 warnings (one per rename), got %d: %q", len(warns), warns)
	}
	// Order independence.
	r := rand.New(rand.NewSource(1))
	for range 20 {
		perm := r.Perm(len(entries))
		shuffled := make([]Entry, len(entries))
		for i, p := range perm {
			shuffled[i] = entries[p]
		}
		got2 := Resolve(shuffled, map[string]bool{"Close": true, "Validate": true}, nil)
		for i, p := range perm {
			if got2[i] != want[p] {
				t.Fatalf("shuffled Resolve gave %q for %q, want %q", got2[i], shuffled[i].JSON, want[p])
			}
		}
	}
	// All unique.
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Errorf("duplicate %q", g)
		}
		seen[g] = true
	}
}

func TestResolveThreeKinds(t *testing.T) {
	got := Resolve([]Entry{
		{KindAction, "x", "X"}, {KindEvent, "x", "X"}, {KindProperty, "x", "X"},
	}, nil, nil)
	want := []string{"XAction", "XEvent", "XProperty"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestScope(t *testing.T) {
	var warns []string
	s := NewScope(func(m string) { warns = append(warns, m) }, "Client")
	if got := s.Claim("Lamp", "type of property \"lamp\""); got != "Lamp" {
		t.Error(got)
	}
	if got := s.Claim("Lamp", "type of action \"lamp\""); got != "Lamp2" {
		t.Error(got)
	}
	if got := s.Claim("Client", ""); got != "Client2" {
		t.Error(got)
	}
	if len(warns) != 1 {
		t.Errorf("warnings: %q", warns)
	}
	if !s.Taken("Lamp2") || s.Taken("Lamp3") {
		t.Error("Taken is wrong")
	}
}

func TestQuote(t *testing.T) {
	if got := quote("a\"b\x00\n"); got != `"a\"b\u{0}\u{a}"` {
		t.Errorf("got %s", got)
	}
}

func FuzzExported(f *testing.F) {
	for _, s := range []string{"", "a", "type", "2x", "温度", "*/", "\x00", "a-b_c"} {
		f.Add(s)
	}
	n := New()
	f.Fuzz(func(t *testing.T, s string) {
		if g := n.Exported(s); !token.IsIdentifier(g) || !token.IsExported(g) {
			t.Fatalf("Exported(%q) = %q", s, g)
		}
		if g := n.Unexported(s); !token.IsIdentifier(g) || IsReserved(g) {
			t.Fatalf("Unexported(%q) = %q", s, g)
		}
		if g := Package(s); !token.IsIdentifier(g) || IsReserved(g) {
			t.Fatalf("Package(%q) = %q", s, g)
		}
	})
}
