package bench

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

func init() {
	targets = append(targets, struct {
		name  string
		start func(testing.TB) target
	}{"wotgen", startWotgen})
}

const benchTD = `{
	"@context": "https://www.w3.org/2022/wot/td/v1.1",
	"id": "` + benchThingID + `",
	"title": "Bench lamp",
	"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
	"security": "nosec_sc",
	"properties": {
		"level": {"type": "integer", "observable": true, "forms": [{"href": "ws://localhost/wtp", "subprotocol": "webthingprotocol",
			"op": ["readproperty", "writeproperty", "observeproperty", "unobserveproperty"]}]}
	}
}`

// wotgenServer is the runtime under test: a dynamic Thing with the in-memory store, as generated
// servers use it.
type wotgenServer struct {
	srv   *httptest.Server
	ws    *wot.Server
	thing *wot.Thing
}

func startWotgen(tb testing.TB) target {
	desc, err := td.Parse([]byte(benchTD))
	if err != nil {
		tb.Fatal(err)
	}
	thing, err := wot.NewThing(desc)
	if err != nil {
		tb.Fatal(err)
	}
	ws := wot.NewServer()
	if err := ws.AddThing(thing); err != nil {
		tb.Fatal(err)
	}
	return &wotgenServer{srv: httptest.NewServer(ws), ws: ws, thing: thing}
}

func (w *wotgenServer) url() string     { return "ws" + strings.TrimPrefix(w.srv.URL, "http") + "/wtp" }
func (w *wotgenServer) thingID() string { return benchThingID }
func (w *wotgenServer) notify(v int)    { w.thing.SetProperty("level", v) }
func (w *wotgenServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.ws.Shutdown(ctx)
	w.srv.Close()
}
