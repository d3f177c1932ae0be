package ir

import (
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		in   string
		want Doc
	}{
		{"", nil},
		{"Brightness", Doc{"Brightness"}},
		{"a */ b /* c", Doc{"a * / b / * c"}},
		{"line1\nline2", Doc{"line1", "line2"}},
		{"p1\n\n\n\np2", Doc{"p1", "", "p2"}},
		{"x\u2028y\u2029z\rw\u0085v", Doc{"x", "y", "z", "w", "v"}},
		{"nul\x00here\x1b[31m", Doc{"nulhere[31m"}},
		{"bidi\u202eevil\u2066", Doc{"bidievil"}},
		{"zero\u200bwidth\ufeff", Doc{"zerowidth"}},
		{"bad\xffutf8", Doc{"bad\ufffdutf8"}},
		{"\ttabs\t", Doc{"tabs"}},
	}
	for _, tt := range tests {
		got := Sanitize(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSanitizeBounds(t *testing.T) {
	long := strings.Repeat("word ", 1000)
	d := Sanitize(long)
	if len(d) > maxDocLines+1 {
		t.Errorf("%d lines", len(d))
	}
	for _, l := range d {
		if len([]rune(l)) > maxDocLine {
			t.Errorf("line of %d runes", len([]rune(l)))
		}
	}
	nospace := Sanitize(strings.Repeat("x", 500))
	if len(nospace) != 5 {
		t.Errorf("unbroken text wrapped into %d lines", len(nospace))
	}
}

func TestTypeRefString(t *testing.T) {
	ty := &Type{Name: "Lamp"}
	for ref, want := range map[*TypeRef]string{
		PointerTo(Named(ty)):      "*Lamp",
		SliceOf(Raw):              "[]json.RawMessage",
		MapOf(Time):               "map[string]time.Time",
		{Kind: RefEmptyStruct}:    "struct{}",
		SliceOf(PointerTo(Int64)): "[]*int64",
	} {
		if got := ref.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestDocWith(t *testing.T) {
	if got := (Doc{"a"}).With(""); len(got) != 1 {
		t.Errorf("With(\"\") added lines: %q", got)
	}
	if got := (Doc{"a"}).With("b"); strings.Join(got, "|") != "a||b" {
		t.Errorf("With = %q", got)
	}
	if got := (Doc{}).With("b"); strings.Join(got, "|") != "b" {
		t.Errorf("With on empty = %q", got)
	}
}
