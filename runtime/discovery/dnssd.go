package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// DNS-SD service names of WoT Discovery §6.3
// (https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-sec). A directory is an instance of
// _wot._tcp that is also listed under the _directory subtype (RFC 6763 §7.1), so browsing
// ServiceThing finds Things and directories and browsing ServiceDirectory finds directories only.
const (
	ServiceThing     = "_wot._tcp"
	ServiceDirectory = "_directory._sub._wot._tcp"
	ServiceThingUDP  = "_wot._udp" // CoAP over UDP or DTLS
)

// Values of the TXT key "type" (https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-txt-record).
const (
	TypeThing     = "Thing"
	TypeDirectory = "Directory"
)

const (
	mdnsDomain  = "local."
	mdnsPort    = 5353
	maxPacket   = 9000                            // RFC 6762 §17: no mDNS message is larger
	servicesPTR = "_services._dns-sd._udp.local." // RFC 6763 §9
)

var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}

// Instance is one DNS-SD service instance that announces a TD, resolved to the TD's URL.
type Instance struct {
	Name    string            // instance name, unescaped (e.g. "Lamp")
	Service string            // the service it was found under, e.g. "_wot._tcp"
	Host    string            // SRV target, e.g. "gateway.local."
	Port    int               // SRV port
	Addrs   []netip.Addr      // addresses of Host from A/AAAA records
	TXT     map[string]string // TXT keys in lower case; only the first occurrence counts (RFC 6763 §6.4)
	Type    string            // TypeThing or TypeDirectory
	Scheme  string            // http, https, coap, coaps, coap+tcp or coaps+tcp
	URL     string            // the TD's URL: scheme://address:port + td path
}

// BrowseOptions selects what Browse looks for and where.
type BrowseOptions struct {
	// Service is ServiceThing (the default: Things and directories), ServiceDirectory or ServiceThingUDP.
	Service string
	// Interfaces to browse on; default every interface that is up and multicast-capable.
	Interfaces []net.Interface
}

// Browse looks for WoT service instances on the local link with DNS-SD over multicast DNS (RFC 6763,
// RFC 6762) and yields each one once, resolved to its TD URL, until ctx ends or the caller stops.
// Queries repeat at 1, 2, 4, … seconds up to a minute (RFC 6762 §5.2) with known-answer suppression,
// and unsolicited announcements are picked up too. An instance whose records cannot be turned into a
// safe TD URL is yielded as an error (once) and browsing goes on; an error opening the socket is
// yielded and ends the sequence. Only IPv4 multicast is used; AAAA records are read.
func Browse(ctx context.Context, o BrowseOptions) iter.Seq2[Instance, error] {
	return func(yield func(Instance, error) bool) {
		service := o.Service
		if service == "" {
			service = ServiceThing
		}
		switch service {
		case ServiceThing, ServiceDirectory, ServiceThingUDP:
		default:
			yield(Instance{}, fmt.Errorf("discovery: browse %q: want %s, %s or %s", service, ServiceThing, ServiceDirectory, ServiceThingUDP))
			return
		}
		ifaces, err := multicastInterfaces(o.Interfaces)
		if err != nil {
			yield(Instance{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		mc, err := listenMDNS(ifaces)
		if err != nil {
			yield(Instance{}, err)
			return
		}
		packets := mc.readLoop(ctx)
		defer mc.close()

		b := newBrowser(service)
		next := time.Now()
		interval := time.Second
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
				now := time.Now()
				if !now.Before(next) {
					mc.sendAll(b.query(now))
					next = now.Add(interval)
					interval = min(interval*2, time.Minute)
				}
				for _, q := range b.resolveQueries(now) {
					mc.sendAll(q)
				}
				timer.Reset(min(time.Until(next), time.Second))
			case p, ok := <-packets:
				if !ok {
					return
				}
				now := time.Now()
				b.absorb(p.msg, p.ifIndex, now)
				for _, r := range b.ready(now) {
					if !yield(r.inst, r.err) {
						return
					}
				}
			}
		}
	}
}

// browser is Browse's cache of records, keyed by lower-case owner name.
type browser struct {
	service string // FQDN, lower case
	ptrs    map[string]*dns.PTR
	srv     map[string]*dns.SRV
	txt     map[string][]string
	addrs   map[string]map[netip.Addr]time.Time // host → address → expiry
	ifIndex map[string]int                      // instance → interface it was heard on (IPv6 zones)
	done    map[string]bool                     // instances yielded (true) or reported as bad (false)
	asked   map[string]time.Time                // instance → last resolve query
	seen    map[string]time.Time                // PTR receive times, for known-answer TTLs
}

type browseResult struct {
	inst Instance
	err  error
}

func newBrowser(service string) *browser {
	return &browser{service: dns.CanonicalName(service + "." + mdnsDomain),
		ptrs: map[string]*dns.PTR{}, srv: map[string]*dns.SRV{}, txt: map[string][]string{},
		addrs: map[string]map[netip.Addr]time.Time{}, ifIndex: map[string]int{}, done: map[string]bool{},
		asked: map[string]time.Time{}, seen: map[string]time.Time{}}
}

// query is the PTR question for the service, with the answers already known whose TTL is still
// above half (RFC 6762 §7.1), so responders do not repeat them.
func (b *browser) query(now time.Time) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(b.service, dns.TypePTR)
	m.RecursionDesired = false
	m.Id = 0
	for name, p := range b.ptrs {
		left := int64(p.Hdr.Ttl) - int64(now.Sub(b.seen[name])/time.Second)
		if left > int64(p.Hdr.Ttl)/2 {
			ka := *p
			ka.Hdr.Ttl = uint32(left)
			m.Answer = append(m.Answer, &ka)
		}
	}
	return m
}

