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
// working.

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
	cmd := exec.Command(bin, "serve", kind)
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
}

func (s *benchServer) drive(t *testing.T, bin string, sc oopScenario, n int) (oopResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"drive", "-scenario", sc.name, "-n", fmt.Sprint(n)}, s.args...)
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
	}
	kinds := []string{"raw", "lamp"}
	results := map[string]map[string][]oopResult{} // scenario → kind → rounds
	for round := range rounds {
		order := kinds
		if round%2 == 1 {
			order = []string{"lamp", "raw"}
		}
		for _, kind := range order {
			for _, sc := range oopScenarios {
				n := sc.n
				if !full {
					n = min(n, 200)
					if sc.name == "wtp-idle" {
						n = 20
					}
				}
				// A fresh server per scenario: no scenario inherits another's connections or heap.
				s := startBenchServer(t, bin, kind)
				r, err := s.drive(t, bin, sc, n)
				s.stop()
				if err != nil {
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
	fmt.Fprintf(&b, "| scenario | raw | generated lamp | ratio |\n|---|---|---|---|\n")
	for _, sc := range oopScenarios {
		raw, gen := medianOf(results[sc.name]["raw"], sc.better), medianOf(results[sc.name]["lamp"], sc.better)
		switch sc.better {
		case "rate":
			fmt.Fprintf(&b, "| %s | %.0f ops/s | %.0f ops/s | **%.2f×** |\n", sc.name, raw, gen, gen/raw)
		default:
			unit := results[sc.name]["lamp"][0].Unit
			fmt.Fprintf(&b, "| %s | %.1f %s | %.1f %s | %.2f× |\n", sc.name, raw, unit, gen, unit, gen/raw)
		}
	}
	t.Logf("medians of %d alternating rounds:\n%s", rounds, b.String())
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
