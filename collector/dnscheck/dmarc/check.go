package dmarc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Findings of Check.
var (
	ErrNoRecord           = errors.New("no DMARC record for the domain or its organisational domain") // RFC 9989 4.10.1
	ErrMultipleRecords    = errors.New("more than one DMARC record")                                  // RFC 9989 4.10 step 2
	ErrPolicyNone         = errors.New("policy is none (monitoring mode)")                            // RFC 9989 3.2.12, 4.7 p
	ErrTesting            = errors.New("t=y: the policy is applied one level lower")                  // RFC 9989 4.7 t
	ErrReportUnauthorized = errors.New("external report destination has not authorised reports")      // RFC 9990 4, RFC 9991 5
)

// Report is the outcome of the DMARC check of one domain.
type Report struct {
	Record          string // text of the record that applies ("" when none)
	RecordDomain    string // where it was found: the domain or an ancestor
	Policy          string // the policy that applies to the domain itself
	SubdomainPolicy string // the policy for its existing subdomains
	DKIMAlignment   string // adkim of the record that applies: "r", "s", or "" (relaxed)
	Problems        []error
}

type found struct {
	domain string
	rec    *Record
	txt    string
}

// Check discovers the DMARC policy for domain (RFC 9989 4.10.1) and checks the
// record and its report destinations. The error wraps resolver.ErrDNS when a
// lookup failed.
func Check(ctx context.Context, r resolver.Resolver, domain string) (*Report, error) {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	rep := &Report{}
	var recs []found
	for _, target := range walkTargets(domain) {
		f, err := fetch(ctx, r, target, rep)
		if err != nil {
			return rep, err
		}
		if f == nil {
			continue
		}
		recs = append(recs, *f)
		if target == domain || f.rec.PSD == "y" || f.rec.PSD == "n" {
			break // the domain's own record applies, or the walk stops (4.10 steps 2, 6)
		}
	}
	applied := choose(domain, recs)
	if applied == nil {
		if len(rep.Problems) == 0 { // a broken record is reported as such
			rep.Problems = append(rep.Problems, fmt.Errorf("%w: %s", ErrNoRecord, domain))
		}
		return rep, nil
	}
	rec := applied.rec
	rep.Record, rep.RecordDomain = applied.txt, applied.domain
	rep.DKIMAlignment = rec.ADKIM
	rep.Problems = append(rep.Problems, rec.Problems...)
	p := or(rec.Policy, "none") // 4.7 p: an absent p is treated as p=none
	sp := or(rec.SubdomainPolicy, p)
	rep.Policy, rep.SubdomainPolicy = p, sp
	if applied.domain != domain {
		rep.Policy = sp // 4.10.1: a subdomain of the policy domain gets sp, else p
	}
	if rep.Policy == "none" {
		rep.Problems = append(rep.Problems, fmt.Errorf("%w (record at _dmarc.%s)", ErrPolicyNone, applied.domain))
	} else if rec.Testing {
		rep.Problems = append(rep.Problems, fmt.Errorf("%w (record at _dmarc.%s)", ErrTesting, applied.domain))
	}
	if err := checkDestinations(ctx, r, applied.domain, rec, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// walkTargets lists the names queried: the domain, then the DNS Tree Walk from
// its parent, shortened to 7 labels first when longer (RFC 9989 4.10 steps
// 3-7, 4.10.1), up to the organisational domain: the walk stops at the
// public suffix and never asks _dmarc.<public suffix> (RFC 7489 6.6.3: the
// last name asked is the Organizational Domain, one label below the public
// suffix). A record published at a public suffix (RFC 9091 PSD DMARC) is
// therefore not used; psd= tags below it still are. Without this the walk
// asks names like _dmarc.in-addr.arpa or _dmarc.com, which many resolvers
// refuse and which no domain owner controls.
//
// The public suffix comes from the Public Suffix List compiled into
// golang.org/x/net/publicsuffix; a name under an unlisted top-level domain
// has that TLD as its suffix (the list's "*" rule).
func walkTargets(domain string) []string {
	labels := dns.SplitDomainName(domain)
	out := []string{domain}
	if len(labels) < 2 {
		return out
	}
	suffix, _ := publicsuffix.PublicSuffix(domain)
	rest := labels[1:]
	if len(labels) > 8 {
		rest = labels[len(labels)-7:]
	}
	for ; len(rest) > 0; rest = rest[1:] {
		name := strings.Join(rest, ".")
		if !strings.HasSuffix(name, "."+suffix) {
			break // the public suffix itself, or above it
		}
		out = append(out, name)
	}
	return out
}

// fetch returns the single valid record at _dmarc.<target>, or nil. Several
// records are all discarded (4.10 step 2); that and a syntax error are noted.
func fetch(ctx context.Context, r resolver.Resolver, target string, rep *Report) (*found, error) {
	txts, _, err := resolver.TXT(ctx, r, "_dmarc."+target)
	if err != nil {
		return nil, err
	}
	var cands []string
	for _, t := range txts {
		if IsCandidate(t) {
			cands = append(cands, t)
		}
	}
	switch {
	case len(cands) == 0:
		return nil, nil
	case len(cands) > 1:
		rep.Problems = append(rep.Problems, fmt.Errorf("%w at _dmarc.%s: %d", ErrMultipleRecords, target, len(cands)))
		return nil, nil
	}
	rec, err := Parse(cands[0])
	if err != nil {
		rep.Problems = append(rep.Problems, fmt.Errorf("at _dmarc.%s: %w", target, err))
		return nil, nil
	}
	return &found{domain: target, rec: rec, txt: cands[0]}, nil
}

// choose picks the record that applies (RFC 9989 4.10.1, with the
// Organizational Domain selection of 4.10.2): the domain's own; else, longest
// to shortest, a psd=n record, or the organisational domain below a psd=y
// record (the PSD's record when that has none); else the shortest name found.
func choose(domain string, recs []found) *found {
	if len(recs) == 0 {
		return nil
	}
	if recs[0].domain == domain {
		return &recs[0]
	}
	for i, f := range recs {
		switch f.rec.PSD {
		case "n":
			return &recs[i]
		case "y":
			org := oneBelow(domain, f.domain)
			for j := range recs {
				if recs[j].domain == org {
					return &recs[j]
				}
			}
			return &recs[i]
		}
	}
	return &recs[len(recs)-1]
}

// oneBelow returns the ancestor of domain one label below psd.
func oneBelow(domain, psd string) string {
	labels := dns.SplitDomainName(domain)
	n := dns.CountLabel(dns.Fqdn(psd)) + 1
	if n > len(labels) {
		return domain
	}
	return strings.Join(labels[len(labels)-n:], ".")
}

// checkDestinations verifies that every external rua/ruf destination publishes
// "<policy domain>._report._dmarc.<host>" with a v=DMARC1 record (RFC 9990 4,
// RFC 9991 5). A destination inside the policy domain, or an ancestor of it,
// is not external.
func checkDestinations(ctx context.Context, r resolver.Resolver, policyDomain string, rec *Record, rep *Report) error {
	checked := map[string]bool{}
	for _, u := range append(append([]string(nil), rec.RUA...), rec.RUF...) {
		host := URIHost(u)
		if host == "" || checked[host] {
			continue
		}
		checked[host] = true
		if dns.IsSubDomain(policyDomain, host) || dns.IsSubDomain(host, policyDomain) {
			continue
		}
		name := policyDomain + "._report._dmarc." + host
		if _, ok := dns.IsDomainName(name); !ok || len(name) > 253 {
			rep.Problems = append(rep.Problems, fmt.Errorf("%w: %s (name too long)", ErrReportUnauthorized, host))
			continue
		}
		txts, _, err := resolver.TXT(ctx, r, name)
		if err != nil {
			return err
		}
		ok := false
		for _, t := range txts {
			if IsCandidate(t) {
				if _, err := Parse(t); err == nil || errors.Is(err, ErrInvalidPolicy) {
					ok = true
				}
			}
		}
		if !ok {
			rep.Problems = append(rep.Problems, fmt.Errorf("%w: no v=DMARC1 record at %s", ErrReportUnauthorized, name))
		}
	}
	return nil
}
