package wtp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log"
	"os"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wtp"
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
	valve, err := wtp.NewThing(desc)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := wtp.AuthFromTD(desc, map[string]string{"bearer_sc": os.Getenv("VALVE_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	srv := wtp.NewServer(
		wtp.WithAuthenticator(auth),
		wtp.WithOriginPatterns("dashboard.example.org"),
		wtp.WithExternalURL("https://farm.example.org"), // served forms say wss://farm.example.org/…
	)
	if err := srv.AddThing(valve); err != nil {
		log.Fatal(err)
	}
	httpSrv := wtp.NewHTTPServer(":8443", srv)
	httpSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	go httpSrv.ListenAndServeTLS("/etc/valve/cert.pem", "/etc/valve/key.pem")

	// A consumer trusting a private CA.
	pem, err := os.ReadFile("/etc/valve/ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	c, err := wot.Dial(context.Background(), "https://farm.example.org/things/valve-7",
		wot.WithBearerToken(os.Getenv("VALVE_TOKEN")), wot.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}
