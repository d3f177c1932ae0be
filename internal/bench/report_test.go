package bench

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestReport prints the BENCHMARKS.md table: every scenario on every target in alternating rounds,
// medians, and each target's throughput relative to the raw baseline of the same run.
// It runs only with WOTGEN_BENCH=1 because it takes minutes.
func TestReport(t *testing.T) {
	if os.Getenv("WOTGEN_BENCH") != "1" {
		t.Skip("set WOTGEN_BENCH=1 to run the benchmark report (takes minutes)")
	}
	const rounds = 7
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | %s |\n|---|%s\n", strings.Join(targetNames(), " | "), strings.Repeat("---|", len(targets)))
	for _, s := range scenarios {
		ns := make([][]float64, len(targets))
		allocs := make([][]float64, len(targets))
		for range rounds {
			for i, tg := range targets {
				r := testing.Benchmark(func(b *testing.B) {
					tgt := tg.start(b)
					defer tgt.close()
					b.ReportAllocs()
					s.run(b, tgt, b.N, b.ResetTimer)
				})
				ns[i] = append(ns[i], float64(r.NsPerOp()))
				allocs[i] = append(allocs[i], float64(r.AllocsPerOp()))
			}
		}
		base := median(ns[0])
		cells := make([]string, len(targets))
		for i := range targets {
			m := median(ns[i])
			cells[i] = fmt.Sprintf("%.2f× (%.0f ops/s, %.0f allocs/op)", base/m, 1e9/m, median(allocs[i]))
		}
		fmt.Fprintf(&b, "| %s | %s |\n", s.name, strings.Join(cells, " | "))
	}
	idle := make([][]float64, len(targets))
	for range 3 {
		for i, tg := range targets {
			tgt := tg.start(t)
			idle[i] = append(idle[i], idleBytes(t, tgt, 500))
			tgt.close()
		}
	}
	cells := make([]string, len(targets))
	for i := range targets {
		cells[i] = fmt.Sprintf("%.0f B/conn", median(idle[i]))
	}
	fmt.Fprintf(&b, "| idle connection | %s |\n", strings.Join(cells, " | "))

	// Typed vs dynamic, and the tools, each against its baseline in alternating rounds.
	fmt.Fprintf(&b, "\n| comparison | baseline | measured | ratio |\n|---|---|---|---|\n")
	pair := func(row string, rounds int, unit func(ns float64) string, base, meas func(b *testing.B)) {
		var nb, nm, ab, am []float64
		for range rounds {
			r := testing.Benchmark(base)
			nb, ab = append(nb, float64(r.NsPerOp())), append(ab, float64(r.AllocsPerOp()))
			r = testing.Benchmark(meas)
			nm, am = append(nm, float64(r.NsPerOp())), append(am, float64(r.AllocsPerOp()))
		}
		fmt.Fprintf(&b, "| %s | %s, %.0f allocs/op | %s, %.0f allocs/op | %.2f× |\n", row,
			unit(median(nb)), median(ab), unit(median(nm)), median(am), median(nb)/median(nm))
	}
	perSec := func(what string) func(float64) string {
		return func(ns float64) string { return fmt.Sprintf("%.0f %s/s", 1e9/ns, what) }
	}
	typed := func(on bool) func(b *testing.B) {
		return func(b *testing.B) { b.ReportAllocs(); readLampLevel(b, on, b.N, b.ResetTimer) }
	}
	pair("lamp readproperty: dynamic → generated typed client+server", rounds, perSec("reads"), typed(false), typed(true))
	docs := loadCorpus(t, "td/valid", "td/invalid", "tm")
	valid := loadCorpus(t, "td/valid")
	pair(fmt.Sprintf("validate %d corpus files: schema-only → wotgen validate", len(docs)), rounds, perSec("files"),
		func(b *testing.B) { b.ReportAllocs(); validateSchemaOnly(b, docs, b.N, b.ResetTimer) },
		func(b *testing.B) { b.ReportAllocs(); validateWotgen(b, docs, b.N, b.ResetTimer) })
	var gen []float64
	for range 3 {
		r := testing.Benchmark(func(b *testing.B) { generateCorpus(b, valid, b.N, b.ResetTimer) })
		gen = append(gen, float64(r.NsPerOp()))
	}
	fmt.Fprintf(&b, "| generate %d valid TDs (types, client, server; no compilation) | — | %.2f s | — |\n", len(valid), median(gen)/1e9)
	t.Logf("medians of %d alternating rounds (generate: 3); ratio = throughput relative to the baseline\n%s", rounds, b.String())
}

func targetNames() []string {
	var out []string
	for _, tg := range targets {
		out = append(out, tg.name)
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
