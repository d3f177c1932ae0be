package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/wotgen/wotgen/internal/netnstest"
)

var loopback = []netip.Addr{netip.MustParseAddr("127.0.0.1")}

// browseUntil browses until want instances (by name) are found or the deadline passes.
func browseUntil(t *testing.T, ctx context.Context, service string, want ...string) (map[string]Instance, []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got := map[string]Instance{}
	var errs []error
	for inst, err := range Browse(ctx, BrowseOptions{Service: service}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got[inst.Name] = inst
		all := true
		for _, w := range want {
			_, ok := got[w]
			all = all && ok
		}
		if all {
			break
		}
	}
	return got, errs
}

func TestAnnounceBrowseNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	lampCtx, stopLamp := context.WithCancel(ctx)
	defer stopLamp()
	start := time.Now()
	lamp, err := Announce(lampCtx, Announcement{Instance: "Lamp", Port: 8080, TDPath: "/.well-known/wot", Addrs: loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probing took %v", time.Since(start))
	tdd, err := Announce(ctx, Announcement{Instance: "Farm TDD.v2 (main)", Port: 8443, TDPath: "/tdd/td",
		Type: TypeDirectory, Scheme: "https", Addrs: loopback, Host: "farm-gw"})
	if err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	got, errs := browseUntil(t, ctx, ServiceThing, "Lamp", "Farm TDD.v2 (main)")
	t.Logf("browse found %d instances in %v", len(got), time.Since(start))
	if len(errs) > 0 {
		t.Fatalf("browse errors: %v", errs)
	}
	l := got["Lamp"]
	if l.URL != "http://127.0.0.1:8080/.well-known/wot" || l.Type != TypeThing || l.Scheme != "http" || l.Service != ServiceThing {
		t.Errorf("lamp = %+v", l)
	}
	d := got["Farm TDD.v2 (main)"]
	if d.URL != "https://127.0.0.1:8443/tdd/td" || d.Type != TypeDirectory || d.Host != "farm-gw.local." {
		t.Errorf("directory = %+v", d)
	}
	if d.TXT["td"] != "/tdd/td" || d.TXT["type"] != "Directory" || d.TXT["scheme"] != "https" {
		t.Errorf("directory TXT = %v", d.TXT)
	}

	// The subtype lists the directory only.
	dirs, errs := browseUntil(t, ctx, ServiceDirectory, tdd.Instance())
	if len(errs) > 0 || len(dirs) != 1 || dirs[tdd.Instance()].URL != d.URL {
		t.Errorf("directory browse = %v, %v", dirs, errs)
	}

	// Withdrawing sends goodbyes: PTR, SRV and TXT with TTL 0.
	mc, err := listenMDNS(mustInterfaces(t))
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	packets := mc.readLoop(rctx)
	defer func() { rcancel(); mc.close() }()
	stopLamp()
	select {
	case <-lamp.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Announce did not end after its context")
	}
	bye := map[uint16]bool{}
	deadline := time.After(5 * time.Second)
	for len(bye) < 3 {
		select {
		case p := <-packets:
			for _, rr := range p.msg.Answer {
				if rr.Header().Ttl == 0 && strings.Contains(rr.String(), "Lamp._wot._tcp.local.") {
					bye[rr.Header().Rrtype] = true
				}
			}
		case <-deadline:
			t.Fatalf("goodbyes seen for types %v, want PTR, SRV and TXT", bye)
		}
	}
}

func mustInterfaces(t *testing.T) []net.Interface {
	t.Helper()
	ifs, err := multicastInterfaces(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ifs
}

func TestAnnounceNameConflictNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := Announce(ctx, Announcement{Instance: "Lamp", Port: 8080, TDPath: "/td", Addrs: loopback})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Announce(ctx, Announcement{Instance: "Lamp", Port: 9090, TDPath: "/td", Addrs: loopback})
	if err != nil {
		t.Fatal(err)
	}
	if first.Instance() != "Lamp" || second.Instance() != "Lamp (2)" {
		t.Fatalf("instances %q and %q, want Lamp and Lamp (2)", first.Instance(), second.Instance())
	}
	got, errs := browseUntil(t, ctx, ServiceThing, "Lamp", "Lamp (2)")
	if len(errs) > 0 || got["Lamp"].Port != 8080 || got["Lamp (2)"].Port != 9090 {
		t.Fatalf("browse = %+v, %v", got, errs)
	}
}

// TestBrowseHostileNetns sends hand-made announcements with bad TXT records: each gives an error
// naming the instance and the problem, and a good instance among them is still found.
func TestBrowseHostileNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mc, err := listenMDNS(mustInterfaces(t))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.close()
	cases := map[string]struct {
		txt  []string
		want string
	}{
		"scheme-relative": {[]string{"td=//evil.example/td"}, "points away from the announcing host"},
		"absolute-away":   {[]string{"td=http://evil.example/td"}, "points away from the announcing host"},
		"userinfo":        {[]string{"td=http://user@h1.local:80/td"}, "points away"},
		"no-td":           {[]string{"type=Thing"}, "no td key"},
		"relative":        {[]string{"td=td.json"}, "not an absolute path"},
		"control":         {[]string{"td=/a\nb"}, "control character"},
		"scheme":          {[]string{"td=/td", "scheme=file"}, "not a scheme"},
		"type":            {[]string{"td=/td", "type=Printer"}, "want Thing or Directory"},
		"good":            {[]string{"TD=/good", "td=/ignored", "Scheme=HTTPS"}, ""},
		"absolute-same":   {[]string{"td=https://h1.local/same?x=1", "scheme=https"}, ""},
	}
	m := new(dns.Msg)
	m.Response = true
	for name, c := range cases {
		fq := escapeLabel(name) + "._wot._tcp.local."
		m.Answer = append(m.Answer,
			&dns.PTR{Hdr: dns.RR_Header{Name: "_wot._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 100}, Ptr: fq},
			&dns.SRV{Hdr: dns.RR_Header{Name: fq, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 100}, Port: 8080, Target: "h1.local."},
			&dns.TXT{Hdr: dns.RR_Header{Name: fq, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 100}, Txt: c.txt})
	}
	m.Extra = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "h1.local.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 100}, A: net.IPv4(127, 0, 0, 1)}}

	bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
	defer bcancel()
	go func() { // unsolicited announcements, repeated in case the browser was not listening yet
		for bctx.Err() == nil {
			mc.sendAll(m)
			select {
			case <-bctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	found := map[string]Instance{}
	var errs []error
	for inst, err := range Browse(bctx, BrowseOptions{}) {
		if err != nil {
			errs = append(errs, err)
		} else {
			found[inst.Name] = inst
		}
		if len(found)+len(errs) == len(cases) {
			break
		}
	}
	bcancel()
	for name, c := range cases {
		if c.want == "" {
			if _, ok := found[name]; !ok {
				t.Errorf("%s: not found", name)
			}
			continue
		}
		ok := false
		for _, err := range errs {
			ok = ok || (strings.Contains(err.Error(), `"`+name+`"`) && strings.Contains(err.Error(), c.want))
		}
		if !ok {
			t.Errorf("%s: no error containing %q in %v", name, c.want, errs)
		}
	}
	if u := found["good"].URL; u != "https://127.0.0.1:8080/good" {
		t.Errorf("good URL = %q", u)
	}
	if u := found["absolute-same"].URL; u != "https://127.0.0.1:8080/same?x=1" {
		t.Errorf("absolute-same URL = %q", u)
	}
}

// TestResponderQueriesNetns asks an announced directory directly: a legacy unicast query (from a
// port other than 5353) gets a unicast answer with the question echoed and TTLs capped at 10 s
// (RFC 6762 §6.7), for the subtype, service enumeration and the instance's SRV and TXT.
func TestResponderQueriesNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	an, err := Announce(ctx, Announcement{Instance: "TDD", Port: 8081, TDPath: "/.well-known/wot", Type: TypeDirectory, Addrs: loopback, Host: "gw"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		q.Id = 0x4242
		b, _ := q.Pack()
		if _, err := c.WriteTo(b, mdnsGroup); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, maxPacket)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no unicast answer to %s %s: %v", name, dns.TypeToString[qtype], err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if m.Id != 0x4242 || len(m.Question) != 1 || m.Question[0].Name != name || len(m.Answer) == 0 {
			t.Fatalf("answer to %s: %v", name, m)
		}
		for _, rr := range m.Answer {
			if rr.Header().Ttl > 10 || rr.Header().Class != dns.ClassINET {
				t.Errorf("legacy unicast answer with TTL %d class %d: %v", rr.Header().Ttl, rr.Header().Class, rr)
			}
		}
		return m
	}
	if m := ask("_directory._sub._wot._tcp.local.", dns.TypePTR); m.Answer[0].(*dns.PTR).Ptr != "TDD._wot._tcp.local." {
		t.Errorf("subtype PTR: %v", m.Answer)
	}
	if m := ask("_services._dns-sd._udp.local.", dns.TypePTR); m.Answer[0].(*dns.PTR).Ptr != "_wot._tcp.local." {
		t.Errorf("service enumeration: %v", m.Answer)
	}
	m := ask(escapeLabel(an.Instance())+"._wot._tcp.local.", dns.TypeANY)
	var srv *dns.SRV
	var txt *dns.TXT
	for _, rr := range m.Answer {
		switch r := rr.(type) {
		case *dns.SRV:
			srv = r
		case *dns.TXT:
			txt = r
		}
	}
	if srv == nil || srv.Port != 8081 || srv.Target != "gw.local." || txt == nil ||
		strings.Join(txt.Txt, " ") != "td=/.well-known/wot type=Directory scheme=http" {
		t.Errorf("instance ANY: %v", m.Answer)
	}
	if m := ask("gw.local.", dns.TypeA); m.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Errorf("host A: %v", m.Answer)
	}
}

func TestSuppressKnown(t *testing.T) {
	ptr := func(ttl uint32) dns.RR {
		return &dns.PTR{Hdr: dns.RR_Header{Name: "_wot._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: "Lamp._wot._tcp.local."}
	}
	other := &dns.PTR{Hdr: dns.RR_Header{Name: "_wot._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: "Fan._wot._tcp.local."}
	if got := suppressKnown([]dns.RR{ptr(4500), other}, []dns.RR{ptr(3000)}); len(got) != 1 || got[0] != other {
		t.Errorf("known answer with more than half its TTL left is not suppressed: %v", got)
	}
	if got := suppressKnown([]dns.RR{ptr(4500)}, []dns.RR{ptr(1000)}); len(got) != 1 {
		t.Errorf("known answer with less than half its TTL left suppressed: %v", got)
	}
	// Names compare case-insensitively.
	known := &dns.PTR{Hdr: dns.RR_Header{Name: "_WOT._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: "lamp._wot._tcp.local."}
	if got := suppressKnown([]dns.RR{ptr(4500)}, []dns.RR{known}); len(got) != 0 {
		t.Errorf("case-insensitive known answer not suppressed: %v", got)
	}
}

// python is the system Python with python-zeroconf (Debian python3-zeroconf), an independent
// mDNS/DNS-SD implementation to check interoperability against.
func pythonZeroconf(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zeroconf").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import zeroconf (%v): .ci/dnssd.sh installs python3-zeroconf", py, err)
		}
		t.Skipf("skipped: %s cannot import zeroconf (%v); apt-get install python3-zeroconf", py, err)
	}
	return py
}

// TestInteropPythonZeroconfNetns: Browse finds a Thing that python-zeroconf announces, and
// python-zeroconf finds, under the _directory subtype, a directory that Announce announces, with
// the SRV port and all three TXT keys.
func TestInteropPythonZeroconfNetns(t *testing.T) {
	if os.Getenv("WOTGEN_NETNS_CHILD") == "" {
		pythonZeroconf(t) // skip before entering the namespace
	}
	if !netnstest.Enter(t) {
		return
	}
	py := pythonZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	peer := exec.CommandContext(ctx, py, "testdata/zeroconf_interop.py", "announce")
	stdin, err := peer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var peerOut strings.Builder
	peer.Stdout, peer.Stderr = &peerOut, &peerOut
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); peer.Wait() }()
	got, errs := browseUntil(t, ctx, ServiceThing, "PyLamp")
	if p := got["PyLamp"]; len(errs) > 0 || p.URL != "http://127.0.0.1:9000/things/pylamp" || p.Host != "pyhost.local." {
		t.Fatalf("Browse of python-zeroconf's Thing: %+v, %v (peer output %q)", got, errs, peerOut.String())
	}

	if _, err := Announce(ctx, Announcement{Instance: "Go TDD", Port: 8081, TDPath: "/.well-known/wot", Type: TypeDirectory, Addrs: loopback, Host: "gohost"}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, py, "testdata/zeroconf_interop.py", "browse", "_directory._sub._wot._tcp.local.").CombinedOutput()
	if err != nil {
		t.Fatalf("python-zeroconf browse: %v: %s", err, out)
	}
	var seen struct {
		Name      string            `json:"name"`
		Port      int               `json:"port"`
		Server    string            `json:"server"`
		Addresses []string          `json:"addresses"`
		TXT       map[string]string `json:"txt"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &seen); err != nil {
		t.Fatalf("python-zeroconf found nothing under the directory subtype: %v: %s", err, out)
	}
	want := map[string]string{"td": "/.well-known/wot", "type": "Directory", "scheme": "http"}
	if seen.Name != "Go TDD._wot._tcp.local." || seen.Port != 8081 || seen.Server != "gohost.local." ||
		len(seen.Addresses) != 1 || seen.Addresses[0] != "127.0.0.1" || !maps.Equal(seen.TXT, want) {
		t.Errorf("python-zeroconf resolved %+v", seen)
	}
}

// TestManyInstancesNetns announces 40 Things at once (40 sockets on UDP 5353, probing together)
// and browses until every one is found, each exactly once.
func TestManyInstancesNetns(t *testing.T) {
	if !netnstest.Enter(t) {
		return
	}
	noLeak(t)
	const n = 40
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, stop := context.WithCancel(ctx)
	start := time.Now()
	errc := make(chan error, n)
	ans := make(chan *Announcer, n)
	for i := range n {
		go func() {
			a, err := Announce(actx, Announcement{Instance: fmt.Sprintf("Thing %02d", i), Port: 9000 + i, TDPath: "/td", Addrs: loopback})
			errc <- err
			ans <- a
		}()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d announcers probed and announced in %v", n, time.Since(start))
	start = time.Now()
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("Thing %02d", i)
	}
	got, errs := browseUntil(t, ctx, ServiceThing, want...)
	t.Logf("Browse found %d instances in %v", len(got), time.Since(start))
	if len(got) != n || len(errs) > 0 {
		t.Fatalf("found %d of %d, errors %v", len(got), n, errs)
	}
	for i := range n {
		if g := got[want[i]]; g.Port != 9000+i {
			t.Errorf("%s: port %d", want[i], g.Port)
		}
	}
	stop()
	for range n {
		<-(<-ans).Done()
	}
}

// FuzzTDURL: whatever a TXT td value holds, the URL built from it names the announcing host (its
// resolved address) and the announced scheme, or there is an error.
func FuzzTDURL(f *testing.F) {
	for _, s := range []string{"/.well-known/wot", "//evil/x", "http://evil/x", "http://h.local:99/td", "/a/../../b?c#d", "/%zz", "http://[::1]/x", "http://u@h.local/"} {
		f.Add(s)
	}
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.7")}
	f.Fuzz(func(t *testing.T, td string) {
		got, err := tdURL("http", "192.0.2.7:80", td, "h.local.", addrs)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		if perr != nil || u.Scheme != "http" || u.Hostname() != "192.0.2.7" || u.User != nil {
			t.Fatalf("tdURL(%q) = %q: not on the announcing host", td, got)
		}
	})
}
