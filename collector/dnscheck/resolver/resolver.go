// Package resolver is the single DNS client behind every domain check: one
// configured recursive resolver, queried with github.com/miekg/dns over UDP
// with a TCP retry when the answer is truncated (RFC 1035 4.2.1, RFC 7766 5).
//
// An answer says three things the standard library resolver hides: whether
// the name does not exist (NXDOMAIN) as opposed to having no records of the
// type (NODATA), and whether the resolver validated it with DNSSEC (the AD bit,
// RFC 4035 3.2.3, requested with the AD bit in the query per RFC 6840 5.7).
// The AD bit is only meaningful because every query goes to the one configured
// resolver, which must be a validating one reached over a trusted path
// (RFC 6698 and RFC 7672 2.1 make the same assumption).
//
// Checks take the Resolver interface, so unit tests drive them with Mock.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// ErrDNS is wrapped by every error that means "no usable answer": a timeout,
// a network failure, SERVFAIL, REFUSED or a malformed reply. NXDOMAIN and
// empty answers are not errors; they are answers.
var ErrDNS = errors.New("dns lookup failed")

// Answer is the part of a reply the checks look at.
type Answer struct {
	Records           []dns.RR // the answer section, CNAMEs included
	Authority         []dns.RR // the authority section (SOA of negative answers)
	Rcode             int      // dns.RcodeSuccess or dns.RcodeNameError when err == nil
	AuthenticatedData bool     // AD bit: the resolver validated the answer with DNSSEC
}

// NXDomain reports whether the name does not exist (RFC 1035 4.1.1 RCODE 3).
func (a Answer) NXDomain() bool { return a.Rcode == dns.RcodeNameError }

// Resolver looks up one name and type. The error wraps ErrDNS when there was
// no usable answer; on NOERROR and NXDOMAIN it is nil.
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16) (Answer, error)
}

// rcodeError turns a reply code into an error, nil for the two codes that are
// answers.
func rcodeError(name string, qtype uint16, rcode int) error {
	if rcode == dns.RcodeSuccess || rcode == dns.RcodeNameError {
		return nil
	}
	s, ok := dns.RcodeToString[rcode]
	if !ok {
		s = fmt.Sprintf("RCODE%d", rcode)
	}
	return fmt.Errorf("%w: %s %s: %s", ErrDNS, name, dns.TypeToString[qtype], s)
}

// TXT returns the TXT records at name, each record's strings concatenated
// without separators (RFC 7208 3.3, RFC 6376 3.6.2.2, RFC 7489 6.1).
func TXT(ctx context.Context, r Resolver, name string) ([]string, Answer, error) {
	a, err := r.Lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, a, err
	}
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, a, nil
}

// Addrs returns the A and AAAA addresses of name. secure is true when both
// answers carried the AD bit. nx is true when the name does not exist.
func Addrs(ctx context.Context, r Resolver, name string) (addrs []netip.Addr, secure, nx bool, err error) {
	secure = true
	nx = true
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := r.Lookup(ctx, name, t)
		if err != nil {
			return nil, false, false, err
		}
		secure = secure && a.AuthenticatedData
		nx = nx && a.NXDomain()
		for _, rr := range a.Records {
			switch v := rr.(type) {
			case *dns.A:
				if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
					addrs = append(addrs, ip)
				}
			case *dns.AAAA:
				if ip, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
					addrs = append(addrs, ip)
				}
			}
		}
	}
	return addrs, secure, nx, nil
}

// CNAMEAt reports whether the answer holds a CNAME owned by name: name is an
// alias, not a canonical name.
func CNAMEAt(a Answer, name string) bool {
	name = dns.CanonicalName(name)
	for _, rr := range a.Records {
		if c, ok := rr.(*dns.CNAME); ok && dns.CanonicalName(c.Hdr.Name) == name {
			return true
		}
	}
	return false
}

// Of returns the records of type t in the answer.
func Of[T dns.RR](a Answer) []T {
	var out []T
	for _, rr := range a.Records {
		if v, ok := rr.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
