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

	"github.com/wotgen/wotgen/runtime/wot"
)

// ErrorTypeBase is the prefix of the common WTP problem types; the status code follows
// ("…/errors#404"). The draft calls these URIs placeholders, so they live in one place.
const ErrorTypeBase = "https://w3c.github.io/web-thing-protocol/errors#"

// commonErrorTypes are the statuses with a WTP-defined problem type.
var commonErrorTypes = map[int]bool{
	http.StatusBadRequest:          true,
	http.StatusForbidden:           true,
	http.StatusNotFound:            true,
	http.StatusInternalServerError: true,
	http.StatusServiceUnavailable:  true,
}

// problemType is the "type" sent for e: its own, or for a status WTP defines a problem type
// for, that type (the core leaves Type empty, meaning about:blank).
func problemType(e *wot.Error) string {
	if e.Type == "" && commonErrorTypes[e.Status] {
		return ErrorTypeBase + strconv.Itoa(e.Status)
	}
	return e.Type
}

var errorStdMembers = []string{"type", "status", "title", "detail", "instance"}

// appendError writes e as a JSON object. Status must be an HTTP-like code (100–599).
func appendError(dst []byte, e *wot.Error) ([]byte, error) {
	if e == nil {
		return append(dst, "null"...), nil
	}
	if e.Status < 100 || e.Status > 599 {
		return dst, fmt.Errorf("wtp: problem status %d is not an HTTP status code (100–599); use NewError", e.Status)
	}
	dst = append(dst, '{')
	if typ := problemType(e); typ != "" {
		dst = append(dst, `"type":`...)
		dst = appendString(dst, typ)
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

func decodeError(b []byte) (*wot.Error, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("wtp: problem details must be a JSON object")
	}
	var w wireError
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wtp: problem details: %w", describeJSONError(err))
	}
	e := &wot.Error{Type: w.Type, Title: w.Title, Detail: w.Detail, Instance: w.Instance}
	if len(w.Status) > 0 {
		s := string(w.Status)
		if len(s) >= 2 && s[0] == '"' {
			s = s[1 : len(s)-1] // the draft's invokeaction error example sends "500" as a string
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
