package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// burstConfig probes a real Dovecot + Postfix pair: server "good" logs in
// with the right password, "bad" with a wrong one on every login
// endpoint, "open" is the smtp endpoint without login, and roundtrip
// "loop" goes good/submission → good/imaps.
func burstConfig(t *testing.T, m *peers.Mail, global string) string {
	t.Helper()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte(m.Password), 0o600)
	os.WriteFile(bad, []byte("not-"+m.Password), 0o600)
	var eps []string
	for _, name := range []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		eps = append(eps, fmt.Sprintf("{name: %s, port: %d}", name, m.Ports[name]))
	}
	y := fmt.Sprintf(`global: {interval: 1h, roundtrip_interval: 1h, timeout: 10s, ehlo_name: probe.example.test%s}
credentials:
  good: {username: %s, password_file: %s}
  bad: {username: %s, password_file: %s}
servers:
  - {name: good, host: %s, tls_server_name: %s, ca_file: %s, credential: good,
     endpoints: [{name: submission, port: %d}, {name: imaps, port: %d}]}
  - {name: bad, host: %s, tls_server_name: %s, ca_file: %s, credential: bad, endpoints: [%s]}
  - {name: open, host: %s, tls_server_name: %s, ca_file: %s, endpoints: [{name: smtp, port: %d}]}
roundtrips:
  - {name: loop, send: {server: good, endpoint: submission, from: %s, to: %s}, receive: {server: good, endpoint: imaps}, timeout: 20s}
`, global, m.User, good, m.User, bad,
		m.Host, m.ServerName, m.CAFile, m.Ports["submission"], m.Ports["imaps"],
		m.Host, m.ServerName, m.CAFile, strings.Join(eps, ", "),
		m.Host, m.ServerName, m.CAFile, m.Ports["smtp"],
		m.User, m.User)
	p := filepath.Join(dir, "targets.yaml")
	os.WriteFile(p, []byte(y), 0o600)
	return p
}

// startProbeServer loads path and serves /probe over HTTP. The exporter
// is a shard replica that owns none of the checks: nothing is scheduled
// (the server logs count /probe alone), and /probe serves every
// configured check all the same.
func startProbeServer(t *testing.T, path string) (*collector.Exporter, *Prober, *httptest.Server) {
	t.Helper()
	exp := loadExporter(t, path, true)
	p := Probe(exp)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return exp, p, srv
}

// quietShard is a shard of 64 that owns none of path's checks.
func quietShard(t *testing.T, path string) collector.Shard {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, srv := range cfg.Servers {
		for _, ep := range srv.Endpoints {
			ids = append(ids, collector.EndpointID(srv.Name, ep.Name))
		}
	}
	for _, rt := range cfg.Roundtrips {
		ids = append(ids, collector.RoundtripID(rt.Name))
	}
next:
	for i := range 64 {
		sh := collector.Shard{Count: 64, Index: i}
		for _, id := range ids {
			if sh.Owns(id) {
				continue next
			}
		}
		return sh
	}
	t.Fatal("every shard of 64 owns one of the checks")
	return collector.Shard{}
}

// scheduledRuns is the sum of mail_exporter_checks_total.
func scheduledRuns(t *testing.T, exp *collector.Exporter) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "mail_exporter_checks_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

type reply struct {
	code          int
	cached, retry string
	body          string
	took          time.Duration
	query         string
}

