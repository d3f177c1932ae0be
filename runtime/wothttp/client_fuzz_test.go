package wothttp

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAnswers feeds arbitrary bodies to the decoders of what a Thing answers: action
// statuses, queryallactions maps and error bodies. None may panic, and error details stay
// bounded, printable UTF-8.
func FuzzAnswers(f *testing.F) {
	for _, s := range []string{
		`{"status": "completed", "output": 1, "href": "/a/1", "timeRequested": "2025-01-01T00:00:00Z"}`,
		`{"state": "failed", "error": {"status": "409", "title": "x"}}`,
		`{"status": "failed", "error": "boom"}`,
		`{"fade": [{"status": "running", "href": "http://h/x/2"}]}`,
		`{"type": "about:blank", "status": 400, "detail": "bad", "invalid-params": []}`,
		"\x00\xff{]",
		`{"status": "PENDING", "href": ":::"}`,
	} {
		f.Add([]byte(s), "application/problem+json")
	}
	base, _ := url.Parse("http://127.0.0.1:1/actions/fade")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		decodeStatus(body, base)
		decodeAllStatuses(body, base)
		for _, code := range []int{400, 401, 302} {
			resp := &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {ct}, "Www-Authenticate": {string(body)}, "Location": {string(body)}}, Body: io.NopCloser(bytes.NewReader(body))}
			e := errorFromResponse(resp)
			if e == nil || e.Status == 0 {
				t.Fatalf("no status: %#v", e)
			}
			if len(e.Detail) > 3*maxDetail+200 || !utf8.ValidString(e.Detail) || strings.ContainsAny(e.Detail, "\r\n\x00") {
				t.Fatalf("detail not bounded printable text: %q", e.Detail)
			}
		}
	})
}
