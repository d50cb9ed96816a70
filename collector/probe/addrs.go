package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// ErrNoAddress means a host resolved, but to no address the `addresses`
// rule selects (or to none at all).
var ErrNoAddress = errors.New("no address")

// Resolution is one lookup of a host's addresses for the endpoint probes
// (SPEC section 6.1): the addresses selected by the rule, in resolver order,
// or why there are none.
type Resolution struct {
	Host     string
	Rule     config.AddressRule
	Addrs    []netip.Addr
	Start    time.Time
	Duration time.Duration
	Err      error // wraps ErrNoAddress, or the resolver's error; nil when Addrs is not empty
}

// Resolve looks host up with res (nil = the system resolver) and applies
// rule. An IP literal resolves to itself without a query. The lookup asks
// for both families ("ip") whatever the rule, so that `first` is the first
// address the resolver returns in its preferred order (RFC 6724 sorting for
// Go's resolver).
func Resolve(ctx context.Context, res Resolver, host string, rule config.AddressRule, now func() time.Time) Resolution {
	if now == nil {
		now = time.Now
	}
	r := Resolution{Host: host, Rule: rule, Start: now()}
	defer func() { r.Duration = now().Sub(r.Start) }()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		if res == nil {
			res = net.DefaultResolver
		}
		addrs, err = res.LookupNetIP(ctx, "ip", host)
		if err != nil {
			r.Err = fmt.Errorf("resolve %s: %w", host, err)
			return r
		}
	}
	r.Addrs = rule.Select(addrs)
	if len(r.Addrs) == 0 {
		what := "addresses"
		switch rule {
		case config.AddressesIPv4:
			what = "IPv4 addresses (addresses: ipv4)"
		case config.AddressesIPv6:
			what = "IPv6 addresses (addresses: ipv6)"
		}
		r.Err = fmt.Errorf("resolve %s: %w: it has no %s", host, ErrNoAddress, what)
	}
	return r
}

// Failed is the Result an endpoint probe reports when its host did not
// resolve: reason dns, with the resolve phase timed.
func (r Resolution) Failed() *Result {
	res := &Result{Start: r.Start, Duration: r.Duration, Reason: ReasonDNS}
	if r.Err != nil {
		res.Error = r.Err.Error()
	}
	res.addPhase(PhaseResolve, r.Duration)
	return res
}
