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
// socket on 127.0.0.1, over each binding, with and without bearer authentication.
func TestClientAgainstLamp(t *testing.T) {
	for _, c := range []struct{ binding, token string }{{"http", ""}, {"http", "s3cret"}, {"wtp", ""}, {"wtp", "s3cret"}, {"", ""}} {
		binding, token := c.binding, c.token
		_, srv, err := device.New(device.Options{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out bytes.Buffer
		if err := check(ctx, hs.URL+"/", token, binding, &out); err != nil {
			t.Errorf("binding %q, token %q: %v\noutput so far:\n%s", binding, token, err, out.String())
		}
		t.Logf("binding %q, token %q:\n%s", binding, token, out.String())
		cancel()
		srv.Close()
		hs.Close()
	}
}
