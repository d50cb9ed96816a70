package dnscheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a mock world with one correct domain, ex.test.
type fixture struct {
	ca      *testpki.CA
	leaf    tls.Certificate
	rrs     map[string]string // records by role; tests replace or delete them
	extra   []string          // more records
	fails   []string          // names (or "name TYPE") answering SERVFAIL
	client  *http.Client
	policy  string
	dialErr error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ca: testpki.NewCA(t)}
	f.leaf = f.ca.Leaf(t, time.Time{}, time.Time{}, "mx.ex.test")
	f.policy = "version: STSv1\nmode: enforce\nmx: mx.ex.test\nmax_age: 604800\n"
	f.rrs = map[string]string{
		"soa":   "ex.test. 300 IN SOA ns.ex.test. h.ex.test. 1 2 3 4 5",
		"mx":    "ex.test. 300 IN MX 10 mx.ex.test.",
		"a":     "mx.ex.test. 300 IN A 192.0.2.10",
		"ptr":   "10.2.0.192.in-addr.arpa. 300 IN PTR mx.ex.test.",
		"spf":   `ex.test. 300 IN TXT "v=spf1 mx -all"`,
		"dmarc": `_dmarc.ex.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@ex.test"`,
		"dkim":  `s1._domainkey.ex.test. 300 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`, // RFC 8463 A.2
		"sts":   `_mta-sts.ex.test. 300 IN TXT "v=STSv1; id=1;"`,
		"rpt":   `_smtp._tls.ex.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@ex.test"`,
		"tlsa":  "_25._tcp.mx.ex.test. 300 IN TLSA 3 1 1 " + testpki.SPKISHA256(f.leaf.Leaf),
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, f.policy)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{f.ca.Leaf(t, time.Time{}, time.Time{}, "mta-sts.ex.test")}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool()},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}}
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

func (f *fixture) options() Options {
	m := resolver.NewMock(f.extra...).Secure("ex.test").Fail(f.fails...)
	for _, rr := range f.rrs {
		m.Add(rr)
	}
	return Options{
		Resolver:   m,
		HTTPClient: f.client,
		RootCAs:    f.ca.Pool(),
		DialSTARTTLS: func(ctx context.Context, host string, port int) (*tls.ConnectionState, error) {
			if f.dialErr != nil {
				return nil, f.dialErr
			}
			if host != "mx.ex.test" || port != 25 {
				return nil, fmt.Errorf("dialled %s:%d", host, port)
			}
			return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{f.leaf.Leaf}}, nil
		},
	}
}

var exDomain = Domain{Name: "ex.test", DKIMSelectors: []string{"s1"}, Checks: AllChecks(), DNSBLZones: []string{"bl.test"}}

func codes(r *Result) []string {
	var out []string
	for check, cr := range r.Checks {
		for _, p := range cr.Problems {
			out = append(out, check+"/"+p.Code)
		}
		if !cr.LookupSuccess {
			out = append(out, check+"/lookup_failed")
		}
	}
	sort.Strings(out)
	return out
}

func TestRunGood(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := Run(ctx, exDomain, f.options())
	knownCodes(t, r)
	if c := codes(r); len(c) > 0 {
		t.Fatalf("problems on a correct domain: %v", c)
	}
	for _, name := range AllChecks() {
		if cr := r.Checks[name]; cr == nil || !cr.Valid || !cr.LookupSuccess {
			t.Errorf("%s: %+v", name, cr)
		}
	}
	if r.MXHosts != 1 || r.SPFLookups != 1 || r.DMARCPolicy != "reject" || r.MTASTSMode != "enforce" ||
		r.MTASTSMaxAge != 604800 || !r.DANE["mx.ex.test"] || len(r.PTR) != 1 || !r.PTR[0].Valid ||
		!r.DNSSEC["ex.test"] || len(r.DNSBL) != 1 || r.DNSBL[0].Listed || r.Finished.IsZero() {
		t.Errorf("figures: %+v", r)
	}
	if len(r.DKIMKeys) != 1 || r.DKIMKeys[0] != (DKIMKey{"s1", "ed25519", 256}) {
		t.Errorf("dkim: %+v", r.DKIMKeys)
	}
}

func TestRunFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(f *fixture)
		want   []string
	}{
		{"spf include missing", func(f *fixture) {
			f.rrs["spf"] = `ex.test. 300 IN TXT "v=spf1 include:gone.ex.test -all"`
		}, []string{"spf/spf_include_missing"}},
		{"spf missing", func(f *fixture) { delete(f.rrs, "spf") }, []string{"spf/spf_missing"}},
		{"dkim revoked", func(f *fixture) { f.rrs["dkim"] = `s1._domainkey.ex.test. 300 IN TXT "v=DKIM1; p="` },
			[]string{"dkim/dkim_revoked"}},
		{"dmarc none", func(f *fixture) { f.rrs["dmarc"] = `_dmarc.ex.test. 300 IN TXT "v=DMARC1; p=none"` },
			[]string{"dmarc/dmarc_policy_none"}},
		{"no tls-rpt", func(f *fixture) { delete(f.rrs, "rpt") }, []string{"tls_rpt/tlsrpt_missing"}},
		{"no mta-sts", func(f *fixture) { delete(f.rrs, "sts") }, []string{"mta_sts/mtasts_missing"}},
		{"tlsa mismatch", func(f *fixture) { f.rrs["tlsa"] = "_25._tcp.mx.ex.test. 300 IN TLSA 3 1 1 00" },
			[]string{"dane/dane_mismatch"}},
		{"ptr not confirmed", func(f *fixture) { f.rrs["ptr"] = "10.2.0.192.in-addr.arpa. 300 IN PTR other.ex.test." },
			[]string{"ptr/ptr_not_confirmed"}},
		{"mx cname", func(f *fixture) {
			f.rrs["mx"] = "ex.test. 300 IN MX 10 alias.ex.test."
			f.extra = append(f.extra, "alias.ex.test. 300 IN CNAME mx.ex.test.")
		}, []string{"dane/dane_missing", "mta_sts/mtasts_mx_not_covered", "mta_sts/mtasts_mx_starttls_failed", "mx/mx_target_cname"}},
		{"dial fails", func(f *fixture) { f.dialErr = errors.New("connection refused") },
			[]string{"dane/dane_starttls_failed", "mta_sts/mtasts_mx_starttls_failed"}},
		{"policy misses mx", func(f *fixture) { f.policy = "version: STSv1\nmode: enforce\nmx: other.ex.test\nmax_age: 604800\n" },
			[]string{"mta_sts/mtasts_mx_not_covered"}},
		{"listed", func(f *fixture) { f.extra = append(f.extra, "10.2.0.192.bl.test. 300 IN A 127.0.0.2") }, []string{"dnsbl/dnsbl_listed"}},
		{"dnsbl refused", func(f *fixture) { f.extra = append(f.extra, "10.2.0.192.bl.test. 300 IN A 127.255.255.254") },
			[]string{"dnsbl/lookup_failed"}},
		{"servfail", func(f *fixture) { f.fails = append(f.fails, "_dmarc.ex.test") }, []string{"dmarc/lookup_failed"}},
		{"mx servfail", func(f *fixture) { f.fails = append(f.fails, "ex.test MX") },
			[]string{"dane/lookup_failed", "dnsbl/lookup_failed", "mta_sts/lookup_failed", "mx/lookup_failed", "ptr/lookup_failed", "spf/lookup_failed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.change(f)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := Run(ctx, exDomain, f.options())
			knownCodes(t, r)
			if got := codes(r); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("codes %v, want %v", got, c.want)
			}
		})
	}
}

// slowResolver answers nothing until the context ends.
type slowResolver struct{}

func (slowResolver) Lookup(ctx context.Context, name string, qtype uint16) (resolver.Answer, error) {
	<-ctx.Done()
	return resolver.Answer{}, fmt.Errorf("%w: %v", resolver.ErrDNS, ctx.Err())
}

// stuckResolver ignores the context for a while: Run must still return.
type stuckResolver struct{}

func (stuckResolver) Lookup(ctx context.Context, name string, qtype uint16) (resolver.Answer, error) {
	time.Sleep(300 * time.Millisecond)
	return resolver.Answer{Rcode: dns.RcodeNameError}, nil
}

func TestRunDeadline(t *testing.T) {
	for name, r := range map[string]Resolver{"slow": slowResolver{}, "stuck": stuckResolver{}} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			res := Run(ctx, exDomain, Options{Resolver: r})
			if d := time.Since(start); d > 250*time.Millisecond {
				t.Errorf("Run took %v with a 100ms deadline", d)
			}
			for _, name := range AllChecks() {
				if cr := res.Checks[name]; cr == nil || cr.LookupSuccess {
					t.Errorf("%s: %+v", name, cr)
				}
			}
			time.Sleep(400 * time.Millisecond) // let stuck lookups end before goleak looks
		})
	}
}

type panicResolver struct{}

func (panicResolver) Lookup(context.Context, string, uint16) (resolver.Answer, error) { panic("boom") }

func TestRunNeverPanics(t *testing.T) {
	res := Run(context.Background(), exDomain, Options{Resolver: panicResolver{}})
	for _, name := range AllChecks() {
		if name == CheckDNSBL {
			continue
		}
		if cr := res.Checks[name]; cr == nil || cr.LookupSuccess || !strings.Contains(cr.Error, "internal error") {
			t.Errorf("%s: %+v", name, cr)
		}
	}
	res = Run(context.Background(), exDomain, Options{})
	if cr := res.Checks[CheckMX]; cr == nil || cr.LookupSuccess {
		t.Errorf("no resolver: %+v", cr)
	}
}

func TestRunSelectsChecks(t *testing.T) {
	f := newFixture(t)
	d := Domain{Name: "EX.test.", Checks: []string{"spf", "SPF", "bogus"}}
	r := Run(context.Background(), d, f.options())
	if len(r.Checks) != 1 || r.Checks[CheckSPF] == nil || r.Domain != "ex.test" {
		t.Errorf("checks %v domain %q", r.Checks, r.Domain)
	}
	r = Run(context.Background(), Domain{Name: "ex.test"}, f.options())
	if len(r.Checks) != len(DefaultChecks()) {
		t.Errorf("default checks: %v", r.Checks)
	}
	if cr := r.Checks[CheckDKIM]; cr.Valid || len(cr.Problems) != 1 || cr.Problems[0].Code != "dkim_no_selectors" {
		t.Errorf("dkim without selectors: %+v", cr)
	}
}
