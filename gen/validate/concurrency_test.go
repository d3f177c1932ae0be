package validate

import (
	"os"
	"reflect"
	"sync"
	"testing"
)

// TestConcurrentUse: one Validator shared by many goroutines gives the same results as serial use.
func TestConcurrentUse(t *testing.T) {
	files := corpusFiles(t)
	if testing.Short() {
		files = files[:60]
	}
	v := mustNew(t, Options{})
	data := make([][]byte, len(files))
	want := make([]Result, len(files))
	for i, f := range files {
		d, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		data[i] = d
		want[i] = v.Validate(f.rel, d)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range files {
				i := (k + g*len(files)/4) % len(files)
				if got := v.Validate(files[i].rel, data[i]); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("%s: concurrent result differs", files[i].rel)
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestWarningCap(t *testing.T) {
	var in []Diagnostic
	for i := 0; i < 15; i++ {
		d := newDiag(CodeMultiLang, "lacks de")
		d.offset = i
		in = append(in, d)
	}
	in = append(in, newDiag(CodeSchema, "an error"))
	out := capWarnings(in)
	if len(out) != maxWarningsPerCode+2 {
		t.Fatalf("got %d findings, want %d", len(out), maxWarningsPerCode+2)
	}
	if m := out[maxWarningsPerCode].Message; m != "5 more TD044 warnings like the ones above are not shown" {
		t.Fatalf("summary = %q", m)
	}
	if out[len(out)-1].Code != CodeSchema {
		t.Fatal("errors must never be capped")
	}
}
