package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// Announcement describes what Announce advertises: one service instance whose TXT record carries
// the three keys of https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-txt-record, all of them always sent.
type Announcement struct {
	// Instance is the instance name, usually the TD title; it is cut to 63 bytes (RFC 6763 §4.1.1).
	// On a name conflict Announce picks "Name (2)", "Name (3)", … (RFC 6762 §9).
	Instance string
	Port     int    // TCP (or UDP, for coap/coaps) port of the TD server
	TDPath   string // absolute path of the TD on that server, e.g. "/.well-known/wot"
	Type     string // TypeThing (default) or TypeDirectory, which is also listed under ServiceDirectory
	Scheme   string // http (default), https, coap+tcp, coaps+tcp; coap or coaps announce _wot._udp
	// Host is the host name in the SRV record; default the machine's host name in .local.
	Host string
	// Addrs restricts the A/AAAA records to these addresses and the announcement to the interfaces
	// that hold them. Empty, or an unspecified address (0.0.0.0, ::), means every address of each
	// interface. Pass the listener's address so a loopback listener is not announced on the LAN.
	Addrs []netip.Addr
	// Interfaces to announce on; default every interface that is up and multicast-capable.
	Interfaces []net.Interface
}

// TTLs of RFC 6762 §10: records that name a host live 120 s, the others 75 minutes.
const (
	hostTTL    = 120
	serviceTTL = 4500
)

// Announcer is a running announcement.
type Announcer struct {
	name string
	done chan struct{}
}

// Instance is the instance name in use, after conflict resolution.
func (a *Announcer) Instance() string { return a.name }

// Done is closed once ctx has ended and the goodbye packets have been sent.
func (a *Announcer) Done() <-chan struct{} { return a.done }

// Announce advertises a over DNS-SD/mDNS until ctx ends, then withdraws it with goodbye packets
// (records with TTL 0, RFC 6762 §10.1). It probes for the instance name first (RFC 6762 §8.1,
// about 750 ms), renaming on conflict, announces twice a second apart (§8.3) and answers queries
// for the service, the directory subtype, service enumeration (RFC 6763 §9), the instance and the
// host, with known-answer suppression (§7.1). It returns once the name is settled. Only IPv4
// multicast is used; AAAA records are answered too.
func Announce(ctx context.Context, a Announcement) (*Announcer, error) {
	r, err := newResponder(a)
	if err != nil {
		return nil, err
	}
	mc, err := listenMDNS(r.ifaces)
	if err != nil {
		return nil, err
	}
	r.mc = mc
	ctx, cancel := context.WithCancel(ctx)
	packets := mc.readLoop(ctx)
	if err := r.probe(ctx, packets); err != nil {
		cancel()
		mc.close()
		return nil, err
	}
	an := &Announcer{name: r.instance, done: make(chan struct{})}
	go func() {
		defer close(an.done)
		defer cancel()
		r.serve(ctx, packets)
		r.pending.Wait() // delayed answers check ctx and are skipped
		r.sendAll(r.records(0))
		mc.close()
	}()
	return an, nil
}

// responder holds the records of one announcement.
type responder struct {
	base      string // instance name before conflict renames
	instance  string
	service   string // "_wot._tcp.local."
	subtype   string // "_directory._sub._wot._tcp.local." for a directory, else ""
	host      string // "name.local."
	port      uint16
	txt       []string
	ifaces    []net.Interface
	ifAddrs   map[int][]netip.Addr // interface index → addresses to announce there
	mc        *mconn
	pending   sync.WaitGroup
	conflicts int
}

