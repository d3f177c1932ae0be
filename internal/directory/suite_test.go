package directory

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The suite runs every test against each store: a SQLite file always, PostgreSQL when
// WOTGEN_TEST_POSTGRES names one (.ci/directory.sh starts one and prints the variable).

const pgEnv = "WOTGEN_TEST_POSTGRES"

// storeKind opens a fresh, empty store; reopen opens the same database again (a restart).
type storeKind struct {
	name string
	open func(t testing.TB) (dsn string)
}

func storeKinds(t testing.TB) []storeKind {
	kinds := []storeKind{{name: "sqlite", open: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "directory.db")
	}}}
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is unset on CI: .ci/run must eval \"$(.ci/directory.sh)\" before go test", pgEnv)
		}
		return append(kinds, storeKind{name: "postgres"}) // open nil: skipped, see forEachStore
	}
	return append(kinds, storeKind{name: "postgres", open: func(t testing.TB) string { return pgSchema(t, dsn) }})
}

// pgSchema creates a schema of its own for one test and returns a DSN whose search_path selects it.
func pgSchema(t testing.TB, dsn string) string {
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema on %s: %v", pgEnv, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// forEachStore runs fn as a subtest per store kind.
func forEachStore(t *testing.T, fn func(t *testing.T, k storeKind)) {
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			if k.open == nil {
				t.Skipf("no PostgreSQL: set %s=postgres://user@host:port/db?sslmode=disable, or run eval \"$(.ci/directory.sh)\" to start one", pgEnv)
			}
			fn(t, k)
		})
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// instance is one running directory over real sockets on 127.0.0.1.
type instance struct {
	srv   *Server
	store *Store
	http  *httptest.Server
	url   string
}

// startInstance starts a directory on the database dsn. The store and server close at test end.
// wrap, when given, wraps the handler (e.g. to count requests).
func startInstance(t testing.TB, dsn string, cfg Config, wrap ...func(http.Handler) http.Handler) *instance {
	t.Helper()
	st, err := OpenStore(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	cfg.Store = st
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	for _, w := range wrap {
		h = w(h)
	}
	hs := httptest.NewServer(h)
	in := &instance{srv: srv, store: st, http: hs, url: hs.URL + "/"}
	t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	if in.http == nil {
		return
	}
	in.http.CloseClientConnections()
	in.http.Close()
	in.srv.Close()
	in.store.Close()
	in.http = nil
}

// tdJSON is a valid TD with the given id ("" for an anonymous TD) and title.
func tdJSON(id, title string, extra string) []byte {
	idm := ""
	if id != "" {
		idm = fmt.Sprintf(`"id": %q,`, id)
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Appendf(nil, `{"@context": "https://www.w3.org/2022/wot/td/v1.1", %s "title": %q,
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
  "properties": {"on": {"type": "boolean", "forms": [{"href": "http://127.0.0.1:9/on"}]}}%s}`, idm, title, extra)
}
