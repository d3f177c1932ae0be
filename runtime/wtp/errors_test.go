package wtp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestErrorConstructors(t *testing.T) {
	tests := []struct {
		err    *Error
		status int
		typ    string
		title  string
	}{
		{BadRequest("unknown operation %q", "x"), 400, ErrorTypeBase + "400", "Bad Request"},
		{Forbidden("no"), 403, ErrorTypeBase + "403", "Forbidden"},
		{NotFound("no property %q", "p"), 404, ErrorTypeBase + "404", "Not Found"},
		{Internal("boom"), 500, ErrorTypeBase + "500", "Internal Server Error"},
		{Unavailable("rate limited"), 503, ErrorTypeBase + "503", "Service Unavailable"},
		{NewError(http.StatusConflict, "busy"), 409, "about:blank", "Conflict"},
	}
	for _, tt := range tests {
		if tt.err.Status != tt.status || tt.err.Type != tt.typ || tt.err.Title != tt.title {
			t.Errorf("got %+v, want %d %s %s", tt.err, tt.status, tt.typ, tt.title)
		}
	}
	if got := NotFound("no property %q", "p").Error(); got != `wtp: 404 Not Found: no property "p"` {
		t.Errorf("Error() = %q", got)
	}
	if got := BadRequest("100%").Detail; got != "100%" {
		t.Errorf("no args must not format: %q", got)
	}
}

func TestStatusOf(t *testing.T) {
	wrapped := fmt.Errorf("reading: %w", NotFound("x"))
	if !IsNotFound(wrapped) || IsBadRequest(wrapped) || StatusOf(wrapped) != 404 {
		t.Error("wrapped NotFound not recognised")
	}
	if StatusOf(nil) != 0 || StatusOf(errors.New("x")) != 500 || IsNotFound(nil) {
		t.Error("StatusOf(nil/plain) wrong")
	}
	if !IsBadRequest(BadRequest("x")) {
		t.Error("IsBadRequest")
	}
}

func TestErrorJSON(t *testing.T) {
	e := &Error{Type: "t", Status: 418, Title: "Teapot", Extra: map[string]json.RawMessage{"status": json.RawMessage(`1`), "n": json.RawMessage(`2`)}}
	b, err := e.MarshalJSON()
	if err != nil || string(b) != `{"type":"t","status":418,"title":"Teapot","n":2}` {
		t.Fatalf("%s %v", b, err)
	}
	var back Error
	if err := back.UnmarshalJSON([]byte(`{"status":"418","title":"Teapot","n":2}`)); err != nil || back.Status != 418 || string(back.Extra["n"]) != "2" {
		t.Fatalf("%+v %v", back, err)
	}
	if p := asProblem(errors.New("disk full")); p.Status != 500 || p.Detail != "disk full" {
		t.Errorf("asProblem plain: %+v", p)
	}
	if p := asProblem(&Error{Detail: "x"}); p.Status != 500 || p.Type == "" {
		t.Errorf("asProblem zero status: %+v", p)
	}
	bare := &Error{Status: 404, Detail: "gone"}
	if p := asProblem(fmt.Errorf("wrapped: %w", bare)); p.Type != ErrorTypeBase+"404" || p.Title != "Not Found" || p.Detail != "gone" || bare.Type != "" {
		t.Errorf("asProblem bare 404: %+v (original %+v)", p, bare)
	}
}
