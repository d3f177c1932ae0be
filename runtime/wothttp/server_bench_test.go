package wothttp_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// benchValue is the property value both servers send.
type benchValue struct {
	Brightness int     `json:"brightness"`
	On         bool    `json:"on"`
	Color      string  `json:"color"`
	Power      float64 `json:"power"`
}

var benchV = benchValue{Brightness: 42, On: true, Color: "#ffaa00", Power: 7.25}

// serveBench serves h on 127.0.0.1 and returns its URL and a stop function.
func serveBench(b *testing.B, h http.Handler) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }
}

// client is a keep-alive client with one connection per server.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
}

func get(b *testing.B, c *http.Client, u string) {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// wotURL serves a Thing with the value through wot.Server and every registered binding
// (WTP and HTTP) and returns the property's URL.
func wotURL(b *testing.B) (string, func()) {
	d, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:bench:lamp", "title": "Lamp",
	  "securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
	  "properties": {"state": {"type": "object", "properties": {"brightness": {"type": "integer"}, "on": {"type": "boolean"},
	    "color": {"type": "string"}, "power": {"type": "number"}}}}}`))
	if err != nil {
		b.Fatal(err)
	}
	th, err := wot.NewThing(d)
	if err != nil {
		b.Fatal(err)
	}
	th.SetProperty("state", benchV)
	srv := wot.NewServer()
	if err := srv.AddThing(th); err != nil {
		b.Fatal(err)
	}
	u, stop := serveBench(b, srv)
	return u + "/things/urn:bench:lamp/properties/state", func() { stop(); srv.Close() }
}

// plainURL serves the same value with a plain net/http handler and encoding/json.
func plainURL(b *testing.B) (string, func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/lamp/properties/state", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(benchV)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	u, stop := serveBench(b, mux)
	return u + "/things/lamp/properties/state", stop
}

// BenchmarkReadProperty measures readproperty round trips over 127.0.0.1 (one keep-alive
// connection) through wot.Server and the HTTP binding, and through a plain net/http handler
// encoding the same value.
func BenchmarkReadProperty(b *testing.B) {
	for _, c := range []struct {
		name  string
		serve func(*testing.B) (string, func())
	}{{"wot", wotURL}, {"plain", plainURL}} {
		b.Run(c.name, func(b *testing.B) {
			u, stop := c.serve(b)
			defer stop()
			cl := benchClient()
			defer cl.CloseIdleConnections()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				get(b, cl, u)
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			u, stop := c.serve(b)
			defer stop()
			cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer cl.CloseIdleConnections()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, cl, u)
				}
			})
		})
	}
}

// BenchmarkReadPropertyRatio interleaves the two round trips in one run and reports the
// binding's throughput relative to the plain handler's ("ratio"; 1 = as fast).
func BenchmarkReadPropertyRatio(b *testing.B) {
	wu, wstop := wotURL(b)
	defer wstop()
	pu, pstop := plainURL(b)
	defer pstop()
	wc, pc := benchClient(), benchClient()
	defer wc.CloseIdleConnections()
	defer pc.CloseIdleConnections()
	get(b, wc, wu)
	get(b, pc, pu)
	var wotD, plainD time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		get(b, wc, wu)
		t1 := time.Now()
		get(b, pc, pu)
		wotD += t1.Sub(t0)
		plainD += time.Since(t1)
	}
	b.ReportMetric(float64(plainD)/float64(wotD), "ratio")
	b.ReportMetric(float64(wotD.Nanoseconds())/float64(b.N), "wot-ns/op")
	b.ReportMetric(float64(plainD.Nanoseconds())/float64(b.N), "plain-ns/op")
}
