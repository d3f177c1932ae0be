package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/netnstest"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func discoverCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runContext(context.Background(), append([]string{"discover"}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

func TestDiscoverCommand(t *testing.T) {
	lamp, err := os.ReadFile(filepath.Join("..", "..", "examples", "lamp", "lamp.td.json"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/wot", func(w http.ResponseWriter, r *http.Request) { w.Write(lamp) })
	mux.HandleFunc("/things", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ld+json")
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `</things?page=2>; rel="next"`)
			fmt.Fprintf(w, "[%s]", lamp)
			return
		}
		fmt.Fprint(w, `[{"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "Fan\u001b[2J", "id": "urn:dev:fan", "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"}]`)
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "this is no TD") })
	mux.HandleFunc("/link", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "ThingLink", "id": "urn:link:lamp", "title": "Lamp link",
		 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
		 "links": [{"rel": "describedby", "type": "application/td+json", "href": "/.well-known/wot"}]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	code, out, errOut := discoverCmd(t, "-format", "json", "-dir", srv.URL, srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []discovered
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	byID := map[string]discovered{}
	for _, d := range got {
		byID[d.ID] = d
	}
	if len(got) != 2 || byID["urn:dev:fan"].URL != srv.URL+"/things/urn:dev:fan" || byID["urn:dev:fan"].Source != "directory" {
		t.Errorf("json output: %s", out)
	}
	if l := byID["urn:uuid:0a3f5c56-5d4e-4b59-9e0b-6a1f1e6b7c21"]; l.Title != "Lamp" || l.Type != "Thing" {
		t.Errorf("lamp: %+v", l)
	}

	code, out, _ = discoverCmd(t, srv.URL)
	if code != exitOK || !strings.HasPrefix(out, "TITLE") || !strings.Contains(out, "Lamp") || !strings.Contains(out, srv.URL+"/.well-known/wot") || !strings.Contains(out, "url") {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
	code, out, _ = discoverCmd(t, "-dir", srv.URL+"/things")
	if code != exitOK || strings.Contains(out, "\x1b") || !strings.Contains(out, "Fan [2J") {
		t.Errorf("a title with control characters must stay on its line (exit %d): %q", code, out)
	}

	// A Thing Link is listed as such, with the lamp it points at.
	code, out, errOut = discoverCmd(t, srv.URL+"/link")
	if code != exitOK || !strings.Contains(out, "Lamp link") || !strings.Contains(out, "url (link)") || !strings.Contains(out, srv.URL+"/.well-known/wot") {
		t.Errorf("link (exit %d): %s%s", code, out, errOut)
	}

	// A URL that serves garbage is a failure even when something else was found.
	code, out, errOut = discoverCmd(t, srv.URL, srv.URL+"/garbage")
	if code != exitFindings || !strings.Contains(out, "Lamp") || !strings.Contains(errOut, `not JSON: starts with "this is no TD"`) {
		t.Errorf("garbage: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = discoverCmd(t, "-timeout", "1s", srv.URL+"/missing")
	if code != exitFindings || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "no Thing found") {
		t.Errorf("missing: exit %d, stderr %q", code, errOut)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, exitUsage, "nothing to look at"},
		{[]string{"-format", "xml", srv.URL}, exitUsage, "unknown -format"},
		{[]string{"-timeout", "0s", srv.URL}, exitUsage, "-timeout must be positive"},
		{[]string{"ftp://x/td"}, exitUsage, "want an http:// or https:// URL"},
		{[]string{"-h"}, exitOK, "Usage: wotgen discover"},
		{[]string{"-nope"}, exitUsage, "flag provided but not defined"},
	} {
		code, _, errOut := discoverCmd(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("discover %q: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

// A directory whose reads need a bearer token: -token (or $WOTGEN_DISCOVER_TOKEN) reaches it,
// and only it: a TD URL given on the same command line never sees the token.
func TestDiscoverDirectoryToken(t *testing.T) {
	lamp, err := os.ReadFile(filepath.Join("..", "..", "examples", "lamp", "lamp.td.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "token needed", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/ld+json")
		fmt.Fprintf(w, "[%s]", lamp)
	}))
	defer dir.Close()
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			leaked.Store(a)
		}
		w.Write([]byte(strings.Replace(string(lamp), "urn:uuid:0a3f5c56-5d4e-4b59-9e0b-6a1f1e6b7c21", "urn:dev:other", 1)))
	}))
	defer other.Close()

	code, _, errOut := discoverCmd(t, "-dir", dir.URL)
	if code != exitFindings || !strings.Contains(errOut, "401") {
		t.Errorf("without a token: exit %d, stderr %q; want the 401", code, errOut)
	}
	code, out, errOut := discoverCmd(t, "-format", "json", "-token", "s3cret", "-dir", dir.URL, other.URL)
	if code != exitOK || !strings.Contains(out, `"source": "directory"`) || !strings.Contains(out, "urn:dev:other") {
		t.Errorf("with -token: exit %d, stdout %s, stderr %q", code, out, errOut)
	}
	t.Setenv("WOTGEN_DISCOVER_TOKEN", "s3cret")
	if code, out, errOut := discoverCmd(t, "-dir", dir.URL); code != exitOK || !strings.Contains(out, "Lamp") {
		t.Errorf("with $WOTGEN_DISCOVER_TOKEN: exit %d, stdout %s, stderr %q", code, out, errOut)
	}
	if a := leaked.Load(); a != nil {
		t.Errorf("the token went to a TD URL that is not a -dir directory: %v", a)
	}
}

