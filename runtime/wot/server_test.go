package wot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// fakeServerBinding is a ServerBinding that claims the paths under its prefix, adds one form per
// property, and keeps a "session" goroutine per request to /<prefix>/session until Shutdown.
type fakeServerBinding struct {
	name, prefix string
	srv          *Server
	replace      bool // drop the TD's forms of "our protocol" rather than rewrite them

	mu       sync.Mutex
	served   []string // paths it saw, with the principal: "path principal"
	sessions sync.WaitGroup
	stop     chan struct{}
}

func newFakeServerBinding(name string) *fakeServerBinding {
	return &fakeServerBinding{name: name, prefix: "/" + name + "/", stop: make(chan struct{})}
}

func (f *fakeServerBinding) Name() string { return f.name }

func (f *fakeServerBinding) Start(s *Server) error {
	if v, ok := s.Setting(f.name).(string); ok && v == "refuse" {
		return errors.New("bad setting")
	}
	f.srv = s
	return nil
}

func (f *fakeServerBinding) AddForms(d *td.Thing, t *Thing, base *url.URL) {
	for _, n := range d.PropertyNames() {
		p := d.Properties[n]
		// Rewrite the forms of "our protocol" the TD already has, add one of our own
		// (relative to base + "/").
		if f.replace {
			p.Forms = slices.DeleteFunc(p.Forms, func(fm td.Form) bool { return fm.Subprotocol == f.name })
		}
		for i := range p.Forms {
			if p.Forms[i].Subprotocol == f.name {
				p.Forms[i].Href = base.String() + f.prefix + "existing"
			}
		}
		p.Forms = append(p.Forms, td.Form{Href: f.name + "/props/" + n + "{?unit}", Subprotocol: f.name})
	}
}

func (f *fakeServerBinding) Serve(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, f.prefix) {
		return false
	}
	f.mu.Lock()
	f.served = append(f.served, r.URL.Path+" "+CallerFrom(r.Context()).Principal)
	f.mu.Unlock()
	if r.URL.Path == f.prefix+"session" {
		f.sessions.Add(1)
		go func() { defer f.sessions.Done(); <-f.stop }()
	}
	io.WriteString(w, f.name)
	return true
}

func (f *fakeServerBinding) Shutdown(ctx context.Context) error {
	close(f.stop)
	done := make(chan struct{})
	go func() { f.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeServerBinding) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.served...)
}

