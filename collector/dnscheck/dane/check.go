package dane

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Host is the outcome for one MX host.
type Host struct {
	Name     string
	Valid    bool // a usable, authenticated TLSA record matches the certificate
	Problems []error
}

// Dial returns the TLS state of the MX host after STARTTLS, unverified.
type Dial func(ctx context.Context) (*tls.ConnectionState, error)

// CheckHost looks up the TLSA records of an MX host and matches them against
// the certificate dial obtains. mxSecure says whether the MX answer (and the
// host's addresses) were DNSSEC-authenticated: without that the TLSA records
// cannot be used (RFC 7672 2.2.1, 2.2.2). The error wraps resolver.ErrDNS
// when the lookup failed.
func CheckHost(ctx context.Context, r resolver.Resolver, host string, port int, mxSecure bool, dial Dial, now time.Time) (*Host, error) {
	h := &Host{Name: host}
	name := Name(host, port)
	a, err := r.Lookup(ctx, name, dns.TypeTLSA)
	if err != nil {
		return h, err
	}
	recs := resolver.Of[*dns.TLSA](a)
	if len(recs) == 0 {
		h.Problems = append(h.Problems, fmt.Errorf("%w at %s", ErrNoTLSA, name))
		return h, nil
	}
	if !mxSecure || !a.AuthenticatedData {
		what := "TLSA answer"
		if !mxSecure {
			what = "MX or address answer"
		}
		h.Problems = append(h.Problems, fmt.Errorf("%w: %s for %s not authenticated", ErrInsecure, what, host))
		return h, nil
	}
	var usable []*dns.TLSA
	pkix := false
	for _, t := range recs {
		if Usable(t) {
			usable = append(usable, t)
		} else if t.Usage == UsagePKIXTA || t.Usage == UsagePKIXEE {
			pkix = true
		}
	}
	if pkix && len(usable) > 0 {
		h.Problems = append(h.Problems, fmt.Errorf("%w at %s", ErrPKIXUsage, name))
	}
	if len(usable) == 0 {
		h.Problems = append(h.Problems, fmt.Errorf("%w at %s", ErrNoUsable, name))
		return h, nil
	}
	cs, err := dial(ctx)
	if err != nil {
		h.Problems = append(h.Problems, fmt.Errorf("%w: %s port %d: %v", ErrNoCertificate, host, port, err))
		return h, nil
	}
	if err := Verify(usable, cs, host, now); err != nil {
		h.Problems = append(h.Problems, fmt.Errorf("%s: %w", host, err))
		return h, nil
	}
	h.Valid = true
	return h, nil
}
