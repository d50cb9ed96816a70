package dnscheck

// The real-peer test: knot serves signed and unsigned zones, unbound
// validates in front of it, an HTTPS server serves the MTA-STS policies and
// Postfix presents the MX certificate after STARTTLS. Every check runs
// against them through the production code paths (resolver.Client, the
// default STARTTLS dialer); only the HTTP client is given a dialer, because
// policies live on port 443.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/dnspeers"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/starttls"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// mxNames are the MX hosts; the SMTP server's certificate must be valid for
// all of them (MTA-STS, RFC 8461 4.2).
var mxNames = []string{"mx.good.test", "mx.badtlsa.test", "mx.unsigned.test", "mx.badptr.test"}

// mailServer is the SMTP server behind every MX name.
type mailServer struct {
	IP      string            // where the MX names point: its PTR confirms
	OtherIP string            // the same server; its PTR does not confirm
	Port    int               // the STARTTLS port, our smtp_port
	Cert    *x509.Certificate // the leaf it presents after STARTTLS
	CAFile  string            // the CA's certificate, for openssl s_client
}

// startMX starts a real Postfix (with Dovecot, collector/internal/peers)
// presenting a certificate from ca for every MX name. It listens on 127.0.0.2
// and 127.0.0.1; the TLSA records are computed from what it presents.
func startMX(t *testing.T, ca *peers.CA) mailServer {
	certPEM, keyPEM, _ := ca.Issue(t, peers.CertOptions{DNSNames: mxNames})
	mail := peers.StartMail(t, peers.WithCA(ca), peers.WithCert(certPEM, keyPEM))
	s := mailServer{IP: mail.Host, OtherIP: "127.0.0.1", Port: mail.Ports["smtp"], CAFile: mail.CAFile}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := starttls.Dial(ctx, nil, s.IP, s.Port, "probe.test")
	if err != nil {
		t.Fatalf("Postfix on %s:%d: %v", s.IP, s.Port, err)
	}
	s.Cert = cs.PeerCertificates[0]
	return s
}

// startPolicies serves each zone's MTA-STS policy over HTTPS on loopback and
// returns a client that reaches it whatever host it asks for.
func startPolicies(t *testing.T, ca *peers.CA, policies map[string]string) *http.Client {
	var names []string
	for zone := range policies {
		names = append(names, "mta-sts."+zone)
	}
	certPEM, keyPEM, _ := ca.Issue(t, peers.CertOptions{DNSNames: names})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			zone := strings.TrimPrefix(strings.Split(r.Host, ":")[0], "mta-sts.")
			p, ok := policies[zone]
			if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, p)
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 5 * time.Second,
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })
	addr := ln.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool()},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// zone-file helpers

