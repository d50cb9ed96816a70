package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
)

// checkTitles names the DNS checks for people.
var checkTitles = map[string]string{
	"mx": "MX", "spf": "SPF", "dmarc": "DMARC", "dkim": "DKIM", "mta_sts": "MTA-STS",
	"tls_rpt": "TLS-RPT", "dane": "DANE", "ptr": "PTR (reverse DNS)", "dnsbl": "DNSBL", "srv": "SRV records", "autoconfig": "autoconfig",
}

// Domain builds one item per DNS check of r, in a fixed order.
func Domain(r *dnscheck.Result) []Item {
	names := make([]string, 0, len(r.Checks))
	for n := range r.Checks {
		names = append(names, n)
	}
	order := map[string]int{"mx": 0, "spf": 1, "dkim": 2, "dmarc": 3, "mta_sts": 4, "tls_rpt": 5, "dane": 6, "ptr": 7, "dnsbl": 8, "srv": 9, "autoconfig": 10}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	var items []Item
	for _, n := range names {
		items = append(items, CheckItem(n, r.Checks[n], dnsSummary(n, r)))
	}
	if len(r.DNSSEC) > 0 {
		items = append(items, dnssecItem(r))
	}
	return items
}

// CheckItem builds the item for one DNS check result.
func CheckItem(name string, c *dnscheck.CheckResult, summary string) Item {
	title := checkTitles[name]
	if title == "" {
		title = name
	}
	it := Item{Name: title, Summary: summary}
	if !c.Applicable() {
		it.Status, it.Summary, it.Findings = NotApplicable, "not applicable: "+c.NotApplicable, []Finding{}
		return it
	}
	if !c.LookupSuccess {
		// Not a finding about the records: they could not be read.
		it.Findings = append(it.Findings, Finding{Status: Unknown, Code: CodeLookupFailed, Message: c.Error,
			Advice: "The DNS lookups for this check got no usable answer (SERVFAIL, REFUSED or a timeout), so the records could not be judged. " +
				"REFUSED usually means the resolver will not answer for this name: use one that does (--resolver, global.resolver). " +
				"SERVFAIL from a validating resolver often means a broken DNSSEC signature: check the zone with a validating resolver."})
	}
	seen := map[string]bool{}
	for _, p := range c.Problems {
		if seen[p.Code] {
			continue
		}
		seen[p.Code] = true
		st := Warning
		if p.Severity == dnscheck.SeverityError {
			st = Critical
		}
		it.Findings = append(it.Findings, Finding{Status: st, Code: p.Code, Message: p.Detail, Advice: codeAdvice(p.Code)})
	}
	it.Status = itemStatus(it.Findings)
	return it
}

func dnssecItem(r *dnscheck.Result) Item {
	zones := make([]string, 0, len(r.DNSSEC))
	for z := range r.DNSSEC {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	var parts []string
	it := Item{Name: "DNSSEC"}
	for _, z := range zones {
		state := "signed"
		if !r.DNSSEC[z] {
			state = "unsigned"
		}
		parts = append(parts, z+" "+state)
	}
	it.Summary = strings.Join(parts, ", ")
	if !r.DNSSEC[r.Domain] {
		it.Findings = append(it.Findings, Finding{Status: Warning, Code: CodeDNSSECInsecure, Message: r.Domain + " answers are not DNSSEC-authenticated",
			Advice: "Without DNSSEC, DANE cannot work and MX/TLSA answers can be forged. Sign the zone and publish the DS record at the parent (or use a validating resolver, if it is signed already)."})
	}
	it.Status = itemStatus(it.Findings)
	return it
}

// dnsSummary is the figure that matters for each check.
func dnsSummary(name string, r *dnscheck.Result) string {
	switch name {
	case "mx":
		return fmt.Sprintf("%d MX host(s)", r.MXHosts)
	case "spf":
		return fmt.Sprintf("%d of 10 DNS lookups used, %d void", r.SPFLookups, r.SPFVoidLookups)
	case "dmarc":
		if r.DMARCPolicy == "" {
			return "no policy"
		}
		return fmt.Sprintf("p=%s sp=%s", r.DMARCPolicy, r.DMARCSubdomainPolicy)
	case "dkim":
		var ks []string
		for _, k := range r.DKIMKeys {
			ks = append(ks, fmt.Sprintf("%s: %s %d bits", k.Selector, k.KeyType, k.Bits))
		}
		return strings.Join(ks, "; ")
	case "mta_sts":
		if r.MTASTSMode == "" {
			return "no policy"
		}
		return fmt.Sprintf("mode %s, max_age %ds", r.MTASTSMode, r.MTASTSMaxAge)
	case "dane":
		return boolMap(r.DANE, "valid", "not valid")
	case "ptr":
		var ps []string
		for _, p := range r.PTR {
			ps = append(ps, ptrText(p))
		}
		return strings.Join(ps, "; ")
	case "dnsbl":
		listed := 0
		for _, l := range r.DNSBL {
			if l.Listed {
				listed++
			}
		}
		return fmt.Sprintf("%d listing(s) in %d lookups", listed, len(r.DNSBL))
	}
	return ""
}

// ptrText names the PTR name through which an MX address was confirmed,
// or the names that did not confirm it.
func ptrText(p dnscheck.PTRResult) string {
	switch {
	case p.Valid && p.Confirmed != "":
		return fmt.Sprintf("%s %s confirmed by PTR %s", p.MX, p.IP, p.Confirmed)
	case p.Valid:
		return fmt.Sprintf("%s %s confirmed", p.MX, p.IP)
	case len(p.Names) == 0:
		return fmt.Sprintf("%s %s has no PTR", p.MX, p.IP)
	}
	return fmt.Sprintf("%s %s not confirmed (PTR %s)", p.MX, p.IP, strings.Join(p.Names, ", "))
}

func boolMap(m map[string]bool, yes, no string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" "+map[bool]string{true: yes, false: no}[m[k]])
	}
	return strings.Join(parts, ", ")
}