// TestServeAnnounceDiscoverNetns is the headline: `wotgen serve -announce` simulates the lamp,
// `wotgen discover -mdns` finds it without being told where it is, and the TD at the URL it found
// is fetched, parsed, turned into a typed client by `wotgen generate`, and used over the Web Thing
// Protocol. It runs in a fresh network namespace whose loopback carries multicast.
func TestServeAnnounceDiscoverNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lampPath := filepath.Join("..", "..", "examples", "lamp", "lamp.td.json")
	sctx, stop := context.WithCancel(ctx)
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	start := time.Now()
	go func() {
		done <- runContext(sctx, []string{"serve", "-announce", "-addr", "127.0.0.1:0", lampPath}, stdio{in: nil, out: out, err: errOut})
	}()
	for !strings.Contains(out.String(), "announced:") {
		select {
		case code := <-done:
			t.Fatalf("serve ended with %d: %s%s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(start) > 15*time.Second {
			stop()
			t.Fatalf("serve did not announce; stdout %q stderr %q", out.String(), errOut.String())
		}
	}
	t.Logf("serve -announce ready in %v:\n%s", time.Since(start), out.String())

	var stdout, stderr bytes.Buffer
	code := runContext(ctx, []string{"discover", "-mdns", "-timeout", "3s", "-format", "json"}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr})
	if code != exitOK {
		t.Fatalf("discover -mdns: exit %d: %s", code, stderr.String())
	}
	var found []discovered
	if err := json.Unmarshal(stdout.Bytes(), &found); err != nil || len(found) != 1 {
		t.Fatalf("discover -mdns output %q: %v", stdout.String(), err)
	}
	lamp := found[0]
	t.Logf("discover -mdns (3s window) found %+v", lamp)
	if lamp.Title != "Lamp" || lamp.Source != "mdns" || lamp.Via != "Lamp" || !strings.HasPrefix(lamp.URL, "http://127.0.0.1:") || !strings.HasSuffix(lamp.URL, "/.well-known/wot") {
		t.Errorf("found %+v", lamp)
	}

	raw, _, err := td.Fetch(ctx, lamp.URL, td.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	thing, err := td.Parse(raw)
	if err != nil || thing.Title != "Lamp" || thing.ID != lamp.ID {
		t.Fatalf("TD at %s: %v, %+v", lamp.URL, err, thing)
	}

	gendir := t.TempDir()
	var genErr bytes.Buffer
	if code := runContext(ctx, []string{"generate", "-pkg", "lampwot", "-o", gendir, lamp.URL}, stdio{in: strings.NewReader(""), out: &genErr, err: &genErr}); code != exitOK {
		t.Fatalf("generate from %s: exit %d: %s", lamp.URL, code, genErr.String())
	}
	client, err := os.ReadFile(filepath.Join(gendir, "lamp_client_gen.go"))
	if err != nil || !bytes.Contains(client, []byte("func (c *Client) WriteLevel(")) {
		t.Errorf("generated client from the discovered TD lacks WriteLevel: %v", err)
	}

	c, err := wot.Dial(ctx, lamp.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteProperty(ctx, "level", 42); err != nil {
		t.Fatal(err)
	}
	v, err := c.ReadProperty(ctx, "level")
	if err != nil || string(v) != "42" {
		t.Errorf("level = %s, %v; want 42", v, err)
	}
	c.Close()

	stop()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	// After the goodbye packets nothing is announced any more.
	stdout.Reset()
	stderr.Reset()
	if code := runContext(ctx, []string{"discover", "-mdns", "-timeout", "1500ms"}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr}); code != exitFindings || stdout.Len() != 0 {
		t.Errorf("after serve stopped: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestServeAnnounceLoopbackError(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagUp != 0 {
			t.Skip("skipped: this host's loopback interface can multicast, so announcing on it is legitimate")
		}
	}
	// On an ordinary host the loopback interface cannot multicast: -announce with a loopback -addr
	// must fail at once with advice, not announce 127.0.0.1 to the LAN.
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := runContext(ctx, []string{"serve", "-announce", "-addr", "127.0.0.1:0", filepath.Join("..", "..", "examples", "lamp", "lamp.td.json")}, stdio{out: &out, err: &errOut})
	if code != exitFindings || !strings.Contains(errOut.String(), "listen on 0.0.0.0") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
