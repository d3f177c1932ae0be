package wtp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log"
	"os"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	_ "github.com/wotgen/wotgen/runtime/wtp" // registers the WTP binding
)

// A Thing served over wss with the secret from the environment (never from the TD or the
// command line), a bearer token accepted in the header or, for browser pages on the
// dashboard's origin, in the query. TestSecurityWSSWithBearer runs the same over
// httptest.NewTLSServer.
func Example_wss() {
	desc, err := td.ParseFile("valve.td.json") // declares {"scheme": "bearer", "in": "query"}
	if err != nil {
		log.Fatal(err)
	}
	valve, err := wot.NewThing(desc)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := wot.AuthFromTD(desc, map[string]string{"bearer_sc": os.Getenv("VALVE_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	srv := wot.NewServer( // the WTP binding is registered by importing wtp
		wot.WithAuthenticator(auth),
		wot.WithOriginPatterns("dashboard.example.org"),
		wot.WithExternalURL("https://farm.example.org"), // served forms say wss://farm.example.org/…
	)
	if err := srv.AddThing(valve); err != nil {
		log.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair("/etc/valve/cert.pem", "/etc/valve/key.pem")
	if err != nil {
		log.Fatal(err)
	}
	ln, err := tls.Listen("tcp", ":8443", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background()) // cancel to shut down
	defer stop()
	go wot.Serve(ctx, ln, srv)

	// A consumer trusting a private CA.
	pem, err := os.ReadFile("/etc/valve/ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	c, err := wot.Dial(ctx, "https://farm.example.org/things/valve-7",
		wot.WithBearerToken(os.Getenv("VALVE_TOKEN")), wot.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}
