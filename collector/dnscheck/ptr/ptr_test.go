package ptr

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func TestCheck(t *testing.T) {
	m := resolver.NewMock(
		"1.2.0.192.in-addr.arpa. 300 IN PTR mx.ex.test.",
		"mx.ex.test. 300 IN A 192.0.2.1",
		"2.2.0.192.in-addr.arpa. 300 IN PTR liar.ex.test.",
		"liar.ex.test. 300 IN A 192.0.2.99",
		"3.2.0.192.in-addr.arpa. 300 IN PTR other.ex.test.",
		"3.2.0.192.in-addr.arpa. 300 IN PTR mx3.ex.test.",
		"mx3.ex.test. 300 IN A 192.0.2.3",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR mx6.ex.test.",
		"mx6.ex.test. 300 IN AAAA 2001:db8::1",
	)
	for _, c := range []struct {
		ip    string
		valid bool
		want  error
	}{
		{"192.0.2.1", true, nil},
		{"192.0.2.2", false, ErrNotConfirmed},
		{"192.0.2.3", true, nil},
		{"192.0.2.4", false, ErrNoPTR},
		{"2001:db8::1", true, nil},
		{"::ffff:192.0.2.1", true, nil},
	} {
		r, err := Check(context.Background(), m, netip.MustParseAddr(c.ip))
		if err != nil {
			t.Fatal(err)
		}
		if r.Valid != c.valid || c.want == nil && len(r.Problems) > 0 || c.want != nil && (len(r.Problems) != 1 || !errors.Is(r.Problems[0], c.want)) {
			t.Errorf("%s: valid %v problems %v, want %v %v", c.ip, r.Valid, r.Problems, c.valid, c.want)
		}
	}
}
