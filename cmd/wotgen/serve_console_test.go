package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/runtime/wtp"
)

// TestServeConsole: serve prints the console's URL and serves the page there; -console=false
// leaves /console/ to the simulator (which has nothing there).
func TestServeConsole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lamp.td.json")
	if err := os.WriteFile(path, []byte(lampTD), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		args := []string{"serve", "-addr", "127.0.0.1:0"}
		if !on {
			args = append(args, "-console=false")
		}
		ctx, cancel := context.WithCancel(context.Background())
		out, errOut := &syncBuffer{}, &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- runContext(ctx, append(args, path), stdio{in: strings.NewReader(""), out: out, err: errOut})
		}()
		var base, page string
		for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); {
			for _, l := range strings.Split(out.String(), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "TD:" {
					base = strings.TrimSuffix(f[1], "/")
				} else if len(f) >= 2 && f[0] == "console:" {
					page = f[1]
				}
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
		if base == "" {
			cancel()
			t.Fatalf("serve did not print its address; stdout %q stderr %q", out.String(), errOut.String())
		}
		if on != (page == base+"/console/") {
			t.Errorf("console %v: printed console URL %q (base %s)", on, page, base)
		}
		resp, err := http.Get(base + "/console/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		served := resp.StatusCode == http.StatusOK && strings.Contains(string(b), "console.js")
		if served != on {
			t.Errorf("console %v: GET /console/ = %s (page served: %v)", on, resp.Status, served)
		}
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("exit %d; stderr %s", code, errOut.String())
		}
	}
}

// TestServeTokenInQuery: with -token the handshake also takes the token as the access_token query
// parameter (RFC 6750 §2.3), which is how the console, a browser, sends it; a wrong one is refused.
func TestServeTokenInQuery(t *testing.T) {
	_, hs, served := startSim(t, []byte(lampTD), simOptions{token: "s3cret", seed: 1})
	endpoint := checkServedTD(t, served, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{Subprotocols: []string{wtp.Subprotocol}}
	if _, resp, err := websocket.Dial(ctx, endpoint+"?access_token=wrong", opts); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("handshake with a wrong token in the query: %v, want 401", err)
	}
	c, _, err := websocket.Dial(ctx, endpoint+"?access_token=s3cret", opts)
	if err != nil {
		t.Fatalf("handshake with the token in the query: %v", err)
	}
	c.CloseNow()
}
