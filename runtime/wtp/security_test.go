package wtp

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wotgen/wotgen/runtime/wot"
)

// Security tests of issue 11 that the server and consumer tests do not already cover. See
// SECURITY.md for the map of which test proves what.

// Secrets used below; none may ever appear in a log line, an error text or an HTTP body.
const (
	secBearer = "tok-7Hq2-SECRET"
	secPass   = "pw-Zk9-SECRET"
	secKey    = "key-Xy4-SECRET"
)

var secBasicB64 = base64.StdEncoding.EncodeToString([]byte("farmer:" + secPass))

func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range []string{secBearer, secPass, secKey, secBasicB64, "SECRET"} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", where, s, text)
		}
	}
}

func debugLogger(buf *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tdWithSecurity is valveTD with one security scheme (JSON of the scheme object) required.
func tdWithSecurity(scheme string) string {
	return strings.Replace(valveTD, `"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc"`,
		`"securityDefinitions": {"sc": `+scheme+`}, "security": "sc"`, 1)
}

// Every supported scheme refuses wrong or missing credentials before the upgrade: no
// connection is ever counted, the answer is a 401 that does not echo anything, and the debug
// log of the server holds no secret, whether the handshake succeeded or not.
func TestSecurityHandshakeRefusedBeforeUpgradeAndNothingLogged(t *testing.T) {
	wrong := func(s string) string { return strings.Replace(s, "SECRET", "GUESS", 1) }
	cases := []struct {
		name      string
		scheme    string
		good, bad func(*http.Request)
	}{
		{"bearer header", `{"scheme": "bearer"}`,
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secBearer) },
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+wrong(secBearer)) }},
		{"bearer query", `{"scheme": "bearer", "in": "query", "name": "access_token"}`,
			func(r *http.Request) { r.URL.RawQuery = "access_token=" + secBearer },
			func(r *http.Request) { r.URL.RawQuery = "access_token=" + wrong(secBearer) }},
		{"basic", `{"scheme": "basic"}`,
			func(r *http.Request) { r.SetBasicAuth("farmer", secPass) },
			func(r *http.Request) { r.SetBasicAuth("farmer", wrong(secPass)) }},
		{"apikey header", `{"scheme": "apikey", "in": "header", "name": "X-API-Key"}`,
			func(r *http.Request) { r.Header.Set("X-API-Key", secKey) },
			func(r *http.Request) { r.Header.Set("X-API-Key", wrong(secKey)) }},
		{"apikey query", `{"scheme": "apikey", "in": "query", "name": "key"}`,
			func(r *http.Request) { r.URL.RawQuery = "key=" + secKey },
			func(r *http.Request) { r.URL.RawQuery = "key=" + wrong(secKey) }},
	}
	secretOf := map[string]string{"bearer header": secBearer, "bearer query": secBearer, "basic": "farmer:" + secPass,
		"apikey header": secKey, "apikey query": secKey}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := parseTD(t, tdWithSecurity(tc.scheme))
			auth, err := AuthFromTD(d, map[string]string{"sc": secretOf[tc.name]})
			if err != nil || auth == nil {
				t.Fatalf("AuthFromTD: %v", err)
			}
			th, err := NewThing(d)
			if err != nil {
				t.Fatal(err)
			}
			var logs lockedBuffer
			s, hs := serve(t, []*Thing{th}, WithAuthenticator(auth), wot.WithLogger(debugLogger(&logs)))
			handshake := func(mod func(*http.Request)) (*websocket.Conn, *http.Response, error) {
				req, _ := http.NewRequest("GET", wsURLOf(hs, "/wtp"), nil)
				if mod != nil {
					mod(req)
				}
				u := wsURLOf(hs, "/wtp")
				if req.URL.RawQuery != "" {
					u += "?" + req.URL.RawQuery
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{Subprotocol}, HTTPHeader: req.Header})
			}
			for _, mod := range []func(*http.Request){nil, tc.bad} {
				ws, resp, err := handshake(mod)
				if err == nil {
					ws.CloseNow()
					t.Fatal("handshake with missing or wrong credentials was upgraded")
				}
				if resp == nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("want 401 with a challenge, got %v", resp)
				}
				body, _ := io.ReadAll(resp.Body)
				noSecrets(t, "401 body", string(body))
				if strings.Contains(string(body), "GUESS") {
					t.Errorf("401 body echoes the offered credential: %s", body)
				}
			}
			if st := ServerStats(s); st.ConnectionsTotal != 0 || st.AuthFailures != 2 {
				t.Fatalf("refused handshakes reached the protocol: %+v", st)
			}
			ws, _, err := handshake(tc.good)
			if err != nil {
				t.Fatalf("good credentials refused: %v", err)
			}
			ws.CloseNow()
			waitFor(t, "the connection to end", func() bool { return ServerStats(s).Connections == 0 })
			if !strings.Contains(logs.String(), "request refused") {
				t.Fatalf("the refusals were not logged at all:\n%s", logs.String())
			}
			noSecrets(t, "server debug log", logs.String())
		})
	}
}

