package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
)

// shuffleJSON re-encodes a JSON document with the members of every object in a random order.
func shuffleJSON(t testing.TB, in []byte, r *rand.Rand) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var buf bytes.Buffer
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				type member struct {
					key string
					val []byte
				}
				var ms []member
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					saved := buf
					buf = bytes.Buffer{}
					if err := walk(); err != nil {
						return err
					}
					ms = append(ms, member{k.(string), append([]byte(nil), buf.Bytes()...)})
					buf = saved
				}
				if _, err := dec.Token(); err != nil { // '}'
					return err
				}
				r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
				buf.WriteByte('{')
				for i, m := range ms {
					if i > 0 {
						buf.WriteByte(',')
					}
					kb, _ := json.Marshal(m.key)
					buf.Write(kb)
					buf.WriteByte(':')
					buf.Write(m.val)
				}
				buf.WriteByte('}')
			case '[':
				buf.WriteByte('[')
				first := true
				for dec.More() {
					if !first {
						buf.WriteByte(',')
					}
					first = false
					if err := walk(); err != nil {
						return err
					}
				}
				if _, err := dec.Token(); err != nil {
					return err
				}
				buf.WriteByte(']')
			}
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			buf.Write(b)
		}
		return nil
	}
	if err := walk(); err != nil {
		t.Fatalf("shuffle: %v", err)
	}
	return buf.Bytes()
}

// TestDeterminism generates each input twice and once more from a member-shuffled copy of the
// document; every output (files and warnings) must be byte-for-byte identical.
func TestDeterminism(t *testing.T) {
	inputs := map[string][]byte{}
	goldens, _ := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "*", "thing.td.json"))
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		inputs[g] = b
	}
	if c := testcorpus.Root(); c != "" {
		files, _ := filepath.Glob(filepath.Join(c, "corpus", "td", "valid", "*.json"))
		sort.Strings(files)
		for i, f := range files {
			if i%9 != 0 { // a sample keeps the test fast
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs[f] = b
		}
	}
	for _, h := range hostileCases() {
		if !strings.HasPrefix(h.name, "5000") {
			inputs["hostile/"+h.name] = h.input
		}
	}
	r := rand.New(rand.NewSource(42))
	for name, in := range inputs {
		if json.Valid(in) == false {
			continue
		}
		run := func(input []byte) string {
			var warns []string
			files, err := Generate(context.Background(), input, Options{Package: "p", Source: "x.td.json", Warn: func(s string) { warns = append(warns, s) }})
			var sb strings.Builder
			if err != nil {
				sb.WriteString("error: " + err.Error())
			}
			for _, f := range files {
				sb.WriteString("== " + f.Name + "\n")
				sb.Write(f.Content)
			}
			sb.WriteString(strings.Join(warns, "\n"))
			return sb.String()
		}
		first := run(in)
		if second := run(in); second != first {
			t.Errorf("%s: two runs differ:\n%s", name, firstDiff(first, second))
			continue
		}
		if shuffled := run(shuffleJSON(t, in, r)); shuffled != first {
			t.Errorf("%s: shuffled input gives different output:\n%s", name, firstDiff(first, shuffled))
		}
	}
}
