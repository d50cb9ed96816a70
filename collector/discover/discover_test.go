package discover

// Unit tests of the whole discovery against in-process servers (package
// fakes) on 127.0.0.1, a mock resolver and an httptest HTTPS server. The
// real-peer test (realpeers_test.go) repeats the main cases against Dovecot,
// Postfix, knot and unbound through the production dialers.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

// codes lists a result's problems as "check/code", sorted.
func codes(r *Result) []string {
	var out []string
	for name, cr := range r.Checks {
		for _, p := range cr.Problems {
			out = append(out, name+"/"+p.Code)
		}
	}
	sort.Strings(out)
	return out
}

// endpointList lists endpoints as "host name sources".
func endpointList(eps []Endpoint) []string {
	var out []string
	for _, e := range eps {
		out = append(out, fmt.Sprintf("%s %s %s", e.Host, e.Name, strings.Join(e.Sources, "+")))
	}
	return out
}

func logResult(t *testing.T, r *Result) {
	t.Helper()
	for name, cr := range r.Checks {
		t.Logf("%s: lookup=%v valid=%v error=%q", name, cr.LookupSuccess, cr.Valid, cr.Error)
		for _, p := range cr.Problems {
			t.Logf("  %s %s: %s", p.Severity, p.Code, p.Detail)
		}
	}
	for _, e := range r.Endpoints {
		t.Logf("  endpoint %s", e.Key())
	}
	if len(r.SourceErrors) > 0 {
		t.Logf("source errors: %v", r.SourceErrors)
	}
}

// closedPort returns a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// autoconfigServer serves files by host name; other hosts and paths get 404.
func autoconfigServer(t *testing.T, pki *fakes.PKI, files map[string]http.HandlerFunc) *http.Client {
	var hosts []string
	for h := range files {
		hosts = append(hosts, h)
	}
	certPEM, keyPEM, _ := pki.CA.Issue(t, fakes.CertOptions{DNSNames: hosts})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := files[strings.Split(r.Host, ":")[0]]
		if !ok || r.URL.Path != "/mail/config-v1.1.xml" && r.URL.Path != "/.well-known/autoconfig/mail/config-v1.1.xml" {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the clients' failed handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki.CA.Pool()},
		// Unit test only: every name reaches the test server. The real-peer
		// test dials through the resolver instead.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr}
}

func xmlFile(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, body)
	}
}