// burst sends every query at once (released together) and returns the
// replies in the order of queries.
func burst(t *testing.T, client *http.Client, base string, queries []string) []reply {
	t.Helper()
	out := make([]reply, len(queries))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			resp, err := client.Get(base + "/probe?" + q)
			if err != nil {
				t.Errorf("%s: %v", q, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out[i] = reply{code: resp.StatusCode, cached: resp.Header.Get("X-Mail-Exporter-Cached"),
				retry: resp.Header.Get("Retry-After"), body: string(b), took: time.Since(t0), query: q}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// codes summarises status codes: "200×10".
func codes(rs []reply) string {
	n := map[int]int{}
	for _, r := range rs {
		n[r.code]++
	}
	var parts []string
	for c, k := range n {
		parts = append(parts, fmt.Sprintf("%d×%d", c, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func repeat(q string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = q
	}
	return out
}

// The burst: 10 concurrent /probe?roundtrip= and 20 concurrent
// /probe of a wrong-password endpoint, at the same time, against real
// Postfix and Dovecot. They must send one message and make one failed
// login, counted in the servers' own logs; a second burst within
// probe_min_spacing sends and tries nothing. A healthy endpoint without
// login answers at once meanwhile, and runs every time.
func TestRealPeersProbeBurst(t *testing.T) {
	m := peers.StartMail(t)
	baseline := goleak.IgnoreCurrent()
	exp, _, srv := startProbeServer(t, burstConfig(t, m, ""))
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	failed0, sent0, conn0 := m.CountLog(peers.LogFailedLogin), m.CountLog(peers.LogDelivered), m.CountLog(peers.LogSMTPConnect)
	rt := repeat("roundtrip=loop", 10)
	login := repeat("server=bad&endpoint=submission", 20)
	var healthy reply
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(50 * time.Millisecond) // while the bursts run
		healthy = burst(t, client, srv.URL, []string{"server=open&endpoint=smtp"})[0]
	})
	replies := burst(t, client, srv.URL, append(append([]string{}, rt...), login...))
	wg.Wait()
	rtReplies, loginReplies := replies[:10], replies[10:]
	// The roundtrip saw the message in IMAP, so it was saved before the
	// answers; give the log lines a moment to be written.
	time.Sleep(500 * time.Millisecond)
	failed, sent := m.CountLog(peers.LogFailedLogin)-failed0, m.CountLog(peers.LogDelivered)-sent0
	t.Logf("burst of 10 roundtrip requests: %s; messages delivered (Dovecot LMTP log): %d", codes(rtReplies), sent)
	t.Logf("burst of 20 wrong-password login requests: %s; failed logins (Dovecot auth log): %d", codes(loginReplies), failed)
	for _, r := range replies {
		if r.code != http.StatusOK {
			t.Errorf("%s: status %d: %s", r.query, r.code, r.body)
		}
	}
	if sent != 1 {
		t.Errorf("10 concurrent roundtrip requests delivered %d messages, want 1\n%s", sent, m.Logs(40))
	}
	if failed != 1 {
		t.Errorf("20 concurrent wrong-password requests made %d failed logins, want 1\n%s", failed, m.Logs(40))
	}
	for _, r := range loginReplies {
		if !strings.Contains(r.body, "mail_auth_success{") || !strings.Contains(r.body, `mail_probe_result_info{address=`) {
			t.Errorf("a login answer lacks the run's metrics:\n%s", r.body)
			break
		}
	}
	if healthy.code != http.StatusOK || healthy.cached != "" || !strings.Contains(healthy.body, "mail_probe_success{") ||
		!strings.Contains(healthy.body, "} 1\n") {
		t.Errorf("healthy endpoint during the bursts: %d cached=%q\n%s", healthy.code, healthy.cached, healthy.body)
	}
	t.Logf("healthy endpoint without login, during the bursts: %d in %v", healthy.code, healthy.took.Round(time.Millisecond))

	// Within probe_min_spacing (default min(1h, 60s)): answered from the
	// result just made, and said so.
	again := burst(t, client, srv.URL, append(repeat("roundtrip=loop", 10), repeat("server=bad&endpoint=submission", 20)...))
	time.Sleep(300 * time.Millisecond)
	failed2, sent2 := m.CountLog(peers.LogFailedLogin)-failed0, m.CountLog(peers.LogDelivered)-sent0
	t.Logf("second burst within probe_min_spacing: %s; messages now %d, failed logins now %d", codes(again), sent2, failed2)
	for _, r := range again {
		if r.code != http.StatusOK || r.cached == "" {
			t.Errorf("%s within the spacing: status %d, X-Mail-Exporter-Cached %q", r.query, r.code, r.cached)
			break
		}
	}
	if sent2 != sent || failed2 != failed {
		t.Errorf("second burst reached the servers: messages %d→%d, failed logins %d→%d", sent, sent2, failed, failed2)
	}
	// The endpoint without login runs every time (coalesced, not spaced).
	conn1 := m.CountLog(peers.LogSMTPConnect)
	for range 2 {
		r := burst(t, client, srv.URL, []string{"server=open&endpoint=smtp"})[0]
		if r.code != http.StatusOK || r.cached != "" {
			t.Errorf("open/smtp: %d cached=%q", r.code, r.cached)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := m.CountLog(peers.LogSMTPConnect) - conn1; n != 2 {
		t.Errorf("two sequential /probe of an endpoint without login made %d connections, want 2", n)
	}
	t.Logf("smtp connections over the whole test: %d", m.CountLog(peers.LogSMTPConnect)-conn0)

	// Debug output names the age of a stored answer.
	dbg := burst(t, client, srv.URL, []string{"server=bad&endpoint=submission&debug=true"})[0]
	if !strings.Contains(dbg.body, "Answered from the latest result, ") || !strings.Contains(dbg.body, "nothing was sent to the server") {
		t.Errorf("debug output within the spacing:\n%s", dbg.body)
	}
	if strings.Contains(dbg.body, "not-"+m.Password) {
		t.Error("debug output holds the password")
	}

	if n := scheduledRuns(t, exp); n != 0 {
		t.Errorf("the schedule ran %v checks during the test: the log counts are not /probe's alone", n)
	}
	client.CloseIdleConnections()
	srv.Close()
	exp.Stop()
	goleak.VerifyNone(t, baseline)
}

// Beyond probe_max_in_flight, /probe answers 429 with Retry-After and
// a reason, counts it, and nothing reaches the servers. Dovecot delays
// refused logins by 2s here, so the admitted runs are still in flight
// when the others arrive.
func TestRealPeersProbeCap(t *testing.T) {
	m := peers.StartMail(t, peers.WithAuthFailureDelay("2s"))
	_, p, srv := startProbeServer(t, burstConfig(t, m, ", probe_max_in_flight: 2"))
	client := &http.Client{Timeout: 60 * time.Second}

	var qs []string
	for _, name := range []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		qs = append(qs, "server=bad&endpoint="+name)
	}
	failed0, smtp0 := m.CountLog(peers.LogFailedLogin), m.CountLog(peers.LogSMTPConnect)
	login0 := m.CountLog(peers.LogLoginSession)
	replies := burst(t, client, srv.URL, qs)
	time.Sleep(300 * time.Millisecond)
	failed := m.CountLog(peers.LogFailedLogin) - failed0
	conns := m.CountLog(peers.LogSMTPConnect) - smtp0 + m.CountLog(peers.LogLoginSession) - login0
	ok, refused := 0, 0
	for _, r := range replies {
		switch r.code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
			if r.retry != "5" || !strings.Contains(r.body, "probe_max_in_flight") {
				t.Errorf("429 with Retry-After %q and body %q", r.retry, r.body)
			}
		default:
			t.Errorf("%s: status %d: %s", r.query, r.code, r.body)
		}
	}
	t.Logf("6 wrong-password endpoints at once, probe_max_in_flight 2: %s; failed logins %d; connections %d", codes(replies), failed, conns)
	if ok < 1 || ok > 2 || refused != len(qs)-ok {
		t.Errorf("%d answered, %d refused; want at most 2 answered and the rest refused", ok, refused)
	}
	if failed != ok || conns != ok {
		t.Errorf("%d runs made %d failed logins and %d connections: a refused request reached a server\n%s", ok, failed, conns, m.Logs(30))
	}
	if v := testutil.ToFloat64(p.refused.WithLabelValues(ReasonMaxInFlight)); int(v) != refused {
		t.Errorf("mail_exporter_probe_refused_total{reason=\"max_in_flight\"} = %v, want %d", v, refused)
	}
}
