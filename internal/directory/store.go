package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib" // PostgreSQL through database/sql ("pgx"); LISTEN on its raw conn
	_ "modernc.org/sqlite"           // pure Go SQLite ("sqlite"): no cgo
)

// errNotFound is returned by the store for an id that is absent or expired.
var errNotFound = errors.New("no such Thing Description")

// Entry is one stored TD with its registration information
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-registration-info).
type Entry struct {
	ID       string
	TD       []byte    // the submitted TD, compact JSON, with its id and without "registration"
	Created  time.Time // first stored
	Modified time.Time // last written
	Expires  time.Time // zero: never
	TTL      float64   // seconds; meaningful when HasTTL
	HasTTL   bool
}

func (e *Entry) expired(now time.Time) bool { return !e.Expires.IsZero() && !now.Before(e.Expires) }

// Event is one stored change notification
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-notification).
type Event struct {
	Seq     int64
	Type    string // eventCreated, eventUpdated or eventDeleted
	ThingID string
	Diff    []byte // diff=true payload: the full TD (created), a merge patch with id (updated), nil (deleted)
	Time    time.Time
}

// Event types (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-notification).
const (
	eventCreated = "thing_created"
	eventUpdated = "thing_updated"
	eventDeleted = "thing_deleted"
)

// mutation is what a write callback decides: the entry to store and the event to record.
type mutation struct {
	entry     Entry
	eventType string
	diff      []byte
}

// dialect holds the few differences between SQLite and PostgreSQL.
type dialect struct {
	name       string
	schema     []string
	lockSeq    string // run first in every write transaction: serialises writers and event numbers
	dollarArgs bool   // PostgreSQL placeholders are $1, $2, …
}

// The schema keeps times as Unix microseconds (portable, and comparisons are integer ones). Ids sort
// by code point: SQLite's default BINARY collation does, PostgreSQL needs COLLATE "C"
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things-listing).
var (
	sqliteDialect = dialect{
		name: "sqlite",
		schema: []string{
			`CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY, td BLOB NOT NULL, created INTEGER NOT NULL, modified INTEGER NOT NULL, expires INTEGER, ttl REAL)`,
			`CREATE INDEX IF NOT EXISTS things_expires ON things (expires) WHERE expires IS NOT NULL`,
			`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, thing_id TEXT NOT NULL, diff BLOB, at INTEGER NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`,
			`INSERT INTO meta (k, v) VALUES ('seq', 0), ('collection', 0) ON CONFLICT (k) DO NOTHING`,
		},
		// BEGIN IMMEDIATE (the _txlock DSN option) already holds the write lock.
		lockSeq: `SELECT v FROM meta WHERE k = 'seq'`,
	}
	postgresDialect = dialect{
		name: "postgres",
		schema: []string{
			`CREATE TABLE IF NOT EXISTS things (id TEXT COLLATE "C" PRIMARY KEY, td BYTEA NOT NULL, created BIGINT NOT NULL, modified BIGINT NOT NULL, expires BIGINT, ttl DOUBLE PRECISION)`,
			`CREATE INDEX IF NOT EXISTS things_expires ON things (expires) WHERE expires IS NOT NULL`,
			`CREATE TABLE IF NOT EXISTS events (seq BIGINT PRIMARY KEY, type TEXT NOT NULL, thing_id TEXT NOT NULL, diff BYTEA, at BIGINT NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`,
			`INSERT INTO meta (k, v) VALUES ('seq', 0), ('collection', 0) ON CONFLICT (k) DO NOTHING`,
		},
		// The row lock is held until commit, so event numbers become visible in order and a poller
		// reading "seq > last" never skips one that commits late.
		lockSeq:    `SELECT v FROM meta WHERE k = 'seq' FOR UPDATE`,
		dollarArgs: true,
	}
)

// Store keeps TDs and change events in SQLite or PostgreSQL. All state lives in the database, so
// several directory instances can share one PostgreSQL database behind a load balancer.
type Store struct {
	db    *sql.DB
	d     dialect
	label string // for errors: the file, or the PostgreSQL URL without password
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenStore opens (and creates when needed) the store: a postgres:// or postgresql:// URL opens
// PostgreSQL, anything else is the path of a SQLite file.
func OpenStore(ctx context.Context, dsn string) (*Store, error) {
	var s *Store
	if IsPostgresDSN(dsn) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		label := dsn
		if u, err := url.Parse(dsn); err == nil {
			label = u.Redacted()
		}
		s = &Store{db: db, d: postgresDialect, label: "PostgreSQL " + label}
	} else {
		if dsn == "" {
			return nil, errors.New("no database: give a SQLite file path or a postgres:// URL")
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(30000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: dsn}).EscapedPath()+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open SQLite file %s: %w", dsn, err)
		}
		db.SetMaxOpenConns(8)
		s = &Store{db: db, d: sqliteDialect, label: "SQLite file " + dsn}
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	for _, q := range s.d.schema {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			if s.d.name == "postgres" && strings.Contains(err.Error(), "duplicate key") {
				// Two instances creating the schema at once: the other one won.
				continue
			}
			hint := "check that its directory exists and is writable"
			if s.d.name == "postgres" {
				hint = "check the URL, that the server runs and that the database exists"
			}
			return fmt.Errorf("%s: %w (%s)", s.label, err, hint)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// notifyChannel is the PostgreSQL channel events are announced on. It is one for the whole
// database, so directories in other schemas wake each other too: a wake-up only makes an
// instance look at its own events table.
const notifyChannel = "wotgen_tdd_events"

// Listen calls fn each time another instance (or this one) commits events, until ctx ends or
// the connection fails; it returns at once with nil for SQLite, where only one process writes.
// It holds one connection of the pool while it runs.
func (s *Store) Listen(ctx context.Context, fn func()) error {
	if s.d.name != "postgres" {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
			return err
		}
		fn() // events committed before LISTEN took effect are found this way
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			fn()
		}
	})
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// q rewrites ? placeholders for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.d.dollarArgs {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

