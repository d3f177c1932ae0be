package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// Registration keeps a Thing's TD in a Thing Description Directory for as long as its context lives
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-registration-lifetime): a
// registration with a ttl, refreshed before it expires, re-created when the directory lost it, and
// deleted at the end. Create it with Register.
type Registration struct {
	dir   *Directory
	tdURL string
	ttl   time.Duration
	cfg   registerConfig
	done  chan struct{}
	stop  context.CancelFunc

	mu      sync.Mutex
	id      string // the entry's id: the TD's, or the one the directory gave an anonymous TD
	anon    bool   // the TD has no id of its own
	doc     map[string]json.RawMessage
	body    []byte // doc encoded: what was last registered, without the registration member
	created bool   // an entry was created at least once, so there is one to delete
	expires time.Time
	err     error
}

// Registration event kinds, as reported to WithRegisterNotify.
const (
	RegistrationCreated   = "created"   // the entry was created (first, or again after it expired or was deleted)
	RegistrationRefreshed = "refreshed" // the ttl was renewed; the TD had not changed
	RegistrationUpdated   = "updated"   // the Thing serves a changed TD; the entry was replaced
	RegistrationFailed    = "failed"    // an attempt failed; the next one follows after Retry
	RegistrationDeleted   = "deleted"   // the entry was deleted at the end (Err says if that failed)
)

// RegistrationEvent reports one step of a Registration.
type RegistrationEvent struct {
	Kind    string
	ID      string        // the entry's id ("" before an anonymous TD got one)
	Expires time.Time     // when the entry expires unless refreshed (the client's estimate: write time + ttl)
	Took    time.Duration // the attempt: TD fetch and directory requests
	Err     error         // for RegistrationFailed and a failed RegistrationDeleted
	Retry   time.Duration // for RegistrationFailed: the wait before the next attempt
}

// RegisterOption configures Register.
type RegisterOption func(*registerConfig)

type registerConfig struct {
	token         string
	fetch         td.FetchOptions
	notify        func(RegistrationEvent)
	minRetry      time.Duration
	maxRetry      time.Duration
	deleteTimeout time.Duration
}

// WithRegisterBearerToken sends Authorization: Bearer token with the registration's requests to the
// directory (the token its writes need), whatever the Directory itself was given.
func WithRegisterBearerToken(token string) RegisterOption {
	return func(c *registerConfig) { c.token = token }
}

// WithRegisterFetchOptions bounds the fetches of the Thing's own TD and can add headers to them (when
// the TD needs credentials). The default is td.Fetch's bounds.
func WithRegisterFetchOptions(o td.FetchOptions) RegisterOption {
	return func(c *registerConfig) { c.fetch = o }
}

// WithRegisterNotify calls fn after every step (creation, refresh, update, failure, deletion), from
// the registration's goroutine: it must not block for long.
func WithRegisterNotify(fn func(RegistrationEvent)) RegisterOption {
	return func(c *registerConfig) { c.notify = fn }
}

// WithRegisterRetry sets the backoff after a failed attempt: first min, doubling up to max, with
// ±20 % jitter so Things that lost the same directory do not come back in step. Defaults: 250 ms,
// and a quarter of the ttl capped to 1 s … 30 s.
func WithRegisterRetry(min, max time.Duration) RegisterOption {
	return func(c *registerConfig) { c.minRetry, c.maxRetry = min, max }
}

// WithRegisterDeleteTimeout bounds the deletion when the context ends (default 5 s).
func WithRegisterDeleteTimeout(d time.Duration) RegisterOption {
	return func(c *registerConfig) { c.deleteTimeout = d }
}

// MinRegistrationTTL is the shortest ttl Register accepts: it refreshes at half the ttl, and
// refreshing more than twice a second would load a directory for nothing.
const MinRegistrationTTL = time.Second

