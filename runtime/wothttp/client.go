package wothttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
)

// Binding is the consumer side of the HTTP binding. The zero value is ready to use; the
// package registers one with the core in its init function.
type Binding struct{}

// NewBinding returns the HTTP consumer binding, for wot.WithBindings.
func NewBinding() *Binding { return &Binding{} }

// Name returns "http".
func (Binding) Name() string { return "http" }

// Subprotocols of the observe and subscribe operations (the form member "subprotocol",
// https://www.w3.org/TR/wot-thing-description11/#form).
const (
	subLongPoll = "longpoll"
	subSSE      = "sse"
)

// Accepts reports whether f can carry op over HTTP: an http or https href, a JSON media
// type for what the client sends and decodes (or, for one affordance's value, text/plain or
// opaque bytes: see media.go), a usable subprotocol and valid htv terms.
func (Binding) Accepts(f *td.Form, u *url.URL, op string) bool {
	if f == nil || u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	switch f.Subprotocol {
	case "", subLongPoll:
		// Long polling a whole Thing has no defined payload (which affordance changed?):
		// only an affordance's own form can be long-polled.
		if thingStreamOp(op) {
			return false
		}
		if f.Subprotocol != "" && !isStreamOp(op) && !isUnstreamOp(op) {
			return false
		}
	case subSSE:
		if !isStreamOp(op) && !isUnstreamOp(op) {
			return false
		}
	default:
		return false // webhook, websub, webthingprotocol, …: not this client's
	}
	if _, err := formMethod(f, op); err != nil {
		return false
	}
	if _, err := formHeaders(f); err != nil {
		return false
	}
	if f.Subprotocol == subSSE && isEventStream(f.ContentType) {
		// The SSE Profile's contentType describes the events' data, but real TDs (WebThings
		// Gateway, Eclipse Ditto) name the stream's own type: their data is JSON.
		return true
	}
	one := oneValueOp(op)
	if sendsBody(op) && !isJSON(f.ContentType) && !(one && isScalarMedia(f.ContentType)) {
		return false
	}
	rt := responseType(f)
	return isJSON(rt) || one && isScalarMedia(rt)
}

// Open returns the client for one consumed Thing.
func (Binding) Open(ctx context.Context, target *wot.Target) (wot.Client, error) {
	if target == nil || target.TD == nil || target.Config == nil {
		return nil, errors.New("wothttp: Open needs a target with its TD and Config")
	}
	base, err := target.Config.HTTPClient()
	if err != nil {
		return nil, err
	}
	c := &client{
		cfg:     target.Config,
		td:      target.TD,
		maxBody: maxBodyOf(target.Config),
		subs:    map[*stream]struct{}{},
	}
	c.secret = secretHeaders(target.TD, target.Config)
	rq := *base
	rq.CheckRedirect = c.checkRedirect(base.CheckRedirect)
	st := rq
	st.Timeout = 0 // streams end by their context only
	c.hc, c.sc = &rq, &st
	return c, nil
}

// client performs the operations of one consumed Thing over HTTP.
type client struct {
	cfg     *wot.Config
	td      *td.Thing
	hc      *http.Client // request/response operations
	sc      *http.Client // streams (SSE, long poll): no client-wide timeout
	maxBody int64
	secret  []string // header names that carry credentials

	mu     sync.Mutex
	closed bool
	subs   map[*stream]struct{}
}

// Do performs a request/response operation.
func (c *client) Do(ctx context.Context, r *wot.Request) (*wot.Response, error) {
	if r == nil || r.Form.Form == nil {
		return nil, errors.New("wothttp: a request needs its form")
	}
	if isUnstreamOp(r.Op) {
		// Over long poll and SSE, unobserving is closing the stream, which the
		// subscription's stop does: nothing goes on the wire.
		return &wot.Response{}, nil
	}
	if isStreamOp(r.Op) {
		return nil, fmt.Errorf("wothttp: %s is a subscription; use Subscribe", r.Op)
	}
	if c.isClosed() {
		return nil, errClosed
	}
	if _, ok := ctx.Deadline(); !ok && c.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
	}
	target := r.URL
	if r.Op == td.OpQueryAction || r.Op == td.OpCancelAction {
		u, err := actionURL(r)
		if err != nil {
			return nil, err
		}
		target = u
	}
	if target == nil {
		target = r.Form.URL
	}
	if target == nil {
		return nil, fmt.Errorf("wothttp: %s %q: the request has no URL", r.Op, r.Name)
	}
	var body []byte
	switch r.Op {
	case td.OpWriteProperty, td.OpWriteAllProperties, td.OpWriteMultipleProperties:
		if r.Value == nil {
			return nil, fmt.Errorf("wothttp: %s %q: no value to write", r.Op, r.Name)
		}
		body = r.Value
	case td.OpInvokeAction:
		body = r.Value // nil: the action has no input, so no body and no Content-Type
	case td.OpReadMultipleProperties:
		if m, _ := formMethod(r.Form.Form, r.Op); m != http.MethodGet && m != http.MethodHead {
			body, _ = json.Marshal(r.Names) // TD default payload: an array of names
		}
	}
	if m := mediaKindOf(r.Form.ContentType); body != nil && oneValueOp(r.Op) && (m == kindText || m == kindBytes) {
		conv := textFromJSON
		if m == kindBytes {
			conv = bytesFromJSON
		}
		b, err := conv(body)
		if err != nil {
			return nil, fmt.Errorf("wothttp: %s %q: the form sends %s: %w", r.Op, r.Name, r.Form.ContentType, err)
		}
		body = b
	}
	req, err := c.newRequest(ctx, r.Form.Form, r.Op, target, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(r.Op, target, err)
	}
	defer resp.Body.Close()
	return c.response(r, resp)
}

