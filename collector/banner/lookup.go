package banner

import (
	"context"
	"net/netip"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/ptr"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// PTRLookup returns a PTR lookup through the DNS server at server
// ("host:port"; "" = the first nameserver of /etc/resolv.conf), the same
// resolver the domain checks use, for probe.Target.LookupPTR. A resolver
// that cannot be set up makes every lookup fail with the reason.
func PTRLookup(server string) func(context.Context, netip.Addr) ([]string, error) {
	res, err := resolver.New(server)
	return func(ctx context.Context, ip netip.Addr) ([]string, error) {
		if err != nil {
			return nil, err
		}
		return ptr.Names(ctx, res, ip)
	}
}
