package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// The endpoints the dual-stack tests probe: one per protocol and TLS mode.
var dualEndpoints = []string{"smtp", "submission", "imaps", "pop3"}

// dualStack starts Dovecot and Postfix on 127.0.0.2 and ::1, a zone where
// mail.dual.test has an A and an AAAA record (TTL 1 s, so that a change is
// seen at once), and an exporter probing it on a 2 s schedule.
func dualStack(t *testing.T) (*peers.Mail, *dnstest.Peers, *Exporter) {
	t.Helper()
	m := peers.StartMail(t, peers.WithIPv6())
	dns := dnstest.Start(t, dnstest.Zone{Name: "dual.test", Records: "mail 1 A 127.0.0.2\nmail 1 AAAA ::1\n"})
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte(m.Password), 0o600)
	var eps strings.Builder
	for _, name := range dualEndpoints {
		fmt.Fprintf(&eps, "      - {name: %s, port: %d}\n", name, m.Ports[name])
	}
	y := fmt.Sprintf(`global: {interval: 2s, timeout: 1500ms, resolver: "%s", ehlo_name: probe.example.test}
credentials:
  monitor: {username: %s, password_file: %s}
servers:
  - name: dual
    host: mail.dual.test
    tls_server_name: %s
    ca_file: %s
    credential: monitor
    endpoints:
%s`, dns.Resolver, m.User, pw, m.ServerName, m.CAFile, eps.String())
	path := filepath.Join(dir, "targets.yaml")
	os.WriteFile(path, []byte(y), 0o600)
	exp := New(Options{})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	return m, dns, exp
}

// endpointText is what /metrics shows of the endpoint series.
func endpointText(t *testing.T, exp *Exporter) string {
	t.Helper()
	var b strings.Builder
	if err := exp.WriteEndpointText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// waitText polls /metrics' endpoint series until ok accepts them.
func waitText(t *testing.T, exp *Exporter, what string, ok func(text string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := endpointText(t, exp)
		if ok(text) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %s; /metrics endpoint series:\n%s", what, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// value returns the value of the series whose line starts with name and
// contains every label pair given, and whether there is one.
func value(text, name string, pairs ...string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		if slices.ContainsFunc(pairs, func(p string) bool { return !strings.Contains(line, p) }) {
			continue
		}
		return line[strings.LastIndexByte(line, ' ')+1:], true
	}
	return "", false
}

// all reports whether name has value v for every dual endpoint on the given
// label pairs.
func all(text, name, v string, pairs ...string) bool {
	for _, ep := range dualEndpoints {
		got, ok := value(text, name, append([]string{`endpoint="` + ep + `"`}, pairs...)...)
		if !ok || got != v {
			return false
		}
	}
	return true
}

// linesOf keeps the lines of the host's success, result and summary series,
// for the log (and the closing note).
func linesOf(text string) string {
	keep := regexp.MustCompile(`^mail_probe_(success|result_info|addresses|addresses_up)\{`)
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if keep.MatchString(line) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

const (
	v4 = `address="127.0.0.2",`
	v6 = `address="::1",`
)

// Both addresses of a dual-stack host are probed and succeed; with the ::1
// listeners stopped exactly the IPv6 address fails while IPv4 stays up, and
// the summary says so; the address removed from the zone disappears from
// /metrics at the next resolution.
func TestRealPeersDualStack(t *testing.T) {
	m, dns, exp := dualStack(t)

	text := waitText(t, exp, "saw both addresses up", func(text string) bool {
		return all(text, "mail_probe_success", "1", v4, `family="ipv4"`) &&
			all(text, "mail_probe_success", "1", v6, `family="ipv6"`) &&
			all(text, "mail_probe_addresses", "2") && all(text, "mail_probe_addresses_up", "2")
	})
	t.Logf("both families up:\n%s", linesOf(text))
	// Over IPv6 too the certificate verified and the login succeeded (smtp,
	// port 25, does not log in).
	for _, ep := range dualEndpoints {
		for _, a := range []string{v4, v6} {
			e := `endpoint="` + ep + `"`
			if v, _ := value(text, "mail_tls_cert_verified", e, a); v != "1" {
				t.Errorf("%s %s: mail_tls_cert_verified %q", ep, a, v)
			}
			if v, ok := value(text, "mail_auth_success", e, a); ok != (ep != "smtp") || ok && v != "1" {
				t.Errorf("%s %s: mail_auth_success %q (present %v)", ep, a, v, ok)
			}
		}
	}

	// Stop Dovecot's and Postfix's listeners on ::1 only.
	if err := m.StopListening(peers.IPv6); err != nil {
		t.Fatal(err)
	}
	text = waitText(t, exp, "saw IPv6 down and IPv4 up", func(text string) bool {
		return all(text, "mail_probe_success", "0", v6) && all(text, "mail_probe_result_info", "1", v6, `result="connect"`) &&
			all(text, "mail_probe_success", "1", v4) && all(text, "mail_probe_addresses_up", "1") &&
			all(text, "mail_probe_addresses", "2")
	})
	t.Logf("IPv6 down, IPv4 up:\n%s", linesOf(text))
	for _, ep := range dualEndpoints {
		if _, ok := value(text, "mail_probe_result_info", `endpoint="`+ep+`"`, v4, `result="connect"`); ok {
			t.Errorf("%s: the IPv4 address reads connect too", ep)
		}
	}
	if err := m.StartListening(peers.IPv6); err != nil {
		t.Fatal(err)
	}

	// The AAAA goes from the zone: ::1 is no longer probed nor exported.
	if err := dns.Reload(dnstest.Zone{Name: "dual.test", Records: "mail 1 A 127.0.0.2\n", Serial: 2}); err != nil {
		t.Fatal(err)
	}
	text = waitText(t, exp, "dropped the removed address", func(text string) bool {
		return !strings.Contains(text, v6) && all(text, "mail_probe_addresses", "1") &&
			all(text, "mail_probe_addresses_up", "1") && all(text, "mail_probe_success", "1", v4)
	})
	t.Logf("after the AAAA was removed:\n%s", linesOf(text))
	for _, c := range exp.snapshot() {
		if strings.HasSuffix(c.id(), "@::1") {
			t.Errorf("check %s still runs", c.id())
		}
	}
}
