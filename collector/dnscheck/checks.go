package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dkim"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dmarc"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mx"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/spf"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/tlsrpt"
)

// builder accumulates one check's result.
type builder struct {
	check string
	cr    CheckResult
}

func newBuilder(check string) *builder {
	return &builder{check: check, cr: CheckResult{LookupSuccess: true}}
}

// add records findings, mapping each to its code.
func (b *builder) add(errs ...error) {
	for _, err := range errs {
		if err != nil {
			b.cr.Problems = append(b.cr.Problems, problem(b.check, err))
		}
	}
}

// fail records a failed lookup.
func (b *builder) fail(err error) {
	b.cr.LookupSuccess = false
	if b.cr.Error == "" {
		b.cr.Error = err.Error()
	} else if !strings.Contains(b.cr.Error, err.Error()) {
		b.cr.Error += "; " + err.Error()
	}
}

// notApplicable ends a check that has nothing to look at (why says so);
// Valid stays false, and no mail_dns_record_valid series is written.
func (b *builder) notApplicable(why string) *CheckResult {
	b.cr.NotApplicable = why
	return &b.cr
}

// done sets Valid: the lookups succeeded, the thing checked is present, and
// there is no error-severity problem.
func (b *builder) done(present bool) *CheckResult {
	b.cr.Valid = b.cr.LookupSuccess && present && !slices.ContainsFunc(b.cr.Problems, func(p Problem) bool {
		return p.Severity == SeverityError
	})
	return &b.cr
}

func (e *env) checkMX(ctx context.Context) outcome {
	b := newBuilder(CheckMX)
	m, err := e.mx(ctx)
	if err != nil {
		b.fail(err)
		return outcome{cr: b.done(false)}
	}
	b.add(m.Problems...)
	if e.d.MXCertificates && !m.Implicit { // an implicit MX is not advertised
		b.add(e.mxCertificateNames(ctx, m)...)
	}
	n := len(m.Hosts)
	return outcome{cr: b.done(n > 0 || m.NullMX), apply: func(r *Result) { r.MXHosts = n }}
}

// mxCertificateNames reads the certificate of every address of every MX
// host (the handshakes DANE and MTA-STS share) and reports each MX name it
// does not cover. An address that gives no certificate is not judged here:
// the discovered smtp endpoint's probe, DANE and MTA-STS report it. The
// wait ends a little before ctx does, so that a port 25 that never answers
// costs the name check, not the mx check's DNS findings.
func (e *env) mxCertificateNames(ctx context.Context, m *mx.Result) []error {
	ctx, cancel := beforeDeadline(ctx)
	defer cancel()
	var errs []error
	for _, h := range m.Hosts {
		if len(h.Addrs) == 0 && e.opt.DialSTARTTLS == nil {
			continue // mx_target_no_address
		}
		for _, tg := range e.tlsTargets(h) {
			cs, err := tg.dial(ctx)
			if err != nil {
				continue
			}
			if err := mx.CheckCertificateName(cs, h.Name, e.port); err != nil {
				errs = append(errs, fmt.Errorf("%w%s", err, tg.where()))
			}
		}
	}
	return errs
}

// beforeDeadline is ctx ending a tenth of its time left (at most a second)
// before its deadline.
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-min(time.Until(dl)/10, time.Second)))
}

func (e *env) checkSPF(ctx context.Context) outcome {
	b := newBuilder(CheckSPF)
	rep, err := spf.Check(ctx, e.opt.Resolver, e.domain)
	if err != nil {
		b.fail(err)
	}
	b.add(rep.Problems...)
	return outcome{cr: b.done(rep.Record != ""), apply: func(r *Result) {
		r.SPFLookups, r.SPFVoidLookups = rep.Lookups, rep.VoidLookups
	}}
}

func (e *env) checkDMARC(ctx context.Context) outcome {
	b := newBuilder(CheckDMARC)
	rep, err := dmarc.Check(ctx, e.opt.Resolver, e.domain)
	if err != nil {
		b.fail(err)
	}
	b.add(rep.Problems...)
	return outcome{cr: b.done(rep.Record != ""), apply: func(r *Result) {
		r.DMARCPolicy, r.DMARCSubdomainPolicy = rep.Policy, rep.SubdomainPolicy
	}}
}

func (e *env) checkDKIM(ctx context.Context) outcome {
	b := newBuilder(CheckDKIM)
	var keys []DKIMKey
	present := true // every selector has a record
	seen := map[string]bool{}
	for _, sel := range e.d.DKIMSelectors {
		sel = strings.ToLower(strings.TrimSpace(sel))
		if sel == "" || seen[sel] {
			continue
		}
		seen[sel] = true
		k, err := dkim.Check(ctx, e.opt.Resolver, e.domain, sel)
		if err != nil {
			b.fail(err)
			continue
		}
		b.add(k.Problems...)
		if k.KeyType == "" {
			present = false // no record for this selector
			continue
		}
		keys = append(keys, DKIMKey{Selector: sel, KeyType: k.KeyType, Bits: k.Bits})
	}
	if len(seen) == 0 {
		b.add(errNoSelectors)
		present = false
	}
	return outcome{cr: b.done(present), apply: func(r *Result) { r.DKIMKeys = keys }}
}

func (e *env) checkTLSRPT(ctx context.Context) outcome {
	b := newBuilder(CheckTLSRPT)
	probs, err := tlsrpt.Check(ctx, e.opt.Resolver, e.domain)
	if err != nil {
		b.fail(err)
	}
	b.add(probs...)
	missing := slices.ContainsFunc(probs, func(err error) bool {
		return errors.Is(err, tlsrpt.ErrNoRecord) || errors.Is(err, tlsrpt.ErrMultipleRecords)
	})
	return outcome{cr: b.done(!missing)}
}
