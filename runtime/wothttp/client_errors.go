package wothttp

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/wotgen/wotgen/runtime/wot"
)

// maxErrorBody bounds how much of an error response is read; maxDetail how much of a
// plain-text one ends up in the error's detail.
const (
	maxErrorBody = 64 << 10
	maxDetail    = 512
)

// errorFromResponse turns a non-2xx answer into a *wot.Error: an RFC 9457 problem-details
// body (application/problem+json, or a JSON object shaped like one) is decoded, with the
// HTTP status when the body has none; any other body becomes the detail, trimmed and
// bounded. A 401 carries the server's WWW-Authenticate challenge in the detail, so the
// message says which credentials the Thing wants.
func errorFromResponse(resp *http.Response) *wot.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	body = bytes.TrimSpace(body)
	e := problemOf(resp.Header.Get("Content-Type"), body)
	if e == nil {
		e = &wot.Error{Detail: textDetail(body)}
	} else {
		// The Thing's words end up in logs and messages: printable and bounded.
		e.Title, e.Detail = textDetail([]byte(e.Title)), textDetail([]byte(e.Detail))
	}
	if e.Status == 0 {
		e.Status = resp.StatusCode
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
		if e.Title == "" {
			e.Title = resp.Status
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := resp.Header.Get("Location")
		e.Detail = join(e.Detail, "the Thing redirected ("+resp.Status+") and the redirect was not followed; location: "+textDetail([]byte(loc)))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		ch := resp.Header.Values("WWW-Authenticate")
		if len(ch) > 0 {
			e.Detail = join(e.Detail, "WWW-Authenticate: "+textDetail([]byte(strings.Join(ch, ", "))))
		} else {
			e.Detail = join(e.Detail, "the Thing rejected the credentials (check the security options given to Dial)")
		}
	}
	return e
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + " (" + b + ")"
}

// problemOf decodes a problem-details body; nil when the body is not one.
func problemOf(ct string, body []byte) *wot.Error {
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(ct)
	var e wot.Error
	if err := json.Unmarshal(body, &e); err != nil {
		return nil
	}
	if mt == "application/problem+json" {
		return &e
	}
	// A JSON error object in problem shape (some servers label it application/json).
	if isJSON(ct) && ct != "" && (e.Title != "" || e.Detail != "" || e.Type != "") {
		return &e
	}
	return nil
}

// textDetail makes a body fit an error detail: valid UTF-8, control characters removed,
// whitespace collapsed, bounded.
func textDetail(b []byte) string {
	if len(b) > maxDetail*2 {
		b = b[:maxDetail*2]
	}
	var sb strings.Builder
	space := false
	for len(b) > 0 && sb.Len() < maxDetail {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
			r = '?'
		case r == '\n' || r == '\r' || r == '\t' || r == ' ':
			space = true
			continue
		case r < ' ' || r == 0x7f:
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r)
	}
	if len(b) > 0 {
		sb.WriteString("…")
	}
	return sb.String()
}
