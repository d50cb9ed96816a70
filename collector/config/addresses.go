package config

import (
	"net/netip"
	"slices"
	"strings"
)

// AddressRule says which of the addresses a host resolves to an endpoint
// probe dials (SPEC section 6.1, `addresses:`). Each address is probed as a
// check of its own.
type AddressRule string

const (
	AddressesAll   AddressRule = "all"   // every A and AAAA address (the default)
	AddressesIPv4  AddressRule = "ipv4"  // every A address
	AddressesIPv6  AddressRule = "ipv6"  // every AAAA address
	AddressesFirst AddressRule = "first" // the first address the resolver returns, either family
)

// DefaultAddresses is what `addresses:` means when omitted.
const DefaultAddresses = AddressesAll

var addressRules = []AddressRule{AddressesAll, AddressesIPv4, AddressesIPv6, AddressesFirst}

// Select applies the rule to addrs, in resolver order, dropping duplicates
// (IPv4-mapped IPv6 addresses count as IPv4).
func (r AddressRule) Select(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() || slices.Contains(out, a) {
			continue
		}
		switch r {
		case AddressesIPv4:
			if !a.Is4() {
				continue
			}
		case AddressesIPv6:
			if a.Is4() {
				continue
			}
		}
		out = append(out, a)
		if r == AddressesFirst {
			break
		}
	}
	return out
}

// addressRule reads an `addresses:` value; def is returned when absent.
func (p *parser) addressRule(f field, def AddressRule) AddressRule {
	s, ok := p.str(f)
	if !ok {
		return def
	}
	r := AddressRule(s)
	if !slices.Contains(addressRules, r) {
		p.errorf(f.line, f.path, "unknown value %q (all, ipv4, ipv6 or first)", s)
		return def
	}
	return r
}

// checkHostRule rejects a rule that can never match an IP literal host:
// an IPv4 address with `addresses: ipv6`, or the reverse.
func (p *parser) checkHostRule(s *Server, f field) {
	ip, err := netip.ParseAddr(s.Host)
	if err != nil {
		return
	}
	ip = ip.Unmap()
	if len(s.Addresses.Select([]netip.Addr{ip})) == 0 {
		p.errorf(f.line, f.path, "%q never matches host %s (an %s address)", s.Addresses, s.Host, Family(ip))
	}
}

// Family is the `family` label of an address: "ipv4" or "ipv6".
func Family(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// hostLiteral strips the brackets of an IPv6 literal written as in a URL
// ("[2001:db8::1]"): host: takes the address with or without them.
func hostLiteral(s string) string {
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok && isIP(inner) {
			return inner
		}
	}
	return s
}