// A browser cannot set headers on a WebSocket handshake, so a TD may put the bearer token in
// the query (WebThings gateway #3078). The consumer places it there from the TD, the server
// accepts it there, cross-origin browser pages need an origin pattern, and neither side's
// log nor its errors show the token.
func TestSecurityBearerInQueryForBrowsers(t *testing.T) {
	d := parseTD(t, tdWithSecurity(`{"scheme": "bearer", "in": "query", "name": "access_token"}`))
	auth, err := AuthFromTD(d, map[string]string{"sc": secBearer})
	if err != nil {
		t.Fatal(err)
	}
	th, err := NewThing(d)
	if err != nil {
		t.Fatal(err)
	}
	var srvLogs, cliLogs lockedBuffer
	_, hs := serve(t, []*Thing{th}, WithAuthenticator(auth), wot.WithLogger(debugLogger(&srvLogs)),
		WithOriginPatterns("dashboard.example.org"))

	// Browser style: token in the query, an Origin header, no Authorization.
	for _, tc := range []struct {
		origin, query string
		status        int
	}{
		{"https://dashboard.example.org", "access_token=" + secBearer, http.StatusSwitchingProtocols},
		{"https://evil.example", "access_token=" + secBearer, http.StatusForbidden},
		{"https://dashboard.example.org", "access_token=nope", http.StatusUnauthorized},
		{"https://dashboard.example.org", "", http.StatusUnauthorized},
	} {
		h := http.Header{"Origin": {tc.origin}}
		ws, resp, err := websocket.Dial(context.Background(), wsURLOf(hs, "/wtp")+"?"+tc.query,
			&websocket.DialOptions{Subprotocols: []string{Subprotocol}, HTTPHeader: h})
		if ws != nil {
			ws.CloseNow()
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("origin %s query %q: want %d, got %v (%v)", tc.origin, tc.query, tc.status, resp, err)
		}
	}

	// The package's consumer, given the TD, sends the token where the TD says.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wot.Dial(ctx, hs.URL+"/things/valve-7", wot.WithBearerToken(secBearer), wot.WithConsumerLogger(debugLogger(&cliLogs)))
	if err != nil {
		t.Fatalf("Dial with the token in the query: %v", err)
	}
	if _, err := c.ReadProperty(ctx, "open"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// And a wrong token fails without showing the token it sent.
	_, err = wot.Dial(ctx, hs.URL+"/things/valve-7", wot.WithBearerToken(strings.Replace(secBearer, "SECRET", "GUESS", 1)),
		WithReconnect(ReconnectPolicy{MaxAttempts: 1}), wot.WithConsumerLogger(debugLogger(&cliLogs)))
	if err == nil {
		t.Fatal("Dial with a wrong token succeeded")
	}
	if strings.Contains(err.Error(), "GUESS") {
		t.Errorf("the dial error shows the token: %v", err)
	}
	noSecrets(t, "server debug log", srvLogs.String())
	noSecrets(t, "consumer debug log", cliLogs.String())
}

// wss end to end: a TLS server, a TD fetched over https that requires a bearer token, and the
// consumer trusting only the test CA. A plain ws dial to the TLS port gets nowhere.
func TestSecurityWSSWithBearer(t *testing.T) {
	d := parseTD(t, tdWithSecurity(`{"scheme": "bearer"}`))
	th, err := NewThing(d)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(WithAuthenticator(BearerAuth(secBearer)))
	if err := s.AddThing(th); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(s)
	t.Cleanup(func() { s.Close(); hs.Close() })
	tlsCfg := hs.Client().Transport.(*http.Transport).TLSClientConfig

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wot.Dial(ctx, hs.URL+"/things/valve-7", wot.WithBearerToken(secBearer), wot.WithTLSConfig(tlsCfg))
	if err != nil {
		t.Fatalf("Dial over https/wss: %v", err)
	}
	defer c.Close()
	if _, err := c.WriteProperty(ctx, "targetFlow", 12); err != nil {
		t.Fatal(err)
	}
	if v, err := c.ReadProperty(ctx, "targetFlow"); err != nil || string(v) != "12" {
		t.Fatalf("read over wss: %s %v", v, err)
	}
	// Without the CA the certificate is refused.
	if _, err := wot.Dial(ctx, hs.URL+"/things/valve-7", wot.WithBearerToken(secBearer), wot.WithTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}),
		WithReconnect(ReconnectPolicy{MaxAttempts: 1})); err == nil {
		t.Fatal("Dial trusted an unknown certificate")
	}
	// Plain ws:// to the TLS port does not get an upgrade.
	if ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "https")+"/wtp", &websocket.DialOptions{
		Subprotocols: []string{Subprotocol}, HTTPHeader: http.Header{"Authorization": {"Bearer " + secBearer}}}); err == nil {
		ws.CloseNow()
		t.Fatal("a plain ws dial reached the TLS server")
	}
}

