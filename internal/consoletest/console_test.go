// Package consoletest drives the Thing console (runtime/console) in a real headless Chromium against
// real Things on 127.0.0.1: the example lamp, a hostile TD, a bearer-protected lamp and a large TD
// from the corpus. Run with -update-screenshots to rewrite the screenshots committed next to the
// examples.
package consoletest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/internal/sample"
	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/console"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite examples/lamp/console.png and examples/console-corpus.png")

// browser is one headless Chromium shared by all tests (starting it is the slow part).
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// newTab opens a fresh tab (its own page, nothing shared but the browser process) with a
// 1200×900 viewport. It skips when no Chromium is installed, and fails instead under CI=true.
func newTab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (CI=true): run .ci/console.sh to install the Debian package chromium, or set CHROMIUM")
		}
		t.Skip("no Chromium found: install the Debian package chromium (.ci/console.sh) or set CHROMIUM to run the browser tests")
	}
	browser.once.Do(func() {
		opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
			chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.Flag("disable-dev-shm-usage", true))
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel() }
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx)
	t.Cleanup(cancel)
	// The first action opens the tab and binds its life to the context it runs with: no timeout
	// there; later actions get one.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1200, 900)); err != nil {
		t.Fatal(err)
	}
	ctx, cancelT := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JS expression and decodes its value into *out.
func eval[T any](t *testing.T, ctx context.Context, expr string, out *T) {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	*out = v
}

// waitJS polls a JS expression until it returns true, failing with what after 10 s.
func waitJS(t *testing.T, ctx context.Context, expr, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+expr+")"))
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#conn').textContent + ' | ' + document.querySelector('#notice').textContent + ' | ' + document.querySelector('main').innerText.slice(0, 1500)`))
			t.Fatalf("timed out waiting for %s; page: %s", what, page)
		}
		time.Sleep(40 * time.Millisecond) // polling interval, not an assertion
	}
}

// text is the textContent of the first element matching sel ("" when there is none).
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	eval(t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel), &s)
	return s
}

func js(s string) string { b, _ := json.Marshal(s); return string(b) }