// resolveQueries asks for the SRV, TXT and address records of instances that are still incomplete,
// at most once a second per instance.
func (b *browser) resolveQueries(now time.Time) []*dns.Msg {
	var out []*dns.Msg
	for name := range b.ptrs {
		if _, finished := b.done[name]; finished || now.Sub(b.asked[name]) < time.Second {
			continue
		}
		b.asked[name] = now
		m := new(dns.Msg)
		m.RecursionDesired = false
		m.Question = []dns.Question{{Name: name, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}, {Name: name, Qtype: dns.TypeTXT, Qclass: dns.ClassINET}}
		if s := b.srv[name]; s != nil {
			host := dns.CanonicalName(s.Target)
			m.Question = append(m.Question, dns.Question{Name: host, Qtype: dns.TypeA, Qclass: dns.ClassINET},
				dns.Question{Name: host, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})
		}
		out = append(out, m)
	}
	return out
}

// absorb adds a response's records to the cache. Only records of this service's instances and of
// their hosts are kept, in passes (PTRs, then SRV/TXT, then addresses) since a packet may hold them
// in any order; at most maxInstances instances are tracked, so a flood cannot grow the cache. A TTL
// of 0 is a goodbye (RFC 6762 §10.1): the record goes, and an instance that comes back later is
// yielded again.
func (b *browser) absorb(m *dns.Msg, ifIndex int, now time.Time) {
	if !m.Response || m.Opcode != dns.OpcodeQuery || m.Rcode != dns.RcodeSuccess {
		return
	}
	rrs := append(m.Answer, m.Extra...)
	for _, rr := range rrs {
		r, ok := rr.(*dns.PTR)
		if !ok || dns.CanonicalName(r.Hdr.Name) != b.service {
			continue
		}
		inst := dns.CanonicalName(r.Ptr)
		if !strings.HasSuffix(inst, "."+serviceOf(b.service)) {
			continue // an instance must live under the service's name, not the subtype's
		}
		if r.Hdr.Ttl == 0 {
			b.forget(inst)
			continue
		}
		if _, known := b.ptrs[inst]; !known && len(b.ptrs) >= maxInstances {
			continue
		}
		b.ptrs[inst] = r
		b.seen[inst] = now
		b.ifIndex[inst] = ifIndex
	}
	hosts := map[string]bool{}
	for _, rr := range rrs {
		name := dns.CanonicalName(rr.Header().Name)
		if _, ours := b.ptrs[name]; !ours {
			continue
		}
		switch r := rr.(type) {
		case *dns.SRV:
			if r.Hdr.Ttl == 0 {
				delete(b.srv, name)
				delete(b.done, name)
				continue
			}
			b.srv[name] = r
		case *dns.TXT:
			if r.Hdr.Ttl == 0 {
				delete(b.txt, name)
				continue
			}
			b.txt[name] = r.Txt
		}
	}
	for _, s := range b.srv {
		hosts[dns.CanonicalName(s.Target)] = true
	}
	for _, rr := range rrs {
		name := dns.CanonicalName(rr.Header().Name)
		if !hosts[name] {
			continue
		}
		switch r := rr.(type) {
		case *dns.A:
			b.addAddr(name, r.A, r.Hdr.Ttl, now)
		case *dns.AAAA:
			b.addAddr(name, r.AAAA, r.Hdr.Ttl, now)
		}
	}
}

