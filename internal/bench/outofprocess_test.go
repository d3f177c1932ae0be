package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// The out-of-process benchmarks: the server under test (the generated lamp server, or the raw
// baseline) runs as one process and the load comes from another (cmd internal/bench/wotbench), over
// loopback, the way users run them. Rounds alternate the two servers; the report gives medians and
// the ratio generated/raw.
//
//	WOTGEN_BENCH=1 go test -run TestOutOfProcess -v -timeout 30m ./internal/bench
//
// Without WOTGEN_BENCH the test runs every scenario once with tiny counts, to keep the harness
// working. WOTGEN_BENCH_ROUNDS sets the number of rounds (default 3); WOTGEN_BENCH_SCENARIOS
// (comma-separated names, e.g. wtp-sequential,http-push) runs only those scenarios. WOTGEN_BENCH_BEFORE=<path of a wotbench binary built from another commit> adds that
// build's lamp server as a third server ("before"), driven by this build's driver, for before/after
// tables from one run. Scenarios a server cannot run (HTTP without an HTTP binding, the burst on
// the raw server, which has no writeproperty) are reported as n/a.

// oopScenario is one scenario of the report with its operation count.
type oopScenario struct {
	name string
	n    int
	// better is how the measured number compares: "rate" (higher is better) or "value" (lower is).
	better string
}

var oopScenarios = []oopScenario{
	{"wtp-sequential", 20000, "rate"},
	{"wtp-pipelined", 50000, "rate"},
	{"wtp-conns100", 50000, "rate"},
	{"wtp-push", 20000, "rate"},
	{"wtp-fanout100", 2000, "rate"},
	{"wtp-idle", 1000, "value"},
	{"wtp-allocs", 10000, "value"},
	{"wtp-burst", 20000, "value"},
	{"http-sequential", 10000, "rate"},
	{"http-conns100", 20000, "rate"},
	{"http-push", 20000, "rate"},
}

// benchServer is a running `wotbench serve` process and the URLs the driver needs.
type benchServer struct {
	kind  string
	cmd   *exec.Cmd
	stdin io.Closer
	args  []string // -base, -wtp, -thing, -http, -sse
}

func startBenchServer(t *testing.T, bin, kind string) *benchServer {
	t.Helper()
	serveKind := kind
	if kind == "before" {
		bin, serveKind = os.Getenv("WOTGEN_BENCH_BEFORE"), "lamp"
	}
	cmd := exec.Command(bin, "serve", serveKind)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &benchServer{kind: kind, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		s.stop()
		t.Fatalf("wotbench serve %s printed %q: %v", kind, line, err)
	}
	base := "http://" + addr
	switch kind {
	case "raw":
		s.args = []string{"-base", base, "-wtp", "ws://" + addr + "/wtp", "-thing", "urn:wotgen:bench",
			"-http", base + "/properties/level", "-sse", base + "/events/level"}
	default:
		s.args = append([]string{"-base", base}, formArgs(t, base+"/")...)
	}
	return s
}

// formArgs reads the served TD and finds where its forms say level is read and observed.
func formArgs(t *testing.T, tdURL string) []string {
	t.Helper()
	resp, err := http.Get(tdURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatalf("the served TD: %v", err)
	}
	n := td.Normalize(thing)
	args := []string{"-thing", thing.ID}
	doc, _ := url.Parse(tdURL)
	if u, _, err := n.WTPEndpoint(td.OpReadProperty, "level", doc); err == nil {
		args = append(args, "-wtp", u.String())
	}
	for _, f := range n.AffordanceForms(td.OpReadProperty, "level") {
		if u, err := n.ResolveHref(f.Href, doc); err == nil && u.Scheme == "http" && f.Subprotocol == "" && slices.Contains(n.FormOps(f, td.KindProperty, n.Properties["level"]), td.OpReadProperty) {
			args = append(args, "-http", u.String())
			break
		}
	}
	for _, f := range n.AffordanceForms(td.OpObserveProperty, "level") {
		if u, err := n.ResolveHref(f.Href, doc); err == nil && u.Scheme == "http" && f.Subprotocol == "sse" {
			args = append(args, "-sse", u.String())
			break
		}
	}
	return args
}

func (s *benchServer) stop() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

type oopResult struct {
	Scenario string
	Seconds  float64
	Rate     float64
	Value    float64
	Unit     string
	Extra    map[string]float64
}

// applies reports whether the server s can run scenario sc.
func (s *benchServer) applies(sc oopScenario) bool {
	switch {
	case strings.HasPrefix(sc.name, "http-"):
		return slices.Contains(s.args, "-http") && slices.Contains(s.args, "-sse")
	case sc.name == "wtp-burst":
		return s.kind != "raw"
	}
	return true
}

func (s *benchServer) drive(t *testing.T, bin string, sc oopScenario, n int, full bool) (oopResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"drive", "-scenario", sc.name, "-n", fmt.Sprint(n), fmt.Sprintf("-wait-drop=%v", full)}, s.args...)
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return oopResult{}, fmt.Errorf("%s against %s: %v: %s", sc.name, s.kind, err, ee.Stderr)
		}
		return oopResult{}, err
	}
	var r oopResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("%s printed %q: %v", sc.name, out, err)
	}
	return r, nil
}

func buildWotbench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wotbench")
	cmd := exec.Command("go", "build", "-o", bin, "./wotbench")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./internal/bench/wotbench: %v\n%s", err, out)
	}
	return bin
}

func TestOutOfProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server and client processes; skipped with -short")
	}
	full := os.Getenv("WOTGEN_BENCH") != ""
	bin := buildWotbench(t)
	rounds := 1
	if full {
		rounds = 3
		if n, err := strconv.Atoi(os.Getenv("WOTGEN_BENCH_ROUNDS")); err == nil && n > 0 {
			rounds = n
		}
	}
	kinds := []string{"raw", "lamp"}
	if os.Getenv("WOTGEN_BENCH_BEFORE") != "" {
		kinds = append(kinds, "before")
	}
	scenarios := oopScenarios
	if only := os.Getenv("WOTGEN_BENCH_SCENARIOS"); only != "" {
		names := strings.Split(only, ",")
		scenarios = slices.DeleteFunc(slices.Clone(oopScenarios), func(sc oopScenario) bool { return !slices.Contains(names, sc.name) })
		if len(scenarios) == 0 {
			t.Fatalf("WOTGEN_BENCH_SCENARIOS=%q names no scenario; the scenarios are %v", only, scenarioNames())
		}
	}
	results := map[string]map[string][]oopResult{} // scenario → kind → rounds
	failures := map[string]map[string]string{}     // scenario → kind → the last error
	for round := range rounds {
		// Each scenario runs on every server back to back, the order alternating between
		// rounds: the machine's load drifts over minutes, so comparing servers measured
		// seconds apart keeps the drift out of the ratios.
		order := slices.Clone(kinds)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, sc := range scenarios {
			for _, kind := range order {
				n := sc.n
				if !full {
					n = min(n, 200)
					if sc.name == "wtp-idle" {
						n = 20
					}
				}
				// A fresh server per scenario: no scenario inherits another's connections or heap.
				s := startBenchServer(t, bin, kind)
				if !s.applies(sc) {
					s.stop()
					continue
				}
				r, err := s.drive(t, bin, sc, n, full)
				s.stop()
				if err != nil {
					if kind == "before" {
						// The older build may fail a scenario (the burst): that is a result.
						if failures[sc.name] == nil {
							failures[sc.name] = map[string]string{}
						}
						failures[sc.name][kind] = err.Error()
						continue
					}
					t.Errorf("%v", err)
					continue
				}
				if results[sc.name] == nil {
					results[sc.name] = map[string][]oopResult{}
				}
				results[sc.name][kind] = append(results[sc.name][kind], r)
			}
		}
	}
	if !full {
		return
	}
	var b strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "load average at the end: %s\n", strings.TrimSpace(string(load)))
	before := slices.Contains(kinds, "before")
	if before {
		fmt.Fprintf(&b, "| scenario | raw | generated lamp | lamp/raw | lamp before | before/raw |\n|---|---|---|---|---|---|\n")
	} else {
		fmt.Fprintf(&b, "| scenario | raw | generated lamp | lamp/raw |\n|---|---|---|---|\n")
	}
	for _, sc := range scenarios {
		raw := results[sc.name]["raw"]
		cells := []string{sc.name, cell(raw, sc, "")}
		for _, kind := range kinds[1:] {
			rs := results[sc.name][kind]
			if len(rs) == 0 && failures[sc.name][kind] != "" {
				cells = append(cells, "failed: "+oneLine(failures[sc.name][kind]), "—")
				continue
			}
			cells = append(cells, cell(rs, sc, ""), ratio(rs, raw, sc))
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	// The burst's further figures (generated servers only).
	for _, kind := range kinds[1:] {
		rs := results["wtp-burst"][kind]
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "wtp-burst %s: B received all changes in %s; the observer that reads nothing dropped after %s; server RSS growth %s\n",
			kind, cell(rs, oopScenario{better: "value"}, ""), cell(rs, oopScenario{better: "value"}, "a_dropped_s"), cell(rs, oopScenario{better: "value"}, "rss_growth_mib"))
	}
	t.Logf("medians of %d alternating rounds:\n%s", rounds, b.String())
}

func scenarioNames() []string {
	var names []string
	for _, sc := range oopScenarios {
		names = append(names, sc.name)
	}
	return names
}

// cell formats the median of the results (of the Extra figure key, when set); n/a when none.
func cell(rs []oopResult, sc oopScenario, key string) string {
	if len(rs) == 0 {
		return "n/a"
	}
	if key != "" {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, r.Extra[key])
		}
		slices.Sort(xs)
		unit := map[string]string{"a_dropped_s": "s", "rss_growth_mib": "MiB"}[key]
		return fmt.Sprintf("%.1f %s", xs[len(xs)/2], unit)
	}
	m := medianOf(rs, sc.better)
	if sc.better == "rate" {
		return fmt.Sprintf("%.0f ops/s", m)
	}
	return fmt.Sprintf("%.2f %s", m, rs[0].Unit)
}

// oneLine keeps an error message to one table cell: its last line (the driver's own message),
// without the scenario and server names repeated.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	s = lines[len(lines)-1]
	if i := strings.LastIndex(s, ": after "); i >= 0 {
		s = s[i+2:]
	} else if i := strings.Index(s, "wotbench: "); i >= 0 {
		s = s[i+len("wotbench: "):]
	}
	return strings.ReplaceAll(s, "|", "/")
}

// ratio is the generated server's median over the raw one's, "—" when either is missing.
func ratio(rs, raw []oopResult, sc oopScenario) string {
	if len(rs) == 0 || len(raw) == 0 {
		return "—"
	}
	r := medianOf(rs, sc.better) / medianOf(raw, sc.better)
	if sc.better == "rate" {
		return fmt.Sprintf("**%.2f×**", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// medianOf is the median of the measured number (rate or value) over rounds; 0 when none.
func medianOf(rs []oopResult, better string) float64 {
	var xs []float64
	for _, r := range rs {
		if better == "rate" {
			xs = append(xs, r.Rate)
		} else {
			xs = append(xs, r.Value)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
