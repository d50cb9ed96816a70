package dnscheck

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A check with nothing to look at is not applicable: neither valid nor
// invalid, no mail_dns_record_valid series, mail_dns_check_applicable 0.
func TestRunNotApplicable(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(f *fixture, d *Domain)
		na     map[string]string // check -> part of the reason; the others apply
	}{
		{"no MX, no address", func(f *fixture, d *Domain) { delete(f.rrs, "mx") },
			map[string]string{CheckDANE: "no MX host", CheckPTR: "no MX host", CheckDNSBL: "no MX host"}},
		{"null MX", func(f *fixture, d *Domain) { f.rrs["mx"] = "ex.test. 300 IN MX 0 ." },
			map[string]string{CheckDANE: "null MX", CheckPTR: "null MX", CheckDNSBL: "null MX"}},
		{"MX without address", func(f *fixture, d *Domain) { delete(f.rrs, "a") },
			map[string]string{CheckPTR: "no MX host has an address", CheckDNSBL: "no MX host has an address"}},
		{"no dnsbl zones", func(f *fixture, d *Domain) { d.DNSBLZones = nil },
			map[string]string{CheckDNSBL: "no dnsbl_zones configured"}},
		{"implicit MX applies", func(f *fixture, d *Domain) {
			delete(f.rrs, "mx")
			f.extra = append(f.extra, "ex.test. 300 IN A 192.0.2.10")
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			d := exDomain
			c.change(f, &d)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := Run(ctx, d, f.options())
			knownCodes(t, r)
			var want strings.Builder
			want.WriteString("# HELP mail_dns_check_applicable 1 if the check had something to check; 0 when not applicable (DANE and PTR without MX hosts, DNSBL without zones).\n# TYPE mail_dns_check_applicable gauge\n")
			for _, name := range slices.Sorted(maps.Keys(r.Checks)) {
				cr := r.Checks[name]
				why, na := c.na[name]
				if cr.Applicable() == na || !strings.Contains(cr.NotApplicable, why) {
					t.Errorf("%s: not applicable %q, want %v (%q)", name, cr.NotApplicable, na, why)
				}
				if na && (cr.Valid || len(cr.Problems) > 0 || !cr.LookupSuccess) {
					t.Errorf("%s: not applicable but %+v", name, cr)
				}
				v := "1"
				if na {
					v = "0"
				}
				want.WriteString(`mail_dns_check_applicable{check="` + name + `",domain="ex.test"} ` + v + "\n")
			}
			col := collector{results: []*Result{r}}
			if err := testutil.CollectAndCompare(col, strings.NewReader(want.String()), "mail_dns_check_applicable"); err != nil {
				t.Error(err)
			}
			if n := testutil.CollectAndCount(col, "mail_dns_record_valid"); n != len(r.Checks)-len(c.na) {
				t.Errorf("%d mail_dns_record_valid series for %d checks, %d not applicable", n, len(r.Checks), len(c.na))
			}
		})
	}
}

// The PTR result names the PTR name through which the address was
// confirmed, also when it is not the MX name.
func TestRunPTRConfirmedByOtherName(t *testing.T) {
	f := newFixture(t)
	f.rrs["ptr"] = "10.2.0.192.in-addr.arpa. 300 IN PTR host.other.test."
	f.extra = append(f.extra, "host.other.test. 300 IN A 192.0.2.10")
	r := Run(context.Background(), exDomain, f.options())
	if len(r.PTR) != 1 || !r.PTR[0].Valid || r.PTR[0].MX != "mx.ex.test" || r.PTR[0].Confirmed != "host.other.test" {
		t.Errorf("PTR %+v, want mx.ex.test confirmed by host.other.test", r.PTR)
	}
}
