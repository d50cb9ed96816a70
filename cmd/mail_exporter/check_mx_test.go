package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// TestCheckCommandMX runs `mail_exporter check smtp://... --relay-test` against
// real Postfix set up several ways, and logs the lines it prints (go test -v):
// an open relay (critical), a banner that is not the PTR of the address
// (warning), a greylisting server (warning, not down), postscreen's first-contact
// deferral.
func TestCheckCommandMX(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{Name: "127.in-addr.arpa", Records: "2.0.0 PTR mail.example.test.\n"})
	cases := []struct {
		name  string
		opts  []testpeers.MailOption
		code  int
		codes []string // finding codes the output must name
	}{
		{"open relay", []testpeers.MailOption{testpeers.WithOpenRelay()}, 2, []string{"open_relay", "relay open"}},
		{"banner not the PTR", []testpeers.MailOption{testpeers.WithMyHostname("mx-banner.example.test")}, 1,
			[]string{"banner_ptr_mismatch", "greeting names mx-banner.example.test, but the address dialled has PTR mail.example.test", "relay refused"}},
		{"greylisting", []testpeers.MailOption{testpeers.WithGreylisting()}, 1,
			[]string{"tempfail", "450 4.2.0", "Greylisted", "relay_test_inconclusive", "relay inconclusive"}},
		{"debian default", []testpeers.MailOption{testpeers.WithDebianRelayDefaults()}, 0, []string{"relay refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := testpeers.StartMail(t, tc.opts...)
			out, code := runCheckCmd(t, nil, fmt.Sprintf("smtp://%s:%d", m.Host, m.Ports["smtp"]), "--relay-test",
				"--ca-file="+m.CAFile, "--resolver="+dns.Resolver, "--ehlo-name=probe.example.test", "--timeout=10s")
			t.Logf("$ mail_exporter check smtp://%s:%d --relay-test (exit %d)\n%s", m.Host, m.Ports["smtp"], code, out)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, c := range tc.codes {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q", c)
				}
			}
		})
	}
	// postscreen in front of smtpd: the first connection passes its deep protocol
	// test and is deferred at RCPT (tempfail, relay test inconclusive, not down);
	// the next is handed to smtpd, which refuses the relay.
	t.Run("postscreen", func(t *testing.T) {
		m := testpeers.StartMail(t, testpeers.WithPostscreen())
		url := fmt.Sprintf("smtp://%s:%d", m.Host, m.Ports["smtp"])
		for i, want := range []struct {
			code  int
			codes []string
		}{
			{1, []string{"tempfail: relay test deferred: RCPT TO:<relay-test@example.invalid>: " + testpeers.PostscreenDeferReply, "relay inconclusive", "relay_test_inconclusive"}},
			{0, []string{"relay refused"}},
		} {
			out, code := runCheckCmd(t, nil, url, "--relay-test", "--ca-file="+m.CAFile, "--resolver="+dns.Resolver,
				"--ehlo-name=probe.example.test", "--timeout=10s")
			t.Logf("$ mail_exporter check %s --relay-test, connection %d (exit %d)\n%s", url, i+1, code, out)
			if code != want.code {
				t.Errorf("connection %d: exit %d, want %d", i+1, code, want.code)
			}
			for _, c := range want.codes {
				if !strings.Contains(out, c) {
					t.Errorf("connection %d: output lacks %q", i+1, c)
				}
			}
		}
		if q, err := m.QueueFiles(); err != nil || len(q) > 0 {
			t.Errorf("queued: %v %v", q, err)
		}
	})
	if out, code := runCheckCmd(t, nil, "--config.file=targets.yaml", "--relay-test"); code != 3 || !strings.Contains(out, "in a config, set relay_test: true") {
		t.Errorf("--relay-test with --config.file: exit %d, want 3 (usage) naming relay_test:\n%s", code, out)
	}
	if _, code := runCheckCmd(t, nil, "imaps://127.0.0.1:1", "--relay-test"); code != 3 {
		t.Errorf("--relay-test on imaps://: exit %d, want 3 (usage)", code)
	}
}

