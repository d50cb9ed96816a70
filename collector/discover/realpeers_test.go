package discover

// The real-peer test: knot serves the domains' MX, SRV and address records
// and unbound resolves them; Dovecot and Postfix are the advertised servers;
// an in-process HTTPS server on a loopback address, port 443, serves the
// autoconfig files. Discover runs through its production paths: the
// resolver.Client, the default HTTP client dialling through the resolver
// (the test names resolve to loopback addresses in the zone), and probe.Run.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

const zone = "disc.test"

// httpsOnLoopback listens on port 443 of a loopback address of its own
// (127.64.0.0/10 is unused by the other harnesses), which the zone's
// autoconfig names point at. Binding port 443 needs root, as the mail peers
// do; without it the test skips, or fails under MAIL_EXPORTER_REAL_PEERS=1.
func httpsOnLoopback(t *testing.T) net.Listener {
	pid := os.Getpid()
	var last error
	for i := 0; i < 20; i++ {
		ip := fmt.Sprintf("127.%d.%d.%d", 64+(pid>>16)%64, (pid>>8)%256, 1+(pid+i)%250)
		l, err := net.Listen("tcp", ip+":443")
		if err == nil {
			return l
		}
		last = err
		if errors.Is(err, syscall.EACCES) {
			break
		}
	}
	if os.Getenv(peers.EnvRealPeers) == "1" {
		t.Fatalf("cannot listen on a loopback port 443: %v", last)
	}
	t.Skipf("cannot listen on a loopback port 443: %v (needs root; set %s=1 to make this a failure)", last, peers.EnvRealPeers)
	return nil
}

// serveAutoconfig serves files[host] at both autoconfig paths.
func serveAutoconfig(t *testing.T, l net.Listener, cert tls.Certificate, files map[string]string) {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, ok := files[strings.Split(r.Host, ":")[0]]
			if !ok || r.URL.Path != "/mail/config-v1.1.xml" && r.URL.Path != "/.well-known/autoconfig/mail/config-v1.1.xml" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, body)
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 5 * time.Second,
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })
}

