package main

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wotgen/wotgen/gen/build"
	"github.com/wotgen/wotgen/internal/sample"
	"github.com/wotgen/wotgen/runtime/td"
	"github.com/wotgen/wotgen/runtime/wot"
	_ "github.com/wotgen/wotgen/runtime/wothttp" // the HTTP binding
	_ "github.com/wotgen/wotgen/runtime/wtp"     // the Web Thing Protocol binding
)

// simEndpoint is the path of the simulator's Web Thing Protocol endpoint.
const simEndpoint = "/wtp"

// simOptions configure a simulator.
type simOptions struct {
	token  string        // bearer token required on the handshake and the control endpoints; "" = none
	delay  time.Duration // how long actions run
	events time.Duration // event timer; 0 = on demand only
	update time.Duration // read-only property refresh; 0 = never
	async  bool          // actions without "synchronous" answer at once
	seed   uint64
	log    *slog.Logger
	// without names the protocol bindings not to serve ("wtp", "http").
	without []string
}

// simulator is a dynamic wot.Thing built from any TD whose properties, actions and events are
// backed by sample values.
type simulator struct {
	opts  simOptions
	desc  *td.Thing // the TD as served (before the server sets base and absolute hrefs)
	thing *wot.Thing
	srv   *wot.Server
	mux   *http.ServeMux
	auth  wot.Authenticator
	log   *slog.Logger

	mu  sync.Mutex // guards gen
	gen *sample.Generator
}

