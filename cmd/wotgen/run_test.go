package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns the exit code and both outputs.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runContext(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestFrame(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, exitUsage, "", "Usage:"},
		{[]string{"-h"}, exitOK, "Commands:", ""},
		{[]string{"help"}, exitOK, "version", ""},
		{[]string{"help", "version"}, exitOK, "Usage: wotgen version", ""},
		{[]string{"help", "nope"}, exitUsage, "", "unknown subcommand"},
		{[]string{"nope"}, exitUsage, "", `unknown subcommand "nope"`},
		{[]string{"version"}, exitOK, "wotgen ", ""},
		{[]string{"--version"}, exitOK, "wotgen ", ""},
		{[]string{"version", "-h"}, exitOK, "", "Usage: wotgen version"},
		{[]string{"version", "-bogus"}, exitUsage, "", "flag provided but not defined"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errs, c.stderr) {
			t.Errorf("wotgen %q = %d\nstdout: %s\nstderr: %s\nwant %d, stdout ~%q, stderr ~%q", c.args, code, out, errs, c.code, c.stdout, c.stderr)
		}
	}
}
