package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

// prometheusBinary finds Prometheus: $PROMETHEUS, PATH, or the unpacked
// Debian package that .ci/run installs.
func prometheusBinary(t *testing.T) string {
	for _, p := range []string{os.Getenv("PROMETHEUS"), "/opt/prometheus-deb/usr/bin/prometheus"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if os.Getenv("MAIL_EXPORTER_REAL_PEERS") == "1" {
		t.Fatal("prometheus not found (set PROMETHEUS or run .ci/run)")
	}
	t.Skip("prometheus not installed")
	return ""
}

// dashboardQueries returns every panel query and variable query of the
// committed dashboards, with Grafana's variables replaced.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("../../grafana/dashboards/*.json")
	if len(files) < 4 {
		t.Fatalf("found %d dashboards", len(files))
	}
	out := map[string]string{}
	repl := strings.NewReplacer(`$__rate_interval`, "30s", `$__interval`, "15s", `$__range`, "1m")
	varRe := regexp.MustCompile(`\$\{?(job|server|endpoint|domain)\}?`)
	fix := func(e string) string { return varRe.ReplaceAllString(repl.Replace(e), ".*") }
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	for _, f := range files {
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
				Panels []json.RawMessage `json:"panels"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name  string `json:"name"`
					Type  string `json:"type"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
		}
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		base := filepath.Base(f)
		for _, p := range d.Panels {
			for i, tg := range p.Targets {
				if tg.Expr != "" {
					out[fmt.Sprintf("%s / %s #%d", base, p.Title, i)] = fix(tg.Expr)
				}
			}
		}
		for _, v := range d.Templating.List {
			q, _ := v.Query.(string)
			if m := labelValues.FindStringSubmatch(q); v.Type == "query" && m != nil {
				out[base+" / variable "+v.Name] = fix(m[1])
			}
		}
	}
	return out
}

type promResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []json.RawMessage `json:"result"`
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Query     string `json:"query"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
				Type      string `json:"type"`
				State     string `json:"state"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"data"`
}

func promGet(t *testing.T, base, path string, q url.Values) promResult {
	t.Helper()
	resp, err := http.Get(base + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r promResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// emptyOnThisSetup are dashboard queries that rightly return nothing here,
// each with the reason; everything else must return data.
var emptyOnThisSetup = map[string]string{
	"mail_mtasts_mode_info":                            "no MTA-STS policy is served (needs HTTPS on port 443)",
	"mail_mtasts_max_age_seconds":                      "no MTA-STS policy is served",
	"mail_mailbox_quota_used_messages":                 "Dovecot reports no MESSAGE quota without a limit",
	"mail_mailbox_quota_limit_messages":                "Dovecot reports no MESSAGE quota without a limit",
	"mail_mailbox_quota_used_bytes":                    "no quota plugin in this instance (tested in collector)",
	"mail_mailbox_quota_limit_bytes":                   "no quota plugin in this instance (tested in collector)",
	"ed25519":                                          "the DKIM key here is RSA",
	"mail_roundtrip_auth_results_info":                 "no verifying milter here adds Authentication-Results (collector/roundtrip tests it with OpenDKIM)",
	"mail_tls_ocsp_status_info":                        "Dovecot and Postfix do not staple OCSP (tested with haproxy in collector/tlsposture)",
	"mail_tls_weak_cipher_info":                        "the servers here have ECDSA leaves: no RSA key exchange (tested in collector/tlsposture)",
	"mail_exporter_config_last_reload_successful == 0": "no reload failed",
}

func TestDashboardsAndRulesAgainstRealPrometheus(t *testing.T) {
	prom := prometheusBinary(t)
	good := testpeers.StartMail(t, testpeers.WithQuota("10M"))
	ca := testpeers.NewCA(t)
	certPEM, keyPEM, _ := ca.Issue(t, testpeers.CertOptions{DNSNames: []string{"mail.example.test"},
		NotBefore: time.Now().Add(-80 * 24 * time.Hour), NotAfter: time.Now().Add(2 * 24 * time.Hour)})
	// It also offers CRAM-MD5 before STARTTLS (no plaintext login): data
	// for the "before TLS" mechanisms panel.
	expiring := testpeers.StartMail(t, testpeers.WithCA(ca), testpeers.WithCert(certPEM, keyPEM),
		testpeers.WithAuthMechanisms("plain login cram-md5"))

	// A DKIM key of 1024 bits (a warning), a TLSA record matching Postfix,
	// a PTR, a DNSBL listing: data for every DNS panel but MTA-STS.
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	spki := sha256.Sum256(good.Leaf.RawSubjectPublicKeyInfo)
	dns := dnstest.Start(t,
		dnstest.Zone{Name: "dash.test", Signed: true, Records: fmt.Sprintf(`
