package tm

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzResolveDerive feeds arbitrary documents through resolution, derivation, generation and
// instance checking: errors are fine, panics and hangs are not.
func FuzzResolveDerive(f *testing.F) {
	for _, name := range []string{"valve.tm.json", "room.tm.json", "legacy.tm.json", "ref-cycle.tm.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{` + tmHead + `, "properties": {"a": {"tm:ref": "#/properties/a/x"}}, "tm:optional": ["/properties/a"]}`))
	f.Add([]byte(`{` + tmHead + `, "properties": "{{P}}", "links": [{"rel": "tm:submodel", "href": "x.json"}]}`))
	dir := f.TempDir()
	for _, name := range []string{"lamp.tm.json", "fan.tm.json", "base.tm.json", "actuator.tm.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.tm.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Resolve(context.Background(), testLoader(), path)
		if err != nil {
			return
		}
		vals := map[string]any{}
		for _, p := range m.Placeholders {
			vals[p] = 1
		}
		if out, _, err := Derive(m, Options{Values: vals, WTP: true, Base: "ws://h/"}); err == nil {
			CheckInstance(m, out)
		}
		GenerationDocument(m)
		CheckInstance(m, data)
	})
}
