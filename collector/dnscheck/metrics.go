package dnscheck

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// descs are the metric descriptors of the domain series (SPEC section 3).
// `domain` is a variable label; constLabels are fixed at construction.
type descs struct {
	lookupSuccess, recordValid, problem, lastRun, dnssec       *prometheus.Desc
	applicable                                                 *prometheus.Desc
	mxHosts, spfLookups, spfVoid, dmarcPolicy, dkimBits        *prometheus.Desc
	mtastsMode, mtastsMaxAge, daneValid, ptrValid, dnsblListed *prometheus.Desc
}

func newDescs(constLabels prometheus.Labels) *descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"domain"}, labels...), constLabels)
	}
	return &descs{
		lookupSuccess: d("mail_dns_lookup_success", "1 if the check's DNS lookups got answers (NOERROR or NXDOMAIN), 0 on SERVFAIL, timeout or other failure.", "check"),
		recordValid:   d("mail_dns_record_valid", "1 if what the check looks at is present and free of error-severity problems; absent when the check is not applicable.", "check"),
		applicable:    d("mail_dns_check_applicable", "1 if the check had something to check; 0 when not applicable (DANE and PTR without MX hosts, DNSBL without zones).", "check"),
		problem:       d("mail_dns_problem_info", "1 per problem found; codes are documented in README.", "check", "code", "severity"),
		lastRun:       d("mail_dns_check_last_run_timestamp_seconds", "When the domain's checks last finished."),
		dnssec:        d("mail_dnssec_secure", "1 if answers for the zone came back DNSSEC-authenticated (AD bit from the validating resolver).", "zone"),
		mxHosts:       d("mail_mx_hosts", "Number of MX hosts of the domain."),
		spfLookups:    d("mail_spf_dns_lookups", "DNS-querying SPF terms over the whole include/redirect tree (RFC 7208 4.6.4; more than 10 is an error)."),
		spfVoid:       d("mail_spf_void_lookups", "SPF lookups in the tree that returned NXDOMAIN or no records (RFC 7208 4.6.4; more than 2 is an error)."),
		dmarcPolicy:   d("mail_dmarc_policy_info", "1; the DMARC policy that applies to the domain and to its subdomains.", "policy", "subdomain_policy"),
		dkimBits:      d("mail_dkim_key_bits", "Size of the DKIM public key of a selector; 0 for a revoked key.", "selector", "key_type"),
		mtastsMode:    d("mail_mtasts_mode_info", "1; the mode of the fetched MTA-STS policy.", "mode"),
		mtastsMaxAge:  d("mail_mtasts_max_age_seconds", "max_age of the fetched MTA-STS policy."),
		daneValid:     d("mail_dane_valid", "1 if a usable, DNSSEC-authenticated TLSA record matches the certificate the MX host presents after STARTTLS.", "mx"),
		ptrValid:      d("mail_ptr_valid", "1 if the MX address has forward-confirmed reverse DNS (RFC 8601 iprev).", "mx", "ip"),
		dnsblListed:   d("mail_dnsbl_listed", "1 if the MX address is listed in the DNS blocklist zone.", "ip", "zone"),
	}
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.lookupSuccess, d.recordValid, d.applicable, d.problem, d.lastRun, d.dnssec,
		d.mxHosts, d.spfLookups, d.spfVoid, d.dmarcPolicy, d.dkimBits,
		d.mtastsMode, d.mtastsMaxAge, d.daneValid, d.ptrValid, d.dnsblListed}
}

// plainDescs serve Describe and every Collect without constLabels.
var plainDescs = newDescs(nil)

// Describe sends the descriptors of the domain series, without constant
// labels. A collector passing constLabels to Collect describes nothing (an
// unchecked collector) or builds its own descriptors.
func Describe(ch chan<- *prometheus.Desc) {
	for _, d := range plainDescs.all() {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect writes the result as constant metrics, each carrying `domain` and
// constLabels. Duplicate problem codes of a check are written once.
func (r *Result) Collect(ch chan<- prometheus.Metric, constLabels prometheus.Labels) {
	if r == nil {
		return
	}
	d := plainDescs
	if len(constLabels) > 0 {
		d = newDescs(constLabels)
	}
	g := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{r.Domain}, labels...)...)
	}
	checks := make([]string, 0, len(r.Checks))
	for name := range r.Checks {
		checks = append(checks, name)
	}
	sort.Strings(checks)
	for _, name := range checks {
		c := r.Checks[name]
		g(d.lookupSuccess, b2f(c.LookupSuccess), name)
		g(d.applicable, b2f(c.Applicable()), name)
		if c.Applicable() {
			g(d.recordValid, b2f(c.Valid), name)
		}
		seen := map[string]bool{}
		for _, p := range c.Problems {
			if !seen[p.Code] {
				seen[p.Code] = true
				g(d.problem, 1, name, p.Code, string(p.Severity))
			}
		}
	}
	if !r.Finished.IsZero() {
		g(d.lastRun, float64(r.Finished.UnixNano())/1e9)
	}
	for zone, ok := range r.DNSSEC {
		g(d.dnssec, b2f(ok), zone)
	}
	if ran(r, CheckMX) {
		g(d.mxHosts, float64(r.MXHosts))
	}
	if ran(r, CheckSPF) {
		g(d.spfLookups, float64(r.SPFLookups))
		g(d.spfVoid, float64(r.SPFVoidLookups))
	}
	if r.DMARCPolicy != "" {
		g(d.dmarcPolicy, 1, r.DMARCPolicy, r.DMARCSubdomainPolicy)
	}
	for _, k := range r.DKIMKeys {
		g(d.dkimBits, float64(k.Bits), k.Selector, k.KeyType)
	}
	if r.MTASTSMode != "" {
		g(d.mtastsMode, 1, r.MTASTSMode)
	}
	if r.MTASTSMaxAge >= 0 {
		g(d.mtastsMaxAge, float64(r.MTASTSMaxAge))
	}
	for mx, ok := range r.DANE {
		g(d.daneValid, b2f(ok), mx)
	}
	for _, p := range r.PTR {
		g(d.ptrValid, b2f(p.Valid), p.MX, p.IP)
	}
	for _, l := range r.DNSBL {
		g(d.dnsblListed, b2f(l.Listed), l.IP, l.Zone)
	}
}

// ran reports whether a check ran with successful lookups, so that its
// figures mean something.
func ran(r *Result, check string) bool {
	c, ok := r.Checks[check]
	return ok && c.LookupSuccess
}
