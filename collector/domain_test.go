package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
)

// TestDomainChecksThroughTheExporter runs a domain's checks the way the
// exporter does (scheduled, and on demand through /probe) against knot and
// a validating unbound. The checks' rules are tested in dnscheck; this is
// the wiring: resolver from the config, metrics, status page.
func TestDomainChecksThroughTheExporter(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{Name: "wired.test", Signed: true, Records: `
@ MX 10 mx.wired.test.
mx A 127.0.0.2
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; sp=quarantine"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@wired.test"
`})
	dir := t.TempDir()
	path := filepath.Join(dir, "targets.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`global: {resolver: "%s", dns_interval: 200ms, timeout: 150ms}
domains:
  - domain: wired.test
    checks: [mx, spf, dmarc, tls_rpt]
`, dns.Resolver)), 0o600)
	exp := New(Options{})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	defer exp.Stop()

	// Scheduled: the first run lands within one interval.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.CollectAndCount(exp, "mail_dns_record_valid") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled domain check never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := `
# HELP mail_dns_record_valid 1 if what the check looks at is present and free of error-severity problems.
# TYPE mail_dns_record_valid gauge
mail_dns_record_valid{check="dmarc",domain="wired.test"} 1
mail_dns_record_valid{check="mx",domain="wired.test"} 1
mail_dns_record_valid{check="spf",domain="wired.test"} 1
mail_dns_record_valid{check="tls_rpt",domain="wired.test"} 1
`
	if err := testutil.CollectAndCompare(exp, strings.NewReader(want), "mail_dns_record_valid"); err != nil {
		t.Error(err)
	}
	if v := seriesValue(t, exp, "mail_dnssec_secure", `zone="wired.test"`); v != 1 {
		t.Errorf("mail_dnssec_secure = %v, want 1", v)
	}

	// On demand, with a transcript of the log lines.
	rec := httptest.NewRecorder()
	exp.ProbeHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?domain=wired.test&debug=true", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, s := range []string{`mail_dmarc_policy_info{domain="wired.test",policy="reject",subdomain_policy="quarantine"} 1`, "domain checks start"} {
		if !strings.Contains(string(body), s) {
			t.Errorf("/probe?domain= lacks %q:\n%s", s, body)
		}
	}
	c, _ := exp.lookup(DomainID("wired.test"))
	if row := c.status(); !row.OK || row.Result != "valid" {
		t.Errorf("status row %+v", row)
	}
}
