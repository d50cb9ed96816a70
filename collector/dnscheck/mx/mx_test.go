package mx

import (
	"context"
	"errors"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name     string
		records  []string
		hosts    []string
		null     bool
		implicit bool
		want     []error
	}{
		{"good", []string{
			"ex.test. 300 IN MX 20 mx2.ex.test.",
			"ex.test. 300 IN MX 10 mx1.ex.test.",
			"ex.test. 300 IN MX 30 MX1.ex.test.",
			"mx1.ex.test. 300 IN A 192.0.2.1",
			"mx2.ex.test. 300 IN AAAA 2001:db8::2",
		}, []string{"mx1.ex.test", "mx2.ex.test"}, false, false, nil},
		{"null mx", []string{"ex.test. 300 IN MX 0 ."}, nil, true, false, nil},
		{"null mx mixed", []string{"ex.test. 300 IN MX 0 .", "ex.test. 300 IN MX 10 mx1.ex.test.", "mx1.ex.test. 300 IN A 192.0.2.1"},
			[]string{"mx1.ex.test"}, true, false, []error{ErrNullMXMixed}},
		{"null mx preference", []string{"ex.test. 300 IN MX 10 ."}, nil, true, false, []error{ErrNullMXMixed}},
		{"no address", []string{"ex.test. 300 IN MX 10 mx1.ex.test."}, []string{"mx1.ex.test"}, false, false, []error{ErrTargetNoAddr}},
		{"cname", []string{
			"ex.test. 300 IN MX 10 alias.ex.test.",
			"alias.ex.test. 300 IN CNAME mx1.ex.test.",
			"mx1.ex.test. 300 IN A 192.0.2.1",
		}, []string{"alias.ex.test"}, false, false, []error{ErrTargetIsAlias}},
		{"implicit", []string{"ex.test. 300 IN A 192.0.2.1"}, []string{"ex.test"}, false, true, []error{ErrImplicitMX}},
		{"none", []string{"ex.test. 300 IN TXT \"x\""}, nil, false, false, []error{ErrNoMX}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Lookup(context.Background(), resolver.NewMock(c.records...), "ex.test")
			if err != nil {
				t.Fatal(err)
			}
			names := r.Names()
			if len(names) != len(c.hosts) || r.NullMX != c.null || r.Implicit != c.implicit {
				t.Fatalf("hosts %v null %v implicit %v", names, r.NullMX, r.Implicit)
			}
			for i := range names {
				if names[i] != c.hosts[i] {
					t.Errorf("host %d: %s, want %s", i, names[i], c.hosts[i])
				}
			}
			if len(r.Problems) != len(c.want) {
				t.Fatalf("problems %v, want %v", r.Problems, c.want)
			}
			for i, w := range c.want {
				if !errors.Is(r.Problems[i], w) {
					t.Errorf("problem %d: %v, want %v", i, r.Problems[i], w)
				}
			}
		})
	}
}

func TestLookupSecure(t *testing.T) {
	m := resolver.NewMock("ex.test. 300 IN MX 10 mx.ex.test.", "mx.ex.test. 300 IN A 192.0.2.1").Secure("ex.test")
	r, err := Lookup(context.Background(), m, "ex.test")
	if err != nil || !r.Secure || !r.Hosts[0].AddrsSecure {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := Lookup(context.Background(), resolver.NewMock().Fail("ex.test"), "ex.test"); !errors.Is(err, resolver.ErrDNS) {
		t.Fatalf("err %v", err)
	}
}