func TestRealPeers(t *testing.T) {
	dnstest.Require(t)
	t0 := time.Now()
	ln := httpsOnLoopback(t)
	httpsIP := ln.Addr().(*net.TCPAddr).IP.String()

	// Fault domains are the good one with one thing changed.
	domains := []string{"good", "sslmismatch", "closed", "plaintext", "disagree", "certname"}
	fqdn := func(d string) string { return d + "." + zone }
	var certNames []string
	for _, d := range domains {
		certNames = append(certNames, "mail."+fqdn(d), "mx."+fqdn(d))
	}
	certNames = append(certNames, "other."+fqdn("disagree")) // not wrong.certname.disc.test

	ca := peers.NewCA(t)
	certPEM, keyPEM, _ := ca.Issue(t, peers.CertOptions{DNSNames: certNames})
	mail := peers.StartMail(t, peers.WithCA(ca), peers.WithCert(certPEM, keyPEM))
	tMail := time.Since(t0)
	p := mail.Ports
	closed := func() int { // a port on the mail address where nothing listens
		l, err := net.Listen("tcp", mail.Host+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()

	type srvRec struct {
		label, host string
		prio, port  int
	}
	goodSRV := []srvRec{
		{"_submission._tcp", "mail", 0, p["submission"]},
		{"_submissions._tcp", "mail", 0, p["submissions"]},
		{"_imap._tcp", "mail", 0, p["imap"]},
		{"_imaps._tcp", "mail", 0, p["imaps"]},
		{"_imaps._tcp", "backup", 10, closed}, // a backup: not offered, not verified
		{"_pop3._tcp", "mail", 0, p["pop3"]},
		{"_pop3s._tcp", "mail", 0, p["pop3s"]},
	}
	type acServer struct {
		el, typ, host string
		port          int
		socket, auth  string
	}
	goodAC := []acServer{
		{"incomingServer", "imap", "mail.%EMAILDOMAIN%", p["imaps"], "SSL", "password-cleartext"},
		{"incomingServer", "imap", "mail.%EMAILDOMAIN%", p["imap"], "STARTTLS", "password-cleartext"},
		{"incomingServer", "pop3", "mail.%EMAILDOMAIN%", p["pop3s"], "SSL", "password-cleartext"},
		{"outgoingServer", "smtp", "mail.%EMAILDOMAIN%", p["submissions"], "SSL", "password-cleartext"},
		{"outgoingServer", "smtp", "mail.%EMAILDOMAIN%", p["submission"], "STARTTLS", "password-cleartext"},
	}
	type dom struct {
		srv  []srvRec
		ac   []acServer
		want []string
	}
	with := func(list []srvRec, i int, r srvRec) []srvRec {
		list = slices.Clone(list)
		list[i] = r
		return list
	}
	withAC := func(list []acServer, i int, s acServer) []acServer {
		list = slices.Clone(list)
		list[i] = s
		return list
	}
	cases := map[string]dom{
		"good": {srv: goodSRV, ac: goodAC},
		// autoconfig says SSL on the STARTTLS IMAP port.
		"sslmismatch": {srv: goodSRV, ac: withAC(goodAC, 1, acServer{"incomingServer", "imap", "mail.%EMAILDOMAIN%", p["imap"], "SSL", "password-cleartext"}),
			want: []string{"autoconfig/autoconfig_security_mismatch"}},
		// SRV's _imaps points at a closed port.
		"closed": {srv: with(goodSRV, 3, srvRec{"_imaps._tcp", "mail", 0, closed}), ac: goodAC[1:],
			want: []string{"srv/srv_port_closed"}},
		// autoconfig tells clients to log in without TLS.
		"plaintext": {srv: goodSRV, ac: withAC(goodAC, 1, acServer{"incomingServer", "imap", "mail.%EMAILDOMAIN%", p["imap"], "plain", "password-cleartext"}),
			want: []string{"autoconfig/autoconfig_plaintext"}},
		// autoconfig's IMAP servers are not those SRV prefers.
		"disagree": {srv: goodSRV, ac: withAC(withAC(goodAC, 0, acServer{"incomingServer", "imap", "other.%EMAILDOMAIN%", p["imaps"], "SSL", "password-cleartext"}),
			1, acServer{"incomingServer", "imap", "other.%EMAILDOMAIN%", p["imap"], "STARTTLS", "password-cleartext"}),
			want: []string{"autoconfig/autoconfig_srv_mismatch", "srv/srv_autoconfig_mismatch"}},
		// Both advertise a name the certificate does not cover.
		"certname": {srv: with(goodSRV, 3, srvRec{"_imaps._tcp", "wrong", 0, p["imaps"]}),
			ac:   withAC(goodAC, 0, acServer{"incomingServer", "imap", "wrong.%EMAILDOMAIN%", p["imaps"], "SSL", "password-cleartext"}),
			want: []string{"autoconfig/autoconfig_certificate", "srv/srv_certificate"}},
	}

	var records strings.Builder
	files := map[string]string{}
	var httpsNames []string
	for _, d := range domains {
		c := cases[d]
		fmt.Fprintf(&records, "%s MX 10 mx.%s\n", d, d)
		for _, h := range []string{"mx", "mail", "backup", "other", "wrong"} {
			fmt.Fprintf(&records, "%s.%s A %s\n", h, d, mail.Host)
		}
		fmt.Fprintf(&records, "autoconfig.%s A %s\n", d, httpsIP)
		for _, r := range c.srv {
			fmt.Fprintf(&records, "%s.%s SRV %d 1 %d %s.%s\n", r.label, d, r.prio, r.port, r.host, d)
		}
		var servers strings.Builder
		for _, s := range c.ac {
			fmt.Fprintf(&servers, "    <%s type=%q><hostname>%s</hostname><port>%d</port><socketType>%s</socketType><authentication>%s</authentication><username>%%EMAILADDRESS%%</username></%s>\n",
				s.el, s.typ, s.host, s.port, s.socket, s.auth, s.el)
		}
		files["autoconfig."+fqdn(d)] = fmt.Sprintf("<?xml version=\"1.0\"?>\n<clientConfig version=\"1.1\">\n  <emailProvider id=%q>\n    <domain>%s</domain>\n%s  </emailProvider>\n</clientConfig>\n",
			fqdn(d), fqdn(d), servers.String())
		httpsNames = append(httpsNames, "autoconfig."+fqdn(d))
	}
	httpsPEM, httpsKey, _ := ca.Issue(t, peers.CertOptions{DNSNames: httpsNames})
	httpsCert, err := tls.X509KeyPair(httpsPEM, httpsKey)
	if err != nil {
		t.Fatal(err)
	}
	serveAutoconfig(t, ln, httpsCert, files)

	tDNS := time.Now()
	dns := dnstest.Start(t, dnstest.Zone{Name: zone, Records: records.String()})
	t.Logf("timing: Dovecot+Postfix up in %v; knot+unbound up in %v", tMail.Round(time.Millisecond), time.Since(tDNS).Round(time.Millisecond))
	res, err := resolver.New(dns.Resolver)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Resolver: res, RootCAs: ca.Pool(), EHLOName: "probe.disc.test", Timeout: 5 * time.Second, SMTPPort: p["smtp"]}

	for _, d := range domains {
		c := cases[d]
		t.Run(d, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			r := Discover(ctx, fqdn(d), nil, opt)
			t.Logf("timing: Discover(%s) took %v", fqdn(d), time.Since(start).Round(time.Millisecond))
			knownCodes(t, r)
			if testing.Verbose() {
				logResult(t, r)
			}
			if got := codes(r); !slices.Equal(got, c.want) {
				logResult(t, r)
				t.Fatalf("codes %q, want %q", got, c.want)
			}
			if len(r.SourceErrors) > 0 {
				t.Fatalf("source errors %v", r.SourceErrors)
			}
			if d == "certname" {
				// The detail names both: the advertised host and the
				// names the certificate covers.
				for name, cr := range r.Checks {
					for _, p := range cr.Problems {
						if !strings.Contains(p.Detail, "not wrong."+fqdn(d)) || !strings.Contains(p.Detail, "mail."+fqdn(d)) {
							t.Errorf("%s/%s: %q names not both the host and the certificate's names", name, p.Code, p.Detail)
						}
					}
				}
			}
			for name, cr := range r.Checks {
				if !cr.LookupSuccess || cr.Valid != !slices.ContainsFunc(c.want, func(s string) bool {
					check, code, _ := strings.Cut(s, "/")
					return check == name && severity(code) == "error"
				}) {
					t.Errorf("%s: %+v", name, cr)
				}
			}
			if d != "good" {
				return
			}
			// Exactly the advertised endpoints: the MX host, SRV's preferred
			// targets (not the backup), autoconfig's servers merged into them.
			host := "mail." + fqdn(d)
			name := func(proto string, port int, tls string) string {
				return fmt.Sprintf("%s %s-%d-%s", host, proto, port, tls)
			}
			want := []string{
				fmt.Sprintf("mx.%s smtp-%d-starttls mx", fqdn(d), p["smtp"]),
				name("smtp", p["submission"], "starttls") + " srv+autoconfig",
				name("smtp", p["submissions"], "implicit") + " srv+autoconfig",
				name("imap", p["imap"], "starttls") + " srv+autoconfig",
				name("imap", p["imaps"], "implicit") + " srv+autoconfig",
				name("pop3", p["pop3"], "starttls") + " srv",
				name("pop3", p["pop3s"], "implicit") + " srv+autoconfig",
			}
			if got := endpointList(r.Endpoints); !slices.Equal(sorted(got), sorted(want)) {
				t.Fatalf("endpoints\n%s\nwant\n%s", strings.Join(sorted(got), "\n"), strings.Join(sorted(want), "\n"))
			}
			// Every one passes the probe the exporter schedules for it.
			pr := probe.NewResolver(dns.Resolver)
			for _, e := range r.Endpoints {
				pres := probe.Run(ctx, probe.Target{Server: e.Host, Host: e.Host, ServerName: e.Host,
					Endpoint: e.Config(time.Minute, 5*time.Second), RootCAs: ca.Pool(), EHLOName: "probe.disc.test", Resolver: pr})
				if !pres.Success {
					t.Errorf("%s: probe %s: %s", e.Key(), pres.Reason, pres.Error)
				}
			}
		})
	}
	t.Logf("timing: whole test %v", time.Since(t0).Round(time.Millisecond))
}
