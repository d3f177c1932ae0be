package wtp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ErrorTypeBase is the prefix of the common WTP problem types; the status code follows
// ("…/errors#404"). The draft calls these URIs placeholders, so they live in one place.
const ErrorTypeBase = "https://w3c.github.io/web-thing-protocol/errors#"

// Error is an RFC 9457 problem-details object, the payload of every WTP error response
// and of a failed ActionStatus. It implements error.
//
// An empty Type means "about:blank" (RFC 9457 §4.2.1). Extra holds extension members
// (for example "actionID"); keys that collide with the standard members are ignored when
// encoding.
type Error struct {
	Type     string
	Status   int
	Title    string
	Detail   string
	Instance string
	Extra    map[string]json.RawMessage
}

// Error returns "wtp: <status> <title>: <detail>".
func (e *Error) Error() string {
	if e == nil {
		return "wtp: <nil error>"
	}
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	var b strings.Builder
	b.WriteString("wtp: ")
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

// commonErrorTitles are the statuses with a WTP-defined problem type (spec §7).
var commonErrorTitles = map[int]string{
	http.StatusBadRequest:          "Bad Request",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "Not Found",
	http.StatusInternalServerError: "Internal Server Error",
	http.StatusServiceUnavailable:  "Service Unavailable",
}

// NewError returns a problem with the WTP type and title for status (400, 403, 404, 500,
// 503) or, for any other status, type "about:blank" and the HTTP status text as title.
func NewError(status int, detail string) *Error {
	if title, ok := commonErrorTitles[status]; ok {
		return &Error{Type: ErrorTypeBase + strconv.Itoa(status), Status: status, Title: title, Detail: detail}
	}
	return &Error{Type: "about:blank", Status: status, Title: http.StatusText(status), Detail: detail}
}

func newErrorf(status int, format string, a []any) *Error {
	if len(a) == 0 {
		return NewError(status, format)
	}
	return NewError(status, fmt.Sprintf(format, a...))
}

// BadRequest returns a 400 problem: the request is invalid (missing member, unknown
// operation, value violating the schema, …).
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

// asProblem converts any error into a problem to send: an *Error in the chain is used as
// is (with a missing status defaulted to 500), anything else becomes a 500 whose detail is
// the error text.
// A bare &Error{Status: 404} gets the WTP type and title of its status.
func asProblem(err error) *Error {
	var e *Error
	if !errors.As(err, &e) || e == nil {
		return Internal("%s", err.Error())
	}
	if e.Status >= 100 && e.Status <= 599 && (e.Type != "" || e.Title != "") {
		return e
	}
	c := *e // never modify the caller's error
	if c.Status < 100 || c.Status > 599 {
		c.Status = http.StatusInternalServerError
	}
	if c.Type == "" && c.Title == "" {
		std := NewError(c.Status, "")
		c.Type, c.Title = std.Type, std.Title
	}
	return &c
}

// MarshalJSON encodes e strictly (see appendError).
func (e *Error) MarshalJSON() ([]byte, error) { return appendError(nil, e) }

// UnmarshalJSON decodes a problem liberally: a "status" given as a string of digits is
// accepted (spec §10 item 4); unknown members are kept in Extra.
func (e *Error) UnmarshalJSON(b []byte) error {
	d, err := decodeError(b)
	if err != nil {
		return err
	}
	*e = *d
	return nil
}

var errorStdMembers = []string{"type", "status", "title", "detail", "instance"}

// appendError writes e as a JSON object. Status must be an HTTP-like code (100–599).
func appendError(dst []byte, e *Error) ([]byte, error) {
	if e == nil {
		return append(dst, "null"...), nil
	}
	if e.Status < 100 || e.Status > 599 {
		return dst, fmt.Errorf("wtp: problem status %d is not an HTTP status code (100–599); use NewError", e.Status)
	}
	dst = append(dst, '{')
	if e.Type != "" {
		dst = append(dst, `"type":`...)
		dst = appendString(dst, e.Type)
		dst = append(dst, ',')
	}
	dst = append(dst, `"status":`...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	if e.Title != "" {
		dst = append(dst, `,"title":`...)
		dst = appendString(dst, e.Title)
	}
	if e.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = appendString(dst, e.Detail)
	}
	if e.Instance != "" {
		dst = append(dst, `,"instance":`...)
		dst = appendString(dst, e.Instance)
	}
	for _, k := range sortedKeys(e.Extra) {
		if slices.Contains(errorStdMembers, k) {
			continue
		}
		dst = append(dst, ',')
		dst = appendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendRaw(dst, e.Extra[k], "error."+k); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

type wireError struct {
	Type     string          `json:"type"`
	Status   json.RawMessage `json:"status"`
	Title    string          `json:"title"`
	Detail   string          `json:"detail"`
	Instance string          `json:"instance"`
}

func decodeError(b []byte) (*Error, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("wtp: problem details must be a JSON object")
	}
	var w wireError
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wtp: problem details: %w", describeJSONError(err))
	}
	e := &Error{Type: w.Type, Title: w.Title, Detail: w.Detail, Instance: w.Instance}
	if len(w.Status) > 0 {
		s := string(w.Status)
		if len(s) >= 2 && s[0] == '"' {
			s = s[1 : len(s)-1] // §10 item 4: "500" as a string
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil && string(w.Status) != "null" {
			return nil, fmt.Errorf("wtp: problem details: status %s is not an integer", w.Status)
		}
		e.Status = n
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err == nil {
		for k, v := range all {
			if slices.Contains(errorStdMembers, k) {
				continue
			}
			if e.Extra == nil {
				e.Extra = make(map[string]json.RawMessage)
			}
			e.Extra[k] = v
		}
	}
	return e, nil
}