@ MX 10 mx.dash.test.
mx A 127.0.0.2
dual A 127.0.0.2
dual AAAA ::1
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=none; rua=mailto:d@dash.test"
s1._domainkey TXT "v=DKIM1; k=rsa; p=%s"
s2._domainkey TXT "v=DKIM1; k=ed25519; p=%s"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@dash.test"
_%d._tcp.mx TLSA 3 1 1 %s
`, base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(edPub), good.Ports["smtp"], hex.EncodeToString(spki[:]))},
		dnstest.Zone{Name: "127.in-addr.arpa", Records: "2.0.0 PTR mx.dash.test.\n"},
		dnstest.Zone{Name: "bl.test", Records: "2.0.0.127 A 127.0.0.2\n"},
	)

	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(good.Password), 0o600)
	pw2 := filepath.Join(dir, "pw2")
	os.WriteFile(pw2, []byte(expiring.Password), 0o600)
	cfg := writeConfig(t, dir, fmt.Sprintf(`global: {interval: 2s, timeout: 1500ms, dns_interval: 3s, roundtrip_interval: 3s, posture_interval: 4s, resolver: "%s", ehlo_name: probe.example.test}
credentials:
  good: {username: %s, password_file: %s}
  expiring: {username: %s, password_file: %s}
servers:
  - {name: good, host: %s, tls_server_name: %s, ca_file: %s, credential: good, labels: {site: lab},
     endpoints: [{name: smtp, port: %d}, {name: submission, port: %d}, {name: imap, port: %d}, {name: imaps, port: %d}, {name: pop3s, port: %d}]}
  - {name: expiring, host: %s, tls_server_name: mail.example.test, ca_file: %s, credential: expiring, labels: {site: lab},
     endpoints: [{name: imaps, port: %d}, {name: imap, port: %d}]}
  - {name: down, host: 127.0.0.1, labels: {site: lab}, endpoints: [{name: smtp, port: 9}]}
  - {name: partly, host: dual.dash.test, tls_server_name: %s, ca_file: %s, labels: {site: lab}, endpoints: [{name: smtp, port: %d}]}
  - {name: wrongname, host: %s, tls_server_name: other.example.test, ca_file: %s, labels: {site: lab}, endpoints: [{name: imaps, port: %d, credential: none}]}
  - {name: mx, host: mx.dash.test, tls_server_name: %s, ca_file: %s, labels: {site: lab}, endpoints: [{name: smtp, port: %d, relay_test: true}]}
domains:
  - {domain: dash.test, dkim_selectors: [s1, s2, s3], smtp_port: %d, dnsbl_zones: [bl.test], checks: [mx, spf, dmarc, dkim, mta_sts, tls_rpt, dane, ptr, dnsbl]}
roundtrips:
  - {name: loop, send: {server: good, endpoint: submission, from: %s, to: %s}, receive: {server: good, endpoint: imaps}, timeout: 2s}
  - {name: nobody, send: {server: good, endpoint: submission, from: %s, to: nobody@example.test}, receive: {server: good, endpoint: imaps}, timeout: 2s}
