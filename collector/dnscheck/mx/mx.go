// Package mx checks a domain's MX records: the set exists (RFC 5321 5.1),
// a null MX "0 ." stands alone (RFC 7505 3), and every target has an address
// and is not an alias (RFC 5321 5.1, RFC 2181 10.3).
package mx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Findings.
var (
	ErrNoMX          = errors.New("no MX records and no address: the domain cannot receive mail") // RFC 5321 5.1
	ErrImplicitMX    = errors.New("no MX records: mail goes to the domain's own address")         // RFC 5321 5.1
	ErrNullMXMixed   = errors.New(`null MX "0 ." must be the only MX record`)                     // RFC 7505 3
	ErrTargetNoAddr  = errors.New("MX target has no A or AAAA record")                            // RFC 5321 5.1
	ErrTargetIsAlias = errors.New("MX target is a CNAME")                                         // RFC 2181 10.3, RFC 5321 5.1
)

// Host is one MX target.
type Host struct {
	Name        string // lower case, no trailing dot
	Preference  uint16
	Addrs       []netip.Addr
	AddrsSecure bool // both address answers were DNSSEC-authenticated
}

// Result is the MX set of a domain.
type Result struct {
	Hosts    []Host // distinct targets, by preference; empty for a null MX
	NullMX   bool   // the domain declares it accepts no mail (RFC 7505)
	Implicit bool   // no MX: the domain itself is the implicit MX (RFC 5321 5.1)
	Secure   bool   // the MX answer was DNSSEC-authenticated
	Problems []error
}

// Lookup fetches the MX records of domain and the addresses of every target.
// The error wraps resolver.ErrDNS when a lookup failed.
func Lookup(ctx context.Context, r resolver.Resolver, domain string) (*Result, error) {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	a, err := r.Lookup(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	res := &Result{Secure: a.AuthenticatedData}
	mxs := resolver.Of[*dns.MX](a)
	if len(mxs) == 0 {
		return res, implicit(ctx, r, domain, res)
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Preference < mxs[j].Preference })
	seen := map[string]bool{}
	for _, m := range mxs {
		target := strings.TrimSuffix(strings.ToLower(m.Mx), ".")
		if target == "" {
			res.NullMX = true
			if m.Preference != 0 || len(mxs) > 1 {
				res.Problems = append(res.Problems, fmt.Errorf("%w (%d records, null MX preference %d)", ErrNullMXMixed, len(mxs), m.Preference))
			}
			continue
		}
		if seen[target] {
			continue
		}
		seen[target] = true
		h, err := lookupHost(ctx, r, target, res)
		if err != nil {
			return nil, err
		}
		h.Preference = m.Preference
		res.Hosts = append(res.Hosts, h)
	}
	if res.NullMX && len(res.Problems) == 0 {
		res.Hosts = nil
	}
	return res, nil
}

func lookupHost(ctx context.Context, r resolver.Resolver, target string, res *Result) (Host, error) {
	h := Host{Name: target, AddrsSecure: true}
	alias := false
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := r.Lookup(ctx, target, t)
		if err != nil {
			return h, err
		}
		alias = alias || resolver.CNAMEAt(a, target)
		h.AddrsSecure = h.AddrsSecure && a.AuthenticatedData
		for _, rr := range resolver.Of[*dns.A](a) {
			if ip, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				h.Addrs = append(h.Addrs, ip)
			}
		}
		for _, rr := range resolver.Of[*dns.AAAA](a) {
			if ip, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
				h.Addrs = append(h.Addrs, ip)
			}
		}
	}
	if alias {
		res.Problems = append(res.Problems, fmt.Errorf("%w: %s", ErrTargetIsAlias, target))
	}
	if len(h.Addrs) == 0 {
		res.Problems = append(res.Problems, fmt.Errorf("%w: %s", ErrTargetNoAddr, target))
	}
	return h, nil
}

// implicit handles a domain without MX records (RFC 5321 5.1): the domain's
// own address records act as an MX of preference 0.
func implicit(ctx context.Context, r resolver.Resolver, domain string, res *Result) error {
	addrs, secure, _, err := resolver.Addrs(ctx, r, domain)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		res.Problems = append(res.Problems, fmt.Errorf("%w: %s", ErrNoMX, domain))
		return nil
	}
	res.Implicit = true
	res.Problems = append(res.Problems, fmt.Errorf("%w: %s", ErrImplicitMX, domain))
	res.Hosts = []Host{{Name: domain, Addrs: addrs, AddrsSecure: secure}}
	return nil
}

// Names returns the host names.
func (r *Result) Names() []string {
	out := make([]string, len(r.Hosts))
	for i, h := range r.Hosts {
		out[i] = h.Name
	}
	return out
}
