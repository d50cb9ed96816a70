package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// `check` shows every address of a dual-stack host on its own line, takes
// IPv6 literals in URLs, and --addresses restricts the families.
func TestCheckCommandEveryAddress(t *testing.T) {
	m := testpeers.StartMail(t, testpeers.WithIPv6())
	dns := dnstest.Start(t, dnstest.Zone{Name: "dual.test", Records: "mail A 127.0.0.2\nmail AAAA ::1\n"})
	url := fmt.Sprintf("imaps://mail.dual.test:%d", m.Ports["imaps"])
	common := []string{"--resolver=" + dns.Resolver, "--ca-file=" + m.CAFile}

	// The certificate is for mail.example.test, so both addresses fail on
	// the name, each on its own line.
	out, code := runCheckCmd(t, nil, append([]string{url}, common...)...)
	for _, want := range []string{
		fmt.Sprintf("mail.dual.test:%d (imap, implicit) at 127.0.0.2 (ipv4)", m.Ports["imaps"]),
		fmt.Sprintf("mail.dual.test:%d (imap, implicit) at ::1 (ipv6)", m.Ports["imaps"]),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	js, _ := runCheckCmd(t, nil, append([]string{url, "--output=json", "--addresses=ipv6"}, common...)...)
	if !strings.Contains(js, `"address": "::1"`) || strings.Contains(js, `"address": "127.0.0.2"`) {
		t.Errorf("--addresses=ipv6 probed another family:\n%s", js)
	}

	// Stop the IPv6 listeners: that line fails, the IPv4 one does not.
	if err := m.StopListening(testpeers.IPv6); err != nil {
		t.Fatal(err)
	}
	js, code = runCheckCmd(t, nil, append([]string{url, "--output=json"}, common...)...)
	if code != 2 || strings.Count(js, `"code": "connect"`) != 1 || !strings.Contains(js, `"address": "127.0.0.2"`) {
		t.Errorf("IPv6 down: exit %d, want 2 with one connect failure\n%s", code, js)
	}
	if err := m.StartListening(testpeers.IPv6); err != nil {
		t.Fatal(err)
	}

	// An IPv6 literal in the URL, logging in.
	t.Setenv("CHECK6_PASSWORD", m.Password)
	out, code = runCheckCmd(t, nil, fmt.Sprintf("smtps://[::1]:%d", m.Ports["submissions"]), "--ca-file="+m.CAFile,
		"--user="+m.User, "--password-env=CHECK6_PASSWORD")
	if !strings.Contains(out, fmt.Sprintf("::1:%d (smtp, implicit)", m.Ports["submissions"])) || strings.Contains(out, " at ::1") {
		t.Errorf("smtps://[::1] report (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "login ok") {
		t.Errorf("smtps://[::1]: no login (exit %d):\n%s", code, out)
	}
}
