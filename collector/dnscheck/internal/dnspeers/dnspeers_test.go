package dnspeers

import (
	"testing"

	"github.com/miekg/dns"
)

func TestStart(t *testing.T) {
	p := Start(t,
		Zone{Name: "signed.test", Signed: true, Records: "@ MX 10 mx\nmx A 127.0.0.10\n"},
		Zone{Name: "plain.test", Records: "@ MX 10 mx\nmx A 127.0.0.10\n_dmarc TXT \"v=DMARC1; p=none\"\n"},
		Zone{Name: "_dmarc.plain.test", Refused: true},
	)
	for _, c := range []struct {
		name  string
		ad    bool
		rcode int
	}{
		{"signed.test", true, dns.RcodeSuccess},
		{"nope.signed.test", true, dns.RcodeNameError},
		{"plain.test", false, dns.RcodeSuccess},
		{"example.com", false, dns.RcodeRefused},
		{"mx.plain.test", false, dns.RcodeSuccess},
		{"_dmarc.plain.test", false, dns.RcodeRefused}, // a Refused name inside a served zone
		{"a._dmarc.plain.test", false, dns.RcodeRefused},
	} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(c.name), dns.TypeMX)
		m.AuthenticatedData = true
		r, err := dns.Exchange(m, p.Resolver)
		if err != nil {
			t.Fatal(err)
		}
		if r.AuthenticatedData != c.ad || r.Rcode != c.rcode {
			t.Errorf("%s: AD %v rcode %s, want AD %v rcode %s", c.name, r.AuthenticatedData, dns.RcodeToString[r.Rcode], c.ad, dns.RcodeToString[c.rcode])
		}
	}
}
