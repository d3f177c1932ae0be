package schema

import "testing"

func TestCheckObject(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{`{"a":1,"b":2}`, false},
		{`{"b":2}`, true},              // a required
		{`{"a":1,"b":null}`, true},     // b non-null
		{`{"a":null}`, false},          // a may be null
		{`null`, true},                 // not an object
		{`[1]`, true},                  // not an object
		{` {"a":1} `, false},           // spaces
		{`{"a":1,"c":{"x":1}}`, false}, // unknown members are fine
	}
	for _, tt := range tests {
		err := CheckObject([]byte(tt.in), []string{"a"}, []string{"b"})
		if (err != nil) != tt.wantErr {
			t.Errorf("CheckObject(%s) = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestKindOf(t *testing.T) {
	for in, want := range map[string]string{
		`{}`: "object", ` []`: "array", `"x"`: "string", `-1`: "number", `0.5`: "number", `true`: "boolean",
		`false`: "boolean", `null`: "null", ``: "", `x`: "",
	} {
		if got := KindOf([]byte(in)); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMultipleOf(t *testing.T) {
	tests := []struct {
		v, m float64
		want bool
	}{
		{0.3, 0.1, true}, {0.07, 0.01, true}, {10, 2.5, true}, {1, 0.3, false}, {7, 2, false},
		{0, 0.5, true}, {-4, 2, true}, {1e308, 1e-308, false}, {5, 0, false},
	}
	for _, tt := range tests {
		if got := MultipleOf(tt.v, tt.m); got != tt.want {
			t.Errorf("MultipleOf(%v, %v) = %v, want %v", tt.v, tt.m, got, tt.want)
		}
	}
}
