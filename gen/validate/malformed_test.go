package validate

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
)

const minimalTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "Lamp",
 "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc"}`

// TestMalformed feeds hostile inputs: each must give a clear error diagnostic with a position, never
// a panic.
func TestMalformed(t *testing.T) {
	v := mustNew(t, Options{})
	deepArr := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	deepInTD := strings.Replace(minimalTD, `"title": "Lamp"`, `"title": "Lamp", "x": `+deepArr, 1)
	bin := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(bin)
	cases := []struct {
		name, data, code, msg string
	}{
		{"empty", "", CodeSyntax, "empty"},
		{"whitespace", " \n\t ", CodeSyntax, "empty"},
		{"not JSON", "title: Lamp\n", CodeSyntax, `unexpected text "title:"`},
		{"single quotes", "{'title': 'Lamp'}", CodeSyntax, "double quotes"},
		{"truncated", minimalTD[:60], CodeSyntax, "truncated"},
		{"trailing comma", `{"title": "x",}`, CodeSyntax, "trailing comma"},
		{"trailing garbage", minimalTD + " }", CodeSyntax, "after the end"},
		{"huge exponent", strings.Replace(minimalTD, `"title": "Lamp"`, `"title": "Lamp", "x": 1e999999999`, 1), CodeNumberRange, "outside the range"},
		{"huge negative", strings.Replace(minimalTD, `"title": "Lamp"`, `"title": "Lamp", "x": -1e400`, 1), CodeNumberRange, "outside the range"},
		{"deep array", deepArr, CodeSyntax, "nested deeper"},
		{"deep object", deepObj, CodeSyntax, "nested deeper"},
		{"deep inside TD", deepInTD, CodeSyntax, "nested deeper"},
		{"binary", string(bin), CodeSyntax, ""},
		{"invalid UTF-8 in string", strings.Replace(minimalTD, "Lamp", "La\xffmp", 1), CodeSyntax, "not valid UTF-8"},
		{"control character", strings.Replace(minimalTD, "Lamp", "La\x01mp", 1), CodeSyntax, "control character"},
		{"bad escape", strings.Replace(minimalTD, "Lamp", `La\qmp`, 1), CodeSyntax, "invalid escape"},
		{"top-level array", "[" + minimalTD + "]", CodeSchema, ""},
		{"top-level null", "null", CodeSchema, ""},
		{"NaN", strings.Replace(minimalTD, `"title": "Lamp"`, `"title": "Lamp", "x": NaN`, 1), CodeSyntax, ""},
		{"leading zero", strings.Replace(minimalTD, `"title": "Lamp"`, `"title": "Lamp", "x": 01`, 1), CodeSyntax, "leading zeros"},
		{"NUL bytes", "\x00\x00\x00", CodeSyntax, "control character"},
		{"UTF-16", "\xff\xfe{\x00}\x00", CodeSyntax, "not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := v.Validate(c.name, []byte(c.data))
			if res.Valid {
				t.Fatalf("valid; want a %s error", c.code)
			}
			for _, d := range res.Diagnostics {
				if d.Code == c.code && strings.Contains(d.Message, c.msg) {
					if d.Line == 0 && c.data != "" {
						t.Errorf("%s has no position", d)
					}
					return
				}
			}
			t.Errorf("want %s containing %q, got %v", c.code, c.msg, res.Diagnostics)
		})
	}
}

func TestBOMTolerated(t *testing.T) {
	v := mustNew(t, Options{})
	res := v.Validate("bom.json", append([]byte("\xEF\xBB\xBF"), minimalTD...))
	if !res.Valid || len(res.Diagnostics) != 1 || res.Diagnostics[0].Code != CodeBOM {
		t.Fatalf("want valid with one %s warning, got %+v", CodeBOM, res)
	}
}

// TestLargeFile validates a 50 MB TD and checks that positions at its end are right.
func TestLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB input; skipped with -short")
	}
	var b bytes.Buffer
	b.WriteString("{\n\"@context\": \"https://www.w3.org/2022/wot/td/v1.1\",\n\"description\": \"")
	line := strings.Repeat("x", 1000) + `\n`
	for b.Len() < 50<<20 {
		b.WriteString(line)
	}
	b.WriteString("\",\n\"title\": \"Lamp\",\n\"securityDefinitions\": {\"nosec_sc\": {\"scheme\": \"nosec\"}},\n\"security\": \"nosec_sc\",\n\"title\": \"Light\"\n}\n")
	v := mustNew(t, Options{})
	res := v.Validate("big.json", b.Bytes())
	if res.Valid || len(res.Diagnostics) != 1 {
		t.Fatalf("want exactly the duplicate title, got %v", res.Diagnostics)
	}
	if d := res.Diagnostics[0]; d.Code != CodeDuplicateKey || d.Line != 7 || d.Column != 1 {
		t.Fatalf("want %s at 7:1, got %s", CodeDuplicateKey, d)
	}
}

// FuzzValidate: no input may panic, and every diagnostic must carry a known code.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(minimalTD))
	f.Add([]byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","@type":"tm:ThingModel","properties":{"a":{"tm:ref":"#/properties/a"}},"tm:optional":["/properties/b"]}`))
	f.Add([]byte(`{"properties":{"a":{"enum":[1,"x"],"type":"integer","minimum":5,"maximum":1,"pattern":"(?<=a)"}}}`))
	v := mustNew(f, Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		res := v.Validate("fuzz.json", data)
		for _, d := range res.Diagnostics {
			if _, ok := ruleByCode[d.Code]; !ok {
				t.Fatalf("unknown code %s", d.Code)
			}
		}
	})
}
