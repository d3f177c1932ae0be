package validate

import (
	"os"
	"testing"
)

// BenchmarkCorpus validates every corpus TD and TM (schema + all rules) and reports files/s.
func BenchmarkCorpus(b *testing.B) {
	files := corpusFiles(b)
	data := make([][]byte, len(files))
	for i, f := range files {
		d, err := os.ReadFile(f.path)
		if err != nil {
			b.Fatal(err)
		}
		data[i] = d
	}
	v, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, f := range files {
			v.Validate(f.rel, data[j])
		}
	}
	b.ReportMetric(float64(b.N*len(files))/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCorpusParallel is the same across GOMAXPROCS goroutines, as wotgen validate runs it.
func BenchmarkCorpusParallel(b *testing.B) {
	files := corpusFiles(b)
	data := make([][]byte, len(files))
	for i, f := range files {
		d, err := os.ReadFile(f.path)
		if err != nil {
			b.Fatal(err)
		}
		data[i] = d
	}
	v, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		j := 0
		for pb.Next() {
			v.Validate(files[j%len(files)].rel, data[j%len(files)])
			j++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
