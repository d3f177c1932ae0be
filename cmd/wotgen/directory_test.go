package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/discovery"
	"github.com/wotgen/wotgen/runtime/td"
)

// startDirectory runs `wotgen directory` on a free port and returns its base URL and a stop function
// that returns the exit code.
func startDirectory(t *testing.T, args ...string) (base string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, append([]string{"directory", "-addr", "127.0.0.1:0"}, args...), stdio{in: strings.NewReader(""), out: out, err: errOut})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for base == "" && time.Now().Before(deadline) {
		if _, rest, ok := strings.Cut(out.String(), "serving "); ok {
			base = strings.Fields(rest)[0]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("wotgen directory exited with %d: %s", code, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("wotgen directory did not print its address; stdout %q stderr %q", out.String(), errOut.String())
	}
	return base, func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("wotgen directory did not stop within 10 s of cancellation")
			return -1
		}
	}
}

func TestDirectoryCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tdd.db")
	base, stop := startDirectory(t, "-db", db, "-token", "s3cret")
	ctx := context.Background()
	th, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:cli:1", "title": "CLI",
		"securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"}`))
	if err != nil {
		t.Fatal(err)
	}
	open, _ := discovery.NewDirectory(base)
	if _, err := open.Create(ctx, th); !discovery.IsDirectoryStatus(err, 401) {
		t.Fatalf("write without the token: %v, want 401", err)
	}
	c, _ := discovery.NewDirectory(base, discovery.WithDirectoryBearerToken("s3cret"))
	if created, err := c.Create(ctx, th); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	// The directory is itself a Thing at /.well-known/wot.
	tdd, _, err := td.Fetch(ctx, base+".well-known/wot", td.FetchOptions{})
	if err != nil || !strings.Contains(string(tdd), `"ThingDirectory"`) {
		t.Fatalf("own TD: %v %s", err, tdd)
	}
	// An open event stream must not keep the command from stopping.
	evs, err := open.Events(ctx, discovery.DirectoryEventsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	// Restarted on the same file, it still has the TD; the token may come from the environment.
	t.Setenv("WOTGEN_DIRECTORY_TOKEN", "from-env")
	base, stop = startDirectory(t, "-db", db)
	defer stop()
	c, _ = discovery.NewDirectory(base)
	if got, err := c.Get(ctx, "urn:cli:1"); err != nil || got.Title != "CLI" {
		t.Fatalf("after restart: %v %v", got, err)
	}
	if err := c.Delete(ctx, "urn:cli:1"); !discovery.IsDirectoryStatus(err, 401) {
		t.Fatalf("delete without the token from WOTGEN_DIRECTORY_TOKEN: %v, want 401", err)
	}
	c, _ = discovery.NewDirectory(base, discovery.WithDirectoryBearerToken("from-env"))
	if err := c.Delete(ctx, "urn:cli:1"); err != nil {
		t.Fatal(err)
	}
}

func TestDirectoryCommandUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-h"}, exitOK, "Usage: wotgen directory"},
		{[]string{"-nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"extra"}, exitUsage, "unexpected argument"},
		{[]string{"-page-size", "0"}, exitUsage, "must be positive"},
		{[]string{"-db", filepath.Join(t.TempDir(), "missing-dir", "x.db")}, exitFindings, "SQLite"},
		{[]string{"-db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, exitFindings, "PostgreSQL"},
		{[]string{"-addr", "256.0.0.1:1", "-db", filepath.Join(t.TempDir(), "x.db")}, exitFindings, "choose another -addr"},
	} {
		var errOut syncBuffer
		code := runContext(context.Background(), append([]string{"directory"}, c.args...), stdio{in: strings.NewReader(""), out: io.Discard, err: &errOut})
		if code != c.code || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("directory %v: exit %d, stderr %q; want %d and %q", c.args, code, errOut.String(), c.code, c.msg)
		}
	}
}