func txt(owner, s string) string {
	var parts []string
	for len(s) > 255 { // a character-string holds 255 octets (RFC 1035 3.3)
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	parts = append(parts, `"`+s+`"`)
	return fmt.Sprintf("%s TXT %s\n", owner, strings.Join(parts, " "))
}

// mailZone is a correct mail domain; faults edit its records.
type mailZone struct {
	name    string
	signed  bool
	records map[string]string // by role
	extra   string
	policy  string
}

func newMailZone(name, dkimKey string) *mailZone {
	return &mailZone{name: name, signed: true, records: map[string]string{
		"mx":    "@ MX 10 mx.good.test.\n",
		"spf":   txt("@", "v=spf1 mx -all"),
		"dmarc": txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:dmarc@"+name),
		"dkim":  txt("s1._domainkey", "v=DKIM1; k=rsa; p="+dkimKey),
		"sts":   txt("_mta-sts", "v=STSv1; id=20260101"),
		"rpt":   txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:tls@"+name),
		"www":   "mta-sts A 127.0.0.1\n",
	}, policy: "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 604800\n"}
}

// ownMX gives the zone its own MX host at ip, with a TLSA record.
func (z *mailZone) ownMX(ip string, port int, tlsa string) {
	z.records["mx"] = fmt.Sprintf("@ MX 10 mx\nmx A %s\n_%d._tcp.mx TLSA %s\n", ip, port, tlsa)
	z.policy = strings.Replace(z.policy, "mx: mx.good.test", "mx: mx."+z.name, 1)
}

func (z *mailZone) dns() dnspeers.Zone {
	var b strings.Builder
	for _, r := range z.records {
		b.WriteString(r)
	}
	b.WriteString(z.extra)
	return dnspeers.Zone{Name: z.name, Signed: z.signed, Records: b.String()}
}

func TestRealPeers(t *testing.T) {
	dnspeers.Require(t)
	t0 := time.Now()
	ca := peers.NewCA(t)
	mail := startMX(t, ca)
	tMail := time.Since(t0)
	tlsa := "3 1 1 " + testpki.SPKISHA256(mail.Cert)
	port := mail.Port
	mxIP, mxIPBadRR := mail.IP, mail.OtherIP

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	dkimKey := base64.StdEncoding.EncodeToString(der)

	zones := map[string]*mailZone{}
	for _, n := range []string{"good.test", "lookups.test", "twodmarc.test", "revoked.test", "stsmx.test", "badtlsa.test", "badptr.test", "unsigned.test", "wrongname.test"} {
		zones[n] = newMailZone(n, dkimKey)
	}
	good := zones["good.test"]
	good.ownMX(mxIP, port, tlsa)

	// SPF: 11 includes, each a valid record: one DNS-querying term too many.
	var inc []string
	for i := 1; i <= 11; i++ {
		inc = append(inc, fmt.Sprintf("include:i%d.lookups.test", i))
		zones["lookups.test"].extra += txt(fmt.Sprintf("i%d", i), "v=spf1 ip4:"+mxIP+" -all")
	}
	zones["lookups.test"].records["spf"] = txt("@", "v=spf1 "+strings.Join(inc, " ")+" -all")
	// DMARC: a second record at _dmarc.
	zones["twodmarc.test"].extra = txt("_dmarc", "v=DMARC1; p=quarantine")
	// DKIM: the selector's key is revoked.
	zones["revoked.test"].records["dkim"] = txt("s1._domainkey", "v=DKIM1; k=rsa; p=")
	// MTA-STS: the policy does not cover the MX host.
	zones["stsmx.test"].policy = "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 604800\n"
	// DANE: a TLSA record that matches another key.
	zones["badtlsa.test"].ownMX(mxIP, port, "3 1 1 "+strings.Repeat("ab", 32))
	// PTR: the MX address's PTR name does not resolve back to it.
	zones["badptr.test"].ownMX(mxIPBadRR, port, tlsa)
	zones["badptr.test"].extra = "nomatch A 127.0.0.99\n"
	// DANE without DNSSEC: an unsigned zone publishing TLSA.
	zones["unsigned.test"].signed = false
	zones["unsigned.test"].ownMX(mxIP, port, tlsa)
	// MX name: mx.wrongname.test, on both addresses of the server, is not
	// among the certificate's names (the TLSA record still matches its key).
	zones["wrongname.test"].ownMX(mxIP, port, tlsa)
	zones["wrongname.test"].extra = "mx A " + mxIPBadRR + "\n"

	rev := func(ip string) string { // "127.0.0.2" -> "2.0.0", relative to 127.in-addr.arpa
		p := strings.Split(ip, ".")
		return p[3] + "." + p[2] + "." + p[1]
	}
	dz := []dnspeers.Zone{
		{Name: "127.in-addr.arpa", Records: rev(mxIP) + " PTR mx.good.test.\n" + rev(mxIPBadRR) + " PTR nomatch.badptr.test.\n" + inAddrRecords},
		{Name: "bl.test", Records: "99.0.0.127 A 127.0.0.2\n"},
	}
	dz = append(dz, verdictZones...)
	policies := map[string]string{}
	for n, z := range zones {
		dz = append(dz, z.dns())
		policies[n] = z.policy
	}
	tPeers := time.Now()
	peers := dnspeers.Start(t, dz...)
	t.Logf("timing: Postfix+Dovecot up in %v; knot+unbound up in %v", tMail.Round(time.Millisecond), time.Since(tPeers).Round(time.Millisecond))

	res, err := resolver.New(peers.Resolver)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{
		Resolver:   res,
		HTTPClient: startPolicies(t, ca, policies),
		RootCAs:    ca.Pool(),
		EHLOName:   "probe.test",
	}

	for _, c := range []struct {
		domain string
		want   []string // check/code, sorted
	}{
		{"good.test", nil},
		{"lookups.test", []string{"spf/spf_too_many_lookups"}},
		{"twodmarc.test", []string{"dmarc/dmarc_multiple"}},
		{"revoked.test", []string{"dkim/dkim_revoked"}},
		{"stsmx.test", []string{"mta_sts/mtasts_mx_not_covered"}},
		{"badtlsa.test", []string{"dane/dane_mismatch"}},
		{"badptr.test", []string{"ptr/ptr_not_confirmed"}},
		{"unsigned.test", []string{"dane/dane_tlsa_insecure"}},
	} {
		t.Run(c.domain, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			start := time.Now()
			d := Domain{Name: c.domain, DKIMSelectors: []string{"s1"}, Checks: AllChecks(), DNSBLZones: []string{"bl.test"}, SMTPPort: port,
				MXCertificates: true}
			r := Run(ctx, d, opt)
			t.Logf("timing: Run(%s) took %v", c.domain, time.Since(start).Round(time.Millisecond))
			knownCodes(t, r)
			logMetrics(t, r)
			got := codes(r)
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				for name, cr := range r.Checks {
					for _, p := range cr.Problems {
						t.Logf("%s: %s: %s", name, p.Code, p.Detail)
					}
					if cr.Error != "" {
						t.Logf("%s: lookup error: %s", name, cr.Error)
					}
				}
				t.Fatalf("codes %v, want %v", got, c.want)
			}
			wantSecure := c.domain != "unsigned.test"
			if r.DNSSEC[c.domain] != wantSecure {
				t.Errorf("DNSSEC %v, want %s secure=%v", r.DNSSEC, c.domain, wantSecure)
			}
			for _, name := range AllChecks() {
				cr := r.Checks[name]
				bad := strings.Join(c.want, " ")
				if cr == nil || !cr.LookupSuccess || cr.Valid == strings.Contains(bad, name+"/") {
					t.Errorf("%s: %+v", name, cr)
				}
			}
			if c.domain == "good.test" {
				lint(t, collector{results: []*Result{r}})
				want := "# HELP mail_dnssec_secure 1 if answers for the zone came back DNSSEC-authenticated (AD bit from the validating resolver).\n" +
					"# TYPE mail_dnssec_secure gauge\nmail_dnssec_secure{domain=\"good.test\",zone=\"good.test\"} 1\n"
				if err := testutil.CollectAndCompare(collector{results: []*Result{r}}, strings.NewReader(want), "mail_dnssec_secure"); err != nil {
					t.Error(err)
				}
				if r.SPFLookups != 1 || r.DMARCPolicy != "reject" || r.MTASTSMode != "enforce" || !r.DANE["mx.good.test"] ||
					len(r.DKIMKeys) != 1 || r.DKIMKeys[0].Bits != 2048 || len(r.PTR) != 1 || !r.PTR[0].Valid {
					t.Errorf("figures: %+v", r)
				}
			}
		})
	}
	t.Run("verdicts", func(t *testing.T) { testVerdicts(t, opt, port) })
	t.Run("mx certificate names", func(t *testing.T) { testMXNames(t, opt, mail) })
	t.Logf("timing: whole test %v", time.Since(t0).Round(time.Millisecond))
}