// TestCheckCommandDomainMX: `check DOMAIN` probes the MX host a knot zone names, a
// real Postfix on 127.0.0.2 whose PTR is its MX name. With --relay-test the relay test
// runs there (open relay, Debian's default), and on nothing else; without the flag
// none runs. A greeting or an EHLO reply naming another host is held against the PTR
// and the MX name, each on its own.
func TestCheckCommandDomainMX(t *testing.T) {
	mxName := testpeers.MailServerName
	// SPF and DMARC are in place, so that what is left beside the MX is warnings
	// only (no MTA-STS, TLS-RPT, DANE, SRV, autoconfig, DNSSEC): the exit code
	// then says what the MX line says.
	zone := dnstest.Zone{Name: testpeers.MailDomain, Records: "@ 300 IN MX 10 " + mxName + ".\n" +
		strings.TrimSuffix(mxName, "."+testpeers.MailDomain) + " 300 IN A 127.0.0.2\n" +
		"@ 300 IN TXT \"v=spf1 mx -all\"\n" +
		"_dmarc 300 IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.test\"\n"}
	dns := dnstest.Start(t, zone, dnstest.Zone{Name: "127.in-addr.arpa", Records: "2.0.0 PTR " + mxName + ".\n"})
	for _, tc := range []struct {
		name      string
		opts      []testpeers.MailOption
		relayTest bool
		code      int
		want      []string // in the MX section
		wantNot   []string
	}{
		{"open relay", []testpeers.MailOption{testpeers.WithOpenRelay()}, true, 2,
			[]string{"✘ smtp mail.example.test:", "relay open", "open_relay: open relay: RCPT TO:<relay-test@example.invalid> (plain) → 250"}, nil},
		{"debian default", []testpeers.MailOption{testpeers.WithDebianRelayDefaults()}, true, 1,
			[]string{"✔ smtp mail.example.test:", "relay refused"}, []string{"banner_"}},
		{"greeting names another host", []testpeers.MailOption{testpeers.WithSMTPBanner("mx-greet.example.test ESMTP")}, false, 1,
			[]string{"⚠ smtp mail.example.test:", "banner mx-greet.example.test",
				"banner_ptr_mismatch: greeting names mx-greet.example.test, but the address dialled has PTR mail.example.test",
				"banner_mx_mismatch: greeting names mx-greet.example.test, not the MX name mail.example.test"},
			[]string{"EHLO reply names", "relay "}},
		{"EHLO reply names another host", []testpeers.MailOption{testpeers.WithMyHostname("mx-ehlo.example.test"),
			testpeers.WithSMTPBanner(mxName + " ESMTP")}, false, 1,
			[]string{"⚠ smtp mail.example.test:", "banner mail.example.test",
				"banner_ptr_mismatch: EHLO reply names mx-ehlo.example.test, but the address dialled has PTR mail.example.test",
				"banner_mx_mismatch: EHLO reply names mx-ehlo.example.test, not the MX name mail.example.test"},
			[]string{"greeting names", "relay "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testpeers.StartMail(t, tc.opts...)
			args := []string{testpeers.MailDomain, "--resolver=" + dns.Resolver, "--ca-file=" + m.CAFile,
				"--smtp-port=" + fmt.Sprint(m.Ports["smtp"]), "--ehlo-name=probe.example.test", "--timeout=10s"}
			if tc.relayTest {
				args = append(args, "--relay-test")
			}
			out, code := runCheckCmd(t, nil, args...)
			t.Logf("$ mail_exporter check %s (exit %d)\n%s", strings.Join(args[:1], " "), code, out)
			mx := mxSection(out)
			if !strings.Contains(mx, "[mx]") {
				t.Fatalf("no MX endpoint in the report's inbound section:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(mx, w) {
					t.Errorf("MX section lacks %q", w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(mx, w) {
					t.Errorf("MX section has %q", w)
				}
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if q, err := m.QueueFiles(); err != nil || len(q) > 0 {
				t.Errorf("the relay test queued mail: %v %v", q, err)
			}
			if tc.relayTest {
				out, _ = runCheckCmd(t, nil, args[:len(args)-1]...)
				if strings.Contains(mxSection(out), "relay ") {
					t.Errorf("without --relay-test the report mentions a relay test:\n%s", mxSection(out))
				}
			}
		})
	}
}

// mxSection is the text report's inbound MX section, up to the next heading.
func mxSection(out string) string {
	i := strings.Index(out, "Inbound MX")
	if i < 0 {
		return ""
	}
	s := out[i:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}
