package bench

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/bench/rawthing"
)

// rawTarget is the baseline (package rawthing) behind an in-process HTTP server.
type rawTarget struct {
	srv   *httptest.Server
	thing *rawthing.Server
}

func startRaw(tb testing.TB) target {
	r := &rawTarget{thing: rawthing.New()}
	r.srv = httptest.NewServer(r.thing.Handler())
	return r
}

func (r *rawTarget) url() string     { return "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/wtp" }
func (r *rawTarget) thingID() string { return rawthing.ThingID }
func (r *rawTarget) notify(v int)    { r.thing.Notify(v) }
func (r *rawTarget) close()          { r.srv.CloseClientConnections(); r.srv.Close() }
