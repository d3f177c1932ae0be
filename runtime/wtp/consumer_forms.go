package wtp

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/wotgen/wotgen/runtime/td"
)

// opKey names one operation on one affordance; name is "" for the Thing-level (meta)
// operations.
type opKey struct {
	op   string
	name string
}

// route is where an operation goes, or why it cannot go anywhere.
type route struct {
	ep  *remoteEndpoint
	err error
}

// endpoint is one (WebSocket URL, security) pair of a TD. Several forms usually share one.
type remoteEndpoint struct {
	spec *connSpec
}

// defaultFormOps are the TD 1.1 defaults for a form without "op" (spec §2.1). Observe ops
// are never implied, not even by observable: true.
func defaultFormOps(kind string, p *td.PropertyAffordance) []string {
	switch kind {
	case "property":
		switch {
		case p.IsReadOnly() && !p.IsWriteOnly():
			return []string{OpReadProperty}
		case p.IsWriteOnly() && !p.IsReadOnly():
			return []string{OpWriteProperty}
		}
		return []string{OpReadProperty, OpWriteProperty}
	case "action":
		return []string{OpInvokeAction}
	case "event":
		return []string{OpSubscribeEvent, OpUnsubscribeEvent}
	}
	return nil // TD-level forms must name their ops
}

// buildRoutes applies the endpoint algorithm of spec §2.1 to every form of t: the first
// form of an affordance (TD-level forms for meta operations) whose href resolves to ws://
// or wss:// and whose subprotocol is "webthingprotocol" wins for each of its operations.
func buildRoutes(t *td.Thing, docURL *url.URL, cfg *dialConfig) (map[opKey]route, []*remoteEndpoint) {
	routes := map[opKey]route{}
	endpoints := map[string]*remoteEndpoint{}
	var order []*remoteEndpoint
	add := func(kind, name string, forms []td.Form, p *td.PropertyAffordance) {
		for i := range forms {
			f := &forms[i]
			if f.Subprotocol != Subprotocol {
				continue
			}
			if f.ContentType != "" && !strings.HasPrefix(f.ContentType, "application/json") {
				cfg.logger.Warn("wtp: ignoring the contentType of a WTP form (payloads are always JSON)", "affordance", name, "contentType", f.ContentType)
			}
			u, err := t.ResolveHref(f.Href, docURL)
			var r route
			switch {
			case err != nil:
				r.err = fmt.Errorf("wtp: %s: %w", where(kind, name), err)
			case u.Scheme != "ws" && u.Scheme != "wss":
				continue
			default:
				sec := t.Security
				if len(f.Security) > 0 {
					sec = f.Security // form-level security replaces the TD's
				}
				id := u.String() + "\x00" + strings.Join(sec, "\x00")
				ep := endpoints[id]
				if ep == nil {
					target := *u
					target.Fragment = ""
					secNames := slices.Clone([]string(sec))
					ep = &remoteEndpoint{spec: &connSpec{
						target:  &target,
						display: redact(&target),
						cfg:     cfg,
						auth:    func() (*handshakeAuth, error) { return cfg.authFor(t, secNames) },
					}}
					endpoints[id] = ep
					order = append(order, ep)
				}
				r.ep = ep
			}
			ops := []string(f.Op)
			if len(ops) == 0 {
				ops = defaultFormOps(kind, p)
			}
			for _, op := range ops {
				k := opKey{op, name}
				if _, ok := routes[k]; !ok || routes[k].ep == nil && r.ep != nil {
					routes[k] = r
				}
			}
		}
	}
	add("thing", "", t.Forms, nil)
	for _, n := range t.PropertyNames() {
		add("property", n, t.Properties[n].Forms, t.Properties[n])
	}
	for _, n := range t.ActionNames() {
		add("action", n, t.Actions[n].Forms, nil)
	}
	for _, n := range t.EventNames() {
		add("event", n, t.Events[n].Forms, nil)
	}
	return routes, order
}

func where(kind, name string) string {
	if name == "" {
		return "the TD-level forms"
	}
	return fmt.Sprintf("%s %q", kind, name)
}
