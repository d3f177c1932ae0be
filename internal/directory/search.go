package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/theory/jsonpath"
)

// searchCache holds every stored TD decoded once, tagged with the event number of its snapshot. A
// search checks that number first (one small query), so the cache is never stale even when another
// instance wrote: every write, purge included, advances it.
type searchCache struct {
	mu   sync.Mutex
	seq  int64
	docs []cachedTD
	ok   bool
}

type cachedTD struct {
	expires time.Time
	value   any
}

func (c *searchCache) snapshot(ctx context.Context, st *Store) ([]cachedTD, error) {
	seq, err := st.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.seq == seq {
		return c.docs, nil
	}
	entries, seq, err := st.All(ctx)
	if err != nil {
		return nil, err
	}
	docs := make([]cachedTD, 0, len(entries))
	for _, e := range entries {
		body, err := render(e, time.Time{})
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, fmt.Errorf("stored TD %s: %w", e.ID, err)
		}
		docs = append(docs, cachedTD{expires: e.Expires, value: v})
	}
	c.seq, c.docs, c.ok = seq, docs, true
	return docs, nil
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
	docs, err := s.search.snapshot(r.Context(), s.store)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	now := s.now()
	root := make([]any, 0, len(docs))
	for _, d := range docs {
		if d.expires.IsZero() || now.Before(d.expires) {
			root = append(root, d.value)
		}
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
