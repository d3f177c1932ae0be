package discovery

import (
	"context"
	"net"
	"net/netip"
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
