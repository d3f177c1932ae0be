package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotgen/wotgen/internal/directory"
	"github.com/wotgen/wotgen/runtime/discovery"
	"github.com/wotgen/wotgen/runtime/td"
)

// These tests run Register against the real directory server (internal/directory, SQLite in a
// temporary folder) and a Thing serving its TD, both over 127.0.0.1.

// tdd is one run of the directory on a fixed address, so it can be stopped and started again.
type tdd struct {
	addr string
	hs   *http.Server
	srv  *directory.Server
	st   *directory.Store
	done chan struct{}
}

func startTDD(t *testing.T, addr, db, token string) *tdd {
	t.Helper()
	st, err := directory.OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := directory.New(directory.Config{Store: st, Token: token, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &tdd{addr: ln.Addr().String(), hs: &http.Server{Handler: srv}, srv: srv, st: st, done: make(chan struct{})}
	go func() { d.hs.Serve(ln); close(d.done) }()
	t.Cleanup(d.stop)
	return d
}

func (d *tdd) url() string { return "http://" + d.addr + "/" }

func (d *tdd) stop() {
	if d.hs == nil {
		return
	}
	d.hs.Close()
	<-d.done
	d.srv.Close()
	d.st.Close()
	d.hs = nil
}

// thing serves a TD at /td that the test can change.
type thing struct {
	*httptest.Server
	doc atomic.Pointer[string]
}

func newThing(t *testing.T, id, title string) *thing {
	th := &thing{}
	th.set(id, title)
	th.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/td" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/td+json")
		io.WriteString(w, *th.doc.Load())
	}))
	t.Cleanup(th.Close)
	return th
}