// codeAdvice says how to fix a DNS problem; codes without a specific
// sentence get their documented meaning and RFC.
func codeAdvice(code string) string {
	if a, ok := advice[code]; ok {
		return a
	}
	for _, c := range dnscheck.Codes {
		if c.Code == code {
			return c.Meaning + " See " + c.RFC + "."
		}
	}
	return ""
}

var advice = map[string]string{
	"mx_missing":                "Publish MX records naming the hosts that receive mail for the domain (or a null MX \"0 .\" if it receives none).",
	"mx_target_no_address":      "Give each MX host an A and/or AAAA record, or remove the MX record that names it.",
	"mx_target_cname":           "MX records must name a host, not an alias: point the MX at the CNAME's target.",
	"mx_certificate_name":       "Put the MX name on the certificate the SMTP server presents on port 25 (one certificate may list every MX name; Postfix: smtpd_tls_chain_files), or point the MX record at a name the certificate covers. Senders that require TLS by MTA-STS or DANE-TA refuse a certificate without the MX name.",
	"spf_missing":               "Publish one TXT record \"v=spf1 mx -all\" (adjusted to your senders) at the domain.",
	"spf_multiple":              "Merge the SPF records into one: with two, every receiver returns permerror.",
	"spf_too_many_lookups":      "Flatten includes (replace them with the ip4:/ip6: ranges they resolve to) or drop senders, to stay within 10 DNS lookups.",
	"spf_too_many_void_lookups": "Remove include/a/mx terms that point at names that do not exist.",
	"spf_pass_all":              "\"+all\" lets anyone send as the domain: end the record with \"-all\" or \"~all\".",
	"spf_neutral_all":           "\"?all\" expresses no policy: end the record with \"-all\" or \"~all\".",
	"spf_no_all":                "End the record with \"-all\" (or \"~all\") so unlisted senders fail.",
	"spf_ptr":                   "Replace the ptr mechanism with ip4:/ip6: or a: terms; ptr is slow and deprecated.",
	"dmarc_missing":             "Publish \"v=DMARC1; p=none; rua=mailto:dmarc@<domain>\" at _dmarc.<domain>, watch the reports, then tighten to quarantine or reject.",
	"dmarc_multiple":            "Keep exactly one DMARC record at _dmarc: with several, receivers ignore all of them.",
	"dmarc_policy_none":         "p=none only monitors. When the aggregate reports show your mail passes, move to p=quarantine, then p=reject.",
	"dmarc_report_unauthorized": "The report destination's domain must publish \"v=DMARC1\" at <domain>._report._dmarc.<destination> to accept your reports.",
	"dkim_missing":              "Publish the selector's public key at <selector>._domainkey.<domain>, or remove the selector from the configuration if it is retired.",
	"dkim_revoked":              "The key is revoked (empty p=). If mail is still signed with this selector, it fails DKIM: switch the signer to a live selector.",
	"dkim_key_too_short":        "Generate a 2048-bit RSA (or Ed25519) key, publish it under a new selector and switch the signer to it.",
	"dkim_key_weak":             "Move to a 2048-bit RSA key under a new selector when you next rotate keys.",
	"mtasts_missing":            "Publish _mta-sts TXT \"v=STSv1; id=<date>\" and serve a policy at https://mta-sts.<domain>/.well-known/mta-sts.txt to make senders require TLS.",
	"mtasts_policy_unreachable": "Senders cannot fetch the policy: serve https://mta-sts.<domain>/.well-known/mta-sts.txt with a valid certificate.",
	"mtasts_policy_certificate": "The policy host needs a certificate valid for mta-sts.<domain> from a public CA.",
	"mtasts_mx_not_covered":     "Add every MX host to the policy's mx: lines (a wildcard covers one label), then change the id in the _mta-sts record.",
	"mtasts_mode_testing":       "When TLS reports show no failures, set mode: enforce and change the id.",
	"tlsrpt_missing":            "Publish _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tls-reports@<domain>\" to learn when senders fail to reach you over TLS.",
	"dane_mismatch":             "The TLSA record no longer matches the MX certificate: publish the new key's TLSA (3 1 1 of the new key) before rolling certificates, and keep the old one until the new is live.",
	"dane_tlsa_insecure":        "TLSA records are used only from DNSSEC-signed zones: sign the zone, or remove the TLSA records.",
	"dane_no_usable_tlsa":       "Publish TLSA records with usage 2 or 3 (DANE-TA or DANE-EE); usages 0 and 1 are not used for SMTP.",
	"ptr_missing":               "Ask the owner of the address block (your hosting provider) to set a PTR record naming the MX host.",
	"ptr_not_confirmed":         "The PTR name must resolve back to the same address: fix the PTR or the host's A/AAAA record so they agree.",
	"dnsbl_listed":              "The address is on a blocklist: find out why (an open relay, a compromised account, a spam run), fix that, then request delisting from the list's operator.",
}
