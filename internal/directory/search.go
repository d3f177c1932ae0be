package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/theory/jsonpath"
)

// searchCache holds every stored TD decoded once, tagged with the event number it reflects. A search
// first reads the current event number (one small query), so the cache is never stale, even when
// another instance wrote: every write, purge included, records an event. On a change the cache
// re-reads only the TDs named by the new events; after a gap in the event history (retention) or a
// burst of more than cacheCatchUp events it reloads everything.
type searchCache struct {
	mu   sync.Mutex
	seq  int64
	ids  []string // sorted: the order of the search root, as for listings
	docs map[string]cachedTD
}

const cacheCatchUp = 2000

type cachedTD struct {
	expires time.Time
	value   any
}

// snapshot returns the live TDs (at now) as the search root.
func (c *searchCache) snapshot(ctx context.Context, st *Store, now time.Time) ([]any, error) {
	seq, err := st.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs == nil || seq != c.seq {
		if err := c.refresh(ctx, st); err != nil {
			return nil, err
		}
	}
	root := make([]any, 0, len(c.ids))
	for _, id := range c.ids {
		d := c.docs[id]
		if d.expires.IsZero() || now.Before(d.expires) {
			root = append(root, d.value)
		}
	}
	return root, nil
}

func (c *searchCache) refresh(ctx context.Context, st *Store) error {
	if c.docs != nil {
		evs, err := st.Events(ctx, c.seq, "", cacheCatchUp)
		if err != nil {
			return err
		}
		if len(evs) > 0 && evs[0].Seq == c.seq+1 && len(evs) < cacheCatchUp {
			touched := map[string]bool{}
			for _, ev := range evs {
				touched[ev.ThingID] = true
			}
			ids := make([]string, 0, len(touched))
			for id := range touched {
				ids = append(ids, id)
			}
			entries, err := st.GetMany(ctx, ids)
			if err != nil {
				return err
			}
			for _, id := range ids {
				delete(c.docs, id)
			}
			for _, e := range entries {
				d, err := decodeEntry(e)
				if err != nil {
					return err
				}
				c.docs[e.ID] = d
			}
			c.ids = c.ids[:0]
			for id := range c.docs {
				c.ids = append(c.ids, id)
			}
			slices.Sort(c.ids)
			c.seq = evs[len(evs)-1].Seq
			return nil
		}
	}
	entries, seq, err := st.All(ctx)
	if err != nil {
		return err
	}
	docs := make(map[string]cachedTD, len(entries))
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		d, err := decodeEntry(e)
		if err != nil {
			return err
		}
		docs[e.ID] = d
		ids = append(ids, e.ID)
	}
	c.seq, c.docs, c.ids = seq, docs, ids
	return nil
}

// decodeEntry builds the Enriched TD as a JSON value, as render does but without re-encoding.
func decodeEntry(e Entry) (cachedTD, error) {
	var m map[string]any
	if err := json.Unmarshal(e.TD, &m); err != nil || m == nil {
		return cachedTD{}, fmt.Errorf("stored TD %s is not a JSON object: %v", e.ID, err)
	}
	switch c := m["@context"].(type) {
	case string:
		if c != DiscoveryContext {
			m["@context"] = []any{c, DiscoveryContext}
		}
	case []any:
		if !slices.Contains(c, any(DiscoveryContext)) {
			at := 0
			for i, v := range c {
				if _, ok := v.(string); ok {
					at = i + 1
				}
			}
			m["@context"] = slices.Insert(slices.Clone(c), at, any(DiscoveryContext))
		}
	}
	reg := map[string]any{"created": formatTime(e.Created), "modified": formatTime(e.Modified)}
	if !e.Expires.IsZero() {
		reg["expires"] = formatTime(e.Expires)
	}
	if e.HasTTL {
		reg["ttl"] = e.TTL
	}
	m["registration"] = reg
	return cachedTD{expires: e.Expires, value: m}, nil
}

// handleSearch evaluates an RFC 9535 JSONPath query against the JSON array of all live Enriched TDs
// and answers the node list as a JSON array
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-search-jsonpath). The TDs carry no
// registration.retrieved here: the array is shared between searches.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := q.Get("query")
	if !q.Has("query") || query == "" {
		s.problem(w, r, http.StatusBadRequest, "missing query parameter: GET /search/jsonpath?query=$[?(@.title=='Lamp')]", nil)
		return
	}
	if len(query) > s.cfg.MaxQueryLength {
		s.problem(w, r, http.StatusBadRequest, fmt.Sprintf("the query is longer than %d bytes", s.cfg.MaxQueryLength), nil)
		return
	}
	path, err := jsonpath.Parse(query)
	if err != nil {
		s.problem(w, r, http.StatusBadRequest, "invalid JSONPath (RFC 9535): "+err.Error(), nil)
		return
	}
	root, err := s.search.snapshot(r.Context(), s.store, s.now())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	nodes := path.Select(root)
	if nodes == nil {
		nodes = jsonpath.NodeList{}
	}
	body, err := marshalJSON(nodes)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", body)
}