// simulatedTD returns a copy of t that the simulator can serve: the original forms point at a device
// that is not there, so they are dropped with their uriVariables, and the server's protocol bindings
// (the Web Thing Protocol and HTTP) add forms for every operation the simulator performs; every
// readable property is observable; security is nosec or bearer (token), and a TD without a usable id
// gets a stable urn:uuid derived from the document. It returns notes for the user on what changed.
func simulatedTD(t *td.Thing, raw []byte, token string) (*td.Thing, []string) {
	d := t.Clone()
	var notes []string
	if u, err := url.Parse(d.ID); d.ID == "" || err != nil || !u.IsAbs() {
		id := nameUUID(raw)
		if d.ID == "" {
			notes = append(notes, fmt.Sprintf("the TD has no id; serving it as %s", id))
		} else {
			notes = append(notes, fmt.Sprintf("the TD id %q is not an absolute URI; serving it as %s", d.ID, id))
		}
		d.ID = id
	}
	// Links keep their meaning once base is gone.
	if base, err := url.Parse(d.Base); err == nil && base.IsAbs() {
		for i := range d.Links {
			if u, err := t.ResolveHref(d.Links[i].Href, nil); err == nil {
				d.Links[i].Href = u.String()
			}
		}
	}
	d.Base = ""
	d.URIVariables = nil
	if token != "" {
		d.SecurityDefinitions = map[string]*td.SecurityScheme{"bearer_sc": {Scheme: td.SchemeBearer}}
		d.Security = td.StringList{"bearer_sc"}
	} else {
		d.SecurityDefinitions = map[string]*td.SecurityScheme{"nosec_sc": {Scheme: td.SchemeNoSec}}
		d.Security = td.StringList{"nosec_sc"}
	}
	// Values the device sends as opaque bytes (a camera frame) travel in the served TD's JSON
	// forms as base64 strings, as generated clients carry them ([]byte): say so in the schema,
	// so the simulated values are base64 too.
	bytesSchema := func(mt string) *td.DataSchema {
		return &td.DataSchema{Type: "string", ContentEncoding: "base64", ContentMediaType: mt}
	}
	for _, n := range d.PropertyNames() {
		if mt := build.BytesMedia(t, td.KindProperty, n, false); mt != "" {
			s := bytesSchema(mt)
			p := d.Properties[n]
			p.Type, p.ContentEncoding, p.ContentMediaType = s.Type, s.ContentEncoding, s.ContentMediaType
		}
	}
	for _, n := range d.ActionNames() {
		if a := d.Actions[n]; a != nil {
			if mt := build.BytesMedia(t, td.KindAction, n, false); mt != "" {
				a.Input = bytesSchema(mt)
			}
			if mt := build.BytesMedia(t, td.KindAction, n, true); mt != "" {
				a.Output = bytesSchema(mt)
			}
		}
	}
	form := func(ops ...string) []td.Form {
		return []td.Form{{Href: simEndpoint, Subprotocol: td.SubprotocolWTP, Op: td.StringList(ops)}}
	}
	var readable, writable bool
	for _, n := range d.PropertyNames() {
		p := d.Properties[n]
		if p == nil {
			p = &td.PropertyAffordance{}
			d.Properties[n] = p
		}
		read, write := !p.IsWriteOnly(), !p.IsReadOnly()
		if !read && !write {
			notes = append(notes, fmt.Sprintf("property %q is both readOnly and writeOnly; serving it as readable", n))
			read = true
		}
		var ops []string
		if read {
			readable = true
			ops = append(ops, td.OpReadProperty)
		}
		if write {
			writable = true
			ops = append(ops, td.OpWriteProperty)
		}
		if read {
			// Every change is notified, so every readable property is observable here.
			ops = append(ops, td.OpObserveProperty, td.OpUnobserveProperty)
			obs := true
			p.Observable = &obs
		}
		p.Forms = form(ops...)
		p.URIVariables = nil
	}
	for _, n := range d.ActionNames() {
		a := d.Actions[n]
		if a == nil {
			a = &td.ActionAffordance{}
			d.Actions[n] = a
		}
		a.Forms = form(td.OpInvokeAction, td.OpQueryAction, td.OpCancelAction)
		a.URIVariables = nil
	}
	for _, n := range d.EventNames() {
		e := d.Events[n]
		if e == nil {
			e = &td.EventAffordance{}
			d.Events[n] = e
		}
		e.Forms = form(td.OpSubscribeEvent, td.OpUnsubscribeEvent)
		e.URIVariables = nil
	}
	var meta []string
	if readable {
		meta = append(meta, td.OpReadAllProperties, td.OpReadMultipleProperties)
	}
	if writable {
		meta = append(meta, td.OpWriteAllProperties, td.OpWriteMultipleProperties)
	}
	if readable {
		meta = append(meta, td.OpObserveAllProperties, td.OpUnobserveAllProperties)
	}
	if len(d.Actions) > 0 {
		meta = append(meta, td.OpQueryAllActions)
	}
	if len(d.Events) > 0 {
		meta = append(meta, td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents)
	}
	d.Forms = nil
	if len(meta) > 0 {
		d.Forms = form(meta...)
	}
	return d, notes
}

// dropForms removes every form of d.
func dropForms(d *td.Thing) {
	d.Forms = nil
	for _, p := range d.Properties {
		p.Forms = nil
	}
	for _, a := range d.Actions {
		a.Forms = nil
	}
	for _, e := range d.Events {
		e.Forms = nil
	}
}

