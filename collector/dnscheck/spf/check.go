package spf

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Findings. Each is wrapped with the detail of where it was found.
var (
	ErrNoRecord           = errors.New("no SPF record")                                           // RFC 7208 4.5: result "none"
	ErrMultipleRecords    = errors.New("more than one SPF record")                                // RFC 7208 4.5: permerror
	ErrTooManyLookups     = errors.New("more than 10 DNS-querying terms")                         // RFC 7208 4.6.4
	ErrTooManyVoidLookups = errors.New("more than 2 void lookups")                                // RFC 7208 4.6.4
	ErrTooManyMXNames     = errors.New("mx mechanism with more than 10 MX names")                 // RFC 7208 4.6.4
	ErrIncludeNoRecord    = errors.New("include or redirect target has no SPF record")            // RFC 7208 5.2, 6.1
	ErrPassAll            = errors.New(`"+all" passes every sender`)                              // RFC 7208 5.1
	ErrNeutralAll         = errors.New(`"?all" expresses no policy`)                              // RFC 7208 5.1, 8.2
	ErrNoAll              = errors.New(`no "all" and no redirect: the default result is neutral`) // RFC 7208 4.7
	ErrPTR                = errors.New(`"ptr" mechanism is deprecated`)                           // RFC 7208 5.5
)

const (
	maxLookups     = 10 // RFC 7208 4.6.4
	maxVoidLookups = 2  // RFC 7208 4.6.4
	maxQueries     = 60 // our own bound on the work of one check
)

// Report is the outcome of checking one domain's SPF tree.
type Report struct {
	Record      string  // the top-level record text ("" when none)
	Lookups     int     // DNS-querying terms over the whole tree (4.6.4)
	VoidLookups int     // of those, lookups that returned NXDOMAIN or no records
	Problems    []error // findings wrapping the sentinels above or ErrSyntax
}

type walker struct {
	ctx     context.Context
	r       resolver.Resolver
	rep     *Report
	queries int
	seen    map[string]bool
}

// Check fetches domain's SPF record and walks its include and redirect tree
// the way an evaluation that matches nothing would, counting the terms that
// query DNS and the void lookups. The error wraps resolver.ErrDNS when a lookup
// failed; the report holds what was found until then.
func Check(ctx context.Context, r resolver.Resolver, domain string) (*Report, error) {
	w := &walker{ctx: ctx, r: r, rep: &Report{}, seen: map[string]bool{}}
	rec, txt, err := w.fetch(domain)
	if err != nil {
		return w.rep, err
	}
	w.rep.Record = txt
	if rec == nil {
		return w.rep, nil
	}
	w.checkAll(rec, domain)
	if err := w.walk(rec, domain, 0); err != nil {
		return w.rep, err
	}
	if w.rep.Lookups > maxLookups {
		w.problem(fmt.Errorf("%w: %d", ErrTooManyLookups, w.rep.Lookups))
	}
	if w.rep.VoidLookups > maxVoidLookups {
		w.problem(fmt.Errorf("%w: %d", ErrTooManyVoidLookups, w.rep.VoidLookups))
	}
	return w.rep, nil
}

func (w *walker) problem(err error) { w.rep.Problems = append(w.rep.Problems, err) }

// fetch returns the single SPF record at domain, or nil with a problem noted.
func (w *walker) fetch(domain string) (*Record, string, error) {
	w.queries++
	txts, _, err := resolver.TXT(w.ctx, w.r, domain)
	if err != nil {
		return nil, "", err
	}
	var spf []string
	for _, t := range txts {
		if IsSPF(t) {
			spf = append(spf, t)
		}
	}
	switch len(spf) {
	case 0:
		w.problem(fmt.Errorf("%w at %s", ErrNoRecord, domain))
		return nil, "", nil
	case 1:
	default:
		w.problem(fmt.Errorf("%w at %s: %d", ErrMultipleRecords, domain, len(spf)))
		return nil, "", nil
	}
	rec, err := Parse(spf[0])
	if err != nil {
		w.problem(fmt.Errorf("at %s: %w", domain, err))
		return nil, spf[0], nil
	}
	return rec, spf[0], nil
}

