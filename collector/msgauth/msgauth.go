// Package msgauth checks whether receivers will trust a message that
// arrived: it verifies every DKIM-Signature on it (RFC 6376, RFC 8463 for
// Ed25519, with github.com/emersion/go-msgauth), decides for each passing
// one whether it aligns with the From domain as DMARC requires (RFC 7489
// 3.1.1, in the mode of the From domain's DMARC record), and reads the
// verdicts the receiving side recorded in Authentication-Results fields
// (RFC 8601), only from the authserv-ids it is told to trust.
//
// Every DNS lookup goes through the injected resolver.
package msgauth

import (
	"context"
	"fmt"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Options are what Verify needs besides the message.
type Options struct {
	Resolver resolver.Resolver
	// TrustedAuthservIDs: the Authentication-Results fields to read.
	TrustedAuthservIDs []string
	// DKIMDomain, when set, is the domain that must have a passing signature
	// aligned with it (see Report.DKIMDomainOK).
	DKIMDomain string
}

// Report is what Verify found.
type Report struct {
	FromDomain string
	Alignment  Mode        // the From domain's adkim mode
	Signatures []Signature // empty: the message is unsigned
	// Aligned: some passing signature aligns with the From domain.
	Aligned     bool
	AuthResults []AuthResult
	// DKIMDomainOK: Options.DKIMDomain was empty, or a passing signature
	// aligns with it (in its own adkim mode); DKIMDomainWhy says why not.
	DKIMDomain    string
	DKIMDomainOK  bool
	DKIMDomainWhy string
	// Problems are notes: a DMARC lookup that failed (relaxed was assumed),
	// a malformed trusted Authentication-Results field, too many signatures.
	Problems []string
}

// Verify checks msg, a whole message with CRLF line ends as IMAP delivers
// it. It never fails as a whole: what could not be checked is a result
// (permerror, temperror) or a problem.
func Verify(ctx context.Context, msg []byte, o Options) *Report {
	rep := &Report{Alignment: Relaxed, DKIMDomainOK: true}
	note := func(err error) {
		if err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	fields, err := headerFields(msg)
	if err != nil {
		note(err)
		rep.Signatures = []Signature{{Result: ResultPermError, Err: err.Error()}}
		rep.requireDomain(o.DKIMDomain, nil)
		return rep
	}
	sigs, err := verifyDKIM(ctx, msg, fields, o.Resolver)
	note(err)
	if err != nil && sigs == nil {
		sigs = []Signature{{Result: ResultPermError, Err: err.Error()}}
	}
	rep.Signatures = sigs
	modes := map[string]Mode{}
	mode := func(domain string) Mode {
		if m, ok := modes[domain]; ok {
			return m
		}
		m, err := alignmentMode(ctx, o.Resolver, domain)
		note(err)
		modes[domain] = m
		return m
	}
	if d, err := fromDomain(fields); err != nil {
		note(err)
	} else {
		rep.FromDomain = d
		if hasPass(sigs) {
			rep.Alignment = mode(d)
		}
		for i := range rep.Signatures {
			s := &rep.Signatures[i]
			s.Aligned = s.Result == ResultPass && Aligned(s.Domain, d, rep.Alignment)
			rep.Aligned = rep.Aligned || s.Aligned
		}
	}
	ars, problems := authResults(fields, o.TrustedAuthservIDs)
	rep.AuthResults = ars
	for _, p := range problems {
		note(p)
	}
	rep.requireDomain(o.DKIMDomain, mode)
	return rep
}

func hasPass(sigs []Signature) bool {
	for _, s := range sigs {
		if s.Result == ResultPass {
			return true
		}
	}
	return false
}

// requireDomain decides DKIMDomainOK for domain and, when it fails, names
// every signature and why it does not count.
func (rep *Report) requireDomain(domain string, mode func(string) Mode) {
	domain = canonical(domain)
	if domain == "" {
		return
	}
	rep.DKIMDomain = domain
	var why []string
	for _, s := range rep.Signatures {
		id := fmt.Sprintf("d=%s s=%s", s.Domain, s.Selector)
		switch {
		case s.Result != ResultPass:
			why = append(why, fmt.Sprintf("%s: %s (%s)", id, s.Result, s.Err))
		case mode == nil:
		default:
			m := mode(domain)
			if Aligned(s.Domain, domain, m) {
				return // DKIMDomainOK stays true
			}
			why = append(why, fmt.Sprintf("%s: pass, but not aligned with %s (%s)", id, domain, m))
		}
	}
	rep.DKIMDomainOK = false
	if len(rep.Signatures) == 0 {
		rep.DKIMDomainWhy = "the message carries no DKIM-Signature (dkim_domain " + domain + ")"
		return
	}
	rep.DKIMDomainWhy = "no passing DKIM signature aligned with " + domain + ": " + strings.Join(why, "; ")
}