func get(t *testing.T, url string, h http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const ctxTD = `{"@context": ["https://www.w3.org/2022/wot/td/v1.1", {"saref": "https://w3id.org/saref#"}, "https://www.w3.org/2019/wot/td/v1"],
 "id": "http://old.example/things/lamp", "title": "lamp", "base": "http://old.example/",
 "links": [{"href": "manual.pdf"}],
 "properties": {"on": {"type": "boolean", "forms": [{"href": "b/x", "subprotocol": "b"}, {"href": "lamp/on"}]}}}`

// The served TD: @context starting with TD 1.0 (other entries kept), id, base at the server,
// each binding's forms added in binding order, the forms a binding already had rewritten by
// it, and every other href absolute against the TD's own base.
func TestServedTDWithTwoBindings(t *testing.T) {
	a, b := newFakeServerBinding("a"), newFakeServerBinding("b")
	s := NewServer(WithServerBindings(a, b))
	th, err := NewThing(mustParseTD(t, ctxTD))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddThing(th); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	resp, body := get(t, hs.URL+"/things/lamp", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/td+json" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc map[string]json.RawMessage
	json.Unmarshal([]byte(body), &doc)
	if got := string(doc["@context"]); got != `["https://www.w3.org/2019/wot/td/v1","https://www.w3.org/2022/wot/td/v1.1",{"htv":"http://www.w3.org/2011/http#"},{"saref":"https://w3id.org/saref#"}]` {
		t.Errorf("@context %s", got)
	}
	d, err := td.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != th.ID() || d.Base != hs.URL+"/" {
		t.Errorf("id %q base %q", d.ID, d.Base)
	}
	var hrefs []string
	for _, f := range d.Properties["on"].Forms {
		hrefs = append(hrefs, f.Href)
	}
	want := []string{hs.URL + "/b/existing", "http://old.example/lamp/on",
		hs.URL + "/a/props/on{?unit}", hs.URL + "/b/props/on{?unit}"}
	if strings.Join(hrefs, " ") != strings.Join(want, " ") {
		t.Errorf("forms\n got %v\nwant %v", hrefs, want)
	}
	if d.Links[0].Href != "http://old.example/manual.pdf" {
		t.Errorf("link %q", d.Links[0].Href)
	}
	// A binding that drops the TD's forms of its protocol: the TD's other forms still resolve
	// against the TD's base, the bindings' own against the server's.
	b.replace = true
	_, body = get(t, hs.URL+"/things/lamp", nil)
	if d, err = td.Parse([]byte(body)); err != nil {
		t.Fatal(err)
	}
	hrefs = nil
	for _, f := range d.Properties["on"].Forms {
		hrefs = append(hrefs, f.Href)
	}
	want = []string{"http://old.example/lamp/on", hs.URL + "/a/props/on{?unit}", hs.URL + "/b/props/on{?unit}"}
	if strings.Join(hrefs, " ") != strings.Join(want, " ") {
		t.Errorf("forms with a replacing binding\n got %v\nwant %v", hrefs, want)
	}
	b.replace = false
	// HEAD has no body; other methods are refused.
	req, _ := http.NewRequest("HEAD", hs.URL+"/.well-known/wot", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 || r.ContentLength > 0 {
		t.Errorf("HEAD %v %v", r, err)
	}
	req, _ = http.NewRequest("POST", hs.URL+"/things/lamp", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST %v %v", r, err)
	}

	// External URL; several Things at /.well-known/wot as an array.
	s2 := NewServer(WithServerBindings(newFakeServerBinding("a")), WithExternalURL("wss://gw.example/farm/"))
	th2, _ := NewThing(mustParseTD(t, ctxTD))
	th3 := newTestThing(t)
	s2.AddThing(th2)
	s2.AddThing(th3)
	hs2 := httptest.NewServer(s2)
	defer hs2.Close()
	resp, body = get(t, hs2.URL+"/.well-known/wot", nil)
	var list []*td.Thing
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 2 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("well-known: %v %s", err, body)
	}
	if list[0].Base != "https://gw.example/farm/" || list[1].ID != "urn:dev:test" || list[1].Properties["level"].Forms[1].Href != "https://gw.example/farm/a/props/level{?unit}" {
		t.Errorf("served with the external URL: %+v", list[0].Base)
	}
	// Every action states how it answers: the TD's own word, else the Thing's default.
	for name, want := range map[string]bool{"add": true, "flush": false, "none": true} {
		if a := list[1].Actions[name]; a.Synchronous == nil || *a.Synchronous != want {
			t.Errorf("served action %q: synchronous %v, want %v", name, a.Synchronous, want)
		}
	}
	if s2.BaseURL(httptest.NewRequest("GET", "/", nil)).String() != "https://gw.example/farm" {
		t.Error("BaseURL")
	}
	if s2.ThingAt("/things/urn:dev:test") != th3 || s2.Thing("urn:dev:test") != th3 || s2.Thing("x") != nil || len(s2.Things()) != 2 {
		t.Error("lookups")
	}
	if th3.TDPath() != "/things/urn:dev:test" || th2.TDPath() != "/things/lamp" {
		t.Errorf("TD paths %q %q", th3.TDPath(), th2.TDPath())
	}
}

// Requests other than TDs are authenticated before any binding sees them, offered to the
// bindings in order, and 404 when none claims them.
func TestAuthenticationBeforeBindings(t *testing.T) {
	a, b := newFakeServerBinding("a"), newFakeServerBinding("b")
	s := NewServer(WithServerBindings(a, b), WithAuthenticator(BearerAuth("s3cret")))
	s.AddThing(newTestThing(t))
	hs := httptest.NewServer(s)
	defer hs.Close()

	if resp, _ := get(t, hs.URL+"/things/urn:dev:test", nil); resp.StatusCode != 200 {
		t.Fatalf("the TD needs no credentials: %d", resp.StatusCode)
	}
	resp, body := get(t, hs.URL+"/a/x", http.Header{"Authorization": {"Bearer wrong"}})
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="wot"` || strings.Contains(body, "wrong") {
		t.Fatalf("refused: %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	get(t, hs.URL+"/b/x", nil)
	if len(a.seen()) != 0 || len(b.seen()) != 0 || s.AuthFailures() != 2 {
		t.Fatalf("binding code ran for refused requests: %v %v (failures %d)", a.seen(), b.seen(), s.AuthFailures())
	}
	ok := http.Header{"Authorization": {"Bearer s3cret"}}
	if resp, body := get(t, hs.URL+"/b/x", ok); resp.StatusCode != 200 || body != "b" {
		t.Fatalf("b: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, hs.URL+"/c/x", ok); resp.StatusCode != 404 {
		t.Fatalf("unclaimed: %d", resp.StatusCode)
	}
	if got := b.seen(); len(got) != 1 || got[0] != "/b/x bearer" {
		t.Fatalf("b saw %v", got)
	}
	// A CORS preflight carries no credentials; it reaches the bindings anonymously.
	resp, _ = get(t, hs.URL+"/a/pre", http.Header{"Origin": {"http://x"}, "Access-Control-Request-Method": {"PUT"}})
	req, _ := http.NewRequest("OPTIONS", hs.URL+"/a/pre", nil)
	req.Header.Set("Origin", "http://x")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("preflight %v %v", r, err)
	}
	if got := a.seen(); len(got) != 1 || got[0] != "/a/pre " || resp.StatusCode != 401 {
		t.Fatalf("a saw %v (GET with preflight headers: %d)", got, resp.StatusCode)
	}

	// A 403 from the Authenticator is passed on without a challenge.
	s2 := NewServer(WithServerBindings(newFakeServerBinding("a")), WithAuthenticator(AuthenticatorFunc(func(r *http.Request) (string, error) {
		return "", Forbidden("blocked")
	})))
	hs2 := httptest.NewServer(s2)
	defer hs2.Close()
	if resp, _ := get(t, hs2.URL+"/a/x", nil); resp.StatusCode != 403 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("403: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestServerConfiguration(t *testing.T) {
	th := newTestThing(t)
	if err := NewServer(WithServerBindings(), WithExternalURL("ftp://x")).AddThing(th); err == nil || !strings.Contains(err.Error(), "http, https") {
		t.Errorf("bad external URL: %v", err)
	}
	s := NewServer(WithServerBindings(newFakeServerBinding("a")), ServerSetting("a", "refuse"))
	if err := s.AddThing(th); err == nil || !strings.Contains(err.Error(), "bad setting") {
		t.Errorf("a binding refusing its settings: %v", err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/a/x", nil))
	if rec.Code != 500 {
		t.Errorf("misconfigured server answered %d", rec.Code)
	}
	s = NewServer(WithServerBindings(newFakeServerBinding("a"), newFakeServerBinding("b")), WithoutBinding("a"))
	if s.Binding("a") != nil || s.Binding("b") == nil {
		t.Error("WithoutBinding")
	}
	if err := s.AddThing(nil); err == nil {
		t.Error("AddThing(nil)")
	}
	if err := s.AddThing(th); err != nil {
		t.Fatal(err)
	}
	if err := s.AddThing(th); err == nil || !strings.Contains(err.Error(), "already served") {
		t.Errorf("twice: %v", err)
	}
	other, _ := NewThing(mustParseTD(t, testTD), WithID("urn:dev:other"), WithTDPath("things/urn:dev:test"))
	if err := s.AddThing(other); err == nil || !strings.Contains(err.Error(), "WithTDPath") {
		t.Errorf("same TD path: %v", err)
	}
	if err := NewServer(WithServerBindings()).AddThing(th); err == nil || !strings.Contains(err.Error(), "another Server") {
		t.Errorf("two servers: %v", err)
	}
	if s.Setting("nope") != nil || s.Logger() == nil || len(s.OriginPatterns()) != 0 {
		t.Error("accessors")
	}
}

// Registered bindings: each Server gets its own instance from the constructor.
func TestRegisterServer(t *testing.T) {
	serverRegistry.mu.Lock()
	saved := serverRegistry.ctors
	serverRegistry.ctors = nil
	serverRegistry.mu.Unlock()
	t.Cleanup(func() { serverRegistry.mu.Lock(); serverRegistry.ctors = saved; serverRegistry.mu.Unlock() })
	RegisterServer(func() ServerBinding { return newFakeServerBinding("r") })
	s1, s2 := NewServer(), NewServer()
	if s1.Binding("r") == nil || s1.Binding("r") == s2.Binding("r") {
		t.Fatal("each Server needs its own instance")
	}
	defer func() {
		if recover() == nil {
			t.Error("RegisterServer(nil) did not panic")
		}
	}()
	RegisterServer(nil)
}

// Shutdown ends the bindings' sessions first, then the asynchronous actions, and leaves no
// goroutine behind; the server refuses requests afterwards.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	a := newFakeServerBinding("a")
	s := NewServer(WithServerBindings(a))
	th := newTestThing(t)
	s.AddThing(th)
	hs := httptest.NewServer(s)
	for range 3 {
		get(t, hs.URL+"/a/session", nil)
	}
	var order []string
	var mu sync.Mutex
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		<-ctx.Done()
		mu.Lock()
		order = append(order, "action")
		mu.Unlock()
		return nil, ctx.Err()
	})
	ctx := WithCaller(context.Background(), Caller{Session: 1})
	for range 3 {
		if _, err := th.InvokeAction(ctx, "flush", nil); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 {
		t.Fatalf("actions still running after Shutdown: %v", order)
	}
	_, err := th.InvokeAction(ctx, "flush", nil)
	wantStatus(t, err, 503, "shutting down")
	if resp, _ := get(t, hs.URL+"/a/x", nil); resp.StatusCode != 503 {
		t.Errorf("after Shutdown: %d", resp.StatusCode)
	}
	if err := s.AddThing(newTestThing(t, WithID("urn:x"))); err == nil {
		t.Error("AddThing after Shutdown")
	}
	hs.Close()
	http.DefaultClient.CloseIdleConnections()
	waitUntil(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestActionLimitAndClose(t *testing.T) {
	th := newTestThing(t)
	th.cfg.maxActive = 1
	s := NewServer(WithServerBindings(newFakeServerBinding("a")))
	s.AddThing(th)
	cancelled := make(chan error, 1)
	th.HandleAction("flush", func(ctx context.Context, in json.RawMessage) (any, error) {
		<-ctx.Done()
		cancelled <- ctx.Err()
		return nil, ctx.Err()
	})
	ctx := context.Background()
	if _, err := th.InvokeAction(ctx, "flush", nil); err != nil {
		t.Fatal(err)
	}
	_, err := th.InvokeAction(ctx, "flush", nil)
	wantStatus(t, err, 503, "too many")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("Close returned before the running action ended")
	}
}

// ListenAndServe serves until its context ends, then shuts the Server down and then the
// HTTP server.
func TestListenAndServe(t *testing.T) {
	a := newFakeServerBinding("a")
	s := NewServer(WithServerBindings(a))
	s.AddThing(newTestThing(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, s) }()
	url := "http://" + ln.Addr().String()
	if resp, _ := get(t, url+"/a/session", nil); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if !s.Closed() {
		t.Error("the Server was not shut down")
	}
	if err := ListenAndServe(context.Background(), "127.0.0.1:-1", s); err == nil {
		t.Error("a bad address was accepted")
	}
	hs := newHTTPServer(s)
	if hs.ReadHeaderTimeout == 0 || hs.ReadTimeout == 0 || hs.WriteTimeout == 0 || hs.IdleTimeout == 0 || hs.MaxHeaderBytes == 0 {
		t.Fatalf("a timeout is unset: %+v", hs)
	}
}
