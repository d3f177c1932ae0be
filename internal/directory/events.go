package directory

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const eventBatch = 500

// handleEvents streams change notifications as Server-Sent Events
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api-notification): /events for all
// types, /events/{type} for one. Every event has an id (its sequence number); a client reconnecting
// with Last-Event-ID gets every retained event after it, so nothing is lost across a dropped stream
// or a switch to another instance. diff=true sends the full TD on thing_created and a merge patch on
// thing_updated.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	typ := ""
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/events/"); ok {
		t, _ := url.PathUnescape(rest)
		switch t {
		case eventCreated, eventUpdated, eventDeleted:
			typ = t
		default:
			s.problem(w, r, http.StatusNotFound, fmt.Sprintf("unknown event type %q: use thing_created, thing_updated or thing_deleted", t), nil)
			return
		}
	}
	diff := false
	switch d := r.URL.Query().Get("diff"); d {
	case "", "false":
	case "true":
		diff = true
	default:
		s.problem(w, r, http.StatusBadRequest, fmt.Sprintf("diff=%q: use true or false", d), nil)
		return
	}
	ctx := r.Context()
	var last int64
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
		if err != nil || n < 0 {
			s.problem(w, r, http.StatusBadRequest, fmt.Sprintf("Last-Event-ID %q is not an event id of this directory (a decimal number)", h), nil)
			return
		}
		last = n
	} else {
		n, err := s.store.LastSeq(ctx)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		last = n
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		return
	}
	s.hub.add(1)
	defer s.hub.add(-1)
	rc := http.NewResponseController(w)
	bw := bufio.NewWriter(w)
	flush := func() error {
		rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(bw, "retry: 1000\n\n")
	if flush() != nil {
		return
	}
	keep := time.NewTicker(s.cfg.KeepAlive)
	defer keep.Stop()
	for {
		wake := s.hub.wait() // taken before reading, so a write between the read and the wait wakes us
		for {
			evs, err := s.store.Events(ctx, last, typ, eventBatch)
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Logger.Warn("directory: read events", "err", err)
				}
				return
			}
			for _, ev := range evs {
				last = ev.Seq
				data := ev.Diff
				if !diff || ev.Type == eventDeleted || data == nil {
					data, _ = marshalJSON(map[string]string{"id": ev.ThingID})
				}
				fmt.Fprintf(bw, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data)
			}
			if len(evs) > 0 {
				if flush() != nil {
					return
				}
			}
			if len(evs) < eventBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-keep.C:
			fmt.Fprint(bw, ": keep-alive\n\n")
			if flush() != nil {
				return
			}
		}
	}
}
