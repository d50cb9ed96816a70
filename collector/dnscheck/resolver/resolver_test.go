package resolver

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server runs a miekg/dns server on loopback, UDP and TCP on one port.
func server(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	var udp net.PacketConn
	var tcp net.Listener
	for i := 0; ; i++ {
		var err error
		if tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if udp, err = net.ListenPacket("udp", tcp.Addr().String()); err == nil {
			break
		}
		tcp.Close()
		if i == 20 {
			t.Fatal(err)
		}
	}
	for _, s := range []*dns.Server{{PacketConn: udp, Handler: h}, {Listener: tcp, Handler: h}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return tcp.Addr().String()
}

func handler(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	name := q.Question[0].Name
	tcp := w.RemoteAddr().Network() == "tcp"
	switch {
	case name == "a.test.":
		m.AuthenticatedData = q.AuthenticatedData // RFC 6840 5.7: AD only when asked
		rr, _ := dns.NewRR("a.test. 60 IN A 192.0.2.1")
		m.Answer = append(m.Answer, rr)
	case name == "nx.test.":
		m.Rcode = dns.RcodeNameError
		soa, _ := dns.NewRR("test. 60 IN SOA ns.test. h.test. 1 2 3 4 5")
		m.Ns = append(m.Ns, soa)
	case name == "nodata.test.":
	case name == "fail.test.":
		m.Rcode = dns.RcodeServerFailure
	case name == "refused.test.":
		m.Rcode = dns.RcodeRefused
	case name == "big.test.":
		if !tcp {
			m.Truncated = true
			break
		}
		for i := 0; i < 40; i++ {
			rr, _ := dns.NewRR(`big.test. 60 IN TXT "` + strings.Repeat("x", 200) + `"`)
			m.Answer = append(m.Answer, rr)
		}
	case name == "slow.test.":
		return // never answer
	case name == "other.test.":
		m.Question[0].Name = "elsewhere.test."
	}
	w.WriteMsg(m)
}

func TestClient(t *testing.T) {
	c, err := New(server(t, handler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	a, err := c.Lookup(ctx, "a.test", dns.TypeA)
	if err != nil || len(a.Records) != 1 || !a.AuthenticatedData || a.NXDomain() {
		t.Errorf("a.test: %+v %v", a, err)
	}
	a, err = c.Lookup(ctx, "nx.test", dns.TypeA)
	if err != nil || !a.NXDomain() || len(a.Authority) != 1 {
		t.Errorf("nx.test: %+v %v", a, err)
	}
	a, err = c.Lookup(ctx, "nodata.test", dns.TypeA)
	if err != nil || a.NXDomain() || len(a.Records) != 0 {
		t.Errorf("nodata.test: %+v %v", a, err)
	}
	for _, n := range []string{"fail.test", "refused.test", "other.test"} {
		if _, err := c.Lookup(ctx, n, dns.TypeA); !errors.Is(err, ErrDNS) {
			t.Errorf("%s: %v, want ErrDNS", n, err)
		}
	}
	txts, _, err := TXT(ctx, c, "big.test")
	if err != nil || len(txts) != 40 {
		t.Errorf("big.test over TCP: %d records, %v", len(txts), err)
	}
	if _, err := c.Lookup(ctx, "bad..name", dns.TypeA); !errors.Is(err, ErrDNS) {
		t.Errorf("bad name: %v", err)
	}
}

func TestClientDeadline(t *testing.T) {
	c, _ := New(server(t, handler))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Lookup(ctx, "slow.test", dns.TypeA)
	if !errors.Is(err, ErrDNS) {
		t.Errorf("err %v, want ErrDNS", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v past a 300ms deadline", d)
	}
}

func TestNew(t *testing.T) {
	c, _ := New("192.0.2.1")
	if c.Server != "192.0.2.1:53" {
		t.Errorf("default port: %s", c.Server)
	}
	c, _ = New("[2001:db8::1]")
	if c.Server != "[2001:db8::1]:53" {
		t.Errorf("default port v6: %s", c.Server)
	}
	path := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(path, []byte("# comment\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"), 0o644)
	c, err := FromResolvConf(path)
	if err != nil || c.Server != "192.0.2.53:53" {
		t.Errorf("resolv.conf: %v %v", c, err)
	}
	os.WriteFile(path, []byte("search example\n"), 0o644)
	if _, err := FromResolvConf(path); err == nil {
		t.Error("resolv.conf without nameserver accepted")
	}
}

func TestMock(t *testing.T) {
	m := NewMock(
		"a.test. 60 IN A 192.0.2.1",
		"alias.test. 60 IN CNAME a.test.",
		"x.sub.test. 60 IN TXT \"hi\"",
	).Secure("a.test").Fail("fail.test", "a.test AAAA")
	ctx := context.Background()
	a, err := m.Lookup(ctx, "alias.test", dns.TypeA)
	if err != nil || len(a.Records) != 2 || !CNAMEAt(a, "alias.test") || a.AuthenticatedData {
		t.Errorf("alias: %+v %v", a, err)
	}
	a, _ = m.Lookup(ctx, "a.test", dns.TypeA)
	if !a.AuthenticatedData || CNAMEAt(a, "a.test") {
		t.Errorf("a.test: %+v", a)
	}
	if a, _ := m.Lookup(ctx, "sub.test", dns.TypeTXT); a.NXDomain() {
		t.Error("empty non-terminal is NXDOMAIN")
	}
	if a, _ := m.Lookup(ctx, "nope.test", dns.TypeTXT); !a.NXDomain() {
		t.Error("nope.test exists")
	}
	if _, err := m.Lookup(ctx, "a.test", dns.TypeAAAA); !errors.Is(err, ErrDNS) {
		t.Errorf("failing type: %v", err)
	}
	if _, err := m.Lookup(ctx, "FAIL.test.", dns.TypeMX); !errors.Is(err, ErrDNS) {
		t.Errorf("failing name: %v", err)
	}
	if len(m.Queries()) != 6 {
		t.Errorf("queries %v", m.Queries())
	}
}