// logMetrics logs the domain's series as /metrics shows them (go test -v).
func logMetrics(t *testing.T, r *Result) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collector{results: []*Result{r}})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if mf.GetName() == "mail_dns_check_last_run_timestamp_seconds" {
				continue
			}
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(ls, ","), m.GetGauge().GetValue())
		}
	}
	t.Logf("/metrics for %s:\n%s", r.Domain, b.String())
}

// testMXNames: with MXCertificates, an MX name the certificate Postfix
// presents does not cover is mx_certificate_name on every address, naming
// the host and the certificate's names; the verdict on each name and
// address agrees with `openssl s_client -verify_hostname`.
func testMXNames(t *testing.T, opt Options, mail mailServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d := Domain{Name: "wrongname.test", Checks: []string{CheckMX, CheckMTASTS, CheckDANE}, SMTPPort: mail.Port, MXCertificates: true}
	r := Run(ctx, d, opt)
	knownCodes(t, r)
	want := []string{"mta_sts/mtasts_mx_certificate", "mta_sts/mtasts_mx_certificate", "mx/mx_certificate_name", "mx/mx_certificate_name"}
	if got := codes(r); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("codes %v, want %v", got, want)
	}
	names := strings.Join(mxNames, ", ")
	var details []string
	for _, p := range r.Checks[CheckMX].Problems {
		details = append(details, p.Detail)
	}
	wantDetails := []string{
		fmt.Sprintf("MX host certificate does not cover the MX name: mx.wrongname.test port %d presents a certificate for %s (address %s)", mail.Port, names, mail.IP),
		fmt.Sprintf("MX host certificate does not cover the MX name: mx.wrongname.test port %d presents a certificate for %s (address %s)", mail.Port, names, mail.OtherIP),
	}
	slices.Sort(details)
	slices.Sort(wantDetails)
	if !slices.Equal(details, wantDetails) {
		t.Errorf("details\n%s\nwant\n%s", strings.Join(details, "\n"), strings.Join(wantDetails, "\n"))
	}
	if cr := r.Checks[CheckMX]; !cr.Valid || !cr.LookupSuccess {
		t.Errorf("mx: %+v", cr)
	}

	// The same question to openssl, name by name and address by address.
	r = Run(ctx, Domain{Name: "good.test", Checks: []string{CheckMX}, SMTPPort: mail.Port, MXCertificates: true}, opt)
	if got := codes(r); len(got) > 0 {
		t.Errorf("good.test: %v", got)
	}
	for _, c := range []struct{ host, ip, ours string }{
		{"mx.good.test", mail.IP, "covered"},
		{"mx.wrongname.test", mail.IP, "not covered"},
		{"mx.wrongname.test", mail.OtherIP, "not covered"},
	} {
		theirs := opensslNameVerdict(t, c.ip, mail.Port, c.host, mail.CAFile)
		t.Logf("| MX name coverage | certificate for %s | %s at %s | %s | %s |", names, c.host, c.ip, c.ours, theirs)
		if theirs != c.ours {
			t.Errorf("%s at %s: ours %s, openssl %s", c.host, c.ip, c.ours, theirs)
		}
	}
}

var verifyCodeRE = regexp.MustCompile(`Verify return code: (\d+) \(([^)]*)\)`)

// opensslNameVerdict asks `openssl s_client -verify_hostname` whether the
// certificate presented after STARTTLS on ip:port covers host.
func opensslNameVerdict(t *testing.T, ip string, port int, host, caFile string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", net.JoinHostPort(ip, strconv.Itoa(port)),
		"-starttls", "smtp", "-servername", host, "-verify_hostname", host, "-CAfile", caFile)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	m := verifyCodeRE.FindStringSubmatch(string(out))
	switch {
	case m == nil:
		t.Fatalf("s_client gave no verify code:\n%s", out)
	case m[1] == "0":
		return "covered"
	case m[1] == "62": // X509_V_ERR_HOSTNAME_MISMATCH
		return "not covered"
	}
	return "verify " + m[1] + " (" + m[2] + ")"
}
