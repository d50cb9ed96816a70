package collector

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// unscheduled builds the checks of the config at path without a
// scheduler: the test calls runScheduled itself, one call per slot.
func unscheduled(t *testing.T, path string) *Exporter {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Hostname: "probe.example.test"})
	env, err := e.newCheckEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	built := e.buildChecks(cfg, env)
	for _, c := range built {
		if ec, ok := c.(*endpointCheck); ok {
			for _, k := range ec.children() { // IP literals: known from the start
				built = append(built, k)
			}
		}
	}
	sort.Slice(built, func(i, j int) bool { return built[i].id() < built[j].id() })
	e.checks = map[string]check{}
	for _, c := range built {
		e.checks[c.id()] = c
	}
	e.cfg, e.list = cfg, built
	return e
}

// A wrong password on a real Dovecot: the scheduled check backs off
// (logins at slots 0, 2, 6, 14 of a 5m interval), mail_auth_backoff_seconds
// shows the gap, and once the server accepts the password the first
// success ends it. Failed logins are counted in Dovecot's own log.
func TestRealPeersLoginBackoff(t *testing.T) {
	m := peers.StartMail(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("new-password"), 0o600)
	path := filepath.Join(dir, "targets.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`global: {interval: 5m, roundtrip_interval: 5m, timeout: 10s, ehlo_name: probe.example.test}
credentials:
  monitor: {username: %s, password_file: %s}
servers:
  - {name: real, host: %s, tls_server_name: %s, ca_file: %s, credential: monitor, endpoints: [{name: imaps, port: %d}, {name: submission, port: %d}]}
roundtrips:
  - {name: loop, send: {server: real, endpoint: submission, from: %s, to: %s}, receive: {server: real, endpoint: imaps}, timeout: 20s}
`, m.User, pw, m.Host, m.ServerName, m.CAFile, m.Ports["imaps"], m.Ports["submission"], m.User, m.User)), 0o600)
	e := unscheduled(t, path)
	ctx := context.Background()
	imaps, _ := e.lookup(AddressID("real", "imaps", netip.MustParseAddr(m.Host)))
	loop, _ := e.lookup(RoundtripID("loop"))
	backoff := func() float64 {
		return seriesValue(t, e, "mail_auth_backoff_seconds", `endpoint="imaps"`)
	}

	failed0 := m.CountLog(peers.LogFailedLogin)
	var attempts []int
	for slot := range 12 {
		before := m.CountLog(peers.LogFailedLogin)
		e.runScheduled(ctx, imaps)
		if m.CountLog(peers.LogFailedLogin) > before {
			attempts = append(attempts, slot)
		}
	}
	failed := m.CountLog(peers.LogFailedLogin) - failed0
	t.Logf("12 scheduled slots with a refused password: failed logins in Dovecot's log at slots %v (%d)", attempts, failed)
	if fmt.Sprint(attempts) != "[0 2 6]" {
		t.Errorf("failed logins at slots %v, want [0 2 6]", attempts)
	}
	if v := backoff(); v != (40 * time.Minute).Seconds() {
		t.Errorf("mail_auth_backoff_seconds = %v after 3 refusals at 5m, want 2400", v)
	}
	if v := seriesValue(t, e, "mail_auth_success", `endpoint="imaps"`); v != 0 {
		t.Errorf("mail_auth_success = %v", v)
	}

	// The server now takes the configured password: the next attempt (slot
	// 14) logs in and ends the backoff; every slot after it runs.
	if err := m.SetPassword(m.User, "new-password"); err != nil {
		t.Fatal(err)
	}
	runs := 0
	for range 4 { // slots 12..15
		before := scheduledEndpointRuns(t, e)
		e.runScheduled(ctx, imaps)
		if scheduledEndpointRuns(t, e) > before {
			runs++
		}
	}
	if v := seriesValue(t, e, "mail_auth_success", `endpoint="imaps"`); v != 1 {
		t.Errorf("mail_auth_success = %v after the password was fixed", v)
	}
	if v := backoff(); v != 0 {
		t.Errorf("mail_auth_backoff_seconds = %v after a success, want 0", v)
	}
	if runs != 2 {
		t.Errorf("slots 12..15 ran %d times, want 2 (14 and 15)", runs)
	}

	// A roundtrip whose submission login is refused backs off too.
	if err := m.SetPassword(m.User, m.Password); err != nil {
		t.Fatal(err)
	}
	failed0 = m.CountLog(peers.LogFailedLogin)
	for range 3 {
		e.runScheduled(ctx, loop)
	}
	// Receive logs in first (refused too), then the run ends: one
	// refused login per attempt, attempts at slots 0 and 2.
	if n := m.CountLog(peers.LogFailedLogin) - failed0; n != 2 {
		t.Errorf("3 roundtrip slots made %d failed logins, want 2 (slots 0 and 2)", n)
	}
	if v := seriesValue(t, e, "mail_roundtrip_auth_backoff_seconds", `roundtrip="loop"`); v != (20 * time.Minute).Seconds() {
		t.Errorf("mail_roundtrip_auth_backoff_seconds = %v after 2 refusals, want 1200", v)
	}
}

// testutilCount is how many checks the schedule has run, by
// mail_exporter_checks_total.
func scheduledEndpointRuns(t *testing.T, e *Exporter) float64 {
	t.Helper()
	sum := 0.0
	for _, r := range []string{"success", "failure"} {
		sum += testutil.ToFloat64(e.self.checks.WithLabelValues("endpoint", r))
	}
	return sum
}