const entryCols = `id, td, created, modified, expires, ttl`

type scanner interface{ Scan(...any) error }

func scanEntry(r scanner) (Entry, error) {
	var e Entry
	var created, modified int64
	var expires sql.NullInt64
	var ttl sql.NullFloat64
	if err := r.Scan(&e.ID, &e.TD, &created, &modified, &expires, &ttl); err != nil {
		return e, err
	}
	e.Created, e.Modified = fromMicros(created), fromMicros(modified)
	if expires.Valid {
		e.Expires = fromMicros(expires.Int64)
	}
	e.TTL, e.HasTTL = ttl.Float64, ttl.Valid
	return e, nil
}

// live is the SQL condition for an entry that has not expired at the bound time.
const live = `(expires IS NULL OR expires > ?)`

// Get returns the entry with id, or errNotFound when it is absent or expired.
func (s *Store) Get(ctx context.Context, id string, now time.Time) (Entry, error) {
	e, err := scanEntry(s.db.QueryRowContext(ctx, s.q(`SELECT `+entryCols+` FROM things WHERE id = ? AND `+live), id, micros(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return e, errNotFound
	}
	return e, err
}

// writeTx runs fn in a transaction that holds the writers' lock and returns the next free event
// number; fn returns the last event number it used.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx, seq int64) (int64, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.QueryRowContext(ctx, s.d.lockSeq).Scan(&seq); err != nil {
		return fmt.Errorf("lock the event counter: %w", err)
	}
	last, err := fn(tx, seq)
	if err != nil {
		return err
	}
	if last != seq {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE meta SET v = ? WHERE k = 'seq'`), last); err != nil {
			return fmt.Errorf("advance the event counter: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) addEvent(ctx context.Context, tx *sql.Tx, seq int64, typ, id string, diff []byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO events (seq, type, thing_id, diff, at) VALUES (?, ?, ?, ?, ?)`), seq, typ, id, diff, micros(now)); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	if s.d.name == "postgres" {
		// Delivered at commit, once per transaction, to every instance that listens (Listen).
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+notifyChannel+`', '')`); err != nil {
			return fmt.Errorf("notify the other instances: %w", err)
		}
	}
	if typ != eventUpdated {
		// The listing etag changes whenever an entry appears or disappears.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE meta SET v = ? WHERE k = 'collection'`), seq); err != nil {
			return fmt.Errorf("update the collection version: %w", err)
		}
	}
	return nil
}

