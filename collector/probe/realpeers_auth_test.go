package probe

// Real Dovecot and Postfix, configured by the test, judged by the plaintext
// rule (plaintext.go): challenge-response mechanisms before STARTTLS are not
// a plaintext login; PLAIN, LOGIN, IMAP LOGIN and POP3 USER are.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// peerTarget is a starttls endpoint of m at host, logging in as m.User.
func peerTarget(m *peers.Mail, host string, proto config.Protocol, port string) Target {
	return Target{
		Server: "peer", Host: host, ServerName: m.ServerName, RootCAs: m.CAPool, EHLOName: "probe.example.test",
		Endpoint: &config.Endpoint{Name: port, Protocol: proto, Port: m.Ports[port], TLS: config.TLSStartTLS,
			Credential:        &config.Credential{Name: "monitor", Username: m.User, Password: config.Secret(m.Password)},
			VerifyCertificate: true, Timeout: 10 * time.Second, Interval: time.Minute},
	}
}

// mechSeries renders r's mail_plaintext_auth_offered and
// mail_auth_mechanism_offered series as client_golang writes them.
func mechSeries(t *testing.T, r *Result) string {
	t.Helper()
	d := NewDescs(nil)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectorOf(func(ch chan<- prometheus.Metric) {
		d.Collect(ch, r, []string{"peer", "127.0.0.2", "ep", "x", "1", "starttls", "127.0.0.2", "ipv4"})
	}))
	var b strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if n := mf.GetName(); n != "mail_plaintext_auth_offered" && n != "mail_auth_mechanism_offered" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				if l.GetName() == "mechanism" || l.GetName() == "stage" {
					ls = append(ls, l.GetName()+"="+l.GetValue())
				}
			}
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(ls, ","), m.GetGauge().GetValue())
		}
	}
	return b.String()
}

func TestRealPeersPlaintextRule(t *testing.T) {
	type want struct {
		proto     config.Protocol
		port      string
		plaintext float64
		before    string // mechanisms offered before STARTTLS
		afterHas  string // a mechanism offered after TLS
	}
	cases := []struct {
		name string
		opts []peers.MailOption
		host string // "" = Mail.Host (127.0.0.2)
		want []want
	}{
		{
			// Dovecot: auth_mechanisms with challenge-response ones and
			// disable_plaintext_auth = yes; Postfix: AUTH before TLS with
			// noplaintext, every mechanism after it.
			name: "challenge-response before TLS",
			opts: []peers.MailOption{peers.WithAuthMechanisms("plain login cram-md5 scram-sha-256"), peers.WithSubmissionChallengeResponse()},
			want: []want{
				{config.IMAP, "imap", 0, "CRAM-MD5,SCRAM-SHA-256", "PLAIN"},
				{config.POP3, "pop3", 0, "CRAM-MD5,SCRAM-SHA-256", "USER"},
				{config.SMTP, "submission", 0, "CRAM-MD5,SCRAM-SHA-256", "PLAIN"},
			},
		},
		{
			// Postfix's Debian defaults on submission (smtpd_tls_auth_only =
			// no, noanonymous) and Dovecot with disable_plaintext_auth = no.
			name: "plaintext before TLS",
			opts: []peers.MailOption{peers.WithPlaintextAuth()},
			want: []want{
				{config.IMAP, "imap", 1, "LOGIN,PLAIN", "PLAIN"},
				{config.POP3, "pop3", 1, "LOGIN,PLAIN,USER", "USER"},
				{config.SMTP, "submission", 1, "LOGIN,PLAIN", "PLAIN"},
			},
		},
		{
			// Dovecot's defaults (disable_plaintext_auth = yes) trust a
			// connection from the server's own address: seen at 127.0.0.1 it
			// offers LOGIN and USER before STARTTLS. Postfix keeps AUTH
			// behind TLS (smtpd_tls_auth_only = yes).
			name: "default peer seen from its own address",
			host: "127.0.0.1",
			want: []want{
				{config.IMAP, "imap", 1, "LOGIN,PLAIN", "PLAIN"},
				{config.POP3, "pop3", 1, "LOGIN,PLAIN,USER", "USER"},
				{config.SMTP, "submission", 0, "", "PLAIN"},
			},
		},
		{
			name: "default peer",
			want: []want{
				{config.IMAP, "imap", 0, "", "PLAIN"},
				{config.POP3, "pop3", 0, "", "USER"},
				{config.SMTP, "submission", 0, "", "PLAIN"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := peers.StartMail(t, c.opts...)
			host := c.host
			if host == "" {
				host = m.Host
			}
			for _, w := range c.want {
				t.Run(w.port, func(t *testing.T) {
					r := Run(context.Background(), peerTarget(m, host, w.proto, w.port))
					series := mechSeries(t, r)
					t.Logf("%s %s:%d: result %s, before TLS %v, after TLS %v\n%s", w.port, host, m.Ports[w.port],
						r.Reason, r.PreTLSAuthMechanisms, r.AuthMechanisms, series)
					if !r.Success {
						t.Fatalf("probe failed: %s: %s", r.Reason, r.Error)
					}
					if !strings.Contains(series, fmt.Sprintf("mail_plaintext_auth_offered{} %g\n", w.plaintext)) {
						t.Errorf("want mail_plaintext_auth_offered %g", w.plaintext)
					}
					if got := strings.Join(r.PreTLSAuthMechanisms, ","); got != w.before {
						t.Errorf("before TLS %q, want %q", got, w.before)
					}
					for _, mech := range strings.Split(w.before, ",") {
						if mech != "" && !strings.Contains(series, "mail_auth_mechanism_offered{mechanism="+mech+",stage=before_tls} 1\n") {
							t.Errorf("no before_tls series for %s", mech)
						}
					}
					if !strings.Contains(series, "mail_auth_mechanism_offered{mechanism="+w.afterHas+",stage=after_tls} 1\n") {
						t.Errorf("no after_tls series for %s", w.afterHas)
					}
				})
			}
		})
	}
}