func newResponder(a Announcement) (*responder, error) {
	fail := func(format string, args ...any) (*responder, error) {
		return nil, fmt.Errorf("discovery: announce: "+format, args...)
	}
	if a.Port <= 0 || a.Port > 65535 {
		return fail("port %d: want 1–65535", a.Port)
	}
	if !strings.HasPrefix(a.TDPath, "/") || strings.HasPrefix(a.TDPath, "//") {
		return fail("TD path %q: want an absolute path such as /.well-known/wot", a.TDPath)
	}
	typ := a.Type
	switch {
	case typ == "" || strings.EqualFold(typ, TypeThing):
		typ = TypeThing
	case strings.EqualFold(typ, TypeDirectory):
		typ = TypeDirectory
	default:
		return fail("type %q: want Thing or Directory", a.Type)
	}
	scheme := strings.ToLower(a.Scheme)
	service := ServiceThing
	switch scheme {
	case "":
		scheme = "http"
	case "http", "https", "coap+tcp", "coaps+tcp":
	case "coap", "coaps":
		service = ServiceThingUDP
	default:
		return fail("scheme %q: want http, https, coap+tcp, coaps+tcp, coap or coaps", a.Scheme)
	}
	name := cutUTF8(strings.TrimSpace(a.Instance), 63)
	if name == "" {
		return fail("empty instance name: pass the TD title")
	}
	host := a.Host
	if host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "wotgen"
		}
		host = h
	}
	host = hostLabel(strings.TrimSuffix(strings.TrimSuffix(host, "."), ".local"))
	ifaces, err := multicastInterfaces(a.Interfaces)
	if err != nil {
		return nil, err
	}
	r := &responder{base: name, instance: name, host: host + "." + mdnsDomain, port: uint16(a.Port),
		service: service + "." + mdnsDomain, ifAddrs: map[int][]netip.Addr{},
		txt: []string{"td=" + a.TDPath, "type=" + typ, "scheme=" + scheme}}
	if typ == TypeDirectory {
		r.subtype = "_directory._sub." + r.service
	}
	if n := len(r.txt[0]); n > 255 {
		return fail("TD path is %d bytes; a TXT string holds at most 255", n)
	}
	want := map[netip.Addr]bool{}
	for _, x := range a.Addrs {
		if !x.IsUnspecified() {
			want[x.Unmap().WithZone("")] = true
		}
	}
	for _, ifi := range ifaces {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		var keep []netip.Addr
		for _, ad := range addrs {
			p, err := netip.ParsePrefix(ad.String())
			if err != nil {
				continue
			}
			x := p.Addr().Unmap()
			if len(want) == 0 || want[x] {
				keep = append(keep, x)
			}
		}
		if len(keep) > 0 {
			r.ifaces = append(r.ifaces, ifi)
			r.ifAddrs[ifi.Index] = keep
		}
	}
	if len(r.ifaces) == 0 {
		if len(want) > 0 {
			return fail("no up, multicast-capable interface holds %v: listen on 0.0.0.0 or on a LAN address to be found (a loopback interface normally cannot multicast)", a.Addrs)
		}
		return fail("no up, multicast-capable interface has an address")
	}
	return r, nil
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n])
}

// hostLabel makes a host name a valid DNS label: letters, digits and hyphens (RFC 1123).
func hostLabel(s string) string {
	s, _, _ = strings.Cut(s, ".")
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "wotgen"
	}
	return cutUTF8(out, 63)
}

func (r *responder) fqdn() string { return escapeLabel(r.instance) + "." + r.service }

// records returns the service PTR, SRV, TXT and, for a directory, the subtype PTR, with TTLs times
// ttlScale (0 makes a goodbye). Address records come from addrRecords and are never withdrawn: the
// host name may be shared with other services.
func (r *responder) records(ttlScale int) []dns.RR {
	hdr := func(name string, t uint16, ttl uint32, unique bool) dns.RR_Header {
		class := uint16(dns.ClassINET)
		if unique {
			class |= 1 << 15 // cache-flush (RFC 6762 §10.2): this responder owns the whole record set
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl * uint32(ttlScale)}
	}
	rrs := []dns.RR{
		&dns.PTR{Hdr: hdr(r.service, dns.TypePTR, serviceTTL, false), Ptr: r.fqdn()},
		&dns.SRV{Hdr: hdr(r.fqdn(), dns.TypeSRV, hostTTL, true), Port: r.port, Target: r.host},
		&dns.TXT{Hdr: hdr(r.fqdn(), dns.TypeTXT, serviceTTL, true), Txt: r.txt},
	}
	if r.subtype != "" {
		rrs = append(rrs, &dns.PTR{Hdr: hdr(r.subtype, dns.TypePTR, serviceTTL, false), Ptr: r.fqdn()})
	}
	return rrs
}