// An empty API key never matches a configured one, even when the parameter is present.
func TestSecurityEmptyAPIKey(t *testing.T) {
	r := httptest.NewRequest("GET", "/wtp?key=", nil)
	if _, err := APIKeyAuth("query", "key", secKey).Authenticate(r); err == nil {
		t.Fatal("an empty API key was accepted")
	}
}

// Async action instances are private to whoever invoked them unless the Thing is configured
// with WithSharedActions: another principal neither lists, queries nor cancels them (404,
// as if they did not exist); the same principal on another connection does. Anonymous
// consumers list only their own connection's instances but may follow an actionID they know.
func TestSecurityAsyncActionsPrivateToTheirConsumer(t *testing.T) {
	tokens := map[string]string{"Bearer alice-token": "alice", "Bearer bob-token": "bob"}
	auth := wot.AuthenticatorFunc(func(r *http.Request) (string, error) {
		if p, ok := tokens[r.Header.Get("Authorization")]; ok {
			return p, nil
		}
		if r.Header.Get("Authorization") == "" {
			return "", nil // anonymous
		}
		return "", errors.New("unknown token")
	})
	as := func(tok string) dialOpts {
		if tok == "" {
			return dialOpts{}
		}
		return dialOpts{header: http.Header{"Authorization": {"Bearer " + tok}}}
	}
	flush := func(m *Message) { m.Name = "flush"; m.Input = raw(`{"seconds":5}`) }

	for _, shared := range []bool{false, true} {
		th := newValve(t, WithSharedActions(shared))
		release := make(chan struct{})
		th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return map[string]any{"litres": 1}, nil
		})
		_, hs := serve(t, []*Thing{th}, WithAuthenticator(auth))
		alice, alice2, bob := dial(t, hs, as("alice-token")), dial(t, hs, as("alice-token")), dial(t, hs, as("bob-token"))
		anon1, anon2 := dial(t, hs, as("")), dial(t, hs, as(""))

		id := alice.ok(OpInvokeAction, flush).Status.ActionID
		anonID := anon1.ok(OpInvokeAction, flush).Status.ActionID
		byID := func(id string) func(*Message) { return func(m *Message) { m.ActionID = id } }
		listed := func(c *rawClient) []string {
			var ids []string
			for _, st := range c.ok(OpQueryAllActions, nil).Statuses["flush"] {
				ids = append(ids, st.ActionID)
			}
			return ids
		}

		if got := listed(alice2); len(got) != 1 && !shared || !strings.Contains(strings.Join(got, ","), id) {
			t.Errorf("shared=%v: alice on another connection lists %v, want her action %s", shared, got, id)
		}
		alice2.ok(OpQueryAction, byID(id))
		anon2.ok(OpQueryAction, byID(anonID)) // the actionID is the capability for anonymous consumers
		if shared {
			if got := listed(bob); len(got) != 2 {
				t.Errorf("shared: bob lists %v, want both instances", got)
			}
			bob.ok(OpQueryAction, byID(id))
			bob.ok(OpCancelAction, byID(id))
		} else {
			if got := listed(bob); len(got) != 0 {
				t.Errorf("bob lists another principal's actions: %v", got)
			}
			if got := listed(anon2); len(got) != 0 {
				t.Errorf("an anonymous consumer lists another connection's actions: %v", got)
			}
			if got := listed(anon1); len(got) != 1 || got[0] != anonID {
				t.Errorf("anonymous consumer lists %v, want its own %s", got, anonID)
			}
			bob.fails(OpQueryAction, byID(id), 404, "no action instance")
			bob.fails(OpCancelAction, byID(id), 404, "no action instance")
			anon1.fails(OpQueryAction, byID(id), 404, "no action instance")
			bob.fails(OpQueryAction, byID(anonID), 404, "no action instance")
			alice.ok(OpCancelAction, byID(id)) // the owner still can
		}
		close(release)
	}
}

