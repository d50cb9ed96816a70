package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// TestCheckCommandMX runs `mail_exporter check smtp://... --relay-test` against
// real Postfix set up three ways, and logs the lines it prints (go test -v):
// an open relay (critical), a banner that is not the PTR of the address
// (warning), a greylisting server (warning, not down).
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
	for _, target := range []string{"example.test", "--config.file=targets.yaml"} {
		if out, code := runCheckCmd(t, nil, target, "--relay-test"); code != 3 || !strings.Contains(out, "--relay-test needs an smtp:// or smtps:// URL") {
			t.Errorf("--relay-test with %s: exit %d, want 3 (usage) naming the URL:\n%s", target, code, out)
		}
	}
	if _, code := runCheckCmd(t, nil, "imaps://127.0.0.1:1", "--relay-test"); code != 3 {
		t.Errorf("--relay-test on imaps://: exit %d, want 3 (usage)", code)
	}
}