// nameUUID is a name-based (version 5 layout) UUID URN of the document, so a TD without id keeps
// the same thingID across restarts of the simulator.
func nameUUID(doc []byte) string {
	h := sha1.Sum(doc)
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// newSimulator builds the simulated Thing and its server for a parsed TD (raw is the document, for a
// stable id). Notes say what the simulator changed or cannot honour; they are not errors.
func newSimulator(t *td.Thing, raw []byte, o simOptions) (*simulator, []string, error) {
	if t.IsTM() {
		return nil, nil, errors.New("the input is a Thing Model (@type tm:ThingModel); serve needs a Thing Description: instantiate the model first")
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d, notes := simulatedTD(t, raw, o.token)
	if slices.Contains(o.without, "wtp") {
		dropForms(d) // they are all Web Thing Protocol forms; the HTTP binding adds its own
	}
	topts := []wot.ThingOption{wot.WithTDPath("/"), wot.WithSynchronousDefault(!o.async)}
	thing, err := wot.NewThing(d, topts...)
	if err != nil {
		// A schema jsonschema cannot compile should not stop the simulation; writes are then taken
		// as they come.
		var err2 error
		thing, err2 = wot.NewThing(d, append(topts, wot.WithValidation(false))...)
		if err2 != nil {
			return nil, nil, err
		}
		notes = append(notes, fmt.Sprintf("%v; serving without validating writes and action inputs", err))
	}
	s := &simulator{opts: o, desc: d, thing: thing, log: o.log, gen: sample.New(o.seed)}
	sopts := []wot.ServerOption{wot.WithLogger(o.log)}
	for _, b := range o.without {
		sopts = append(sopts, wot.WithoutBinding(b))
	}
	if o.token != "" {
		// The header, or the access_token query parameter (RFC 6750 §2.3) that the Thing console
		// uses: browsers cannot set headers on a WebSocket handshake.
		s.auth = wot.BearerQueryAuth("", o.token)
		sopts = append(sopts, wot.WithAuthenticator(s.auth))
	}
	s.srv = wot.NewServer(sopts...)

	initial := sample.New(o.seed)
	initial.UseDefaults = true
	for _, n := range d.PropertyNames() {
		v, err := initial.Sample(&d.Properties[n].DataSchema)
		if err != nil {
			notes = append(notes, fmt.Sprintf("property %q: no valid initial value (%v); starting with %s", n, err, v))
		}
		if err := thing.SetProperty(n, v); err != nil {
			return nil, nil, err
		}
	}
	for _, n := range d.ActionNames() {
		thing.HandleAction(n, s.runAction(n, d.Actions[n]))
	}
	if err := s.srv.AddThing(thing); err != nil {
		return nil, nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /simulator/events/{name...}", s.controlEvent)
	s.mux.HandleFunc("POST /simulator/properties/{name...}", s.controlProperty)
	s.mux.Handle("/", s.srv)
	return s, notes, nil
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Shutdown ends the simulated Thing's sessions and running actions (wot.Serve calls it first).
func (s *simulator) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// sample returns a fresh valid value for schema (nil schema: nil value).
func (s *simulator) sample(what string, schema *td.DataSchema) json.RawMessage {
	if schema == nil {
		return nil
	}
	s.mu.Lock()
	v, err := s.gen.Sample(schema)
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("no valid sample value; sending the best attempt", "for", what, "err", err)
	}
	return v
}

// runAction simulates an action: it runs for the configured delay (cancellable) and completes with a
// sample of the output schema.
func (s *simulator) runAction(name string, a *td.ActionAffordance) wot.ActionHandler {
	return func(ctx context.Context, input json.RawMessage) (any, error) {
		s.log.Info("action invoked", "action", name, "input", string(input))
		timer := time.NewTimer(s.opts.delay)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			s.log.Info("action cancelled", "action", name)
			return nil, ctx.Err()
		case <-timer.C:
		}
		out := s.sample("output of action "+name, a.Output)
		s.log.Info("action completed", "action", name, "output", string(out))
		if out == nil {
			return nil, nil
		}
		return out, nil
	}
}

// emit sends an event with data (a sample when data is nil).
func (s *simulator) emit(name string, data json.RawMessage) error {
	e := s.desc.Events[name]
	if e == nil {
		return fmt.Errorf("the TD has no event %q (events: %s)", name, list(s.desc.EventNames()))
	}
	if data == nil {
		data = s.sample("data of event "+name, e.Data)
	} else if e.Data != nil {
		if err := sample.Check(e.Data, data); err != nil {
			return fmt.Errorf("data for event %q does not match its schema: %w", name, err)
		}
	}
	var payload any
	if data != nil {
		payload = data
	}
	if err := s.thing.EmitEvent(name, payload); err != nil {
		return err
	}
	s.log.Info("event emitted", "event", name, "data", string(data))
	return nil
}

// set stores a property value as the device would (read-only properties included) and notifies
// observers; value nil means a fresh sample.
func (s *simulator) set(name string, value json.RawMessage) error {
	p := s.desc.Properties[name]
	if p == nil {
		return fmt.Errorf("the TD has no property %q (properties: %s)", name, list(s.desc.PropertyNames()))
	}
	if value == nil {
		value = s.sample("property "+name, &p.DataSchema)
	} else if err := sample.Check(&p.DataSchema, value); err != nil {
		return fmt.Errorf("value for property %q does not match its schema: %w", name, err)
	}
	if err := s.thing.SetProperty(name, value); err != nil {
		return err
	}
	s.log.Info("property set", "property", name, "value", string(value))
	return nil
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// run drives the timers until ctx is done.
func (s *simulator) run(ctx context.Context) {
	var events, update <-chan time.Time
	if s.opts.events > 0 && len(s.desc.Events) > 0 {
		t := time.NewTicker(s.opts.events)
		defer t.Stop()
		events = t.C
	}
	if s.opts.update > 0 {
		t := time.NewTicker(s.opts.update)
		defer t.Stop()
		update = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
			for _, n := range s.desc.EventNames() {
				if err := s.emit(n, nil); err != nil {
					s.log.Warn("cannot emit event", "event", n, "err", err)
				}
			}
		case <-update:
			for _, n := range s.desc.PropertyNames() {
				if p := s.desc.Properties[n]; p.IsReadOnly() && !p.IsWriteOnly() {
					if err := s.set(n, nil); err != nil {
						s.log.Warn("cannot update property", "property", n, "err", err)
					}
				}
			}
		}
	}
}

// maxControlBody bounds the JSON accepted by the control endpoints.
const maxControlBody = 1 << 20

// controlEvent is POST /simulator/events/{name}: emit the event now, with the request body (JSON)
// as data or a sample when the body is empty.
func (s *simulator) controlEvent(w http.ResponseWriter, r *http.Request) {
	s.control(w, r, func(name string, body json.RawMessage) error { return s.emit(name, body) })
}

// controlProperty is POST /simulator/properties/{name}: set the property (even a read-only one) to
// the request body (JSON), or to a fresh sample when the body is empty, notifying observers.
func (s *simulator) controlProperty(w http.ResponseWriter, r *http.Request) {
	s.control(w, r, func(name string, body json.RawMessage) error { return s.set(name, body) })
}

func (s *simulator) control(w http.ResponseWriter, r *http.Request, do func(string, json.RawMessage) error) {
	if s.auth != nil {
		if _, err := s.auth.Authenticate(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wot"`)
			http.Error(w, "send the simulator's token: Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		http.Error(w, fmt.Sprintf("cannot read the body (at most %d bytes): %v", maxControlBody, err), http.StatusRequestEntityTooLarge)
		return
	}
	var body json.RawMessage
	if len(strings.TrimSpace(string(b))) > 0 {
		if !json.Valid(b) {
			http.Error(w, "the body must be one JSON value (or empty for a sample value)", http.StatusBadRequest)
			return
		}
		body = b
	}
	if err := do(r.PathValue("name"), body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// command runs one control line ("emit NAME [JSON]", "set NAME [JSON]") from standard input.
func (s *simulator) command(line string) error {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	name, value := rest, ""
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		name, value = rest[:i], strings.TrimSpace(rest[i+1:])
	}
	var raw json.RawMessage
	if value != "" {
		if !json.Valid([]byte(value)) {
			return fmt.Errorf("%q is not JSON (strings need quotes)", value)
		}
		raw = json.RawMessage(value)
	}
	switch verb {
	case "emit":
		if name == "" {
			return fmt.Errorf("usage: emit EVENT [JSON] (events: %s)", list(s.desc.EventNames()))
		}
		return s.emit(name, raw)
	case "set":
		if name == "" {
			return fmt.Errorf("usage: set PROPERTY [JSON] (properties: %s)", list(s.desc.PropertyNames()))
		}
		return s.set(name, raw)
	case "help":
		return errors.New(stdinHelp)
	}
	return fmt.Errorf("unknown command %q; %s", verb, stdinHelp)
}

const stdinHelp = `commands: "emit EVENT [JSON]" emits an event (sample data when JSON is absent); "set PROPERTY [JSON]" sets a property and notifies observers (a sample when JSON is absent)`
