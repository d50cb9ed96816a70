package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// TestCheckCommandRoundtripDKIM: `check` on a config with three roundtrips, each
// through a real Postfix whose OpenDKIM signs with the key published in DNS, with a
// key that does not match it, or not at all, and a receiving OpenDKIM that verifies.
// The report has a line per signature and per receiver's verdict.
func TestCheckCommandRoundtripDKIM(t *testing.T) {
	key := testpeers.NewDKIMKey(t, testpeers.MailDomain, "sel")
	dns := dnstest.Start(t, dnstest.Zone{Name: testpeers.MailDomain,
		Records: key.Record + "\n_dmarc 300 IN TXT \"v=DMARC1; p=reject\"\n"})
	verifier := testpeers.StartOpenDKIM(t, testpeers.OpenDKIMOptions{Resolver: dns.Resolver, AuthservID: testpeers.MailServerName})
	signers := map[string]*testpeers.DKIMKey{"good": key, "stale": testpeers.NewDKIMKey(t, testpeers.MailDomain, "sel"), "unsigned": nil}
	dir := t.TempDir()
	var servers, roundtrips strings.Builder
	for _, name := range []string{"good", "stale", "unsigned"} {
		milters := []string{verifier.Milter}
		if k := signers[name]; k != nil {
			milters = append([]string{testpeers.StartOpenDKIM(t, testpeers.OpenDKIMOptions{Sign: k}).Milter}, milters...)
		}
		m := testpeers.StartMail(t, testpeers.WithMilters(milters...))
		os.WriteFile(filepath.Join(dir, name), []byte(m.Password), 0o600)
		fmt.Fprintf(&servers, "  - {name: %s, host: %s, tls_server_name: %s, ca_file: %s, credential: %s,\n     endpoints: [{name: imaps, port: %d}, {name: submission, port: %d}]}\n",
			name, m.Host, m.ServerName, m.CAFile, name, m.Ports["imaps"], m.Ports["submission"])
		fmt.Fprintf(&roundtrips, "  - {name: %s, send: {server: %s, endpoint: submission, from: %s, to: %s}, receive: {server: %s, endpoint: imaps}, timeout: 10s,\n     dkim_domain: %s, trusted_authserv_ids: [%s]}\n",
			name, name, m.User, m.User, name, testpeers.MailDomain, testpeers.MailServerName)
	}
	var creds strings.Builder
	for name := range signers {
		fmt.Fprintf(&creds, "  %s: {username: %s, password_file: %s}\n", name, "monitor@"+testpeers.MailDomain, name)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf("global: {resolver: %q, roundtrip_interval: 11s, probe_min_spacing: 1ms}\ncredentials:\n%sservers:\n%sroundtrips:\n%s",
		dns.Resolver, creds.String(), servers.String(), roundtrips.String()))
	out, code := runCheckCmd(t, nil, "--config.file="+cfg)
	t.Logf("mail_exporter check --config.file=targets.yaml (exit %d):\n%s", code, out)
	if code != 2 {
		t.Errorf("exit %d, want 2 (stale and unsigned fail dkim_domain)", code)
	}
	for _, want := range []string{
		"✔ good  delivered in",
		"✔ good dkim d=example.test s=sel  pass, aligned with From example.test (relaxed)",
		"✔ good authentication-results mail.example.test  dkim=pass",
		"✘ stale  dkim",
		"no passing DKIM signature aligned with example.test: d=example.test s=sel: fail (dkim: signature did not verify",
		"✘ stale dkim d=example.test s=sel  fail",
		"⚠ stale authentication-results mail.example.test  dkim=fail",
		"✘ unsigned  dkim",
		"the message carries no DKIM-Signature (dkim_domain example.test)",
		"✘ unsigned dkim (unsigned)  none",
		"⚠ unsigned authentication-results mail.example.test  dkim=none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// Served: the scheduled runs in /metrics, an on-demand run in /probe.
	e := startExporter(t, "--config.file="+cfg)
	e.waitMetric(t, `mail_roundtrip_dkim_result_info\{domain="example.test",result="pass",roundtrip="good",selector="sel"\}`, func(v float64) bool { return v == 1 })
	e.waitMetric(t, `mail_roundtrip_dkim_result_info\{domain="",result="none",roundtrip="unsigned",selector=""\}`, func(v float64) bool { return v == 1 })
	e.waitMetric(t, `mail_roundtrip_result_info\{result="dkim",roundtrip="stale"\}`, func(v float64) bool { return v == 1 })
	e.waitMetric(t, `mail_roundtrip_dkim_aligned\{roundtrip="good"\}`, func(v float64) bool { return v == 1 })
	e.waitMetric(t, `mail_roundtrip_auth_results_info\{authserv_id="mail.example.test",method="dkim",result="fail",roundtrip="stale"\}`, func(v float64) bool { return v == 1 })
	_, metrics := e.get(t, "/metrics")
	var series []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "mail_roundtrip_") {
			series = append(series, l)
		}
	}
	t.Logf("/metrics, roundtrip series:\n%s", strings.Join(series, "\n"))
	// probe_min_spacing is 1ms above, so /probe runs the roundtrip again
	// (with its transcript) instead of answering from the scheduled result.
	code, body := e.get(t, "/probe?roundtrip=stale&debug=true")
	t.Logf("/probe?roundtrip=stale&debug=true (%d), DKIM lines:\n%s", code, grepLines(body, "dkim"))
	for _, want := range []string{
		`mail_roundtrip_dkim_result_info{domain="example.test",result="fail",roundtrip="stale",selector="sel"} 1`,
		`mail_roundtrip_result_info{result="dkim",roundtrip="stale"} 1`,
		"dkim: d=example.test s=sel fail",
		"authentication-results: mail.example.test dkim=fail",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/probe lacks %q (status %d)", want, code)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && len(l) < 400 {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
