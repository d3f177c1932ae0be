package wothttp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkClientReadProperty compares a readproperty round trip through the consumed Thing and
// this binding with a plain net/http GET plus encoding/json against the same handler: the
// overhead of the core and the binding over the bare minimum.
func BenchmarkClientReadProperty(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"temperature": 21.5, "unit": "celsius"}`)
	}))
	defer srv.Close()
	ctx := context.Background()

	b.Run("wothttp", func(b *testing.B) {
		ct := consume(b, srv.URL, oneTD)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ct.ReadProperty(ctx, "p"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := &http.Client{}
		u := srv.URL + "/p"
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			req.Header.Set("Accept", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v json.RawMessage
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