// addrRecords returns the A/AAAA records of the host for one interface.
func (r *responder) addrRecords(ifIndex int) []dns.RR {
	var rrs []dns.RR
	for _, a := range r.ifAddrs[ifIndex] {
		h := dns.RR_Header{Name: r.host, Class: dns.ClassINET, Ttl: hostTTL}
		if a.Is4() {
			h.Rrtype = dns.TypeA
			rrs = append(rrs, &dns.A{Hdr: h, A: a.AsSlice()})
		} else {
			h.Rrtype = dns.TypeAAAA
			rrs = append(rrs, &dns.AAAA{Hdr: h, AAAA: a.AsSlice()})
		}
	}
	return rrs
}

// sendAll sends the records as an unsolicited response on every interface, with that interface's
// addresses as additional records (none for a goodbye).
func (r *responder) sendAll(answers []dns.RR) {
	goodbye := len(answers) > 0 && answers[0].Header().Ttl == 0
	for _, ifi := range r.ifaces {
		m := new(dns.Msg)
		m.Response, m.Authoritative = true, true
		m.Answer = answers
		if !goodbye {
			m.Extra = r.addrRecords(ifi.Index)
		}
		r.mc.send(m, ifi.Index, mdnsGroup)
	}
}

// probe claims the instance name (RFC 6762 §8.1): three queries 250 ms apart carrying the proposed
// records in the authority section. A response holding different records under the name, or a
// simultaneous probe that wins the tie-break (§8.2), means a conflict: the name gets a number and
// probing starts again. Probing starts after a random 0–250 ms.
func (r *responder) probe(ctx context.Context, packets <-chan packet) error {
	const maxRenames = 20
	delay := time.Duration(rand.Int64N(int64(250 * time.Millisecond)))
	for attempt := 0; ; attempt++ {
		if attempt > maxRenames {
			return fmt.Errorf("discovery: announce: %d names taken after %q; pick another instance name", maxRenames, r.base)
		}
		if attempt > 0 {
			r.instance = cutUTF8(r.base, 63-len(fmt.Sprintf(" (%d)", attempt+1))) + fmt.Sprintf(" (%d)", attempt+1)
		}
		conflict, err := r.probeName(ctx, packets, delay)
		if err != nil {
			return err
		}
		if !conflict {
			r.sendAll(r.records(1))
			return nil
		}
		r.conflicts++
		delay = 0
		if r.conflicts >= 15 {
			delay = 5 * time.Second // RFC 6762 §8.1: slow down after 15 conflicts in ten seconds
		}
	}
}

func (r *responder) probeName(ctx context.Context, packets <-chan packet, delay time.Duration) (bool, error) {
	mine := r.records(1)
	q := new(dns.Msg)
	q.Question = []dns.Question{{Name: r.fqdn(), Qtype: dns.TypeANY, Qclass: dns.ClassINET}}
	q.Ns = []dns.RR{mine[1], mine[2]}
	q.RecursionDesired = false
	timer := time.NewTimer(delay)
	defer timer.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("discovery: announce %q: %w", r.instance, ctx.Err())
		case <-timer.C:
			if sent == 3 {
				return false, nil
			}
			r.mc.sendAll(q)
			sent++
			timer.Reset(250 * time.Millisecond)
		case p, ok := <-packets:
			if !ok {
				return false, errors.New("discovery: announce: the mDNS socket closed while probing")
			}
			if r.conflictsWith(p.msg, mine) {
				return true, nil
			}
		}
	}
}

