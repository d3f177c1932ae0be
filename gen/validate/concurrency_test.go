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
