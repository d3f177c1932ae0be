package directory

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var benchFlag = flag.Bool("directory.bench", false, "run TestThroughput: registrations/s and searches/s on 10,000 TDs for each store")

// benchTD is a TD of typical size (about 1.7 KB): five properties, two actions, one event.
func benchTD(id string, i int) []byte {
	props := ""
	for _, p := range []string{"on", "level", "temperature", "humidity", "status"} {
		props += fmt.Sprintf(`%q: {"type": "number", "observable": true, "forms": [{"href": "props/%s", "contentType": "application/json"}]},`, p, p)
	}
	props = props[:len(props)-1]
	return fmt.Appendf(nil, `{"@context": ["https://www.w3.org/2022/wot/td/v1.1", {"@language": "en"}], "id": %q, "title": "Device %d",
 "@type": "saref:Device", "description": "benchmark device %d in room %d", "base": "http://10.0.%d.%d:8080/",
 "securityDefinitions": {"basic_sc": {"scheme": "basic", "in": "header"}}, "security": "basic_sc",
 "properties": {%s},
 "actions": {"reset": {"forms": [{"href": "actions/reset"}]}, "fade": {"input": {"type": "object", "properties": {"level": {"type": "integer"}}}, "forms": [{"href": "actions/fade"}]}},
 "events": {"alarm": {"data": {"type": "string"}, "forms": [{"href": "events/alarm", "subprotocol": "longpoll"}]}},
 "registration": {"ttl": 86400}}`, id, i, i, i%50, i/250, i%250, props)
}

// TestThroughput measures the directory over HTTP on 127.0.0.1 (client and server in one process):
//
//	go test ./internal/directory -run TestThroughput -directory.bench -v
//
// with WOTGEN_TEST_POSTGRES set (eval "$(.ci/directory.sh)") to include PostgreSQL.
func TestThroughput(t *testing.T) {
	if !*benchFlag {
		t.Skip("throughput measurement: run with -directory.bench")
	}
	const n, workers = 10_000, 8
	forEachStore(t, func(t *testing.T, k storeKind) {
		in := startInstance(t, k.open(t), Config{})
		c := newClient(t, in)
		ctx := context.Background()
		rate := func(what string, count int64, d time.Duration) {
			t.Logf("%-8s %-44s %8.0f/s  (%d in %v)", k.name, what, float64(count)/d.Seconds(), count, d.Round(time.Millisecond))
		}
		parallel := func(count int, fn func(i int) error) time.Duration {
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			start := time.Now()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= count {
							return
						}
						if err := fn(i); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			return time.Since(start)
		}
		id := func(i int) string { return fmt.Sprintf("urn:bench:%05d", i) }
		d := parallel(n, func(i int) error {
			_, err := c.CreateJSON(ctx, id(i), benchTD(id(i), i))
			return err
		})
		rate(fmt.Sprintf("registrations (PUT, %d clients)", workers), n, d)

		const reads = 4000
		d = parallel(reads, func(i int) error {
			_, err := c.GetJSON(ctx, id(i*7%n))
			return err
		})
		rate(fmt.Sprintf("retrievals (GET, %d clients)", workers), reads, d)

		// The first search decodes the 10,000 TDs into the search cache; later ones reuse it.
		start := time.Now()
		if res, err := c.Search(ctx, `$[?@.title=='Device 1234'].id`); err != nil || len(res) != 1 {
			t.Fatalf("search: %v %s", err, res)
		}
		t.Logf("%-8s %-44s %8v", k.name, "first search (loads the cache)", time.Since(start).Round(time.Millisecond))
		for _, q := range []struct {
			name, query string
			vary        bool // the query has a %d for the iteration number
		}{
			{"search, filter on title", `$[?@.title=='Device %d'].id`, true},
			{"search, nested filter", `$[?@.properties.humidity && @.base=='http://10.0.%d.1:8080/'].id`, true},
			{"search, descendant", `$..events.alarm.forms[0].subprotocol`, false},
		} {
			searches := 80
			if !q.vary {
				searches = 16 // a descendant walk visits every node of every TD
			}
			d = parallel(searches, func(i int) error {
				query := q.query
				if q.vary {
					query = fmt.Sprintf(q.query, i%50)
				}
				_, err := c.Search(ctx, query)
				return err
			})
			rate(fmt.Sprintf("%s (%d clients)", q.name, workers), int64(searches), d)
		}
		// Writes invalidate the cache: a write followed by a search pays the reload.
		start = time.Now()
		const mixed = 20
		for i := range mixed {
			if err := c.Patch(ctx, id(i), map[string]any{"description": "changed"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Search(ctx, `$[?@.description=='changed'].id`); err != nil {
				t.Fatal(err)
			}
		}
		rate("write + search pairs (cache reload each)", mixed, time.Since(start))
	})
}
