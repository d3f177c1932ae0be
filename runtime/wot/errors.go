package wot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error is an RFC 9457 problem-details object (https://www.rfc-editor.org/rfc/rfc9457): what
// a Thing reports when an operation fails, on every binding, and the error of a failed
// ActionStatus. It implements error.
//
// An empty Type means "about:blank" (RFC 9457 §4.2.1); a binding may give a status the
// problem type its protocol defines. Extra holds extension members; keys that collide with
// the standard members are ignored when encoding.
type Error struct {
	Type     string
	Status   int
	Title    string
	Detail   string
	Instance string
	Extra    map[string]json.RawMessage
}

// Error returns "<status> <title>: <detail>".
func (e *Error) Error() string {
	if e == nil {
		return "<nil *wot.Error>"
	}
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	var b strings.Builder
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteByte(' ')
	}
	b.WriteString(title)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// NewError returns a problem with the status, its HTTP status text as title, and detail.
func NewError(status int, detail string) *Error {
	return &Error{Status: status, Title: http.StatusText(status), Detail: detail}
}

func newErrorf(status int, format string, a []any) *Error {
	if len(a) == 0 {
		return NewError(status, format)
	}
	return NewError(status, fmt.Sprintf(format, a...))
}

// BadRequest returns a 400 problem: the request is invalid (a value violating the schema, a
// missing member, …).
func BadRequest(format string, a ...any) *Error { return newErrorf(http.StatusBadRequest, format, a) }

// Forbidden returns a 403 problem: the consumer lacks permission for the operation.
func Forbidden(format string, a ...any) *Error { return newErrorf(http.StatusForbidden, format, a) }

// NotFound returns a 404 problem: the affordance or action instance does not exist.
func NotFound(format string, a ...any) *Error { return newErrorf(http.StatusNotFound, format, a) }

// Internal returns a 500 problem: an unexpected failure inside the Thing.
func Internal(format string, a ...any) *Error {
	return newErrorf(http.StatusInternalServerError, format, a)
}

// Unavailable returns a 503 problem: the Thing is temporarily unable to serve.
func Unavailable(format string, a ...any) *Error {
	return newErrorf(http.StatusServiceUnavailable, format, a)
}

// StatusOf returns the problem status of err: the Status of the first *Error in its chain,
// 0 for nil, and 500 for any other error.
func StatusOf(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e != nil && e.Status != 0 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// IsNotFound reports whether err carries a 404 problem.
func IsNotFound(err error) bool { return err != nil && StatusOf(err) == http.StatusNotFound }

// IsBadRequest reports whether err carries a 400 problem.
func IsBadRequest(err error) bool { return err != nil && StatusOf(err) == http.StatusBadRequest }

// ProblemOf converts any error into a problem to send: an *Error in the chain is used as is
// (a missing or impossible status becomes 500, a missing title the status text), anything
// else becomes a 500 whose detail is the error text. It never modifies err.
func ProblemOf(err error) *Error {
	var e *Error
	if !errors.As(err, &e) || e == nil {
		return Internal("%s", err.Error())
	}
	if e.Status >= 100 && e.Status <= 599 && e.Title != "" {
		return e
	}
	c := *e
	if c.Status < 100 || c.Status > 599 {
		c.Status = http.StatusInternalServerError
	}
	if c.Title == "" {
		c.Title = http.StatusText(c.Status)
	}
	return &c
}

var errorStdMembers = [...]string{"type", "status", "title", "detail", "instance"}

func isStdMember(k string) bool {
	for _, m := range errorStdMembers {
		if k == m {
			return true
		}
	}
	return false
}

// MarshalJSON encodes e as an application/problem+json object.
func (e *Error) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	m := make(map[string]any, 5+len(e.Extra))
	for k, v := range e.Extra {
		if !isStdMember(k) {
			m[k] = v
		}
	}
	if e.Type != "" {
		m["type"] = e.Type
	}
	if e.Status != 0 {
		m["status"] = e.Status
	}
	for k, v := range map[string]string{"title": e.Title, "detail": e.Detail, "instance": e.Instance} {
		if v != "" {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes a problem liberally: a "status" given as a string of digits is
// accepted; unknown members are kept in Extra.
func (e *Error) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("problem details must be a JSON object")
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return fmt.Errorf("problem details: %w", err)
	}
	var d Error
	str := func(k string, dst *string) error {
		if v, ok := all[k]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("problem details: %q is not a string", k)
			}
		}
		return nil
	}
	for k, dst := range map[string]*string{"type": &d.Type, "title": &d.Title, "detail": &d.Detail, "instance": &d.Instance} {
		if err := str(k, dst); err != nil {
			return err
		}
	}
	if v, ok := all["status"]; ok && string(v) != "null" {
		s := strings.Trim(string(v), `"`)
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("problem details: status %s is not an integer", v)
		}
		d.Status = n
	}
	for k, v := range all {
		if !isStdMember(k) {
			if d.Extra == nil {
				d.Extra = make(map[string]json.RawMessage)
			}
			d.Extra[k] = v
		}
	}
	*e = d
	return nil
}
