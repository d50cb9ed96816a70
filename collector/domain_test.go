package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/probe"
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
nomx TXT "v=spf1 -all"
`})
	dir := t.TempDir()
	path := filepath.Join(dir, "targets.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`global: {resolver: "%s", dns_interval: 200ms, timeout: 150ms}
domains:
  - domain: wired.test
    checks: [mx, spf, dmarc, tls_rpt]
  - domain: nomx.wired.test
    checks: [spf, dane, ptr]
`, dns.Resolver)), 0o600)
	exp := New(Options{})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	defer exp.Stop()

	// Scheduled: the first run lands within one interval.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.CollectAndCount(exp, "mail_dns_record_valid") < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled domain check never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := `
# HELP mail_dns_record_valid 1 if what the check looks at is present and free of error-severity problems; absent when the check is not applicable.
# TYPE mail_dns_record_valid gauge
mail_dns_record_valid{check="spf",domain="nomx.wired.test"} 1
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

	// On demand, with a transcript of the log lines (/probe's own tests
	// are in collector/web).
	od, ok := exp.Lookup(DomainID("wired.test"))
	if !ok {
		t.Fatal("Lookup: no domain check")
	}
	tr := probe.NewTranscript()
	policy := `
# HELP mail_dmarc_policy_info 1; the DMARC policy that applies to the domain and to its subdomains.
# TYPE mail_dmarc_policy_info gauge
mail_dmarc_policy_info{domain="wired.test",policy="reject",subdomain_policy="quarantine"} 1
`
	if err := testutil.CollectAndCompare(od.RunOnce(context.Background(), tr), strings.NewReader(policy), "mail_dmarc_policy_info"); err != nil {
		t.Errorf("on demand: %v", err)
	}
	if !strings.Contains(tr.String(), "domain checks start") {
		t.Errorf("on-demand transcript lacks the log lines:\n%s", tr.String())
	}
	c, _ := exp.lookup(DomainID("wired.test"))
	if row := c.status(); !row.OK || row.Result != "valid" {
		t.Errorf("status row %+v", row)
	}
	// Without MX hosts dane and ptr have nothing to check: not applicable
	// in /metrics and on the status page, and not a failure.
	if v := seriesValue(t, exp, "mail_dns_check_applicable", `check="dane",domain="nomx.wired.test"`); v != 0 {
		t.Errorf("mail_dns_check_applicable{check=dane} = %v, want 0", v)
	}
	c, _ = exp.lookup(DomainID("nomx.wired.test"))
	row := c.status()
	if !row.OK || row.Result != "valid, 2 not applicable" || row.Target != "spf dane ptr (not applicable: dane, ptr)" ||
		!strings.Contains(row.Reason, "dane: not applicable (no MX host)") || !strings.Contains(row.Reason, "ptr: not applicable (no MX host)") {
		t.Errorf("status row %+v", row)
	}
}
