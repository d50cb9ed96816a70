package probe

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

type fakeResolver struct {
	addrs []netip.Addr
	err   error
	asked []string
}

func (f *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	f.asked = append(f.asked, network+" "+host)
	return f.addrs, f.err
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func TestResolve(t *testing.T) {
	dual := addrs("2001:db8::1", "192.0.2.1", "::ffff:192.0.2.2", "192.0.2.1")
	boom := errors.New("SERVFAIL")
	for _, tc := range []struct {
		name  string
		host  string
		rule  config.AddressRule
		res   fakeResolver
		want  []netip.Addr
		err   string
		asked bool
	}{
		{"all", "mx.example.test", config.AddressesAll, fakeResolver{addrs: dual}, addrs("2001:db8::1", "192.0.2.1", "192.0.2.2"), "", true},
		{"ipv4", "mx.example.test", config.AddressesIPv4, fakeResolver{addrs: dual}, addrs("192.0.2.1", "192.0.2.2"), "", true},
		{"ipv6", "mx.example.test", config.AddressesIPv6, fakeResolver{addrs: dual}, addrs("2001:db8::1"), "", true},
		{"first", "mx.example.test", config.AddressesFirst, fakeResolver{addrs: dual}, addrs("2001:db8::1"), "", true},
		{"literal v6", "::1", config.AddressesAll, fakeResolver{err: boom}, addrs("::1"), "", false},
		{"literal v4", "127.0.0.2", config.AddressesFirst, fakeResolver{err: boom}, addrs("127.0.0.2"), "", false},
		{"lookup fails", "mx.example.test", config.AddressesAll, fakeResolver{err: boom}, nil, "resolve mx.example.test: SERVFAIL", true},
		{"none", "mx.example.test", config.AddressesAll, fakeResolver{}, nil, "resolve mx.example.test: no address: it has no addresses", true},
		{"no v6", "mx.example.test", config.AddressesIPv6, fakeResolver{addrs: addrs("192.0.2.1")}, nil,
			"resolve mx.example.test: no address: it has no IPv6 addresses (addresses: ipv6)", true},
		{"no v4", "mx.example.test", config.AddressesIPv4, fakeResolver{addrs: addrs("2001:db8::1")}, nil,
			"resolve mx.example.test: no address: it has no IPv4 addresses (addresses: ipv4)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Resolve(context.Background(), &tc.res, tc.host, tc.rule, nil)
			if !slices.Equal(r.Addrs, tc.want) {
				t.Errorf("addrs = %v, want %v", r.Addrs, tc.want)
			}
			switch {
			case tc.err == "" && r.Err != nil:
				t.Errorf("err = %v", r.Err)
			case tc.err != "" && (r.Err == nil || r.Err.Error() != tc.err):
				t.Errorf("err = %v, want %s", r.Err, tc.err)
			}
			if got := len(tc.res.asked) > 0; got != tc.asked {
				t.Errorf("asked the resolver: %v (%v), want %v", got, tc.res.asked, tc.asked)
			}
			if tc.asked && tc.res.asked[0] != "ip "+tc.host {
				t.Errorf("asked %q: both families must be asked for whatever the rule", tc.res.asked[0])
			}
			if tc.err != "" {
				f := r.Failed()
				if f.Reason != ReasonDNS || f.Success || f.Error != tc.err {
					t.Errorf("Failed() = %+v", f)
				}
				if _, ok := f.PhaseDuration(PhaseResolve); !ok {
					t.Error("Failed() has no resolve phase")
				}
			}
		})
	}
}
