package collector

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// realConfig writes a targets.yaml probing all seven standard endpoints of
// a real Dovecot + Postfix pair.
func realConfig(t *testing.T, m *peers.Mail, password string) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte(password), 0o600)
	var eps strings.Builder
	for _, name := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		fmt.Fprintf(&eps, "      - {name: %s, port: %d}\n", name, m.Ports[name])
	}
	y := fmt.Sprintf(`global: {timeout: 10s, ehlo_name: probe.example.test}
credentials:
  monitor: {username: %s, password_file: %s}
servers:
  - name: real
    host: %s
    tls_server_name: %s
    ca_file: %s
    credential: monitor
    endpoints:
%s`, m.User, pw, m.Host, m.ServerName, m.CAFile, eps.String())
	p := filepath.Join(dir, "targets.yaml")
	os.WriteFile(p, []byte(y), 0o600)
	return p
}

func runConfig(t *testing.T, path string) *Exporter {
	t.Helper()
	exp := New(Options{})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	// Concurrently, as the scheduler would: Dovecot delays failed logins.
	var wg sync.WaitGroup
	for _, c := range exp.snapshot() {
		wg.Go(func() { c.run(context.Background(), exp.log, nil) })
	}
	wg.Wait()
	for _, c := range exp.snapshot() {
		row := c.status()
		line := fmt.Sprintf("%-26s ok=%v result=%s %s", c.id(), row.OK, row.Result, row.Reason)
		if ac, ok := c.(*addressCheck); ok {
			if r := ac.last.Load(); r != nil {
				line += fmt.Sprintf(" duration=%v phases=", r.Duration.Round(time.Microsecond))
				for _, p := range r.Phases {
					line += fmt.Sprintf("%s:%v ", p.Phase, p.Duration.Round(time.Microsecond))
				}
				if r.TLS != nil {
					line += fmt.Sprintf("tls=%q verified=%v", r.TLS.Version, r.TLS.Verified)
				}
				line += fmt.Sprintf(" mechs=%v", r.AuthMechanisms)
			}
		}
		t.Log(line)
	}
	return exp
}

// series returns name's values keyed by endpoint label.
func series(t *testing.T, exp *Exporter, name string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(exp)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

func TestRealPeersAllEndpoints(t *testing.T) {
	m := peers.StartMail(t)
	exp := runConfig(t, realConfig(t, m, m.Password))

	all := []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"}
	success := series(t, exp, "mail_probe_success")
	auth := series(t, exp, "mail_auth_success")
	notAfter := series(t, exp, "mail_tls_cert_not_after_timestamp_seconds")
	verified := series(t, exp, "mail_tls_cert_verified")
	for _, ep := range all {
		if success[ep] != 1 {
			t.Errorf("%s: mail_probe_success %v", ep, success[ep])
		}
		if notAfter[ep] != float64(m.Leaf.NotAfter.Unix()) || verified[ep] != 1 {
			t.Errorf("%s: not_after %v (want %d), verified %v", ep, notAfter[ep], m.Leaf.NotAfter.Unix(), verified[ep])
		}
		_, logsIn := auth[ep]
		if logsIn != (ep != "smtp") || (logsIn && auth[ep] != 1) {
			t.Errorf("%s: mail_auth_success %v (present %v)", ep, auth[ep], logsIn)
		}
	}
	// On 127.0.0.2 Dovecot refuses login before TLS and Postfix hides AUTH:
	// the probes above still logged in, after STARTTLS.
	plain := series(t, exp, "mail_plaintext_auth_offered")
	offered := series(t, exp, "mail_starttls_offered")
	for _, ep := range []string{"submission", "imap", "pop3"} {
		if v, ok := plain[ep]; !ok || v != 0 {
			t.Errorf("%s: mail_plaintext_auth_offered %v (present %v), want 0", ep, v, ok)
		}
		if offered[ep] != 1 {
			t.Errorf("%s: mail_starttls_offered %v", ep, offered[ep])
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(exp)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(specNamed(problems)) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

func TestRealPeersWrongPassword(t *testing.T) {
	m := peers.StartMail(t)
	exp := runConfig(t, realConfig(t, m, "not-the-password"))
	success := series(t, exp, "mail_probe_success")
	auth := series(t, exp, "mail_auth_success")
	for _, ep := range []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		if success[ep] != 0 || auth[ep] != 0 {
			t.Errorf("%s: success %v auth %v, want 0 and 0", ep, success[ep], auth[ep])
		}
		c, _ := exp.lookup(AddressID("real", ep, netip.MustParseAddr(m.Host)))
		if r := c.status().Result; r != "auth" {
			t.Errorf("%s: result %q, want auth", ep, r)
		}
	}
	if success["smtp"] != 1 {
		t.Error("port 25 does not log in and must still succeed")
	}
}
