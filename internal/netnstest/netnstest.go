// Package netnstest runs a test inside a fresh Linux network namespace whose loopback interface
// carries multicast, so DNS-SD announce and browse run for real without touching the host's network.
package netnstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// envChild names the test the re-executed binary must run inside the namespace.
const envChild = "WOTGEN_NETNS_CHILD"

// Enter returns true when the test runs inside its namespace: the caller goes on with its body.
// Outside, it re-executes the test binary with only this test under `unshare -n`, reports its
// output and result, and returns false: the caller returns. Where the machine cannot do this (not
// root, no unshare or ip) the test is skipped with the reason, except under CI=true, where it fails.
func Enter(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envChild) == t.Name() {
		setupLoopback(t)
		return true
	}
	if reason := unavailable(); reason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run in a network namespace: %s (CI=true: this test must run; run CI as root with util-linux and iproute2)", reason)
		}
		t.Skipf("skipped: cannot run in a network namespace: %s (run as root with unshare and ip installed)", reason)
	}
	var parts []string
	for _, p := range strings.Split(t.Name(), "/") {
		parts = append(parts, "^"+regexp.QuoteMeta(p)+"$")
	}
	timeout := 2 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 5*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "--", os.Args[0],
		"-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1", fmt.Sprintf("-test.timeout=%s", timeout))
	cmd.Env = append(os.Environ(), envChild+"="+t.Name())
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("in the network namespace: %v\n%s", err, text)
	}
	if !strings.Contains(text, "--- PASS: "+t.Name()) {
		t.Fatalf("the test did not pass inside the network namespace:\n%s", text)
	}
	t.Logf("ran in a fresh network namespace:\n%s", text)
	return false
}

func unavailable() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found"
		}
	}
	return ""
}

// setupLoopback brings lo up with multicast and routes 224.0.0.0/4 through it.
func setupLoopback(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{{"link", "set", "lo", "up", "multicast", "on"}, {"route", "replace", "224.0.0.0/4", "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}
