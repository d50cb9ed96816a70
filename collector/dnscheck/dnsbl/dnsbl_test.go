package dnsbl

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func TestName(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.99":                "99.2.0.192.bl.test.",
		"::ffff:192.0.2.1":          "1.2.0.192.bl.test.",
		"2001:db8:1:2:3:4:567:89ab": "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test.", // RFC 5782 2.4
	} {
		if got := Name(netip.MustParseAddr(ip), "bl.test."); got != want {
			t.Errorf("Name(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestQuery(t *testing.T) {
	m := resolver.NewMock(
		"2.0.0.127.bl.test. 300 IN A 127.0.0.2",
		"3.0.0.127.bl.test. 300 IN A 127.255.255.254",
		"4.0.0.127.bl.test. 300 IN A 192.0.2.1",
	).Fail("5.0.0.127.bl.test")
	for _, c := range []struct {
		ip     string
		listed bool
		err    error
	}{
		{"127.0.0.1", false, nil},
		{"127.0.0.2", true, nil},
		{"127.0.0.3", false, ErrRefused},
		{"127.0.0.4", false, ErrBadAnswer},
		{"127.0.0.5", false, resolver.ErrDNS},
	} {
		listed, err := Query(context.Background(), m, "bl.test", netip.MustParseAddr(c.ip))
		if listed != c.listed || !errors.Is(err, c.err) {
			t.Errorf("%s: %v %v, want %v %v", c.ip, listed, err, c.listed, c.err)
		}
	}
}