// response turns a completed HTTP exchange into the operation's result.
func (c *client) response(r *wot.Request, resp *http.Response) (*wot.Response, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, errorFromResponse(resp)
	}
	data, err := c.readValue(resp, r)
	if err != nil {
		return nil, err
	}
	reqURL := resp.Request.URL // the target after redirects: what Location resolves against
	switch r.Op {
	case td.OpReadProperty:
		if data == nil {
			return nil, fmt.Errorf("wothttp: readproperty %q: the Thing answered %d without a value", r.Name, resp.StatusCode)
		}
		return &wot.Response{Value: data}, nil
	case td.OpWriteProperty:
		return &wot.Response{Value: data}, nil
	case td.OpReadAllProperties, td.OpReadMultipleProperties, td.OpWriteAllProperties, td.OpWriteMultipleProperties:
		if data == nil {
			if r.Op == td.OpReadAllProperties || r.Op == td.OpReadMultipleProperties {
				return nil, fmt.Errorf("wothttp: %s: the Thing answered %d without a value", r.Op, resp.StatusCode)
			}
			return &wot.Response{}, nil
		}
		var vals map[string]json.RawMessage
		if err := json.Unmarshal(data, &vals); err != nil || vals == nil {
			return nil, fmt.Errorf("wothttp: %s: the Thing's answer is not a JSON object of property values", r.Op)
		}
		if r.Op == td.OpReadMultipleProperties && len(r.Names) > 0 {
			vals = pick(vals, r.Names)
		}
		return &wot.Response{Values: vals}, nil
	case td.OpInvokeAction:
		return c.invokeResponse(r, resp, reqURL, data)
	case td.OpQueryAction:
		if data == nil {
			return nil, fmt.Errorf("wothttp: queryaction %q: the Thing answered %d without an action status", r.Name, resp.StatusCode)
		}
		st, err := decodeStatus(data, reqURL)
		if err != nil {
			return nil, fmt.Errorf("wothttp: queryaction %q: %w", r.Name, err)
		}
		if st.Href == "" {
			st.Href = reqURL.String()
		}
		st.ActionID = actionIDOf(st.Href)
		if r.Action != nil && r.Action.ActionID != "" {
			st.ActionID = r.Action.ActionID
		}
		st.Name = r.Name
		if st.Name == "" && r.Action != nil {
			st.Name = r.Action.Name
		}
		return &wot.Response{Status: st}, nil
	case td.OpCancelAction:
		return &wot.Response{}, nil
	case td.OpQueryAllActions:
		if data == nil {
			return &wot.Response{Statuses: map[string][]wot.ActionStatus{}}, nil
		}
		all, err := decodeAllStatuses(data, reqURL)
		if err != nil {
			return nil, fmt.Errorf("wothttp: queryallactions: %w", err)
		}
		return &wot.Response{Statuses: all}, nil
	}
	return &wot.Response{Value: data}, nil
}

func pick(vals map[string]json.RawMessage, names []string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(names))
	for _, n := range names {
		if v, ok := vals[n]; ok {
			out[n] = v
		}
	}
	return out
}

// newRequest builds the request for op through f: method, WithHeader headers, Accept and
// Content-Type (TD 1.1 Appendix C; the HTTP Basic Profile), the form's htv:headers, then
// the credentials of the form's security.
func (c *client) newRequest(ctx context.Context, f *td.Form, op string, u *url.URL, body []byte) (*http.Request, error) {
	method, err := formMethod(f, op)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("wothttp: %s: %w", op, err)
	}
	for k, vs := range c.cfg.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if isStreamOp(op) && f.Subprotocol == subSSE {
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cache-Control", "no-cache")
	} else if op != td.OpCancelAction {
		req.Header.Set("Accept", responseType(f))
	}
	if body != nil {
		req.Header.Set("Content-Type", f.ContentType)
	}
	hs, err := formHeaders(f)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		req.Header.Set(h[0], h[1]) // form headers replace the defaults of the same name
	}
	if err := c.cfg.Authorize(req, c.td, f); err != nil {
		return nil, err
	}
	for k := range req.Header {
		if !isToken(k) {
			// A TD's security scheme can name any header (its "name" is free text).
			return nil, fmt.Errorf("wothttp: %s: the header name %q (from the TD's security definitions) is not a valid HTTP field name; fix the TD", op, k)
		}
	}
	return req, nil
}

