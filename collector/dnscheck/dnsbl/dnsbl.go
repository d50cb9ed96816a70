// Package dnsbl queries DNS blocklists, RFC 5782: an IPv4 address is looked up
// with its octets reversed (2.1), an IPv6 address as reversed nibbles (2.4),
// under the list's zone; an A record in 127.0.0.0/8 means listed (2.1), and
// NXDOMAIN means not listed. Lists answer 127.255.255.0/24 to refuse a query
// (Spamhaus: public resolver, over quota), which is a failed lookup, not a
// listing; so is any answer outside 127.0.0.0/8.
package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Findings and errors.
var (
	ErrListed    = errors.New("address is listed")                          // RFC 5782 2.1
	ErrRefused   = errors.New("the list refused the query (127.255.255.x)") // list policy
	ErrBadAnswer = errors.New("the list answered outside 127.0.0.0/8")      // RFC 5782 2.1
)

var (
	loopback = netip.MustParsePrefix("127.0.0.0/8")
	refusal  = netip.MustParsePrefix("127.255.255.0/24")
)

// Name returns the query name for ip under zone.
func Name(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	zone = strings.TrimSuffix(zone, ".")
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d.%s.", b[3], b[2], b[1], b[0], zone)
	}
	b := ip.As16()
	var sb strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	return sb.String() + zone + "."
}

// Query looks ip up in zone. It returns whether the address is listed; the
// error wraps resolver.ErrDNS on a failed lookup, and ErrRefused or
// ErrBadAnswer when the list's answer cannot be read as a listing.
func Query(ctx context.Context, r resolver.Resolver, zone string, ip netip.Addr) (bool, error) {
	a, err := r.Lookup(ctx, Name(ip, zone), dns.TypeA)
	if err != nil {
		return false, err
	}
	listed := false
	for _, rr := range resolver.Of[*dns.A](a) {
		v, ok := netip.AddrFromSlice(rr.A.To4())
		switch {
		case !ok || !loopback.Contains(v):
			return false, fmt.Errorf("%w: %s answered %s for %s", ErrBadAnswer, zone, rr.A, ip)
		case refusal.Contains(v):
			return false, fmt.Errorf("%w: %s answered %s for %s", ErrRefused, zone, v, ip)
		default:
			listed = true
		}
	}
	return listed, nil
}
