package tm

import (
	"context"
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/corpus/tm/*.json")
	for _, f := range files {
		l := NewLoader()
		l.Offline = true
		m, err := Resolve(context.Background(), l, f)
		if err != nil {
			t.Logf("FAIL %s: %v", filepath.Base(f), err)
			continue
		}
		vals := map[string]any{}
		for _, p := range m.Placeholders {
			vals[p] = "x"
		}
		_, w, err := Derive(m, Options{WTP: true, Values: vals})
		t.Logf("OK %s: %d warnings, placeholders %v, derive err %v", filepath.Base(f), len(m.Warnings)+len(w), m.Placeholders, err)
	}
}
