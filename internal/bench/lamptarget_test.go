package bench

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/device"
	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/runtime/wot"
)

func init() {
	targets = append(targets, struct {
		name  string
		start func(testing.TB) target
	}{"lamp", startLampDevice})
}

// lampServer is the generated server of examples/lamp with its device behind it: every read
// of "level" calls the device's ReadLevel handler, the path generated servers take.
type lampServer struct {
	srv  *httptest.Server
	ws   *wot.Server
	lamp *device.Lamp
	id   string
}

func startLampDevice(tb testing.TB) target {
	lamp, ws, err := device.New(device.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return &lampServer{srv: httptest.NewServer(ws), ws: ws, lamp: lamp, id: lamp.Exposed().Exposed().ID()}
}

func (l *lampServer) url() string     { return "ws" + strings.TrimPrefix(l.srv.URL, "http") + "/wtp" }
func (l *lampServer) thingID() string { return l.id }
func (l *lampServer) notify(v int)    { l.lamp.Exposed().NotifyLevel(lampwot.Level(v % 101)) }
func (l *lampServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.ws.Shutdown(ctx)
	l.srv.Close()
}
