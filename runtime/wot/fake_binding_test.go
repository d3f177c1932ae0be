package wot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
)

// fakeBinding accepts the forms whose href has its scheme (and, if set, its subprotocol)
// and answers requests with handle. It records what the core asked of it.
type fakeBinding struct {
	name, scheme, subprotocol string
	handle                    func(r *Request) (*Response, error)
	openErr                   error

	mu      sync.Mutex
	opened  []*Target
	reqs    []*Request
	sinks   []Sink
	stopped int
	closed  int
}

func (b *fakeBinding) Name() string { return b.name }

func (b *fakeBinding) Accepts(f *td.Form, u *url.URL, op string) bool {
	return u.Scheme == b.scheme && (b.subprotocol == "" || f.Subprotocol == b.subprotocol)
}

func (b *fakeBinding) Open(_ context.Context, t *Target) (Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened = append(b.opened, t)
	if b.openErr != nil {
		return nil, b.openErr
	}
	return &fakeClient{b: b}, nil
}

func (b *fakeBinding) requests() []*Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Request(nil), b.reqs...)
}

// summary lists the requests as "op name URL".
func (b *fakeBinding) summary() string {
	var out []string
	for _, r := range b.requests() {
		out = append(out, strings.TrimSpace(r.Op+" "+r.Name+" "+r.URL.String()))
	}
	return strings.Join(out, "\n")
}

type fakeClient struct{ b *fakeBinding }

func (c *fakeClient) Do(_ context.Context, r *Request) (*Response, error) {
	c.b.mu.Lock()
	c.b.reqs = append(c.b.reqs, r)
	h := c.b.handle
	c.b.mu.Unlock()
	if h == nil {
		return echo(r)
	}
	return h(r)
}

func (c *fakeClient) Subscribe(_ context.Context, r *Request, s Sink) (func(context.Context) error, error) {
	c.b.mu.Lock()
	c.b.reqs = append(c.b.reqs, r)
	c.b.sinks = append(c.b.sinks, s)
	c.b.mu.Unlock()
	return func(context.Context) error {
		c.b.mu.Lock()
		c.b.stopped++
		c.b.mu.Unlock()
		return nil
	}, nil
}

func (c *fakeClient) Close() error {
	c.b.mu.Lock()
	c.b.closed++
	c.b.mu.Unlock()
	return nil
}

// echo is a minimal Thing: every property reads as its own name, writes are confirmed.
func echo(r *Request) (*Response, error) {
	switch r.Op {
	case td.OpReadProperty:
		return &Response{Value: json.RawMessage(fmt.Sprintf("%q", r.Name))}, nil
	case td.OpWriteProperty:
		return &Response{Value: r.Value}, nil
	case td.OpReadAllProperties:
		return &Response{Values: map[string]json.RawMessage{"all": json.RawMessage(`1`)}}, nil
	case td.OpReadMultipleProperties:
		m := map[string]json.RawMessage{}
		for _, n := range r.Names {
			m[n] = json.RawMessage(`1`)
		}
		return &Response{Values: m}, nil
	case td.OpWriteAllProperties, td.OpWriteMultipleProperties:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.Value, &m); err != nil {
			return nil, err
		}
		return &Response{Values: m}, nil
	}
	return &Response{}, nil
}

func parseTD(t *testing.T, doc string) *td.Thing {
	t.Helper()
	th, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("test TD: %v", err)
	}
	return th
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const tdHead = `"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:test", "title": "T",
 "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n"`