// checkAll looks at the policy for mail that matches nothing: the record's
// "all", else its redirect target's (RFC 7208 6.1).
func (w *walker) checkAll(rec *Record, domain string) {
	for _, d := range rec.Directives {
		if d.Mechanism == "ptr" {
			w.problem(fmt.Errorf("%w (at %s)", ErrPTR, domain))
			break
		}
	}
	for _, d := range rec.Directives {
		if d.Mechanism != "all" {
			continue
		}
		switch d.Qualifier {
		case '+':
			w.problem(fmt.Errorf("%w (at %s)", ErrPassAll, domain))
		case '?':
			w.problem(fmt.Errorf("%w (at %s)", ErrNeutralAll, domain))
		}
		return
	}
	if rec.Redirect == "" {
		w.problem(fmt.Errorf("%w (at %s)", ErrNoAll, domain))
	}
}

// walk counts rec's DNS-querying terms and descends into includes and the
// redirect (RFC 7208 4.6.4: include, a, mx, ptr, exists and redirect count).
func (w *walker) walk(rec *Record, domain string, depth int) error {
	hasAll := false
	for _, d := range rec.Directives {
		switch d.Mechanism {
		case "all":
			hasAll = true
		case "include":
			w.rep.Lookups++
			if err := w.descend(d.Domain, "include", depth); err != nil {
				return err
			}
		case "a", "mx", "exists":
			w.rep.Lookups++
			if err := w.countVoid(d, domain); err != nil {
				return err
			}
		case "ptr":
			w.rep.Lookups++
		}
	}
	// RFC 7208 6.1: redirect is ignored when the record has "all".
	if rec.Redirect != "" && !hasAll {
		w.rep.Lookups++
		return w.descend(rec.Redirect, "redirect", depth)
	}
	return nil
}

func (w *walker) descend(target, how string, depth int) error {
	if hasMacro(target) || w.rep.Lookups > maxLookups+5 || w.queries >= maxQueries || depth > 10 {
		return nil // cannot expand, or already far over the limit
	}
	target = strings.ToLower(dns.Fqdn(target))
	key := how + " " + target
	if w.seen[key] {
		// A loop evaluates until the lookup limit stops it.
		w.rep.Lookups = max(w.rep.Lookups, maxLookups+1)
		return nil
	}
	w.seen[key] = true
	defer delete(w.seen, key)

	before := len(w.rep.Problems)
	rec, _, err := w.fetch(target)
	if err != nil {
		return err
	}
	if rec == nil {
		if len(w.rep.Problems) > before && errors.Is(w.rep.Problems[len(w.rep.Problems)-1], ErrNoRecord) {
			// RFC 7208 5.2 and 6.1: a target without a record is a permerror.
			w.rep.Problems[len(w.rep.Problems)-1] = fmt.Errorf("%w: %s:%s", ErrIncludeNoRecord, how, target)
			w.rep.VoidLookups++ // the TXT lookup found nothing
		}
		return nil
	}
	if how == "redirect" {
		w.checkAll(rec, target)
	} else {
		for _, d := range rec.Directives {
			if d.Mechanism == "ptr" {
				w.problem(fmt.Errorf("%w (at %s)", ErrPTR, target))
				break
			}
		}
	}
	return w.walk(rec, target, depth+1)
}

// countVoid performs the lookup of an a, mx or exists term and counts it void
// when it returns no records.
func (w *walker) countVoid(d Directive, domain string) error {
	target := d.Domain
	if target == "" {
		target = domain
	}
	if hasMacro(target) || w.queries >= maxQueries {
		return nil
	}
	qtype := dns.TypeA
	if d.Mechanism == "mx" {
		qtype = dns.TypeMX
	}
	w.queries++
	a, err := w.r.Lookup(w.ctx, target, qtype)
	if err != nil {
		return err
	}
	n := 0
	for _, rr := range a.Records {
		if rr.Header().Rrtype == qtype {
			n++
		}
	}
	if n == 0 && d.Mechanism == "a" {
		// "a" matches AAAA too (RFC 7208 5.3): void only if both are empty.
		w.queries++
		a6, err := w.r.Lookup(w.ctx, target, dns.TypeAAAA)
		if err != nil {
			return err
		}
		n = len(resolver.Of[*dns.AAAA](a6))
	}
	if n == 0 {
		w.rep.VoidLookups++
	}
	if d.Mechanism == "mx" && n > 10 {
		w.problem(fmt.Errorf("%w: mx:%s has %d", ErrTooManyMXNames, target, n))
	}
	return nil
}