// Register puts the TD a Thing serves at tdURL into the directory dir with a lifetime of ttl and
// keeps it there until ctx ends (WoT Discovery §7.3.2.1, registration with a ttl:
// https://www.w3.org/TR/wot-discovery/#exploration-directory-api-things). It is protocol-neutral: it
// fetches the TD from the Thing's own URL, so the directory holds exactly what consumers get; a TD
// without base gets the URL it was fetched from as base, so its relative hrefs keep pointing at the
// Thing. A TD with an id is created with PUT /things/{id}; one without is created with POST /things
// and keeps the id the directory gave it from then on.
//
// Every ttl/2 it fetches the TD again and replaces the entry when the TD changed, or renews the ttl
// (a merge patch of registration.ttl) when it did not. When the directory cannot be reached or
// fails, it retries with backoff; an entry that expired or was deleted meanwhile is created again.
// When ctx ends or Close is called it deletes the entry (waiting at most the delete timeout) and
// closes Done.
//
// Register returns an error when the TD cannot be fetched, when ttl or the URL are unusable, and
// when the directory refuses the first registration for a reason retrying cannot fix (an invalid
// TD, a missing or wrong token); a directory that is down at first is retried in the background.
func Register(ctx context.Context, dir *Directory, tdURL string, ttl time.Duration, opts ...RegisterOption) (*Registration, error) {
	if dir == nil {
		return nil, errors.New("discovery: Register needs a directory client (NewDirectory)")
	}
	if ttl < MinRegistrationTTL {
		return nil, fmt.Errorf("discovery: registration ttl %v is below %v: a registration without a lifetime would outlive a crashed Thing, and a shorter one would load the directory", ttl, MinRegistrationTTL)
	}
	if u, err := url.Parse(tdURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discovery: Register: TD URL %q must be the http:// or https:// URL where the Thing serves its TD", tdURL)
	}
	cfg := registerConfig{minRetry: 250 * time.Millisecond, maxRetry: min(max(ttl/4, time.Second), 30*time.Second), deleteTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.minRetry <= 0 || cfg.maxRetry < cfg.minRetry || cfg.deleteTimeout <= 0 {
		return nil, errors.New("discovery: Register: retry bounds and the delete timeout must be positive, min not above max")
	}
	if cfg.token != "" {
		c := *dir
		c.token = cfg.token
		dir = &c
	}
	ctx, stop := context.WithCancel(ctx)
	r := &Registration{dir: dir, tdURL: tdURL, ttl: ttl, cfg: cfg, done: make(chan struct{}), stop: stop}

	start := time.Now()
	doc, body, err := r.fetch(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	r.setTD(doc, body)
	kind, err := r.write(ctx, true)
	next := ttl / 2
	if err != nil {
		if !transient(err) || ctx.Err() != nil {
			stop()
			return nil, fmt.Errorf("discovery: register %s in the directory: %w", tdURL, err)
		}
		next = r.backoff(1)
		r.report(RegistrationEvent{Kind: RegistrationFailed, Err: err, Took: time.Since(start), Retry: next})
	} else {
		if kind == RegistrationRefreshed {
			kind = RegistrationUpdated // an entry left from an earlier run was replaced
		}
		r.report(RegistrationEvent{Kind: kind, Took: time.Since(start)})
	}
	go r.run(ctx, next, err != nil)
	return r, nil
}

// ID is the entry's id in the directory ("" while an anonymous TD has not been registered yet).
func (r *Registration) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}

// Expires is when the entry expires unless refreshed: the client's estimate, zero before the first
// successful write.
func (r *Registration) Expires() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expires
}

// Close ends the registration as the end of its context does, waits until the entry is deleted
// (at most the delete timeout) and returns Err.
func (r *Registration) Close() error {
	r.stop()
	<-r.done
	return r.Err()
}

// Done is closed when the registration has ended: ctx ended and the deletion was done or given up.
func (r *Registration) Done() <-chan struct{} { return r.done }

