package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// TestSecretsNeverLeak runs every kind of check (all seven endpoints with
// the right password, endpoints with a wrong one, a domain and a roundtrip)
// against real servers at debug log level, then searches /metrics, every
// log line, every /probe?debug=true answer, the status page and the error
// texts for both passwords in every form a dialogue carries them.
func TestSecretsNeverLeak(t *testing.T) {
	m := testpeers.StartMail(t)
	dns := dnstest.Start(t, dnstest.Zone{Name: "secret.test", Records: "@ MX 10 mx.secret.test.\nmx A 127.0.0.2\n@ TXT \"v=spf1 mx -all\"\n"})
	const wrong = "Wr0ng-But-Still-S3cret"
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(m.Password+"\n"), 0o600)
	t.Setenv("WRONG_PASSWORD", wrong)
	var eps strings.Builder
	for _, n := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		fmt.Fprintf(&eps, "      - {name: %s, port: %d}\n", n, m.Ports[n])
	}
	// probe_min_spacing 1ms: every /probe below runs and shows its dialogue.
	cfg := writeConfig(t, dir, fmt.Sprintf(`global: {interval: 2s, timeout: 1500ms, roundtrip_interval: 3s, dns_interval: 2s, resolver: "%s", ehlo_name: probe.example.test, probe_min_spacing: 1ms}
credentials:
  right: {username: %s, password_file: %s}
  wrong: {username: %s, password_env: WRONG_PASSWORD}
servers:
  - name: real
    host: %s
    tls_server_name: %s
    ca_file: %s
    credential: right
    endpoints:
%s  - name: badlogin
    host: %s
    tls_server_name: %s
    ca_file: %s
    credential: wrong
    endpoints:
      - {name: submission, port: %d}
      - {name: imaps, port: %d}
      - {name: pop3s, port: %d}
domains:
  - domain: secret.test
    checks: [mx, spf]
roundtrips:
  - name: loop
    send: {server: real, endpoint: submission, from: %s, to: %s}
    receive: {server: real, endpoint: imaps}
    timeout: 2s
`, dns.Resolver, m.User, pw, m.User, m.Host, m.ServerName, m.CAFile, eps.String(), m.Host, m.ServerName, m.CAFile,
		m.Ports["submission"], m.Ports["imaps"], m.Ports["pop3s"], m.User, m.User))

	e := startExporter(t, "--config.file="+cfg, "--log.level=debug", "--log.format=json")
	e.waitMetric(t, `mail_roundtrip_success\{roundtrip="loop"\}`, func(v float64) bool { return v == 1 })
	e.waitMetric(t, `mail_auth_success\{address="[^"]*",endpoint="imaps".*server="badlogin".*\}`, func(v float64) bool { return v == 0 })
	e.waitMetric(t, `mail_dns_record_valid\{check="spf",domain="secret.test"\}`, func(v float64) bool { return v == 1 })

	outputs := map[string]string{}
	_, outputs["/metrics"] = e.get(t, "/metrics")
	_, outputs["/"] = e.get(t, "/")
	probes := []string{"domain=secret.test", "roundtrip=loop"}
	for _, n := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		probes = append(probes, "server=real&endpoint="+n)
	}
	for _, n := range []string{"submission", "imaps", "pop3s"} {
		probes = append(probes, "server=badlogin&endpoint="+n)
	}
	for _, q := range probes {
		code, body := e.get(t, "/probe?"+q+"&debug=true")
		if code != 200 {
			t.Errorf("/probe?%s: %d", q, code)
		}
		outputs["/probe?"+q] = body
	}
	outputs["log"] = e.stderr.String()
	if !strings.Contains(outputs["/probe?server=badlogin&endpoint=imaps"], "Authentication failed") {
		t.Error("the failed login's error text is not in the transcript: the search below would miss it")
	}
	if !strings.Contains(outputs["log"], `"level":"DEBUG"`) {
		t.Error("no debug log lines: the search below would search nothing")
	}

	plain := func(user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	}
	for _, secret := range []string{m.Password, wrong,
		base64.StdEncoding.EncodeToString([]byte(m.Password)), base64.StdEncoding.EncodeToString([]byte(wrong)),
		plain(m.User, m.Password), plain(m.User, wrong)} {
		for where, text := range outputs {
			if strings.Contains(text, secret) {
				t.Errorf("a secret appears in %s", where)
			}
		}
	}
}