// readValue reads a success response's body (bounded) as a JSON value: JSON as it is, plain
// text converted as the affordance's schema says, opaque bytes as a base64 string (see
// media.go). It returns nil for an empty body (204, or a 200 without content), except for
// a text or bytes read: that is the empty string.
func (c *client) readValue(resp *http.Response, r *wot.Request) (json.RawMessage, error) {
	op := r.Op
	if resp.StatusCode == http.StatusNoContent || resp.Request.Method == http.MethodHead {
		return nil, nil
	}
	raw, err := readBounded(resp.Body, c.maxBody)
	if err != nil {
		return nil, fmt.Errorf("wothttp: %s: reading the answer from %s: %w", op, td.RedactURL(resp.Request.URL), err)
	}
	data := bytes.TrimSpace(raw)
	// What the Thing says it sent; without a Content-Type, what the form says it answers.
	ct := resp.Header.Get("Content-Type")
	got, declared := mediaKindOf(ct), kindJSON
	if r.Form.Form != nil {
		declared = mediaKindOf(responseType(r.Form.Form))
	}
	if ct == "" {
		got = declared
	}
	switch {
	case got == kindBytes && oneValueOp(op):
		if len(raw) == 0 && op != td.OpReadProperty {
			return nil, nil
		}
		return jsonFromBytes(raw), nil
	case got == kindText && oneValueOp(op):
		if len(data) == 0 && op != td.OpReadProperty {
			return nil, nil
		}
		// A line ending after the value is the text's end, not part of a string.
		line := bytes.TrimSuffix(bytes.TrimSuffix(raw, []byte("\n")), []byte("\r"))
		v, err := jsonFromText(line, valueSchema(c.td, op, r.Name, false), declared != kindText)
		if err != nil {
			return nil, fmt.Errorf("wothttp: %s %q: the Thing's text/plain answer: %w", op, r.Name, err)
		}
		return v, nil
	}
	if len(data) == 0 {
		return nil, nil
	}
	if got != kindJSON {
		return nil, fmt.Errorf("wothttp: %s: the Thing answered with Content-Type %q, not JSON (%s)", op, ct, snippet(data))
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("wothttp: %s: the Thing's answer is not valid JSON (%s)", op, snippet(data))
	}
	return json.RawMessage(data), nil
}

// readBounded reads all of r, failing when it holds more than max bytes.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("the body exceeds %d bytes (raise the limit with wothttp.WithMaxBodySize)", max)
	}
	return data, nil
}

// Close ends every subscription of the client and waits for them.
func (c *client) Close() error {
	c.mu.Lock()
	c.closed = true
	subs := make([]*stream, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.cancel()
	}
	for _, s := range subs {
		<-s.done
	}
	// A transport of this consumer's own (WithTLSConfig builds one) keeps idle connections,
	// each with its goroutines, until told; the shared default transport is left alone.
	if tr := c.hc.Transport; tr != nil && tr != http.DefaultTransport {
		c.hc.CloseIdleConnections()
	}
	return nil
}