func (th *thing) set(id, title string) {
	idm := ""
	if id != "" {
		idm = fmt.Sprintf(`"id": %q, `, id)
	}
	s := fmt.Sprintf(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", %s"title": %q, "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
 "properties": {"level": {"type": "integer", "forms": [{"href": "props/level"}]}}}`, idm, title)
	th.doc.Store(&s)
}

// setup starts a directory on the database db and a Thing serving a TD with id and title.
func setup(t *testing.T, db, token, id, title string) (*tdd, *discovery.Directory, *thing) {
	d := startTDD(t, "127.0.0.1:0", db, token)
	c, err := discovery.NewDirectory(d.url())
	if err != nil {
		t.Fatal(err)
	}
	return d, c, newThing(t, id, title)
}

// events records the registration's notifications.
type events struct {
	mu  sync.Mutex
	evs []discovery.RegistrationEvent
}

func (e *events) add(ev discovery.RegistrationEvent) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.evs {
		out = append(out, ev.Kind)
	}
	return out
}

func (e *events) took(kind string) []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []time.Duration
	for _, ev := range e.evs {
		if ev.Kind == kind {
			out = append(out, ev.Took)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(c *discovery.Directory, id string) (*td.Thing, discovery.RegistrationInfo, error) {
	th, err := c.Get(context.Background(), id)
	if err != nil {
		return nil, discovery.RegistrationInfo{}, err
	}
	info, _, err := discovery.RegistrationOf(th)
	return th, info, err
}

// endAndGone ends the registration's context and checks that it ends, deleting its entry.
func endAndGone(t *testing.T, cancel context.CancelFunc, reg *discovery.Registration, c *discovery.Directory) {
	t.Helper()
	id := reg.ID()
	cancel()
	select {
	case <-reg.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the registration did not end within 10 s of its context")
	}
	if err := reg.Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(c, id); !discovery.IsDirectoryStatus(err, 404) {
		t.Fatalf("after the context ended: %v, want 404", err)
	}
}

// TestRegisterLifecycle: created with the ttl; kept alive by refreshes past its first expiry; a
// changed TD replaces the entry; deleted when the context ends.
func TestRegisterLifecycle(t *testing.T) {
	_, c, th := setup(t, filepath.Join(t.TempDir(), "tdd.db"), "", "urn:test:lamp", "Lamp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var evs events
	start := time.Now()
	reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Second, discovery.WithRegisterNotify(evs.add))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("registration round trip (fetch the TD, PUT it): %v", time.Since(start))
	if reg.ID() != "urn:test:lamp" {
		t.Fatalf("id %q", reg.ID())
	}
	got, info, err := get(c, "urn:test:lamp")
	if err != nil || got.Title != "Lamp" || info.TTL == nil || *info.TTL != 1 {
		t.Fatalf("after Register: %+v %+v %v", got, info, err)
	}
	// The TD's relative hrefs keep pointing at the Thing.
	if got.Base != th.URL+"/td" {
		t.Errorf("base %q, want the URL the TD was fetched from", got.Base)
	}
	u, err := got.ResolveHref(got.Properties["level"].Forms[0].Href, nil)
	if err != nil || u.String() != th.URL+"/props/level" {
		t.Errorf("level's form resolves to %v (%v), want %s/props/level", u, err, th.URL)
	}

	// Alive past the first expiry, with the expiry moved on.
	firstExpiry := info.Expires
	waitFor(t, 10*time.Second, "the entry's expiry never moved past the first one", func() bool {
		_, in, err := get(c, "urn:test:lamp")
		if err != nil {
			t.Fatalf("the entry vanished while being refreshed: %v", err)
		}
		return time.Now().After(firstExpiry.Add(500*time.Millisecond)) && in.Expires.After(firstExpiry)
	})

	th.set("urn:test:lamp", "Lamp v2")
	waitFor(t, 5*time.Second, "the changed TD never reached the directory", func() bool {
		got, _, err := get(c, "urn:test:lamp")
		return err == nil && got.Title == "Lamp v2"
	})

	endAndGone(t, cancel, reg, c)
	kinds := evs.kinds()
	for _, want := range []string{discovery.RegistrationCreated, discovery.RegistrationRefreshed, discovery.RegistrationUpdated, discovery.RegistrationDeleted} {
		if !slices.Contains(kinds, want) {
			t.Errorf("events %v lack %s", kinds, want)
		}
	}
	if slices.Contains(kinds, discovery.RegistrationFailed) {
		t.Errorf("events %v: a failure against a healthy directory", kinds)
	}
	refresh := evs.took(discovery.RegistrationRefreshed)
	var sum time.Duration
	for _, d := range refresh {
		sum += d
	}
	t.Logf("%d refreshes (TD fetch + PATCH), mean %v; deletion %v", len(refresh), sum/time.Duration(max(len(refresh), 1)), evs.took(discovery.RegistrationDeleted))
}

// TestRegisterDirectoryRestart: the directory goes away and comes back empty on the same address;
// the registration retries meanwhile and creates the entry again.
func TestRegisterDirectoryRestart(t *testing.T) {
	dir := t.TempDir()
	d, c, th := setup(t, filepath.Join(dir, "a.db"), "", "urn:test:restart", "Restart")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var evs events
	reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Second, discovery.WithRegisterNotify(evs.add),
		discovery.WithRegisterRetry(50*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d.stop()
	waitFor(t, 5*time.Second, "no failed attempt while the directory was down", func() bool {
		return slices.Contains(evs.kinds(), discovery.RegistrationFailed)
	})
	startTDD(t, d.addr, filepath.Join(dir, "b.db"), "")
	waitFor(t, 5*time.Second, "the entry was not created again in the restarted directory", func() bool {
		got, _, err := get(c, "urn:test:restart")
		return err == nil && got.Title == "Restart"
	})
	kinds := evs.kinds()
	if i := slices.Index(kinds, discovery.RegistrationFailed); i < 0 || !slices.Contains(kinds[i:], discovery.RegistrationCreated) {
		t.Errorf("events %v: want a creation after the failures", kinds)
	}
	endAndGone(t, cancel, reg, c)
}

// TestRegisterDirectoryDownAtStart: Register returns while the directory is unreachable and creates
// the entry once it is up.
func TestRegisterDirectoryDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := discovery.NewDirectory("http://" + addr)
	th := newThing(t, "urn:test:late", "Late")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Second, discovery.WithRegisterRetry(50*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatalf("a directory that is down at first must be retried, not an error: %v", err)
	}
	startTDD(t, addr, filepath.Join(t.TempDir(), "tdd.db"), "")
	waitFor(t, 5*time.Second, "the entry was never created", func() bool {
		_, _, err := get(c, "urn:test:late")
		return err == nil
	})
	endAndGone(t, cancel, reg, c)
}

// TestRegisterAnonymous: a TD without id is POSTed, keeps the id it was given, and is created again
// under that id after someone deletes it.
func TestRegisterAnonymous(t *testing.T) {
	_, c, th := setup(t, filepath.Join(t.TempDir(), "tdd.db"), "", "", "Anonymous")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	id := reg.ID()
	if !strings.HasPrefix(id, "urn:uuid:") {
		t.Fatalf("id %q, want the directory's urn:uuid", id)
	}
	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the deleted entry was not created again", func() bool {
		got, _, err := get(c, id)
		return err == nil && got.Title == "Anonymous"
	})
	th.set("", "Anonymous v2")
	waitFor(t, 5*time.Second, "the changed anonymous TD never reached the directory", func() bool {
		got, _, err := get(c, id)
		return err == nil && got.Title == "Anonymous v2"
	})
	if reg.ID() != id {
		t.Errorf("id changed from %s to %s", id, reg.ID())
	}
	n := 0
	for _, err := range c.List(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(c, id); !discovery.IsDirectoryStatus(err, 404) {
		t.Fatalf("after Close: %v, want 404", err)
	}
}

// TestRegisterToken: a directory whose writes need a bearer token refuses a registration without
// it (an error from Register, not a retry loop) and accepts it with the token, deletion included.
func TestRegisterToken(t *testing.T) {
	_, c, th := setup(t, filepath.Join(t.TempDir(), "tdd.db"), "s3cret", "urn:test:secure", "Secure")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := discovery.Register(ctx, c, th.URL+"/td", time.Second)
	if !discovery.IsDirectoryStatus(err, 401) || !strings.Contains(err.Error(), "bearer token") {
		t.Fatalf("without the token: %v, want a 401 that asks for the token", err)
	}
	_, err = discovery.Register(ctx, c, th.URL+"/td", time.Second, discovery.WithRegisterBearerToken("wrong"))
	if !discovery.IsDirectoryStatus(err, 401) && !discovery.IsDirectoryStatus(err, 403) {
		t.Fatalf("with a wrong token: %v", err)
	}
	reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Second, discovery.WithRegisterBearerToken("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(c, "urn:test:secure"); err != nil {
		t.Fatal(err)
	}
	endAndGone(t, cancel, reg, c)
}

// TestRegisterBadInput: what cannot work is an error at once, never a background loop.
func TestRegisterBadInput(t *testing.T) {
	_, c, th := setup(t, filepath.Join(t.TempDir(), "tdd.db"), "", "urn:test:bad", "Bad")
	mux := http.NewServeMux()
	mux.HandleFunc("/array", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "[]") })
	mux.HandleFunc("/invalid", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "No security"}`)
	})
	mux.HandleFunc("/numid", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"id": 7, "title": "x"}`) })
	other := httptest.NewServer(mux)
	defer other.Close()
	ctx := context.Background()
	for _, c2 := range []struct {
		dir  *discovery.Directory
		url  string
		ttl  time.Duration
		want string
	}{
		{nil, th.URL + "/td", time.Second, "needs a directory client"},
		{c, th.URL + "/td", 0, "below 1s"},
		{c, "ftp://x/td", time.Second, "http:// or https:// URL"},
		{c, th.URL + "/missing", time.Second, "404"},
		{c, other.URL + "/array", time.Second, "not a JSON object"},
		{c, other.URL + "/numid", time.Second, "not a non-empty string"},
		{c, other.URL + "/invalid", time.Second, "400 Bad Request"},
	} {
		reg, err := discovery.Register(ctx, c2.dir, c2.url, c2.ttl)
		if err == nil || !strings.Contains(err.Error(), c2.want) || reg != nil {
			t.Errorf("Register(%s, %v): %v; want an error containing %q", c2.url, c2.ttl, err, c2.want)
		}
	}
	var de *discovery.DirectoryError
	if _, err := discovery.Register(ctx, c, other.URL+"/invalid", time.Second); !errors.As(err, &de) || len(de.ValidationErrors) == 0 {
		t.Errorf("an invalid TD: %v, want the directory's validation errors", err)
	}
}

// BenchmarkRegistration measures a registration's round trip (fetch the TD, PUT it, and DELETE it at
// the end) and the work of one refresh (fetch the TD, PATCH registration.ttl) against the SQLite
// directory over 127.0.0.1.
func BenchmarkRegistration(b *testing.B) {
	dir := b.TempDir()
	st, err := directory.OpenStore(context.Background(), filepath.Join(dir, "tdd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := directory.New(directory.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := discovery.NewDirectory(hs.URL)
	th := &thing{}
	th.set("urn:bench:lamp", "Lamp")
	th.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, *th.doc.Load()) }))
	defer th.Close()

	b.Run("register+delete", func(b *testing.B) {
		for b.Loop() {
			ctx, cancel := context.WithCancel(context.Background())
			reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			cancel()
			<-reg.Done()
		}
	})
	b.Run("refresh", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, err := td.Fetch(ctx, th.URL+"/td", td.FetchOptions{}); err != nil {
				b.Fatal(err)
			}
			if err := c.Patch(ctx, reg.ID(), json.RawMessage(`{"registration":{"ttl":60}}`)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRegisterThingUnreachable: while the Thing's TD URL does not answer, the entry is renewed with
// the TD fetched before, and the failure is reported.
func TestRegisterThingUnreachable(t *testing.T) {
	_, c, th := setup(t, filepath.Join(t.TempDir(), "tdd.db"), "", "urn:test:flaky", "Flaky")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var evs events
	reg, err := discovery.Register(ctx, c, th.URL+"/td", time.Second, discovery.WithRegisterNotify(evs.add))
	if err != nil {
		t.Fatal(err)
	}
	th.Close()
	first := reg.Expires()
	waitFor(t, 10*time.Second, "the entry was not renewed while the Thing was unreachable", func() bool {
		_, info, err := get(c, "urn:test:flaky")
		if err != nil {
			t.Fatalf("the entry vanished: %v", err)
		}
		return time.Now().After(first.Add(300*time.Millisecond)) && info.Expires.After(first)
	})
	evs.mu.Lock()
	reported := false
	for _, ev := range evs.evs {
		reported = reported || ev.Kind == discovery.RegistrationFailed && strings.Contains(ev.Err.Error(), "TD fetched before")
	}
	evs.mu.Unlock()
	if !reported {
		t.Errorf("events %v: the unreachable Thing was not reported", evs.kinds())
	}
	endAndGone(t, cancel, reg, c)
}
