// Package bench measures the wotgen runtime against a raw baseline (package rawthing): the
// thinnest WTP server one can write with github.com/coder/websocket and encoding/json, with no
// wotgen code. Both run in the same process and are driven by the same raw client, so the
// figures that matter are ratios from one run.
//
// Benchmarks: go test -run '^$' -bench . ./internal/bench
// The ratio table of BENCHMARKS.md: WOTGEN_BENCH=1 go test -run TestReport -v -timeout 30m ./internal/bench
package bench