func screenshot(t *testing.T, ctx context.Context, file string) {
	t.Helper()
	if !*updateScreenshots {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", file, len(png))
}

// setField empties an input and types value into it as a user would, so input events fire.
func setField(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		void(chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%s).value = '', true)`, js(sel)))),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// dropListener records the connections it accepts so a test can cut them all, as a network
// outage would (httptest.Server.CloseClientConnections skips hijacked WebSocket connections).
type dropListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *dropListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *dropListener) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func TestLampConsole(t *testing.T) {
	lamp, srv, err := device.New(device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(console.With(srv))
	t.Cleanup(hs.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/"))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "the connection state to say connected")
	if got := text(t, ctx, "#conn"); !strings.Contains(got, "Connected") {
		t.Errorf("connection state reads %q, want it to say Connected in words (not only colour)", got)
	}
	if got := text(t, ctx, "#title"); got != "Lamp" {
		t.Errorf("title = %q, want Lamp", got)
	}

	// The three properties, with titles, descriptions, units and live values.
	var names []string
	eval(t, ctx, `[...document.querySelectorAll('[data-prop]')].map(e => e.dataset.prop)`, &names)
	slices.Sort(names)
	if !slices.Equal(names, []string{"level", "on", "temperature"}) {
		t.Fatalf("property cards = %v, want on, level, temperature", names)
	}
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '50'`, "level 50")
	waitJS(t, ctx, `document.querySelector('[data-prop=temperature] .value').textContent === '45'`, "temperature 45")
	if got := text(t, ctx, "[data-prop=level] h3"); !strings.Contains(got, "Brightness") {
		t.Errorf("level title = %q, want the TD title Brightness", got)
	}
	if got := text(t, ctx, "[data-prop=level] .reading"); !strings.Contains(got, "%") {
		t.Errorf("level reading = %q, want the unit (percent → %%)", got)
	}
	if got := text(t, ctx, "[data-prop=temperature] .desc"); got != "The temperature of the lamp head in degrees Celsius." {
		t.Errorf("temperature description = %q", got)
	}
	var inputs map[string]any
	eval(t, ctx, `({
		levelNumber: !!document.querySelector('[data-prop=level] input[type=number][min="0"][max="100"]'),
		levelSlider: !!document.querySelector('[data-prop=level] input[type=range]'),
		onSwitch: !!document.querySelector('[data-prop=on] input[type=checkbox][role=switch]'),
		tempWritable: !!document.querySelector('[data-prop=temperature] form.write'),
		labelled: [...document.querySelectorAll('main input, main select, main textarea')].every(i => i.labels.length > 0 || i.getAttribute('aria-label')),
	})`, &inputs)
	want := map[string]any{"levelNumber": true, "levelSlider": true, "onSwitch": true, "tempWritable": false, "labelled": true}
	for k, v := range want {
		if inputs[k] != v {
			t.Errorf("%s = %v, want %v", k, inputs[k], v)
		}
	}

	// Write level 80 from the keyboard (Enter submits) and see it come back (the lamp holds it too).
	run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "80\r"))
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '80'`, "level 80 after the write")
	waitJS(t, ctx, `document.querySelector('[data-prop=temperature] .value').textContent === '60'`, "temperature 60 (observed)")
	if v, _ := lamp.ReadLevel(context.Background()); v != 80 {
		t.Errorf("the lamp's level = %d after writing 80 from the console", v)
	}

	// The switch writes on change.
	run(t, ctx, chromedp.Click(chromedp.CSS(`[data-prop=on] input[role=switch]`)))
	waitJS(t, ctx, `document.querySelector('[data-prop=on] .value').textContent === 'true'`, "on = true")

	// Start a fade and watch the level move and the action complete.
	run(t, ctx,
		setField(`[data-action=fade] input[name=level]`, "20"),
		setField(`[data-action=fade] input[name=duration]`, "800"),
		chromedp.Click(chromedp.CSS(`[data-action=fade] form.invoke button[type=submit]`)))
	seen := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := text(t, ctx, "[data-prop=level] .value")
		seen[v] = true
		if v == "20" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the level never reached 20 during the fade; saw %v", seen)
		}
		time.Sleep(15 * time.Millisecond) // sampling interval
	}
	if len(seen) < 4 {
		t.Errorf("saw only the levels %v during an 800 ms fade from 80 to 20, want it to move through several", seen)
	}
	waitJS(t, ctx, `document.querySelector('[data-action=fade] .run').dataset.state === 'completed'`, "the fade to complete")
	if got := text(t, ctx, "[data-action=fade] .run .output"); !strings.Contains(got, "true") {
		t.Errorf("completed fade output = %q, want true", got)
	}

	// An input that breaks the action's schema is caught before it is sent.
	run(t, ctx, setField(`[data-action=fade] input[name=level]`, "120"),
		chromedp.Click(chromedp.CSS(`[data-action=fade] form.invoke button[type=submit]`)))
	if got := text(t, ctx, "[data-action=fade] .status"); !strings.Contains(got, "Not sent") || !strings.Contains(got, "input.level must be at most 100") {
		t.Errorf("status after an invalid fade input = %q, want it refused before sending", got)
	}
	var runsBefore int
	eval(t, ctx, `document.querySelectorAll('[data-action=fade] .run').length`, &runsBefore)
	if runsBefore != 1 {
		t.Errorf("%d invocations listed after an invalid input, want it not sent (1)", runsBefore)
	}

	// Cancel a second fade.
	run(t, ctx,
		setField(`[data-action=fade] input[name=level]`, "90"),
		setField(`[data-action=fade] input[name=duration]`, "20000"),
		chromedp.Click(chromedp.CSS(`[data-action=fade] form.invoke button[type=submit]`)))
	waitJS(t, ctx, `document.querySelector('[data-action=fade] .run').dataset.state === 'running' && document.querySelector('[data-action=fade] .run button.cancel')`, "the second fade to run with a cancel button")
	waitJS(t, ctx, `Number(document.querySelector('[data-prop=level] .value').textContent) > 20`, "the second fade to move the level")
	run(t, ctx, chromedp.Click(chromedp.CSS(`[data-action=fade] .run button.cancel`)))
	waitJS(t, ctx, `document.querySelector('[data-action=fade] .run').dataset.state === 'cancelled'`, "the fade to be cancelled")
	if v, _ := lamp.ReadLevel(context.Background()); v >= 90 {
		t.Errorf("the lamp reached %d although the fade was cancelled", v)
	}
	var runs int
	eval(t, ctx, `document.querySelectorAll('[data-action=fade] .run').length`, &runs)
	if runs != 2 {
		t.Errorf("%d invocations listed, want 2", runs)
	}

	// Level 100 overheats the lamp: the event shows in the log with its data and a timestamp.
	run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "100"),
		chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
	waitJS(t, ctx, `document.querySelector('#log li[data-event=overheated]')`, "the overheated event in the log")
	if got := text(t, ctx, "#log li[data-event=overheated]"); !strings.Contains(got, "Overheated") || !strings.Contains(got, "70") {
		t.Errorf("event log entry = %q, want the title Overheated and the temperature 70", got)
	}
	var stamp string
	eval(t, ctx, `document.querySelector('#log li time').getAttribute('datetime')`, &stamp)
	if _, err := time.Parse(time.RFC3339, stamp); err != nil {
		t.Errorf("event timestamp %q: %v", stamp, err)
	}

	// A write of 120 is refused by the Thing, and the console says why.
	run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "120"),
		chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .status').textContent.startsWith('Refused')`, "the write of 120 to be refused")
	if got := text(t, ctx, "[data-prop=level] .status"); !strings.Contains(got, "100") || !strings.Contains(got, "400") {
		t.Errorf("refusal reads %q, want the Thing's reason (maximum 100) and status 400", got)
	}
	if got := text(t, ctx, "[data-prop=level] .value"); got != "100" {
		t.Errorf("level shows %q after the refused write, want 100", got)
	}
	screenshot(t, ctx, filepath.Join("..", "..", "examples", "lamp", "console.png"))
}

