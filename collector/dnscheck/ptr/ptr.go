// Package ptr checks forward-confirmed reverse DNS of an address, the "iprev"
// method of RFC 8601 3: the PTR names of the address (RFC 1035 3.5, RFC 3596
// 2.5) must include one whose A or AAAA records contain the address again.
package ptr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Findings.
var (
	ErrNoPTR        = errors.New("no PTR record")                            // RFC 8601 3: iprev fails
	ErrNotConfirmed = errors.New("no PTR name resolves back to the address") // RFC 8601 3: iprev fails
)

// maxNames bounds the PTR names followed (RFC 8601 3 lets verifiers cap it).
const maxNames = 10

// Result is the outcome for one address.
type Result struct {
	IP    netip.Addr
	Names []string // PTR names, lower case, no trailing dot
	Valid bool     // one of them resolves back to IP
	// Confirmed is the PTR name that resolved back to IP, "" if none did.
	Confirmed string
	Problems  []error
}

// Names returns the PTR names of ip (RFC 1035 3.5, RFC 3596 2.5), lower
// case without the trailing dot; none when there is no PTR record. The
// error wraps resolver.ErrDNS when the lookup failed.
func Names(ctx context.Context, r resolver.Resolver, ip netip.Addr) ([]string, error) {
	rev, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", resolver.ErrDNS, err)
	}
	a, err := r.Lookup(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range resolver.Of[*dns.PTR](a) {
		names = append(names, strings.TrimSuffix(strings.ToLower(p.Ptr), "."))
	}
	return names, nil
}

// Check looks up the PTR records of ip and the addresses of each name. The
// error wraps resolver.ErrDNS when a lookup failed.
func Check(ctx context.Context, r resolver.Resolver, ip netip.Addr) (*Result, error) {
	res := &Result{IP: ip}
	names, err := Names(ctx, r, ip)
	if err != nil {
		return res, err
	}
	res.Names = names
	if len(res.Names) == 0 {
		res.Problems = append(res.Problems, fmt.Errorf("%w for %s", ErrNoPTR, ip))
		return res, nil
	}
	for i, name := range res.Names {
		if i == maxNames {
			break
		}
		addrs, _, _, err := resolver.Addrs(ctx, r, name)
		if err != nil {
			return res, err
		}
		for _, x := range addrs {
			if x.Unmap() == ip.Unmap() {
				res.Valid, res.Confirmed = true, name
				return res, nil
			}
		}
	}
	res.Problems = append(res.Problems, fmt.Errorf("%w: %s has PTR %s", ErrNotConfirmed, ip, strings.Join(res.Names, ", ")))
	return res, nil
}