var errClosed = errors.New("wothttp: the consumed Thing is closed")

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// transportError describes a request that got no HTTP answer.
func transportError(op string, u *url.URL, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("wothttp: %s %s: no answer before the deadline: %w", op, td.RedactURL(u), err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("wothttp: %s %s: %w", op, td.RedactURL(u), err)
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return fmt.Errorf("wothttp: %s %s: %w", op, td.RedactURL(u), err)
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	const n = 80
	s := strings.ToValidUTF8(string(b[:min(len(b), n)]), "?")
	if len(b) > n {
		s += "…"
	}
	return fmt.Sprintf("%q", s)
}

// isStreamOp reports whether op starts a subscription.
func isStreamOp(op string) bool {
	switch op {
	case td.OpObserveProperty, td.OpObserveAllProperties, td.OpSubscribeEvent, td.OpSubscribeAllEvents:
		return true
	}
	return false
}

// thingStreamOp reports whether op streams the notifications of a whole Thing.
func thingStreamOp(op string) bool {
	switch op {
	case td.OpObserveAllProperties, td.OpUnobserveAllProperties, td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents:
		return true
	}
	return false
}

// isUnstreamOp reports whether op ends a subscription.
func isUnstreamOp(op string) bool {
	switch op {
	case td.OpUnobserveProperty, td.OpUnobserveAllProperties, td.OpUnsubscribeEvent, td.OpUnsubscribeAllEvents:
		return true
	}
	return false
}

// sendsBody reports whether op carries a JSON body in the form's contentType. invokeaction
// does when the action has input, which Accepts cannot know: it counts.
func sendsBody(op string) bool {
	switch op {
	case td.OpWriteProperty, td.OpWriteAllProperties, td.OpWriteMultipleProperties, td.OpInvokeAction:
		return true
	}
	return false
}

// defaultMethods are the defaults of https://www.w3.org/TR/wot-thing-description11/#http-binding-assertions
// plus the methods of the HTTP Basic Profile (https://w3c.github.io/wot-profile/) for the
// operations the TD leaves open.
var defaultMethods = map[string]string{
	td.OpReadProperty:            http.MethodGet,
	td.OpReadAllProperties:       http.MethodGet,
	td.OpReadMultipleProperties:  http.MethodGet,
	td.OpWriteProperty:           http.MethodPut,
	td.OpWriteAllProperties:      http.MethodPut,
	td.OpWriteMultipleProperties: http.MethodPut,
	td.OpInvokeAction:            http.MethodPost,
	td.OpQueryAction:             http.MethodGet,
	td.OpQueryAllActions:         http.MethodGet,
	td.OpCancelAction:            http.MethodDelete,
	td.OpObserveProperty:         http.MethodGet,
	td.OpObserveAllProperties:    http.MethodGet,
	td.OpSubscribeEvent:          http.MethodGet,
	td.OpSubscribeAllEvents:      http.MethodGet,
	td.OpUnobserveProperty:       http.MethodGet,
	td.OpUnobserveAllProperties:  http.MethodGet,
	td.OpUnsubscribeEvent:        http.MethodGet,
	td.OpUnsubscribeAllEvents:    http.MethodGet,
}

// formMethod returns the HTTP method for op through f: the form's htv:methodName, else the
// default. TD 1.1 forbids htv:methodName on a form with several ops
// (https://www.w3.org/TR/wot-thing-description11/#http-binding-assertions; such a form
// stands for one form per op, each with its default method), so it is ignored there.
func formMethod(f *td.Form, op string) (string, error) {
	if raw, ok := f.Extra["htv:methodName"]; ok && len(f.Op) <= 1 {
		var m string
		if err := json.Unmarshal(raw, &m); err != nil || !isToken(m) {
			return "", fmt.Errorf("wothttp: the form's htv:methodName %s is not an HTTP method", raw)
		}
		return m, nil
	}
	if m, ok := defaultMethods[op]; ok {
		return m, nil
	}
	return "", fmt.Errorf("wothttp: no HTTP method for operation %q", op)
}

// formHeaders returns the form's htv:headers as name/value pairs. The HTTP binding's
// vocabulary has an array of {htv:fieldName, htv:fieldValue}; a single object is accepted too
// (node-wot does).
func formHeaders(f *td.Form) ([][2]string, error) {
	raw, ok := f.Extra["htv:headers"]
	if !ok {
		return nil, nil
	}
	type field struct {
		Name  *string `json:"htv:fieldName"`
		Value string  `json:"htv:fieldValue"`
	}
	var list []field
	if err := json.Unmarshal(raw, &list); err != nil {
		var one field
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("wothttp: the form's htv:headers is neither an array of header objects nor one: %s", snippet(raw))
		}
		list = []field{one}
	}
	out := make([][2]string, 0, len(list))
	for _, h := range list {
		if h.Name == nil || !isToken(*h.Name) {
			return nil, fmt.Errorf("wothttp: the form's htv:headers has an entry without a valid htv:fieldName")
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			return nil, fmt.Errorf("wothttp: the form's header %q has a value with a line break or NUL", *h.Name)
		}
		out = append(out, [2]string{*h.Name, h.Value})
	}
	return out, nil
}

// isToken reports whether s is an RFC 9110 token (a method or field name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// responseType is the media type of the form's answers: response.contentType, else the
// form's contentType (https://www.w3.org/TR/wot-thing-description11/#form-contentType, #form-response), else JSON.
func responseType(f *td.Form) string {
	if f.Response != nil && f.Response.ContentType != "" {
		return f.Response.ContentType
	}
	if f.ContentType != "" {
		return f.ContentType
	}
	return "application/json"
}

// isJSON reports whether a media type is JSON: application/json or a +json structured
// syntax suffix (RFC 6839), parameters allowed. The empty type is the TD default, JSON.
func isJSON(ct string) bool { return mediaKindOf(ct) == kindJSON }

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}

// sleepCtx waits d or until ctx ends; it reports whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var _ wot.Binding = Binding{}
