package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// TestServeMXPosture: with relay_test: true, /metrics and /probe carry the relay
// verdict, the banner and its PTR comparison and the transaction phase, for a real
// Postfix that is an open relay and whose banner is not the PTR of its address; and
// no message is queued.
func TestServeMXPosture(t *testing.T) {
	m := testpeers.StartMail(t, testpeers.WithOpenRelay())
	dns := dnstest.Start(t, dnstest.Zone{Name: "127.in-addr.arpa", Records: "2.0.0 PTR other.example.test.\n"})
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`global: {interval: 2s, timeout: 1500ms, resolver: "%s", ehlo_name: probe.example.test}
servers:
  - {name: mx, host: %s, tls_server_name: %s, ca_file: %s, relay_test: true, endpoints: [{name: smtp, port: %d}]}
`, dns.Resolver, m.Host, m.ServerName, m.CAFile, m.Ports["smtp"]))
	exp := startExporter(t, "--config.file="+cfg)
	exp.waitMetric(t, `mail_smtp_relay_test_result_info\{.*result="open".*\}`, func(v float64) bool { return v == 1 })

	_, metrics := exp.get(t, "/metrics")
	_, probe := exp.get(t, "/probe?server=mx&endpoint=smtp")
	for name, body := range map[string]string{"/metrics": metrics, "/probe": probe} {
		for _, want := range []string{
			`mail_smtp_relay_accepted{address="127.0.0.2",endpoint="smtp",family="ipv4",host="127.0.0.2",port="` + fmt.Sprint(m.Ports["smtp"]) + `",protocol="smtp",server="mx",tls="starttls",variant="plain"} 1`,
			`variant="percent_hack"} 1`,
			`variant="source_route"} 1`,
			`mail_smtp_relay_test_result_info{address="127.0.0.2",endpoint="smtp",family="ipv4",host="127.0.0.2",port="` + fmt.Sprint(m.Ports["smtp"]) + `",protocol="smtp",result="open",server="mx",tls="starttls"} 1`,
			`mail_smtp_banner_info{address="127.0.0.2",ehlo_host="mail.example.test",endpoint="smtp",family="ipv4",greeting_host="mail.example.test",`,
			`mail_smtp_banner_matches_ptr{`,
			`phase="transaction"`,
			`mail_probe_success{`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "mail_smtp_banner_matches_ptr{") && !strings.HasSuffix(l, " 0") {
				t.Errorf("%s: %s, want 0 (PTR other.example.test, banner mail.example.test)", name, l)
			}
		}
	}
	if files, err := m.QueueFiles(); err != nil || len(files) > 0 {
		t.Errorf("queue holds %v (err %v) after relay tests, want nothing", files, err)
	}
	if msgs, err := m.Messages(m.User); err != nil || len(msgs) > 0 {
		t.Errorf("mailbox holds %v (err %v), want nothing", msgs, err)
	}
	if t.Failed() {
		t.Logf("/probe:\n%s", probe)
	}
}