// A hostile Thing's TD must not make a validating consumer (WithValidation) or a dynamic
// Thing read local files through "$ref", nor crash it with numbers math/big cannot hold.
func TestSecurityHostileSchemasInTD(t *testing.T) {
	for _, tc := range []struct{ name, schema string }{
		{"$ref to a local file", `"$ref": "file:///etc/hostname",`},
		{"$ref to a device", `"$ref": "file:///dev/zero",`},
		{"const out of range", `"const": 1e999999999,`},
		{"enum out of range", `"enum": [1e999999999],`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostile := strings.Replace(valveTD, `"targetFlow": {"type": "integer",`, `"targetFlow": {"type": "integer", `+tc.schema, 1)
			d := parseTD(t, hostile)
			// A $ref is refused; an out-of-range const/enum compiles but matches nothing.
			if th, err := NewThing(d); err == nil {
				if strings.Contains(tc.name, "$ref") {
					t.Error("NewThing compiled a $ref to a local file")
				}
				_, hs := serve(t, []*Thing{th})
				dial(t, hs).fails(OpWriteProperty, func(m *Message) { m.Name = "targetFlow"; m.Value = raw("5") }, 400, "")
			} else if strings.Contains(tc.name, "$ref") && !strings.Contains(err.Error(), "not supported") {
				t.Errorf("NewThing followed the $ref: %v", err)
			}
			th, err := NewThing(d, wot.WithValidation(false))
			if err != nil {
				t.Fatal(err)
			}
			_, hs := serve(t, []*Thing{th})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := wot.Dial(ctx, hs.URL+"/things/valve-7", wot.WithOutgoingValidation(true))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The consumer either cannot compile the schema (it sends unvalidated and the
			// Thing decides) or refuses the value with a 400; it never panics.
			if _, err := c.WriteProperty(ctx, "targetFlow", 5); err != nil && !wot.IsBadRequest(err) {
				t.Errorf("write with a hostile schema in the TD: %v", err)
			}
		})
	}
}
