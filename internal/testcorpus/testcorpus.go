// Package testcorpus locates the shared test corpus (../shared beside the module root).
//
// The corpus is written by others and lives outside the module, so tests that need it skip with a clear
// message when it is absent, except in CI (CI=true), where a missing corpus is a failure.
package testcorpus

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// Root returns the absolute path of ../shared relative to the module root, or "" if it does not exist.
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <module>/internal/testcorpus/testcorpus.go
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	return abs
}

// Shared returns the absolute path of ../shared, skipping the test when it is missing (failing in CI).
func Shared(tb testing.TB) string {
	tb.Helper()
	dir := Root()
	if dir == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("../shared is missing beside the module root; CI must provide it")
		}
		tb.Skip("../shared (the test corpus) is not beside the module root; skipping corpus test")
	}
	return dir
}

// Dir returns the absolute path of ../shared/corpus (see Shared).
func Dir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Shared(tb), "corpus")
}

// Files returns the sorted paths of the *.json files directly inside corpus/<sub> (e.g. "td/valid").
func Files(tb testing.TB, sub string) []string {
	tb.Helper()
	matches, err := filepath.Glob(filepath.Join(Dir(tb), filepath.FromSlash(sub), "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(matches) == 0 {
		tb.Fatalf("no corpus files under %s", sub)
	}
	sort.Strings(matches)
	return matches
}