// Err is, once Done is closed, why the deletion failed (nil when the entry is gone); nil before.
func (r *Registration) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Registration) report(ev RegistrationEvent) {
	if r.cfg.notify == nil {
		return
	}
	r.mu.Lock()
	if ev.ID == "" {
		ev.ID = r.id
	}
	if ev.Expires.IsZero() && ev.Kind != RegistrationDeleted {
		ev.Expires = r.expires
	}
	r.mu.Unlock()
	r.cfg.notify(ev)
}

func (r *Registration) run(ctx context.Context, next time.Duration, failing bool) {
	defer close(r.done)
	failures := 0
	if failing {
		failures = 1
	}
	t := time.NewTimer(next)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.deregister(ctx)
			return
		case <-t.C:
		}
		start := time.Now()
		kind, err := r.refresh(ctx)
		if ctx.Err() != nil {
			r.deregister(ctx)
			return
		}
		if err != nil {
			failures++
			next = r.backoff(failures)
			r.report(RegistrationEvent{Kind: RegistrationFailed, Err: err, Took: time.Since(start), Retry: next})
		} else {
			failures = 0
			next = r.ttl / 2
			r.report(RegistrationEvent{Kind: kind, Took: time.Since(start)})
		}
		t.Reset(next)
	}
}

// backoff is the wait after the n-th consecutive failure.
func (r *Registration) backoff(n int) time.Duration {
	d := r.cfg.minRetry << min(n-1, 20)
	if d <= 0 || d > r.cfg.maxRetry {
		d = r.cfg.maxRetry
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// refresh fetches the TD again and brings the entry up to date: replaced when the TD changed,
// renewed when not, created when the directory lost it.
func (r *Registration) refresh(ctx context.Context) (string, error) {
	doc, body, err := r.fetch(ctx)
	if ctx.Err() != nil {
		return "", ctx.Err() // ending: not a failure to report
	}
	if err != nil {
		// The Thing did not answer its own TD URL; keep the entry alive with the TD it last served,
		// and say so.
		r.report(RegistrationEvent{Kind: RegistrationFailed, Err: fmt.Errorf("%w (renewing the registration with the TD fetched before)", err)})
	}
	r.mu.Lock()
	changed := err == nil && string(body) != string(r.body)
	oldID, idChanged := r.id, false
	if changed {
		if newID := idOf(doc); newID != "" && oldID != "" && newID != oldID {
			idChanged = true
		}
	}
	r.mu.Unlock()
	if changed {
		if idChanged && r.hasEntry() {
			// The Thing took another id: its old entry describes nothing any more.
			if err := r.dir.Delete(ctx, oldID); err != nil && !IsDirectoryStatus(err, http.StatusNotFound) {
				return "", fmt.Errorf("delete the entry of the old id %s: %w", oldID, err)
			}
			r.mu.Lock()
			r.id, r.created = "", false
			r.mu.Unlock()
		}
		r.setTD(doc, body)
		kind, err := r.write(ctx, true)
		if kind == RegistrationRefreshed {
			kind = RegistrationUpdated
		}
		return kind, err
	}
	return r.write(ctx, false)
}

// fetch reads the Thing's TD and prepares it for the directory: a JSON object, base made absolute,
// no registration member of its own.
func (r *Registration) fetch(ctx context.Context) (map[string]json.RawMessage, []byte, error) {
	raw, final, err := td.Fetch(ctx, r.tdURL, r.cfg.fetch)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: the Thing's TD: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, nil, fmt.Errorf("discovery: the Thing's TD at %s is not a JSON object", td.RedactURL(final))
	}
	if v, ok := doc["id"]; ok {
		var id string
		if json.Unmarshal(v, &id) != nil || id == "" {
			return nil, nil, fmt.Errorf("discovery: the Thing's TD at %s has an id that is not a non-empty string", td.RedactURL(final))
		}
	}
	// Without base, relative hrefs resolve against the document's URL
	// (https://www.w3.org/TR/wot-thing-description11/#thing); inside the directory that URL
	// would be the directory's, so pin it to where the Thing served the TD.
	base := final
	if v, ok := doc["base"]; ok {
		var b string
		if json.Unmarshal(v, &b) == nil {
			if u, err := final.Parse(b); err == nil {
				base = u
			}
		}
	}
	doc["base"], _ = json.Marshal(base.String())
	delete(doc, "registration")
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: the Thing's TD: %w", err)
	}
	return doc, body, nil
}

