package nodewot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// bodyLimit caps each recorded request or response body.
const bodyLimit = 1 << 20

// Exchange is one HTTP request seen by a Recorder and the answer it got.
type Exchange struct {
	Method     string
	RequestURI string      // path and query as sent
	Header     http.Header // request header fields as sent, Host included
	// Framing of the request body: ContentLength is -1 with TransferEncoding ["chunked"] for a
	// streamed body (Go moves both out of Header).
	ContentLength    int64
	TransferEncoding []string
	Body             []byte
	Status           int // 0 when there was no answer (the client gave up, or the upstream failed)
	RespHeader       http.Header
	RespBody         []byte // as the upstream sent it, before any TD rewriting
	Err              string // why there was no complete answer
}

// Recorder is a logging HTTP proxy on 127.0.0.1 in front of one upstream origin. It rewrites the
// upstream origin to its own in Thing Descriptions (application/td+json answers), so a consumer
// given Recorder.URL(td) sends every request through it. Use it to see exactly what a peer sends.
type Recorder struct {
	srv      *httptest.Server
	upstream *url.URL
	client   *http.Client

	mu        sync.Mutex
	exchanges []*Exchange
}

// NewRecorder starts a Recorder in front of upstream (scheme://host:port); it stops with the test.
func NewRecorder(tb testing.TB, upstream string) *Recorder {
	tb.Helper()
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		tb.Fatalf("recorder upstream %q: want scheme://host:port", upstream)
	}
	r := &Recorder{
		upstream: &url.URL{Scheme: u.Scheme, Host: u.Host},
		// No compression and no redirects: forward exactly what the peer asked for.
		client: &http.Client{
			Transport:     &http.Transport{DisableCompression: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	// Unstarted first: serve reads r.srv.
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Start()
	tb.Cleanup(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
		r.client.CloseIdleConnections()
	})
	return r
}

// URL maps an upstream URL (e.g. a TD URL) to the same resource through the Recorder.
func (r *Recorder) URL(upstreamURL string) string {
	return strings.Replace(upstreamURL, r.upstream.String(), r.srv.URL, 1)
}

// Exchanges returns a copy of what was recorded so far, in the order the requests arrived.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Exchange, len(r.exchanges))
	for i, e := range r.exchanges {
		out[i] = *e
		out[i].Header = e.Header.Clone()
		out[i].RespHeader = e.RespHeader.Clone()
		out[i].Body = slices.Clone(e.Body)
		out[i].TransferEncoding = slices.Clone(e.TransferEncoding)
		out[i].RespBody = slices.Clone(e.RespBody)
	}
	return out
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, bodyLimit+1))
	ex := &Exchange{
		Method: req.Method, RequestURI: req.RequestURI, Header: req.Header.Clone(), Body: body,
		ContentLength: req.ContentLength, TransferEncoding: slices.Clone(req.TransferEncoding),
	}
	ex.Header.Set("Host", req.Host)
	r.mu.Lock()
	r.exchanges = append(r.exchanges, ex)
	r.mu.Unlock()
	finish := func(f func()) {
		r.mu.Lock()
		defer r.mu.Unlock()
		f()
	}
	if err != nil || len(body) > bodyLimit {
		finish(func() { ex.Err = fmt.Sprintf("request body unreadable or over %d bytes", bodyLimit) })
		http.Error(w, "recorder: request body too large", http.StatusRequestEntityTooLarge)
		return
	}

	target := *r.upstream
	target.Path, target.RawPath, target.RawQuery = req.URL.Path, req.URL.RawPath, req.URL.RawQuery
	var reqBody io.Reader
	if len(body) > 0 || req.ContentLength == 0 && req.Method != http.MethodGet && req.Method != http.MethodHead {
		reqBody = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(req.Context(), req.Method, target.String(), reqBody)
	if err != nil {
		finish(func() { ex.Err = err.Error() })
		http.Error(w, "recorder: "+err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range req.Header {
		if k == "Connection" || k == "Keep-Alive" || k == "Proxy-Connection" {
			continue
		}
		out.Header[k] = vs
	}
	resp, err := r.client.Do(out)
	if err != nil {
		finish(func() {
			ex.Err = err.Error()
			if errors.Is(req.Context().Err(), context.Canceled) {
				ex.Err = "client closed the request before an answer"
			}
		})
		if req.Context().Err() == nil {
			http.Error(w, "recorder: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit+1))
	finish(func() {
		ex.Status, ex.RespHeader, ex.RespBody = resp.StatusCode, resp.Header.Clone(), respBody
		if err != nil {
			ex.Err = "reading the answer: " + err.Error()
		}
	})
	if err != nil || len(respBody) > bodyLimit {
		http.Error(w, "recorder: answer unreadable or too large", http.StatusBadGateway)
		return
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/td+json") {
		respBody = bytes.ReplaceAll(respBody, []byte(r.upstream.String()), []byte(r.srv.URL))
	}
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "Connection" || k == "Keep-Alive" || k == "Transfer-Encoding" {
			continue
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// Transcript renders exchanges as text: request line, header fields, body, then the answer.
func Transcript(exchanges []Exchange) string {
	var b strings.Builder
	for i, e := range exchanges {
		fmt.Fprintf(&b, "#%d %s %s\n", i+1, e.Method, e.RequestURI)
		writeHeader(&b, "> ", e.Header)
		if len(e.TransferEncoding) > 0 {
			fmt.Fprintf(&b, "> Transfer-Encoding: %s\n", strings.Join(e.TransferEncoding, ", "))
		}
		if len(e.Body) > 0 {
			fmt.Fprintf(&b, "> body: %s\n", e.Body)
		}
		if e.Status == 0 {
			fmt.Fprintf(&b, "< (no answer: %s)\n\n", e.Err)
			continue
		}
		fmt.Fprintf(&b, "< %d %s\n", e.Status, http.StatusText(e.Status))
		writeHeader(&b, "< ", e.RespHeader)
		if len(e.RespBody) > 0 {
			body := e.RespBody
			if len(body) > 200 {
				body = append(slices.Clone(body[:200]), "…"...)
			}
			fmt.Fprintf(&b, "< body: %s\n", body)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeHeader(b *strings.Builder, prefix string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s%s: %s\n", prefix, k, v)
		}
	}
}
