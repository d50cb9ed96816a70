package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Findings of Check and CheckMXCertificate.
var (
	ErrNoRecord        = errors.New("no _mta-sts record")                                    // 3.1: the domain has no policy
	ErrMultipleRecords = errors.New("more than one _mta-sts record")                         // 3.1: treated as no policy
	ErrMXNotCovered    = errors.New("MX host not matched by any mx pattern")                 // 4.1
	ErrModeNone        = errors.New("mode is none: the policy is withdrawn")                 // 5
	ErrModeTesting     = errors.New("mode is testing: failures are reported, not enforced")  // 5
	ErrMaxAgeShort     = errors.New("max_age is less than a day")                            // 3.2 recommends weeks
	ErrMXCertificate   = errors.New("MX host certificate is not valid for its name")         // 4.2
	ErrMXNoTLS         = errors.New("could not get the MX host's certificate over STARTTLS") // 4.2, RFC 3207
)

// shortMaxAge is the max_age below which a warning is given (a day).
const shortMaxAge = 86400

// Report is the outcome of the MTA-STS check of one domain.
type Report struct {
	ID       string  // the TXT record's id ("" when none)
	Policy   *Policy // the fetched policy, nil when none
	Problems []error // findings; fetch failures wrap the Fetch errors
}

// Check fetches the _mta-sts record and, when there is one, the policy, and
// checks that each of mxHosts is covered. The error wraps resolver.ErrDNS
// when the TXT lookup failed.
func Check(ctx context.Context, r resolver.Resolver, client *http.Client, domain string, mxHosts []string) (*Report, error) {
	rep := &Report{}
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	txts, _, err := resolver.TXT(ctx, r, "_mta-sts."+domain)
	if err != nil {
		return rep, err
	}
	var recs []string
	for _, t := range txts {
		if IsRecord(t) {
			recs = append(recs, t)
		}
	}
	switch {
	case len(recs) == 0:
		rep.Problems = append(rep.Problems, fmt.Errorf("%w at _mta-sts.%s", ErrNoRecord, domain))
		return rep, nil
	case len(recs) > 1:
		rep.Problems = append(rep.Problems, fmt.Errorf("%w at _mta-sts.%s: %d", ErrMultipleRecords, domain, len(recs)))
		return rep, nil
	}
	rec, err := ParseRecord(recs[0])
	if err != nil {
		rep.Problems = append(rep.Problems, err)
		return rep, nil
	}
	rep.ID = rec.ID
	p, _, err := Fetch(ctx, client, domain)
	if err != nil {
		rep.Problems = append(rep.Problems, fmt.Errorf("%s: %w", PolicyURL(domain), err))
		return rep, nil
	}
	rep.Policy = p
	switch p.Mode {
	case ModeNone:
		rep.Problems = append(rep.Problems, ErrModeNone)
		return rep, nil // a withdrawn policy covers nothing
	case ModeTesting:
		rep.Problems = append(rep.Problems, ErrModeTesting)
	}
	if p.MaxAge < shortMaxAge {
		rep.Problems = append(rep.Problems, fmt.Errorf("%w: %d s", ErrMaxAgeShort, p.MaxAge))
	}
	for _, h := range mxHosts {
		if !p.Covers(h) {
			rep.Problems = append(rep.Problems, fmt.Errorf("%w: %s (mx: %s)", ErrMXNotCovered, h, strings.Join(p.MX, ", ")))
		}
	}
	return rep, nil
}

// CheckMXCertificate verifies the certificate an MX host presented after
// STARTTLS as RFC 8461 4.2 requires: chained to a trusted root (roots, nil =
// system), valid now, and valid for the MX host name.
func CheckMXCertificate(cs *tls.ConnectionState, host string, roots *x509.CertPool, now time.Time) error {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: %s presented no certificate", ErrMXCertificate, host)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName:       strings.TrimSuffix(host, "."),
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMXCertificate, host, err)
	}
	return nil
}