// Write creates or replaces the entry id under the writers' lock. fn sees the current live entry
// (nil when absent; an expired one is deleted first, with its thing_deleted event) and decides what to
// store; an error from fn aborts without storing anything. It reports whether fn created the entry.
func (s *Store) Write(ctx context.Context, id string, now time.Time, fn func(old *Entry) (mutation, error)) (created bool, err error) {
	err = s.writeTx(ctx, func(tx *sql.Tx, seq int64) (int64, error) {
		created = false
		var old *Entry
		e, err := scanEntry(tx.QueryRowContext(ctx, s.q(`SELECT `+entryCols+` FROM things WHERE id = ?`), id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return seq, fmt.Errorf("read %s: %w", id, err)
		case e.expired(now):
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM things WHERE id = ?`), id); err != nil {
				return seq, fmt.Errorf("purge expired %s: %w", id, err)
			}
			seq++
			if err := s.addEvent(ctx, tx, seq, eventDeleted, id, nil, now); err != nil {
				return seq, err
			}
		default:
			old = &e
		}
		m, err := fn(old)
		if err != nil {
			return seq, err
		}
		n := m.entry
		var expires sql.NullInt64
		if !n.Expires.IsZero() {
			expires = sql.NullInt64{Int64: micros(n.Expires), Valid: true}
		}
		ttl := sql.NullFloat64{Float64: n.TTL, Valid: n.HasTTL}
		if old == nil {
			created = true
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO things (`+entryCols+`) VALUES (?, ?, ?, ?, ?, ?)`), id, n.TD, micros(n.Created), micros(n.Modified), expires, ttl)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE things SET td = ?, created = ?, modified = ?, expires = ?, ttl = ? WHERE id = ?`), n.TD, micros(n.Created), micros(n.Modified), expires, ttl, id)
		}
		if err != nil {
			return seq, fmt.Errorf("store %s: %w", id, err)
		}
		seq++
		return seq, s.addEvent(ctx, tx, seq, m.eventType, id, m.diff, now)
	})
	return created, err
}

// Delete removes a live entry; errNotFound when there is none (an expired one is left to Purge).
func (s *Store) Delete(ctx context.Context, id string, now time.Time) error {
	return s.writeTx(ctx, func(tx *sql.Tx, seq int64) (int64, error) {
		var got string
		err := tx.QueryRowContext(ctx, s.q(`DELETE FROM things WHERE id = ? AND `+live+` RETURNING id`), id, micros(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return seq, errNotFound
		}
		if err != nil {
			return seq, fmt.Errorf("delete %s: %w", id, err)
		}
		seq++
		return seq, s.addEvent(ctx, tx, seq, eventDeleted, id, nil, now)
	})
}

// List returns up to limit live entries in id order, starting at offset.
func (s *Store) List(ctx context.Context, now time.Time, offset, limit int) ([]Entry, error) {
	return s.list(ctx, s.q(`SELECT `+entryCols+` FROM things WHERE `+live+` ORDER BY id LIMIT ? OFFSET ?`), micros(now), limit, offset)
}

// ListAfter returns up to limit live entries whose id sorts after id (keyset paging for long listings).
func (s *Store) ListAfter(ctx context.Context, now time.Time, after string, limit int) ([]Entry, error) {
	return s.list(ctx, s.q(`SELECT `+entryCols+` FROM things WHERE `+live+` AND id > ? ORDER BY id LIMIT ?`), micros(now), after, limit)
}

func (s *Store) list(ctx context.Context, query string, args ...any) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Count returns the number of live entries and the collection version (the listing etag).
func (s *Store) Count(ctx context.Context, now time.Time) (n int, version int64, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM things WHERE `+live), micros(now)).Scan(&n); err != nil {
		return 0, 0, fmt.Errorf("count: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'collection'`).Scan(&version); err != nil {
		return 0, 0, fmt.Errorf("collection version: %w", err)
	}
	return n, version, tx.Commit()
}

// All returns every entry, expired ones included (the caller filters), and the event number the
// snapshot corresponds to.
func (s *Store) All(ctx context.Context) ([]Entry, int64, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: isolationFor(s.d)})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'seq'`).Scan(&seq); err != nil {
		return nil, 0, fmt.Errorf("event counter: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+entryCols+` FROM things ORDER BY id`)
	if err != nil {
		return nil, 0, fmt.Errorf("read all: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return out, seq, tx.Commit()
}

// GetMany returns the stored entries among ids, expired ones included (the caller filters).
func (s *Store) GetMany(ctx context.Context, ids []string) ([]Entry, error) {
	var out []Entry
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		got, err := s.list(ctx, s.q(`SELECT `+entryCols+` FROM things WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`), args...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// isolationFor gives PostgreSQL a snapshot for multi-statement reads; SQLite read transactions
// already see one (ReadOnly makes them deferred BEGINs, not the writers' BEGIN IMMEDIATE).
func isolationFor(d dialect) sql.IsolationLevel {
	if d.name == "postgres" {
		return sql.LevelRepeatableRead
	}
	return sql.LevelDefault
}

// LastSeq returns the number of the latest event.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'seq'`).Scan(&v)
	return v, err
}

// Events returns up to limit events after seq, of type typ (all types when empty).
func (s *Store) Events(ctx context.Context, after int64, typ string, limit int) ([]Event, error) {
	query, args := `SELECT seq, type, thing_id, diff, at FROM events WHERE seq > ?`, []any{after}
	if typ != "" {
		query += ` AND type = ?`
		args = append(args, typ)
	}
	query += ` ORDER BY seq LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var at int64
		if err := rows.Scan(&ev.Seq, &ev.Type, &ev.ThingID, &ev.Diff, &at); err != nil {
			return nil, err
		}
		ev.Time = fromMicros(at)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Purge deletes expired entries (recording a thing_deleted event for each, so subscribers learn of
// it) and events older than keepEvents or beyond the newest maxEvents. It returns the number of
// entries purged.
func (s *Store) Purge(ctx context.Context, now time.Time, keepEvents time.Duration, maxEvents int64) (int, error) {
	var n int
	err := s.writeTx(ctx, func(tx *sql.Tx, seq int64) (int64, error) {
		n = 0
		rows, err := tx.QueryContext(ctx, s.q(`DELETE FROM things WHERE expires IS NOT NULL AND expires <= ? RETURNING id`), micros(now))
		if err != nil {
			return seq, fmt.Errorf("purge expired: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return seq, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return seq, err
		}
		for _, id := range ids {
			seq++
			if err := s.addEvent(ctx, tx, seq, eventDeleted, id, nil, now); err != nil {
				return seq, err
			}
		}
		n = len(ids)
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE at < ? OR seq <= ?`), micros(now.Add(-keepEvents)), seq-maxEvents); err != nil {
			return seq, fmt.Errorf("purge old events: %w", err)
		}
		return seq, nil
	})
	return n, err
}