// conflictsWith reports whether m shows someone else using our instance name: a response with
// different SRV or TXT data under it, or a probe for it whose authority records sort after ours.
func (r *responder) conflictsWith(m *dns.Msg, mine []dns.RR) bool {
	name := dns.CanonicalName(r.fqdn())
	if m.Response {
		for _, rr := range append(m.Answer, m.Extra...) {
			if dns.CanonicalName(rr.Header().Name) != name || rr.Header().Ttl == 0 {
				continue
			}
			switch rr.(type) {
			case *dns.SRV, *dns.TXT:
				if !sameRecord(rr, mine) {
					return true
				}
			}
		}
		return false
	}
	var theirs []dns.RR
	for _, rr := range m.Ns {
		if dns.CanonicalName(rr.Header().Name) == name {
			theirs = append(theirs, rr)
		}
	}
	if len(theirs) == 0 {
		return false
	}
	// Simultaneous probe tie-break (RFC 6762 §8.2): compare the rdata; the lexicographically
	// later set wins. Equal sets are our own probe looped back, or the same service twice.
	return compareRData(theirs, []dns.RR{mine[1], mine[2]}) > 0
}

func sameRecord(rr dns.RR, mine []dns.RR) bool {
	for _, m := range mine {
		if m.Header().Rrtype == rr.Header().Rrtype && bytes.Equal(rdata(m), rdata(rr)) {
			return true
		}
	}
	return false
}

// compareRData compares two record sets as RFC 6762 §8.2 describes, by type then rdata bytes.
func compareRData(a, b []dns.RR) int {
	key := func(set []dns.RR) [][]byte {
		var out [][]byte
		for _, rr := range set {
			out = append(out, append([]byte{byte(rr.Header().Rrtype >> 8), byte(rr.Header().Rrtype)}, rdata(rr)...))
		}
		slices.SortFunc(out, bytes.Compare)
		return out
	}
	ka, kb := key(a), key(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if c := bytes.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
	}
	return len(ka) - len(kb)
}

// rdata is a record's data in wire form with names uncompressed and lower-cased, for comparison.
func rdata(rr dns.RR) []byte {
	c := dns.Copy(rr)
	switch x := c.(type) {
	case *dns.SRV:
		x.Target = dns.CanonicalName(x.Target)
	case *dns.PTR:
		x.Ptr = dns.CanonicalName(x.Ptr)
	}
	buf := make([]byte, dns.Len(c)+64)
	off, err := dns.PackRR(c, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	nameLen, err := dns.PackDomainName(c.Header().Name, make([]byte, 256), 0, nil, false)
	if err != nil || nameLen+10 > off {
		return nil
	}
	return buf[nameLen+10 : off] // after name, type, class, TTL and rdlength
}

// serve announces twice (RFC 6762 §8.3) and answers queries until ctx ends.
func (r *responder) serve(ctx context.Context, packets <-chan packet) {
	again := time.NewTimer(time.Second)
	defer again.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-again.C:
			r.sendAll(r.records(1))
		case p, ok := <-packets:
			if !ok {
				return
			}
			if r.conflictsWith(p.msg, r.records(1)) && p.msg.Response {
				// Someone else claims our name now: defend it by announcing again (RFC 6762 §9).
				r.sendAll(r.records(1))
				continue
			}
			r.answer(ctx, p)
		}
	}
}

