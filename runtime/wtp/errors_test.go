package wtp

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wotgen/wotgen/runtime/wot"
)

// The codec sends the WTP problem types for the statuses WTP defines, when the problem has
// no type of its own.
func TestProblemTypeOnTheWire(t *testing.T) {
	tests := []struct {
		err  *wot.Error
		want string
	}{
		{wot.BadRequest("unknown operation %q", "x"), `{"type":"` + ErrorTypeBase + `400","status":400,"title":"Bad Request","detail":"unknown operation \"x\""}`},
		{wot.Forbidden("no"), `{"type":"` + ErrorTypeBase + `403","status":403,"title":"Forbidden","detail":"no"}`},
		{wot.NotFound("gone"), `{"type":"` + ErrorTypeBase + `404","status":404,"title":"Not Found","detail":"gone"}`},
		{wot.Internal("boom"), `{"type":"` + ErrorTypeBase + `500","status":500,"title":"Internal Server Error","detail":"boom"}`},
		{wot.Unavailable("later"), `{"type":"` + ErrorTypeBase + `503","status":503,"title":"Service Unavailable","detail":"later"}`},
		{wot.NewError(http.StatusConflict, "busy"), `{"status":409,"title":"Conflict","detail":"busy"}`},
		{&wot.Error{Type: "urn:x", Status: 404}, `{"type":"urn:x","status":404}`},
		{&wot.Error{Type: "t", Status: 418, Title: "Teapot", Extra: map[string]json.RawMessage{"status": json.RawMessage(`1`), "n": json.RawMessage(`2`)}},
			`{"type":"t","status":418,"title":"Teapot","n":2}`},
	}
	for _, tt := range tests {
		b, err := appendError(nil, tt.err)
		if err != nil || string(b) != tt.want {
			t.Errorf("appendError(%+v) = %s, %v; want %s", tt.err, b, err, tt.want)
		}
	}
	if tt := tests[0].err; tt.Type != "" {
		t.Errorf("encoding changed the problem: %+v", tt)
	}
	if _, err := appendError(nil, &wot.Error{Status: 42}); err == nil {
		t.Error("a status outside 100–599 was encoded")
	}
}

func TestDecodeError(t *testing.T) {
	e, err := decodeError([]byte(`{"type":"` + ErrorTypeBase + `404","status":"404","title":"Not Found","n":2}`))
	if err != nil || e.Status != 404 || e.Type != ErrorTypeBase+"404" || string(e.Extra["n"]) != "2" {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := decodeError([]byte(`[1]`)); err == nil {
		t.Error("an array decoded as a problem")
	}
	if _, err := decodeError([]byte(`{"status":"x"}`)); err == nil {
		t.Error("a non-numeric status decoded")
	}
}