func TestDiscover(t *testing.T) {
	pki := fakes.NewPKI(t, fakes.CertOptions{DNSNames: []string{"mail.ex.test", "other.ex.test"}})
	ports := map[string]int{
		"imap":     fakes.IMAP(t, pki, false),
		"imaps":    fakes.IMAP(t, pki, true),
		"smtp":     fakes.SMTP(t, pki, false),
		"smtps":    fakes.SMTP(t, pki, true),
		"pop3s":    fakes.POP3(t, pki, true, []string{"USER"}),
		"pop3bare": fakes.POP3(t, pki, false, []string{"USER"}), // no STLS
		"closed":   closedPort(t),
	}
	// srv writes an SRV record line; p is a key of ports or a number.
	srv := func(domain, label string, prio, weight int, p, target string) string {
		port, ok := ports[p]
		if !ok {
			fmt.Sscan(p, &port)
		}
		return fmt.Sprintf("%s.%s. 300 IN SRV %d %d %d %s", label, domain, prio, weight, port, target)
	}
	server := func(el, typ, host, p, socket string, auth ...string) string {
		port, ok := ports[p]
		if !ok {
			fmt.Sscan(p, &port)
		}
		var a string
		for _, x := range auth {
			a += "<authentication>" + x + "</authentication>"
		}
		return fmt.Sprintf(`<%s type="%s"><hostname>%s</hostname><port>%d</port><socketType>%s</socketType>%s</%s>`, el, typ, host, port, socket, a, el)
	}
	in := func(host, p, socket string, auth ...string) string {
		return server("incomingServer", "imap", host, p, socket, auth...)
	}
	out := func(host, p, socket string) string {
		return server("outgoingServer", "smtp", host, p, socket, "password-cleartext")
	}
	goodSRV := func(d string) []string {
		return []string{
			srv(d, "_imaps._tcp", 0, 1, "imaps", "mail.ex.test."),
			srv(d, "_imaps._tcp", 10, 1, "closed", "backup.ex.test."), // a backup: neither offered nor verified
			srv(d, "_imap._tcp", 0, 1, "imap", "mail.ex.test."),
			srv(d, "_submission._tcp", 0, 1, "smtp", "mail.ex.test."),
			srv(d, "_submissions._tcp", 0, 5, "smtps", "mail.ex.test."),
			srv(d, "_submissions._tcp", 0, 0, "closed", "mail.ex.test."), // weight 0 beside a weighted one
			srv(d, "_pop3s._tcp", 0, 1, "pop3s", "mail.ex.test."),
			srv(d, "_pop3._tcp", 0, 0, "0", "."),
		}
	}
	goodAC := doc(in("mail.ex.test", "imaps", "SSL", "password-cleartext") + out("mail.ex.test", "smtp", "STARTTLS"))

	records := []string{
		"mail.ex.test. 300 IN A 127.0.0.1",
		"other.ex.test. 300 IN A 127.0.0.1",
		"wrong.ex.test. 300 IN A 127.0.0.1", // not in the certificate
		"backup.ex.test. 300 IN A 127.0.0.1",
	}
	files := map[string]http.HandlerFunc{}
	type tcase struct {
		domain    string
		srv       []string
		ac        http.HandlerFunc // nil: no autoconfig host
		want      []string
		endpoints []string // checked when set
	}
	cases := []tcase{
		{domain: "good.test", srv: goodSRV("good.test"), ac: xmlFile(goodAC), endpoints: []string{
			fmt.Sprintf("mail.ex.test imap-%d-implicit srv+autoconfig", ports["imaps"]),
			fmt.Sprintf("mail.ex.test imap-%d-starttls srv", ports["imap"]),
			fmt.Sprintf("mail.ex.test pop3-%d-implicit srv", ports["pop3s"]),
			fmt.Sprintf("mail.ex.test smtp-%d-implicit srv", ports["smtps"]),
			fmt.Sprintf("mail.ex.test smtp-%d-starttls srv+autoconfig", ports["smtp"]),
			"mx.good.test smtp mx",
		}},
		// autoconfig: SSL on the STARTTLS port; STARTTLS on the implicit one.
		{domain: "sslonstarttls.test", srv: goodSRV("sslonstarttls.test"),
			ac:   xmlFile(doc(in("mail.ex.test", "imap", "SSL") + out("mail.ex.test", "smtp", "STARTTLS"))),
			want: []string{"autoconfig/autoconfig_security_mismatch"}},
		{domain: "starttlsonssl.test", srv: goodSRV("starttlsonssl.test"),
			ac:   xmlFile(doc(in("mail.ex.test", "imaps", "STARTTLS") + out("mail.ex.test", "smtp", "STARTTLS"))),
			want: []string{"autoconfig/autoconfig_security_mismatch"}},
		{domain: "plaintext.test", srv: goodSRV("plaintext.test"),
			ac: xmlFile(doc(in("mail.ex.test", "imap", "plain", "password-cleartext") +
				server("outgoingServer", "smtp", "mail.ex.test", "smtp", "plain", "password-encrypted"))),
			want: []string{"autoconfig/autoconfig_plaintext", "autoconfig/autoconfig_unencrypted"}},
		{domain: "disagree.test", srv: goodSRV("disagree.test"),
			ac:   xmlFile(doc(in("other.ex.test", "imaps", "SSL") + out("mail.ex.test", "smtp", "STARTTLS"))),
			want: []string{"autoconfig/autoconfig_srv_mismatch", "srv/srv_autoconfig_mismatch"}},
		{domain: "notoffered.test", srv: []string{srv("notoffered.test", "_imaps._tcp", 0, 0, "0", "."), srv("notoffered.test", "_submission._tcp", 0, 1, "smtp", "mail.ex.test.")},
			ac:   xmlFile(goodAC),
			want: []string{"autoconfig/autoconfig_srv_mismatch", "srv/srv_autoconfig_mismatch"}},
		// SRV faults; no autoconfig at either URL.
		{domain: "plainpop.test", srv: []string{srv("plainpop.test", "_pop3._tcp", 0, 1, "pop3bare", "mail.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_plaintext"}},
		{domain: "closed.test", srv: []string{srv("closed.test", "_imaps._tcp", 0, 1, "closed", "mail.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_port_closed"}},
		{domain: "certname.test", srv: []string{srv("certname.test", "_imaps._tcp", 0, 1, "imaps", "wrong.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_certificate"}},
		{domain: "nohost.test", srv: []string{srv("nohost.test", "_imaps._tcp", 0, 1, "imaps", "gone.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_host_unresolvable"}},
		{domain: "implicitonplain.test", srv: []string{srv("implicitonplain.test", "_imaps._tcp", 0, 1, "imap", "mail.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_security_mismatch"}},
		{domain: "wrongproto.test", srv: []string{srv("wrongproto.test", "_imaps._tcp", 0, 1, "smtps", "mail.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_protocol_error"}},
		{domain: "invalid.test", srv: []string{srv("invalid.test", "_imaps._tcp", 0, 1, "0", "mail.ex.test."), srv("invalid.test", "_imaps._tcp", 5, 1, "imaps", "mail.ex.test.")},
			want: []string{"autoconfig/autoconfig_missing", "srv/srv_invalid"}},
		{domain: "nothing.test", want: []string{"autoconfig/autoconfig_missing", "srv/srv_missing"}},
		// autoconfig fetch faults.
		{domain: "syntax.test", srv: goodSRV("syntax.test"), ac: xmlFile("<clientConfig><emailProvider>"),
			want: []string{"autoconfig/autoconfig_syntax"}},
		{domain: "status.test", srv: goodSRV("status.test"), ac: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", 500) },
			want: []string{"autoconfig/autoconfig_fetch_failed"}},
		{domain: "redirect.test", srv: goodSRV("redirect.test"), ac: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.test/mail/config-v1.1.xml", http.StatusFound)
		}, want: []string{"autoconfig/autoconfig_fetch_failed"}},
		{domain: "html.test", srv: goodSRV("html.test"), ac: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<html><body>Welcome</body></html>")
		}, want: []string{"autoconfig/autoconfig_missing"}},
		{domain: "huge.test", srv: goodSRV("huge.test"), ac: xmlFile(strings.Replace(goodAC, "<emailProvider", "<!--"+strings.Repeat("x", MaxAutoconfigSize)+"--><emailProvider", 1)),
			want: []string{"autoconfig/autoconfig_fetch_failed"}},
	}
	for _, c := range cases {
		records = append(records, c.srv...)
		records = append(records, "mx."+c.domain+". 300 IN A 127.0.0.1", c.domain+". 300 IN MX 10 mx."+c.domain+".", c.domain+". 300 IN A 127.0.0.1")
		if c.ac != nil {
			records = append(records, "autoconfig."+c.domain+". 300 IN A 127.0.0.1")
			files["autoconfig."+c.domain] = c.ac
		}
	}
	// The well-known URL on the domain itself, for one domain.
	records = append(records, srv("wellknown.test", "_imaps._tcp", 0, 1, "imaps", "mail.ex.test."), "wellknown.test. 300 IN A 127.0.0.1")
	files["wellknown.test"] = xmlFile(doc(in("mail.ex.test", "imaps", "SSL")))
	cases = append(cases, tcase{domain: "wellknown.test", endpoints: []string{fmt.Sprintf("mail.ex.test imap-%d-implicit srv+autoconfig", ports["imaps"])}})

	res := resolver.NewMock(records...)
	opt := Options{Resolver: res, HTTPClient: autoconfigServer(t, pki, files), RootCAs: pki.CA.Pool(),
		EHLOName: "probe.ex.test", Timeout: 2 * time.Second, SMTPPort: 25}
	for _, c := range cases {
		t.Run(c.domain, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			r := Discover(ctx, c.domain, nil, opt)
			t.Logf("Discover(%s) took %v", c.domain, time.Since(start).Round(time.Millisecond))
			knownCodes(t, r)
			if testing.Verbose() {
				logResult(t, r)
			}
			if got := codes(r); !slices.Equal(got, c.want) {
				logResult(t, r)
				t.Fatalf("codes %q, want %q", got, c.want)
			}
			if !slices.IsSortedFunc(r.Endpoints, compareEndpoints) {
				t.Errorf("endpoints not sorted: %q", endpointList(r.Endpoints))
			}
			if got := endpointList(r.Endpoints); c.endpoints != nil && !slices.Equal(sorted(got), sorted(c.endpoints)) {
				logResult(t, r)
				t.Fatalf("endpoints\n%s\nwant\n%s", strings.Join(endpointList(r.Endpoints), "\n"), strings.Join(c.endpoints, "\n"))
			}
			for name, cr := range r.Checks {
				wantValid := !slices.ContainsFunc(c.want, func(s string) bool {
					check, code, _ := strings.Cut(s, "/")
					return check == name && (severity(code) == dnscheck.SeverityError || strings.HasSuffix(code, "_missing"))
				})
				if !cr.LookupSuccess || cr.Valid != wantValid {
					t.Errorf("%s: lookup %v valid %v, want valid %v", name, cr.LookupSuccess, cr.Valid, wantValid)
				}
			}
			if len(r.SourceErrors) > 0 {
				t.Errorf("source errors %v", r.SourceErrors)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func severity(code string) dnscheck.Severity {
	for _, c := range dnscheck.Codes {
		if c.Code == code {
			return c.Severity
		}
	}
	return ""
}

// knownCodes fails the test when a result carries a code that is not in
// dnscheck.Codes under its check with its severity.
func knownCodes(t *testing.T, r *Result) {
	t.Helper()
	known := map[string]dnscheck.CodeInfo{}
	for _, c := range dnscheck.Codes {
		known[c.Code] = c
	}
	for check, cr := range r.Checks {
		for _, p := range cr.Problems {
			c, ok := known[p.Code]
			if !ok || c.Check != check || c.Severity != p.Severity {
				t.Errorf("check %s emitted %s/%s, not in dnscheck.Codes", check, p.Code, p.Severity)
			}
		}
	}
}

// TestCodesExist: every code discover can emit is in dnscheck.Codes under
// its check.
func TestCodesExist(t *testing.T) {
	emitted := map[string]string{
		"srv_missing": SourceSRV, "srv_invalid": SourceSRV, "srv_autoconfig_mismatch": SourceSRV,
		"autoconfig_missing": SourceAutoconfig, "autoconfig_fetch_failed": SourceAutoconfig, "autoconfig_syntax": SourceAutoconfig,
		"autoconfig_plaintext": SourceAutoconfig, "autoconfig_unencrypted": SourceAutoconfig, "autoconfig_srv_mismatch": SourceAutoconfig,
	}
	for _, kind := range []string{kindUnresolvable, kindClosed, kindProtocol, kindMismatch, kindTLS, kindCertificate, kindNoSTARTTLS} {
		for _, src := range []string{SourceSRV, SourceAutoconfig} {
			emitted[outcome{kind: kind}.code(src)] = src
		}
	}
	known := map[string]string{}
	for _, c := range dnscheck.Codes {
		known[c.Code] = c.Check
	}
	for code, check := range emitted {
		if known[code] != check {
			t.Errorf("%s: not in dnscheck.Codes under check %s", code, check)
		}
	}
	for code, check := range known {
		if (check == SourceSRV || check == SourceAutoconfig) && emitted[code] == "" {
			t.Errorf("%s is in dnscheck.Codes but never emitted", code)
		}
	}
}

func TestDiscoverLookupFailures(t *testing.T) {
	res := resolver.NewMock(
		"fail.test. 300 IN MX 10 mx.fail.test.",
		"mx.fail.test. 300 IN A 127.0.0.1",
		"_imaps._tcp.fail.test. 300 IN SRV 0 1 993 imap.fail.test.",
	).Fail("_imap._tcp.fail.test SRV", "autoconfig.fail.test", "imap.fail.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := Discover(ctx, "fail.test", []string{"mx", "srv", "autoconfig"}, Options{Resolver: res, Timeout: time.Second})
	logResult(t, r)
	for _, name := range []string{SourceSRV, SourceAutoconfig} {
		if cr := r.Checks[name]; cr == nil || cr.LookupSuccess || cr.Valid || cr.Error == "" {
			t.Errorf("%s: %+v", name, cr)
		}
		if r.SourceErrors[name] == "" {
			t.Errorf("%s: no source error", name)
		}
	}
	if len(codes(r)) != 0 {
		t.Errorf("codes %v: a failed lookup is not a finding", codes(r))
	}
	// The imaps target could not be resolved (SERVFAIL): it is still
	// advertised, and the MX host too.
	if got := endpointList(r.Endpoints); !slices.Equal(got, []string{"imap.fail.test imaps srv", "mx.fail.test smtp mx"}) {
		t.Errorf("endpoints %q", got)
	}

	// Only the checks asked for; no resolver at all.
	r = Discover(ctx, "fail.test", []string{"srv"}, Options{})
	if _, ok := r.Checks[SourceAutoconfig]; ok || r.Checks[SourceSRV] == nil || r.SourceErrors[SourceMX] == "" {
		t.Errorf("no resolver: %+v", r)
	}
}

func TestEndpointConfig(t *testing.T) {
	e := Endpoint{Host: "mail.ex.test", Name: "imaps", Protocol: "imap", Port: 993, TLS: "implicit"}
	c := e.Config(time.Minute, 10*time.Second)
	if c.Name != "imaps" || c.Credential != nil || !c.VerifyCertificate || c.Timeout != 10*time.Second || c.Interval != time.Minute || c.Port != 993 {
		t.Errorf("%+v", c)
	}
	if e.Key() != "mail.ex.test|imap|993|implicit" {
		t.Errorf("key %q", e.Key())
	}
}

// A server that accepts and then says nothing: within the probe timeout
// that is a port that does not answer; past the discovery's deadline it is
// no finding at all, only an unfinished check.
func TestDiscoverSilentServer(t *testing.T) {
	silent := fakes.Script(t, func(c net.Conn, r *bufio.Reader) { io.Copy(io.Discard, r) })
	res := resolver.NewMock(
		fmt.Sprintf("_imaps._tcp.silent.test. 300 IN SRV 0 1 %d mail.silent.test.", silent),
		"mail.silent.test. 300 IN A 127.0.0.1",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := Discover(ctx, "silent.test", []string{"srv"}, Options{Resolver: res, Timeout: 300 * time.Millisecond})
	logResult(t, r)
	if got := codes(r); !slices.Equal(got, []string{"srv/srv_port_closed"}) {
		t.Errorf("codes %q", got)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r = Discover(ctx, "silent.test", []string{"srv"}, Options{Resolver: res, Timeout: 5 * time.Second})
	logResult(t, r)
	if cr := r.Checks[SourceSRV]; len(codes(r)) != 0 || cr.LookupSuccess || !strings.Contains(cr.Error, "not verified") {
		t.Errorf("codes %q, srv %+v", codes(r), cr)
	}
}