// answer replies to one query. Multicast queries get a multicast answer on the interface they came
// in on, delayed 20–120 ms when it holds shared records (RFC 6762 §6); queries from a port other than
// 5353 are legacy unicast queries and get a direct answer with the question echoed and TTLs of at
// most 10 s (§6.7).
func (r *responder) answer(ctx context.Context, p packet) {
	q := p.msg
	if q.Response || q.Opcode != dns.OpcodeQuery || len(q.Question) == 0 {
		return
	}
	mine := r.records(1)
	ptr, srv, txt := mine[0], mine[1], mine[2]
	var answers []dns.RR
	shared, wantAddrs, wantService := false, false, false
	add := func(rr dns.RR) {
		for _, have := range answers {
			if have == rr {
				return
			}
		}
		answers = append(answers, rr)
	}
	inst, host := dns.CanonicalName(r.fqdn()), dns.CanonicalName(r.host)
	for _, question := range q.Question {
		name, t := dns.CanonicalName(question.Name), question.Qtype
		switch {
		case name == dns.CanonicalName(r.service) && (t == dns.TypePTR || t == dns.TypeANY):
			add(ptr)
			shared, wantService = true, true
		case r.subtype != "" && name == dns.CanonicalName(r.subtype) && (t == dns.TypePTR || t == dns.TypeANY):
			add(mine[3])
			shared, wantService = true, true
		case name == servicesPTR && (t == dns.TypePTR || t == dns.TypeANY):
			add(&dns.PTR{Hdr: dns.RR_Header{Name: servicesPTR, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: serviceTTL}, Ptr: r.service})
			shared = true
		case name == inst:
			if t == dns.TypeSRV || t == dns.TypeANY {
				add(srv)
				wantAddrs = true
			}
			if t == dns.TypeTXT || t == dns.TypeANY {
				add(txt)
			}
		case name == host && (t == dns.TypeA || t == dns.TypeAAAA || t == dns.TypeANY):
			for _, rr := range r.addrRecords(p.ifIndex) {
				if t == dns.TypeANY || rr.Header().Rrtype == t {
					add(rr)
				}
			}
		}
	}
	answers = suppressKnown(answers, q.Answer)
	if len(answers) == 0 {
		return
	}
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = answers
	if wantService { // RFC 6763 §12.1: SRV, TXT and addresses with a PTR answer
		m.Extra = append(m.Extra, suppressKnown([]dns.RR{srv, txt}, q.Answer)...)
		wantAddrs = true
	}
	if wantAddrs {
		m.Extra = append(m.Extra, r.addrRecords(p.ifIndex)...)
	}
	ifIndex := p.ifIndex
	if ifIndex == 0 && len(r.ifaces) > 0 {
		ifIndex = r.ifaces[0].Index
	}
	if p.src != nil && p.src.Port != mdnsPort {
		m.Id = q.Id
		m.Question = q.Question
		m.Extra = nil
		for _, rr := range m.Answer {
			rr.Header().Ttl = min(rr.Header().Ttl, 10)
			rr.Header().Class &^= 1 << 15
		}
		r.mc.send(m, ifIndex, p.src)
		return
	}
	if !shared {
		r.mc.send(m, ifIndex, mdnsGroup)
		return
	}
	r.pending.Add(1)
	time.AfterFunc(20*time.Millisecond+time.Duration(rand.Int64N(int64(100*time.Millisecond))), func() {
		defer r.pending.Done()
		if ctx.Err() == nil {
			r.mc.send(m, ifIndex, mdnsGroup)
		}
	})
}

// suppressKnown drops the answers the querier already has with at least half their TTL left
// (RFC 6762 §7.1).
func suppressKnown(answers, known []dns.RR) []dns.RR {
	out := answers[:0:0]
next:
	for _, a := range answers {
		for _, k := range known {
			if k.Header().Rrtype == a.Header().Rrtype && dns.CanonicalName(k.Header().Name) == dns.CanonicalName(a.Header().Name) &&
				bytes.Equal(rdata(k), rdata(a)) && k.Header().Ttl >= a.Header().Ttl/2 {
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

// AnnounceListener is Announce for a server listening on addr: a.Port is its port, and a
// listener on one address is announced with that address only, on the interfaces that hold it
// (a loopback listener is never announced on the network).
func AnnounceListener(ctx context.Context, addr net.Addr, a Announcement) (*Announcer, error) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return nil, fmt.Errorf("discovery: listener address %s: %w", addr, err)
	}
	a.Port = int(ap.Port())
	if !ap.Addr().IsUnspecified() {
		a.Addrs = []netip.Addr{ap.Addr()}
	}
	return Announce(ctx, a)
}
