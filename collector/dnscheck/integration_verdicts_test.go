package dnscheck

// Verdicts on zones served by the real knot+unbound of TestRealPeers: checks
// with nothing to check, a DMARC tree walk that stops at the public suffix,
// a lookup the resolver refuses, a PTR confirmed through another name.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/dnspeers"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

var verdictZones = []dnspeers.Zone{
	// No MX and no address: nothing for dane, ptr or dnsbl to check.
	{Name: "nomx.test", Signed: true, Records: "@ TXT \"v=spf1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"},
	// A null MX: the domain accepts no mail (RFC 7505).
	{Name: "nullmx.test", Signed: true, Records: "@ MX 0 .\n@ TXT \"v=spf1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"},
	// The resolver refuses _dmarc.refusing.test (local-zone refuse).
	{Name: "refusing.test", Signed: true, Records: "@ MX 10 mx.good.test.\n@ TXT \"v=spf1 mx -all\"\n"},
	{Name: "_dmarc.refusing.test", Refused: true},
}

// inAddrRecords make mail.127.in-addr.arpa a mail domain without a DMARC
// record, under the public suffix in-addr.arpa: the walk must not ask
// _dmarc.in-addr.arpa, which the resolver refuses.
const inAddrRecords = "mail MX 10 mx.good.test.\nmail TXT \"v=spf1 mx -all\"\n"

func testVerdicts(t *testing.T, opt Options, port int) {
	run := func(t *testing.T, domain string, checks ...string) *Result {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		r := Run(ctx, Domain{Name: domain, Checks: checks, DNSBLZones: []string{"bl.test"}, SMTPPort: port}, opt)
		knownCodes(t, r)
		logMetrics(t, r)
		return r
	}
	for _, domain := range []string{"nomx.test", "nullmx.test"} {
		t.Run(domain+" not applicable", func(t *testing.T) {
			r := run(t, domain, AllChecks()...)
			for _, name := range []string{CheckDANE, CheckPTR, CheckDNSBL} {
				cr := r.Checks[name]
				if cr.Applicable() || cr.Valid || !cr.LookupSuccess || len(cr.Problems) > 0 {
					t.Errorf("%s: %+v, want not applicable", name, cr)
				}
			}
			if cr := r.Checks[CheckMX]; !cr.Applicable() {
				t.Errorf("mx not applicable: %+v", cr)
			}
			col := collector{results: []*Result{r}}
			if n := testutil.CollectAndCount(col, "mail_dns_record_valid"); n != len(AllChecks())-3 {
				t.Errorf("%d mail_dns_record_valid series, want %d (none for dane, ptr, dnsbl)", n, len(AllChecks())-3)
			}
			want := `# HELP mail_dns_check_applicable 1 if the check had something to check; 0 when not applicable (DANE and PTR without MX hosts, DNSBL without zones).
# TYPE mail_dns_check_applicable gauge
`
			for _, name := range []string{"dane", "dkim", "dmarc", "dnsbl", "mta_sts", "mx", "ptr", "spf", "tls_rpt"} {
				v := "1"
				if name == "dane" || name == "ptr" || name == "dnsbl" {
					v = "0"
				}
				want += `mail_dns_check_applicable{check="` + name + `",domain="` + domain + `"} ` + v + "\n"
			}
			if err := testutil.CollectAndCompare(col, strings.NewReader(want), "mail_dns_check_applicable"); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("dmarc walk stops at the public suffix", func(t *testing.T) {
		// Without the stop the walk asks _dmarc.in-addr.arpa and gets REFUSED.
		r := run(t, "mail.127.in-addr.arpa", CheckDMARC)
		cr := r.Checks[CheckDMARC]
		if !cr.LookupSuccess || len(cr.Problems) != 1 || cr.Problems[0].Code != "dmarc_missing" {
			t.Errorf("dmarc: %+v, want a successful lookup finding dmarc_missing", cr)
		}
	})
	t.Run("dmarc lookup refused", func(t *testing.T) {
		r := run(t, "refusing.test", CheckDMARC)
		cr := r.Checks[CheckDMARC]
		if cr.LookupSuccess || cr.Valid || len(cr.Problems) > 0 || !strings.Contains(cr.Error, "REFUSED") {
			t.Errorf("dmarc: %+v, want a failed lookup (REFUSED) and no finding", cr)
		}
		col := collector{results: []*Result{r}}
		want := `# HELP mail_dns_lookup_success 1 if the check's DNS lookups got answers (NOERROR or NXDOMAIN), 0 on SERVFAIL, timeout or other failure.
# TYPE mail_dns_lookup_success gauge
mail_dns_lookup_success{check="dmarc",domain="refusing.test"} 0
`
		if err := testutil.CollectAndCompare(col, strings.NewReader(want), "mail_dns_lookup_success"); err != nil {
			t.Error(err)
		}
		if n := testutil.CollectAndCount(col, "mail_dns_problem_info"); n != 0 {
			t.Errorf("%d mail_dns_problem_info series for a refused lookup", n)
		}
		// The same REFUSED seen by the resolver client directly.
		res := opt.Resolver
		if _, err := res.Lookup(context.Background(), "_dmarc.refusing.test", 16); !errors.Is(err, resolver.ErrDNS) {
			t.Errorf("lookup of _dmarc.refusing.test: %v, want ErrDNS", err)
		}
	})
	t.Run("ptr confirmed through another name", func(t *testing.T) {
		// mx.badtlsa.test's address has PTR mx.good.test, which resolves back.
		r := run(t, "badtlsa.test", CheckPTR)
		if len(r.PTR) != 1 || !r.PTR[0].Valid || r.PTR[0].MX != "mx.badtlsa.test" || r.PTR[0].Confirmed != "mx.good.test" {
			t.Errorf("PTR %+v, want mx.badtlsa.test confirmed by mx.good.test", r.PTR)
		}
	})
}