func TestReconnect(t *testing.T) {
	lamp, srv, err := device.New(device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(console.With(srv))
	dl := &dropListener{Listener: hs.Listener}
	hs.Listener = dl
	hs.Start()
	t.Cleanup(hs.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/"))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected")
	dl.drop() // the network drops every connection
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state !== 'open'`, "the console to notice the drop")
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "the console to reconnect by itself")
	// Observations are renewed on the new connection.
	if err := lamp.WriteLevel(context.Background(), 33); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '33'`, "a change notified on the new connection")
}

func TestHostileTD(t *testing.T) {
	const script = `<script>window.__pwned = 'script'</script>`
	const img = `<img src=x onerror="window.__pwned = 'img'">`
	doc := fmt.Sprintf(`{
		"@context": "https://www.w3.org/2022/wot/td/v1.1",
		"id": "urn:uuid:7f1b3a52-0b8e-4b0f-9a55-2d0c1e1f0a01",
		"title": %[1]s, "description": %[2]s,
		"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
		"properties": {
			%[2]s: {"title": %[2]s, "description": %[1]s, "type": "string", "unit": %[2]s, "enum": [%[1]s, %[2]s]},
			"x": {"title": %[1]s, "type": "object", "properties": {"a": {"type": "string"}}}
		},
		"actions": {"act": {"title": %[2]s, "description": %[1]s, "input": {"type": "object", "properties": {"f": {"title": %[2]s, "type": "string"}}}}},
		"events": {"ev": {"title": %[1]s, "description": %[2]s, "data": {"type": "string"}}}
	}`, js(script), js(img))
	desc, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	thing, err := wot.NewThing(desc, wot.WithTDPath("/"))
	if err != nil {
		t.Fatal(err)
	}
	if err := thing.SetProperty(img, img); err != nil {
		t.Fatal(err)
	}
	if err := thing.SetProperty("x", map[string]string{"a": script}); err != nil {
		t.Fatal(err)
	}
	thing.HandleAction("act", func(context.Context, json.RawMessage) (any, error) { return img, nil })
	srv := wot.NewServer()
	if err := srv.AddThing(thing); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(console.With(srv))
	t.Cleanup(hs.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/"))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('[data-prop] .value').textContent === %s`, js(img)), "the hostile value shown as text")
	if err := thing.EmitEvent("ev", script); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelector('#log li')`, "the hostile event in the log")
	run(t, ctx, chromedp.Click(chromedp.CSS(`[data-action=act] form.invoke button[type=submit]`)))
	waitJS(t, ctx, `document.querySelector('[data-action=act] .run').dataset.state === 'completed'`, "the action to complete")

	var got struct {
		Pwned    any      `json:"pwned"`
		Markup   int      `json:"markup"`
		Title    string   `json:"title"`
		H3       []string `json:"h3"`
		Options  []string `json:"options"`
		Log      string   `json:"log"`
		Output   string   `json:"output"`
		Document string   `json:"document"`
	}
	eval(t, ctx, `({
		pwned: window.__pwned === undefined ? null : window.__pwned,
		markup: document.querySelectorAll('body img, body script:not([src])').length,
		title: document.querySelector('#title').textContent,
		h3: [...document.querySelectorAll('main h3')].map(h => h.textContent),
		options: [...document.querySelectorAll('[data-prop] select option')].map(o => o.textContent),
		log: document.querySelector('#log li').textContent,
		output: document.querySelector('[data-action=act] .run .output').textContent,
		document: document.title,
	})`, &got)
	if got.Pwned != nil {
		t.Errorf("TD text ran as code: window.__pwned = %v", got.Pwned)
	}
	if got.Markup != 0 {
		t.Errorf("%d <img>/<script> elements in the page: TD text was parsed as HTML", got.Markup)
	}
	if got.Title != script {
		t.Errorf("title shown as %q, want the literal text %q", got.Title, script)
	}
	for _, want := range []string{img, script} {
		if !slices.ContainsFunc(got.H3, func(h string) bool { return strings.HasPrefix(h, want) }) {
			t.Errorf("no affordance heading shows %q literally; headings: %q", want, got.H3)
		}
	}
	if !slices.Contains(got.Options, script) || !slices.Contains(got.Options, img) {
		t.Errorf("enum options %q, want both hostile strings as text", got.Options)
	}
	if !strings.Contains(got.Log, script) {
		t.Errorf("event log %q, want the data as text", got.Log)
	}
	if !strings.Contains(got.Output, img) {
		t.Errorf("action output %q, want it as text", got.Output)
	}
}

func TestBearerLamp(t *testing.T) {
	const token = "s3cret-t0ken"
	_, srv, err := device.New(device.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(console.With(srv))
	t.Cleanup(hs.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/"))
	waitJS(t, ctx, `!document.querySelector('#auth').hidden`, "the console to ask for a token")
	if got := text(t, ctx, "#conn"); strings.Contains(got, "Connected") {
		t.Fatalf("connected without a token: %q", got)
	}

	// A wrong token is refused, and the console asks again.
	run(t, ctx, setField("#token", "wrong"), chromedp.Click(chromedp.CSS(`#auth button[type=submit]`)))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'refused' && !document.querySelector('#auth').hidden`, "a refusal and a new prompt")

	run(t, ctx, setField("#token", token), chromedp.Click(chromedp.CSS(`#auth button[type=submit]`)))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected with the token")
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '50'`, "level 50 read with the token")
	run(t, ctx, setField(`[data-prop=level] form.write input[type=number]`, "30"),
		chromedp.Click(chromedp.CSS(`[data-prop=level] form.write button`)))
	waitJS(t, ctx, `document.querySelector('[data-prop=level] .value').textContent === '30'`, "level 30 written with the token")

	// The token is kept in memory only: not in the page URL, storage, cookies or the form.
	var leaks []string
	eval(t, ctx, fmt.Sprintf(`[location.href, JSON.stringify({...localStorage}), JSON.stringify({...sessionStorage}), document.cookie, document.querySelector('#token').value, document.body.innerText].filter(s => s.includes(%s))`, js(token)), &leaks)
	if len(leaks) > 0 {
		t.Errorf("the token leaked into %q", leaks)
	}
}

// TestCorpusTD opens a large real-world TD served by a dynamic Thing with sample values (its
// original forms point at a device that is not here, so the server adds Web Thing Protocol forms),
// next to a second Thing, so the console offers a choice.
func TestCorpusTD(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testcorpus.Dir(t), "td", "valid", "wot-testing__SenseHAT.json"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	thing, err := wot.NewThing(desc, wot.WithID("urn:uuid:3c7e0a1e-1d5f-4f0e-8a4b-5e6f7a8b9c0d"))
	if err != nil {
		t.Fatal(err)
	}
	gen := sample.New(1)
	for _, n := range desc.PropertyNames() {
		v, _ := gen.Sample(&desc.Properties[n].DataSchema)
		if err := thing.SetProperty(n, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range desc.ActionNames() {
		out := desc.Actions[n].Output
		thing.HandleAction(n, func(context.Context, json.RawMessage) (any, error) {
			v, _ := sample.New(2).Sample(out)
			return v, nil
		})
	}
	other, err := wot.NewThing(&td.Thing{Title: "Second Thing", ID: "urn:uuid:0b0e1f52-8f0c-4d7e-a2f3-9a1b2c3d4e5f",
		Properties: map[string]*td.PropertyAffordance{"count": {DataSchema: td.DataSchema{Type: "integer"}}}})
	if err != nil {
		t.Fatal(err)
	}
	other.SetProperty("count", 7)
	srv := wot.NewServer()
	for _, th := range []*wot.Thing{thing, other} {
		if err := srv.AddThing(th); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(console.With(srv))
	t.Cleanup(hs.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/"))
	waitJS(t, ctx, `document.querySelector('#conn').dataset.state === 'open'`, "connected")
	waitJS(t, ctx, `[...document.querySelectorAll('[data-prop] .value')].every(v => v.textContent !== '—')`, "every property to show a value")
	var counts [3]int
	eval(t, ctx, `[document.querySelectorAll('[data-prop]').length, document.querySelectorAll('[data-action]').length, document.querySelectorAll('#eventinfo li').length]`, &counts)
	if want := [3]int{len(desc.Properties), len(desc.Actions), len(desc.Events)}; counts != want {
		t.Errorf("rendered %v properties/actions/events, want %v", counts, want)
	}
	// An array property is written as JSON, and a wrong value is caught before it is sent.
	run(t, ctx, setField(`[data-prop=pixels] textarea`, `[[1,2,3]]`))
	waitJS(t, ctx, `document.querySelector('[data-prop=pixels] textarea').getAttribute('aria-invalid') === 'true'`, "inline validation of the pixels array")
	if got := text(t, ctx, "[data-prop=pixels] .errors"); !strings.Contains(got, "at least 64 items") {
		t.Errorf("inline errors = %q, want the minItems violation", got)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`[data-prop=pixels] form.write button`)))
	if got := text(t, ctx, "[data-prop=pixels] .status"); !strings.HasPrefix(got, "Not sent") {
		t.Errorf("status after writing an invalid array = %q, want Not sent", got)
	}
	run(t, ctx, chromedp.ScrollIntoView(chromedp.CSS(`body`)))
	screenshot(t, ctx, filepath.Join("..", "..", "examples", "console-corpus.png"))

	// The picker lists both Things and switches between them.
	waitJS(t, ctx, `!document.querySelector('#picker').hidden`, "the Thing picker")
	var changed bool
	eval(t, ctx, `(() => { const s = document.querySelector('#thing'); s.value = '1'; return s.dispatchEvent(new Event('change')); })()`, &changed)
	waitJS(t, ctx, `document.querySelector('#title').textContent === 'Second Thing'`, "the second Thing")
	waitJS(t, ctx, `document.querySelector('[data-prop=count] .value').textContent === '7'`, "the second Thing's value")
}

// TestMalformedTD: a TD with members of the wrong JSON types renders what it can, says when no form
// is usable, and a TD URL that does not answer is reported, not thrown.
func TestMalformedTD(t *testing.T) {
	mux := http.NewServeMux()
	console.Mount(mux, "/console/")
	mux.HandleFunc("GET /.well-known/wot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/td+json")
		io.WriteString(w, `{"title": 5, "description": {"x": 1}, "base": 7, "security": [null, "missing"],
			"securityDefinitions": {"missing": null}, "forms": 3,
			"properties": {"a": null, "b": {"title": ["x"], "type": "integer", "minimum": "low", "unit": {}, "forms": "x"},
				"c": {"type": "object", "forms": [null, 1, {"href": 5}, {"href": "ws://[bad"}, {"href": "wss://h/x", "subprotocol": "webthingprotocol", "op": 42}]}},
			"actions": [1, 2], "events": {"e": {"forms": [{"href": "mqtt://broker/e"}]}}}`)
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/"))
	waitJS(t, ctx, `document.querySelectorAll('[data-prop]').length === 2`, "the two property objects rendered")
	if got := text(t, ctx, "#title"); got != "Untitled Thing" {
		t.Errorf("title %q, want Untitled Thing for a non-string title", got)
	}
	if got := text(t, ctx, "[data-prop=b] .status"); !strings.Contains(got, "No form this console can use") {
		t.Errorf("status of a property without usable forms: %q", got)
	}
	if got := text(t, ctx, "#notice"); !strings.Contains(got, "No affordance has a form") {
		t.Errorf("notice %q, want the explanation that nothing can be reached", got)
	}
	run(t, ctx, chromedp.Navigate(hs.URL+"/console/?td=/nothing-here"))
	waitJS(t, ctx, `document.querySelector('#notice').textContent.includes('404')`, "the failed TD load reported")
}