// maxInstances bounds the instances one Browse tracks.
const maxInstances = 4096

// forget drops an instance after its goodbye.
func (b *browser) forget(inst string) {
	delete(b.ptrs, inst)
	delete(b.done, inst)
	delete(b.srv, inst)
	delete(b.txt, inst)
	delete(b.seen, inst)
	delete(b.asked, inst)
	delete(b.ifIndex, inst)
}

func (b *browser) addAddr(host string, ip net.IP, ttl uint32, now time.Time) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return
	}
	a = a.Unmap()
	if ttl == 0 {
		delete(b.addrs[host], a)
		return
	}
	if b.addrs[host] == nil {
		b.addrs[host] = map[netip.Addr]time.Time{}
	}
	if _, known := b.addrs[host][a]; !known && len(b.addrs[host]) >= 64 {
		return // no host has more addresses than that; a flood does not grow the cache
	}
	b.addrs[host][a] = now.Add(time.Duration(ttl) * time.Second)
}

// ready returns the instances that became complete (PTR, SRV, TXT and an address) since last time.
func (b *browser) ready(now time.Time) []browseResult {
	var out []browseResult
	for name := range b.ptrs {
		if _, finished := b.done[name]; finished {
			continue
		}
		s, txt := b.srv[name], b.txt[name]
		if s == nil || txt == nil {
			continue
		}
		host := dns.CanonicalName(s.Target)
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(strings.TrimSuffix(s.Target, ".")); err == nil {
			addrs = []netip.Addr{a} // an IP literal as target, as node-wot's CoAP introducer sends
		}
		for a, expires := range b.addrs[host] {
			if expires.After(now) {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			continue
		}
		sortAddrs(addrs)
		inst, err := resolveInstance(b.ptrs[name].Ptr, serviceOf(b.service), s, txt, addrs, b.ifIndex[name])
		b.done[name] = err == nil
		out = append(out, browseResult{inst, err})
	}
	return out
}

// serviceOf strips a subtype: "_directory._sub._wot._tcp.local." → "_wot._tcp.local.".
func serviceOf(fqdn string) string {
	if i := strings.Index(fqdn, "._sub."); i >= 0 {
		return fqdn[i+len("._sub."):]
	}
	return fqdn
}

// sortAddrs puts IPv4 first, then global IPv6, then link-local IPv6, each in address order.
func sortAddrs(a []netip.Addr) {
	rank := func(x netip.Addr) int {
		switch {
		case x.Is4():
			return 0
		case !x.IsLinkLocalUnicast():
			return 1
		}
		return 2
	}
	slices.SortFunc(a, func(x, y netip.Addr) int {
		if c := cmp.Compare(rank(x), rank(y)); c != 0 {
			return c
		}
		return x.Compare(y)
	})
}

// resolveInstance turns an instance's records into an Instance with its TD URL, applying the TXT
// rules and defaults of https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-txt-record.
func resolveInstance(fqdn, service string, s *dns.SRV, txt []string, addrs []netip.Addr, ifIndex int) (Instance, error) {
	label := fqdn
	if len(fqdn) > len(service)+1 && strings.EqualFold(fqdn[len(fqdn)-len(service)-1:], "."+service) {
		label = fqdn[:len(fqdn)-len(service)-1]
	}
	inst := Instance{Name: unescapeLabel(label), Service: strings.TrimSuffix(service, "."+mdnsDomain),
		Host: s.Target, Port: int(s.Port), Addrs: addrs, TXT: parseTXT(txt)}
	fail := func(format string, args ...any) (Instance, error) {
		return Instance{}, fmt.Errorf("discovery: DNS-SD instance %q: %s", inst.Name, fmt.Sprintf(format, args...))
	}
	udp := strings.HasSuffix(service, "._udp."+mdnsDomain)
	inst.Type = TypeThing
	if v, ok := inst.TXT["type"]; ok {
		switch {
		case strings.EqualFold(v, TypeThing):
		case strings.EqualFold(v, TypeDirectory):
			inst.Type = TypeDirectory
		default:
			return fail("TXT type=%q: want Thing or Directory", clip(v))
		}
	}
	inst.Scheme = "http"
	if udp {
		inst.Scheme = "coap"
	}
	if v, ok := inst.TXT["scheme"]; ok {
		v = strings.ToLower(v)
		valid := map[string]bool{"http": !udp, "https": !udp, "coap+tcp": !udp, "coaps+tcp": !udp, "coap": udp, "coaps": udp}
		if !valid[v] {
			return fail("TXT scheme=%q is not a scheme WoT Discovery allows for %s", clip(v), inst.Service)
		}
		inst.Scheme = v
	}
	if inst.Port <= 0 {
		return fail("SRV port 0")
	}
	a := addrs[0]
	if a.Is6() && a.IsLinkLocalUnicast() && ifIndex > 0 {
		if ifi, err := net.InterfaceByIndex(ifIndex); err == nil {
			a = a.WithZone(ifi.Name)
		}
	}
	u, err := tdURL(inst.Scheme, netip.AddrPortFrom(a, uint16(inst.Port)).String(), inst.TXT["td"], s.Target, addrs)
	if err != nil {
		return fail("%v", err)
	}
	inst.URL = u
	return inst, nil
}

// tdURL joins scheme://hostport and the TXT td value. The td value comes from anyone on the link, so
// it may only name a path on the announcing host: an absolute URL (accepted leniently) must point at
// the SRV target or one of its addresses, and control characters, backslashes, "//" prefixes and
// userinfo are refused.
func tdURL(scheme, hostport, td, target string, addrs []netip.Addr) (string, error) {
	if td == "" {
		return "", errors.New("its TXT record has no td key (the path of its TD); WoT Discovery §6.3 requires one")
	}
	for _, r := range td {
		if r < 0x21 || r == 0x7f || r == '\\' {
			return "", fmt.Errorf("TXT td=%q contains a control character, space or backslash", clip(td))
		}
	}
	ref, err := url.Parse(td)
	if err != nil {
		return "", fmt.Errorf("TXT td=%q is not a URL path: %v", clip(td), err)
	}
	base := &url.URL{Scheme: scheme, Host: hostport, Path: "/"}
	if ref.IsAbs() || ref.Host != "" || ref.User != nil {
		// Lenient: an absolute URL, but only to the announcing host itself.
		host := strings.TrimSuffix(strings.ToLower(ref.Hostname()), ".")
		same := host != "" && host == strings.TrimSuffix(strings.ToLower(target), ".")
		if a, err := netip.ParseAddr(host); err == nil {
			for _, x := range addrs {
				same = same || x.WithZone("") == a.WithZone("")
			}
		}
		if !ref.IsAbs() || ref.User != nil || !strings.EqualFold(ref.Scheme, scheme) || !same {
			return "", fmt.Errorf("TXT td=%q points away from the announcing host %s; td must be an absolute path such as /.well-known/wot", clip(td), strings.TrimSuffix(target, "."))
		}
		if p := ref.Port(); p != "" { // fetch from the resolved address, at the URL's port if it names one
			h, _, _ := net.SplitHostPort(hostport)
			ref.Host = net.JoinHostPort(h, p)
		} else {
			ref.Host = hostport
		}
		ref.Fragment = ""
		return ref.String(), nil
	}
	if !strings.HasPrefix(ref.Path, "/") {
		return "", fmt.Errorf("TXT td=%q is not an absolute path (it must start with /)", clip(td))
	}
	u := base.ResolveReference(&url.URL{Path: ref.Path, RawPath: ref.RawPath, RawQuery: ref.RawQuery})
	return u.String(), nil
}

// parseTXT reads key=value strings (RFC 6763 §6): keys are case-insensitive and only the first
// occurrence of a key counts; a string without "=" is a boolean attribute with an empty value.
func parseTXT(txt []string) map[string]string {
	m := map[string]string{}
	for _, s := range txt {
		k, v, _ := strings.Cut(s, "=")
		k = strings.ToLower(k)
		if k == "" {
			continue
		}
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// clip shortens a value from the network for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// escapeLabel writes a DNS label in presentation format (RFC 1035 §5.1), as miekg/dns expects it.
func escapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x21 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeLabel reverses escapeLabel (and miekg/dns's own escaping of received names).
func unescapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// multicastInterfaces returns the given interfaces, or every interface that is up and can multicast.
func multicastInterfaces(given []net.Interface) ([]net.Interface, error) {
	if len(given) > 0 {
		return given, nil
	}
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("discovery: listing network interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 {
			out = append(out, ifi)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("discovery: no network interface is up and multicast-capable; DNS-SD needs one (on Linux check `ip link`)")
	}
	return out, nil
}

// mconn is an mDNS socket: UDP port 5353 shared with other responders on the host (SO_REUSEPORT),
// joined to 224.0.0.251 on each interface, sending with TTL 255 (RFC 6762 §11).
type mconn struct {
	pc     *ipv4.PacketConn
	conn   net.PacketConn
	ifaces []net.Interface
	quit   chan struct{} // closed by close, so a reader blocked on delivery gives up
	wg     sync.WaitGroup
}

type packet struct {
	msg     *dns.Msg
	ifIndex int
	src     *net.UDPAddr
}

func listenMDNS(ifaces []net.Interface) (*mconn, error) {
	lc := net.ListenConfig{Control: reusePort}
	c, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", mdnsPort))
	if err != nil {
		return nil, fmt.Errorf("discovery: open the mDNS socket (UDP %d): %w", mdnsPort, err)
	}
	pc := ipv4.NewPacketConn(c)
	var joined []net.Interface
	var errs []error
	for _, ifi := range ifaces {
		if err := pc.JoinGroup(&ifi, &net.UDPAddr{IP: mdnsGroup.IP}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
			continue
		}
		joined = append(joined, ifi)
	}
	if len(joined) == 0 {
		c.Close()
		return nil, fmt.Errorf("discovery: join the mDNS group 224.0.0.251 on no interface: %w", errors.Join(errs...))
	}
	// Errors here only lose the interface index or loopback delivery; sending still works.
	_ = pc.SetControlMessage(ipv4.FlagInterface, true)
	_ = pc.SetMulticastTTL(255)
	_ = pc.SetMulticastLoopback(true) // other processes on this host browse too
	return &mconn{pc: pc, conn: c, ifaces: joined, quit: make(chan struct{})}, nil
}

// readLoop delivers decoded messages from the joined interfaces until ctx ends or the socket closes.
func (m *mconn) readLoop(ctx context.Context) <-chan packet {
	out := make(chan packet, 16)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(out)
		buf := make([]byte, maxPacket+1)
		for {
			n, cm, src, err := m.pc.ReadFrom(buf)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return
				}
				// A transient error (an ICMP report, a full buffer): pause so a persistent one
				// cannot spin.
				select {
				case <-time.After(50 * time.Millisecond):
				case <-ctx.Done():
					return
				case <-m.quit:
					return
				}
				continue
			}
			if n > maxPacket || (cm != nil && !m.has(cm.IfIndex)) {
				continue
			}
			msg := new(dns.Msg)
			if msg.Unpack(buf[:n]) != nil {
				continue // not DNS, or malformed: ignore like every mDNS stack does
			}
			p := packet{msg: msg}
			if cm != nil {
				p.ifIndex = cm.IfIndex
			}
			p.src, _ = src.(*net.UDPAddr)
			select {
			case out <- p:
			case <-ctx.Done():
				return
			case <-m.quit:
				return
			}
		}
	}()
	return out
}

func (m *mconn) has(ifIndex int) bool {
	if ifIndex == 0 {
		return true
	}
	for _, ifi := range m.ifaces {
		if ifi.Index == ifIndex {
			return true
		}
	}
	return false
}

// sendAll multicasts msg on every joined interface.
func (m *mconn) sendAll(msg *dns.Msg) {
	for _, ifi := range m.ifaces {
		m.send(msg, ifi.Index, mdnsGroup)
	}
}

// send writes msg out of interface ifIndex to dst. Errors are dropped: mDNS is best effort and the
// next query or announcement repeats it.
func (m *mconn) send(msg *dns.Msg, ifIndex int, dst *net.UDPAddr) {
	b, err := msg.Pack()
	if err != nil || len(b) > maxPacket {
		return
	}
	_, _ = m.pc.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifIndex}, dst)
}

// close closes the socket and waits for the reader.
func (m *mconn) close() {
	close(m.quit)
	m.conn.Close()
	m.wg.Wait()
}