func idOf(doc map[string]json.RawMessage) string {
	var id string
	json.Unmarshal(doc["id"], &id)
	return id
}

func (r *Registration) setTD(doc map[string]json.RawMessage, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.doc, r.body = doc, body
	if id := idOf(doc); id != "" {
		r.id, r.anon = id, false
	} else {
		r.anon = true
	}
}

func (r *Registration) hasEntry() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.created
}

// write puts the current TD into the directory. full sends the whole TD (PUT, or POST for an
// anonymous TD not yet given an id); otherwise a merge patch renews the ttl and, when the entry is
// gone (404), the whole TD is sent again.
func (r *Registration) write(ctx context.Context, full bool) (string, error) {
	r.mu.Lock()
	id, anon, doc := r.id, r.anon, r.doc
	r.mu.Unlock()
	ttl := r.ttl.Seconds()
	reg, _ := json.Marshal(map[string]float64{"ttl": ttl})
	if !full && id != "" {
		err := r.dir.Patch(ctx, id, json.RawMessage(`{"registration":`+string(reg)+`}`))
		if err == nil {
			r.wrote(id)
			return RegistrationRefreshed, nil
		}
		if !IsDirectoryStatus(err, http.StatusNotFound) {
			return "", err
		}
	}
	out := make(map[string]json.RawMessage, len(doc)+2)
	for k, v := range doc {
		out[k] = v
	}
	out["registration"] = reg
	if id == "" {
		body, err := json.Marshal(out)
		if err != nil {
			return "", err
		}
		newID, err := r.dir.RegisterJSON(ctx, body)
		if err != nil {
			return "", err
		}
		r.wrote(newID)
		return RegistrationCreated, nil
	}
	if anon {
		// Kept under the id the directory gave it, so consumers' links stay valid.
		out["id"], _ = json.Marshal(id)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	created, err := r.dir.CreateJSON(ctx, id, body)
	if err != nil {
		return "", err
	}
	r.wrote(id)
	if created {
		return RegistrationCreated, nil
	}
	return RegistrationRefreshed, nil
}

func (r *Registration) wrote(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id, r.created, r.expires = id, true, time.Now().Add(r.ttl)
}

// deregister deletes the entry, bounded by the delete timeout (ctx has already ended).
func (r *Registration) deregister(ctx context.Context) {
	r.mu.Lock()
	id, created := r.id, r.created
	r.mu.Unlock()
	if !created {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.deleteTimeout)
	defer cancel()
	start := time.Now()
	err := r.dir.Delete(dctx, id)
	if IsDirectoryStatus(err, http.StatusNotFound) {
		err = nil // expired or deleted already: gone either way
	}
	if err != nil {
		err = fmt.Errorf("discovery: delete the registration %s: %w", id, err)
	}
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
	r.report(RegistrationEvent{Kind: RegistrationDeleted, ID: id, Err: err, Took: time.Since(start)})
}

// transient reports whether retrying may help: the directory was unreachable, failed (5xx), or asked
// to slow down (408, 429). Other 4xx answers (an invalid TD, a missing token) need a change first.
func transient(err error) bool {
	var de *DirectoryError
	if !errors.As(err, &de) {
		return true
	}
	return de.StatusCode >= 500 || de.StatusCode == http.StatusRequestTimeout || de.StatusCode == http.StatusTooManyRequests
}
