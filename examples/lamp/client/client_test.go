package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
)

// TestClientAgainstLamp runs the example client's whole script against the example lamp over a real
// socket on 127.0.0.1, with and without bearer authentication.
func TestClientAgainstLamp(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		_, srv, err := device.New(device.Options{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out bytes.Buffer
		if err := check(ctx, hs.URL+"/", token, &out); err != nil {
			t.Errorf("token %q: %v\noutput so far:\n%s", token, err, out.String())
		}
		t.Logf("token %q:\n%s", token, out.String())
		cancel()
		srv.Close()
		hs.Close()
	}
}
