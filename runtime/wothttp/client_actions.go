package wothttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/wotgen/wotgen/runtime/wot"
)

// invokeResponse reads an invokeaction answer (HTTP Basic Profile §"invokeaction"): 200
// with the output or 204 without one is a synchronous result; 201 (or 202) with Location
// and an ActionStatus body is an asynchronous one. The TD's "synchronous" flag does not
// restrict what is accepted: a Thing that answers asynchronously for a synchronous action
// still gets through, and an action that says nothing accepts all three.
func (c *client) invokeResponse(r *wot.Request, resp *http.Response, reqURL *url.URL, data json.RawMessage) (*wot.Response, error) {
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		return &wot.Response{Value: data}, nil
	}
	loc := resp.Header.Get("Location")
	var st *wot.ActionStatus
	if data != nil {
		s, err := decodeStatus(data, reqURL)
		if err != nil {
			if loc == "" {
				// No status resource and no status: a Thing that uses 201 for plain output.
				return &wot.Response{Value: data}, nil
			}
			return nil, fmt.Errorf("wothttp: invokeaction %q: the asynchronous answer: %w", r.Name, err)
		}
		st = s
	} else {
		st = &wot.ActionStatus{State: wot.ActionPending}
	}
	if loc != "" {
		u, err := reqURL.Parse(strings.TrimSpace(loc)) // RFC 9110 §10.2.2: relative to the request's target
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("wothttp: invokeaction %q: the Location %q of the asynchronous answer is not an http(s) URL", r.Name, textDetail([]byte(loc)))
		}
		st.Href = u.String()
	}
	st.ActionID = actionIDOf(st.Href)
	st.Name = r.Name
	return &wot.Response{Status: st}, nil
}

// statusJSON is the HTTP Basic Profile's ActionStatus object. "state" (the Web Thing
// Protocol's name for "status") is read too.
type statusJSON struct {
	Status        string          `json:"status"`
	State         string          `json:"state"`
	Href          string          `json:"href"`
	Output        json.RawMessage `json:"output"`
	Error         json.RawMessage `json:"error"`
	TimeRequested string          `json:"timeRequested"`
	TimeEnded     string          `json:"timeEnded"`
}

// decodeStatus decodes an ActionStatus; a relative href resolves against base.
func decodeStatus(data []byte, base *url.URL) (*wot.ActionStatus, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("an action status must be a JSON object")
	}
	var j statusJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("the action status is malformed: %w", err)
	}
	return j.status(base)
}

func (j *statusJSON) status(base *url.URL) (*wot.ActionStatus, error) {
	name := j.Status
	if name == "" {
		name = j.State
	}
	st := &wot.ActionStatus{State: wot.ActionState(strings.ToLower(name)), Output: j.Output}
	switch st.State {
	case wot.ActionPending, wot.ActionRunning, wot.ActionCompleted, wot.ActionFailed:
	case "":
		return nil, errors.New(`the action status has no "status" member`)
	default:
		return nil, fmt.Errorf("the action status %q is none of pending, running, completed, failed", textDetail([]byte(name)))
	}
	if string(j.Output) == "null" {
		st.Output = json.RawMessage("null")
	}
	if len(j.Error) > 0 && string(j.Error) != "null" {
		var e wot.Error
		if err := json.Unmarshal(j.Error, &e); err != nil {
			var s string
			if json.Unmarshal(j.Error, &s) != nil {
				return nil, fmt.Errorf("the action status's error is neither a problem-details object nor a string: %w", err)
			}
			e = wot.Error{Detail: textDetail([]byte(s))}
		}
		if e.Status == 0 {
			e.Status = http.StatusInternalServerError
		}
		if e.Title == "" {
			e.Title = http.StatusText(e.Status)
		}
		st.Error = &e
	}
	if j.Href != "" && base != nil {
		if u, err := base.Parse(j.Href); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			st.Href = u.String()
		}
	}
	st.TimeRequested = parseTime(j.TimeRequested)
	st.TimeEnded = parseTime(j.TimeEnded)
	return st, nil
}

// decodeAllStatuses decodes a queryallactions answer: {actionName: [ActionStatus…]}.
func decodeAllStatuses(data []byte, base *url.URL) (map[string][]wot.ActionStatus, error) {
	var raw map[string][]statusJSON
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, errors.New("the answer is not a JSON object of action-status arrays")
	}
	out := make(map[string][]wot.ActionStatus, len(raw))
	for name, list := range raw {
		sts := make([]wot.ActionStatus, 0, len(list))
		for i := range list {
			st, err := list[i].status(base)
			if err != nil {
				return nil, fmt.Errorf("action %q, status %d: %w", name, i, err)
			}
			st.Name = name
			st.ActionID = actionIDOf(st.Href)
			sts = append(sts, *st)
		}
		out[name] = sts
	}
	return out, nil
}

// actionURL is where queryaction and cancelaction go: the instance's Href (the Location of
// the invocation; a relative one resolves against the request URL), else the form's URL
// when the form is one for the operation (an {actionID}-style URI variable the core
// expanded). An invokeaction form is no status URL.
func actionURL(r *wot.Request) (*url.URL, error) {
	if r.Action != nil && r.Action.Href != "" {
		u, err := url.Parse(r.Action.Href)
		if err == nil && !u.IsAbs() && r.URL != nil {
			u = r.URL.ResolveReference(u)
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("wothttp: %s %q: the action instance's href %q is not an http(s) URL", r.Op, r.Name, r.Action.Href)
		}
		return u, nil
	}
	if r.URL != nil && r.Form.Form != nil && r.Form.Op.Contains(r.Op) {
		return r.URL, nil
	}
	return nil, fmt.Errorf("wothttp: %s %q: the action instance has no status URL (the Thing gave no Location) and the TD has no %s form for it", r.Op, r.Name, r.Op)
}

// actionIDOf is the last path segment of an ActionStatus URL, the instance id.
func actionIDOf(href string) string {
	if href == "" {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	id := path.Base(strings.TrimRight(u.Path, "/"))
	if id == "." || id == "/" {
		return ""
	}
	return id
}

// parseTime reads an RFC 3339 date-time; anything else is the zero time.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