`, dns.Resolver, good.User, pw, expiring.User, pw2,
		good.Host, good.ServerName, good.CAFile, good.Ports["smtp"], good.Ports["submission"], good.Ports["imap"], good.Ports["imaps"], good.Ports["pop3s"],
		expiring.Host, expiring.CAFile, expiring.Ports["imaps"], expiring.Ports["imap"], good.ServerName, good.CAFile, good.Ports["smtp"],
		good.Host, good.CAFile, good.Ports["imaps"],
		good.ServerName, good.CAFile, good.Ports["smtp"],
		good.Ports["smtp"], good.User, good.User, good.User))
	exp := startExporter(t, "--config.file="+cfg)
	exp.waitMetric(t, `mail_roundtrip_success\{roundtrip="loop"\}`, func(v float64) bool { return v == 1 })

	// Prometheus scraping it every second, with the shipped rules.
	promDir := t.TempDir()
	for _, f := range []string{"alerts.yml", "rules.yml"} {
		b, _ := os.ReadFile("../../deploy/prometheus/" + f)
		os.WriteFile(filepath.Join(promDir, f), b, 0o600)
	}
	os.WriteFile(filepath.Join(promDir, "prometheus.yml"), []byte(fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml, alerts.yml]
scrape_configs:
  - job_name: mail_exporter
    static_configs: [{targets: ["%s"]}]
`, exp.addr)), 0o600)
	promAddr := freeAddr(t)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(promDir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(promDir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	promLog := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = promLog, promLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + promAddr
	waitHTTP(t, base+"/-/ready", promLog)

	// Every metric the dashboards and rules may use (grafana/metrics.txt)
	// is one the exporter really exports.
	_, body := exp.get(t, "/metrics")
	exported := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			exported[regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`).FindString(l)] = true
		}
	}
	list, err := os.ReadFile("../../grafana/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defined := definedMetricNames(t)
	for _, name := range strings.Fields(string(list)) {
		base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
		switch {
		case exported[name]:
		case defined[name] || defined[base]:
			t.Logf("%s: defined in the code, not exported in this run (it is conditional)", name)
		case strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_"):
			t.Errorf("grafana/metrics.txt names %s, which the Go/process collectors do not export", name)
		default:
			t.Errorf("grafana/metrics.txt names %s, which the exporter does not export", name)
		}
	}

	// Wait for enough samples for rate() over 30s windows.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := promGet(t, base, "/api/v1/query", url.Values{"query": {`count_over_time(mail_probe_success{server="good",endpoint="imaps"}[1m])`}})
		if len(r.Data.Result) > 0 && strings.Contains(string(r.Data.Result[0]), `"25"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}

	// Every dashboard query parses and, but for the listed reasons, returns data.
	queries := dashboardQueries(t)
	names := make([]string, 0, len(queries))
	for n := range queries {
		names = append(names, n)
	}
	sort.Strings(names)
	empty := 0
	for _, n := range names {
		q := queries[n]
		r := promGet(t, base, "/api/v1/query", url.Values{"query": {q}})
		if r.Status != "success" {
			t.Errorf("%s: %s\n  %s", n, r.Error, q)
			continue
		}
		if len(r.Data.Result) == 0 {
			why := ""
			for k, v := range emptyOnThisSetup {
				if strings.Contains(q, k) {
					why = v
				}
			}
			if why == "" {
				t.Errorf("%s returned no data:\n  %s", n, q)
			} else {
				empty++
				t.Logf("empty as expected (%s): %s", why, n)
			}
		}
	}
	t.Logf("%d dashboard queries ran, %d empty for a stated reason", len(queries), empty)

	// Every rule evaluates without error; the failing endpoint, the
	// endpoint down on its IPv6 address only (nothing listens on ::1) and
	// the expiring certificate fire their alerts.
	rules := promGet(t, base, "/api/v1/rules", nil)
	firing := map[string]bool{}
	nrules := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			nrules++
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s: health %q error %q", r.Name, r.Health, r.LastError)
			}
			if r.Type == "recording" {
				if res := promGet(t, base, "/api/v1/query", url.Values{"query": {r.Name}}); len(res.Data.Result) == 0 {
					t.Errorf("recording rule %s has no data", r.Name)
				}
			}
			if r.State == "firing" || r.State == "pending" {
				firing[r.Name] = true
			}
		}
	}
	for _, want := range []string{"MailEndpointDown", "MailEndpointAddressDown", "MailCertificateExpiring", "MailCertificateInvalid",
		"MailDNSRecordInvalid", "MailDNSBLListed", "MailRoundtripFailing"} {
		if !firing[want] {
			t.Errorf("alert %s is neither pending nor firing", want)
		}
	}
	t.Logf("%d rules healthy; pending or firing: %v", nrules, firing)
	if t.Failed() {
		t.Logf("prometheus log:\n%s", promLog)
	}
}

// waitHTTP waits until u answers 200.
func waitHTTP(t *testing.T, u string, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v\n%s", u, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// definedMetricNames lists the metric names the exporter's code defines
// (string literals starting mail_ in non-test Go files under collector/).
func definedMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`"(mail_[a-z0-9_]+)"`)
	err := filepath.Walk("../../collector", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
