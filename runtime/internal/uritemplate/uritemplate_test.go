package uritemplate

import (
	"encoding/json"
	"strings"
	"testing"
)

// The examples of RFC 6570 §1.2 and §3.2, levels 1 to 4.
func TestExpandRFC6570Examples(t *testing.T) {
	vars := map[string]any{
		"count":      []string{"one", "two", "three"},
		"dom":        []string{"example", "com"},
		"dub":        "me/too",
		"hello":      "Hello World!",
		"half":       "50%",
		"var":        "value",
		"who":        "fred",
		"base":       "http://example.com/home/",
		"path":       "/foo/bar",
		"list":       []string{"red", "green", "blue"},
		"keys":       map[string]string{"semi": ";", "dot": ".", "comma": ","},
		"v":          "6",
		"x":          "1024",
		"y":          "768",
		"empty":      "",
		"empty_keys": map[string]string{},
		"undef":      nil,
	}
	cases := []struct{ tmpl, want string }{
		// Level 1
		{"{var}", "value"},
		{"{hello}", "Hello%20World%21"},
		// Level 2
		{"{+var}", "value"},
		{"{+hello}", "Hello%20World!"},
		{"{+path}/here", "/foo/bar/here"},
		{"here?ref={+path}", "here?ref=/foo/bar"},
		{"X{#var}", "X#value"},
		{"X{#hello}", "X#Hello%20World!"},
		// Level 3
		{"map?{x,y}", "map?1024,768"},
		{"{x,hello,y}", "1024,Hello%20World%21,768"},
		{"{+x,hello,y}", "1024,Hello%20World!,768"},
		{"{+path,x}/here", "/foo/bar,1024/here"},
		{"{#x,hello,y}", "#1024,Hello%20World!,768"},
		{"{#path,x}/here", "#/foo/bar,1024/here"},
		{"X{.var}", "X.value"},
		{"X{.x,y}", "X.1024.768"},
		{"{/var}", "/value"},
		{"{/var,x}/here", "/value/1024/here"},
		{"{;x,y}", ";x=1024;y=768"},
		{"{;x,y,empty}", ";x=1024;y=768;empty"},
		{"{?x,y}", "?x=1024&y=768"},
		{"{?x,y,empty}", "?x=1024&y=768&empty="},
		{"?fixed=yes{&x}", "?fixed=yes&x=1024"},
		{"{&x,y,empty}", "&x=1024&y=768&empty="},
		// Level 4
		{"{var:3}", "val"},
		{"{var:30}", "value"},
		{"{list}", "red,green,blue"},
		{"{list*}", "red,green,blue"},
		{"{keys}", "comma,%2C,dot,.,semi,%3B"},
		{"{keys*}", "comma=%2C,dot=.,semi=%3B"},
		{"{+path:6}/here", "/foo/b/here"},
		{"{+list}", "red,green,blue"},
		{"{+keys*}", "comma=,,dot=.,semi=;"},
		{"{#list*}", "#red,green,blue"},
		{"X{.list*}", "X.red.green.blue"},
		{"{/list*,path:4}", "/red/green/blue/%2Ffoo"},
		{"{;list*}", ";list=red;list=green;list=blue"},
		{"{;keys*}", ";comma=%2C;dot=.;semi=%3B"},
		{"{?list*}", "?list=red&list=green&list=blue"},
		{"{?keys*}", "?comma=%2C&dot=.&semi=%3B"},
		{"{&list*}", "&list=red&list=green&list=blue"},
		// Undefined and empty values.
		{"{undef}", ""},
		{"{?undef,x}", "?x=1024"},
		{"{?empty_keys*}", ""},
		{"{half}", "50%25"},
		{"{+half}", "50%25"},
		{"{count}", "one,two,three"},
		{"{dom*}", "example,com"},
		{"{dub}", "me%2Ftoo"},
	}
	for _, tc := range cases {
		got, err := Expand(tc.tmpl, vars)
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

// What TD forms look like: typed values, the query form and a path segment.
func TestExpandTDHrefs(t *testing.T) {
	vars := map[string]any{"lat": 52.5, "long": -13.25, "city": "São Paulo", "unit": "C", "n": 3, "on": true, "id": json.Number("7")}
	cases := []struct{ tmpl, want string }{
		{"http://h/weather{?lat,long}", "http://h/weather?lat=52.5&long=-13.25"},
		{"http://h/weather/{city}", "http://h/weather/S%C3%A3o%20Paulo"},
		{"http://h/weather/{city}/{?unit}", "http://h/weather/S%C3%A3o%20Paulo/?unit=C"},
		{"http://h/p{?n,on,id}", "http://h/p?n=3&on=true&id=7"},
		{"http://h/p{?missing}", "http://h/p"},
	}
	for _, tc := range cases {
		got, err := Expand(tc.tmpl, vars)
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
	if got := Variables("http://h/{city}/x{?lat,long*}{&city}{var:3}"); strings.Join(got, ",") != "city,lat,long,var" {
		t.Errorf("Variables = %v", got)
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tmpl := range []string{"{unclosed", "close}", "{}", "{=x}", "{a b}", "{x:0}", "{x:abc}"} {
		if _, err := Expand(tmpl, map[string]any{"x": "1"}); err == nil {
			t.Errorf("Expand(%q) succeeded", tmpl)
		}
	}
	if _, err := Expand("{x:2}", map[string]any{"x": []string{"a"}}); err == nil {
		t.Error("a prefix on a list was accepted")
	}
	if _, err := Expand("{x}", map[string]any{"x": struct{}{}}); err == nil {
		t.Error("a struct was expanded")
	}
	if _, err := Expand("{x}", map[string]any{"x": []any{map[string]int{}}}); err == nil {
		t.Error("a nested list element was expanded")
	}
}
