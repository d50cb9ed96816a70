package mx

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
)

func TestCheckCertificateName(t *testing.T) {
	ca := testpki.NewCA(t)
	signed := func(names ...string) *x509.Certificate { return ca.Leaf(t, time.Time{}, time.Time{}, names...).Leaf }
	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("n%d.ex.test", i))
	}
	for _, c := range []struct {
		name   string
		cert   *x509.Certificate
		host   string
		detail string // "" = covered
	}{
		{"exact", signed("mx.ex.test"), "mx.ex.test", ""},
		{"one of several", signed("mail.ex.test", "mx.ex.test"), "mx.ex.test", ""},
		{"case and trailing dot", signed("mx.ex.test"), "MX.Ex.Test.", ""},
		{"wildcard covers one label", signed("*.ex.test"), "mx.ex.test", ""},
		{"wildcard covers one label only", signed("*.ex.test"), "a.mx.ex.test",
			"MX host certificate does not cover the MX name: a.mx.ex.test port 25 presents a certificate for *.ex.test"},
		{"another name", signed("mail.ex.test", "smtp.ex.test"), "mx.ex.test",
			"MX host certificate does not cover the MX name: mx.ex.test port 25 presents a certificate for mail.ex.test, smtp.ex.test"},
		{"the domain, not the MX name", signed("ex.test"), "mx.ex.test",
			"MX host certificate does not cover the MX name: mx.ex.test port 25 presents a certificate for ex.test"},
		{"subject CN only", &x509.Certificate{Subject: pkix.Name{CommonName: "mx.ex.test"}}, "mx.ex.test",
			`MX host certificate does not cover the MX name: mx.ex.test port 25 presents a certificate for no DNS name (only the subject CN "mx.ex.test", which clients do not match)`},
		{"no name at all", &x509.Certificate{}, "mx.ex.test",
			"MX host certificate does not cover the MX name: mx.ex.test port 25 presents a certificate for no DNS name"},
		{"many names", &x509.Certificate{DNSNames: many}, "mx.ex.test",
			"MX host certificate does not cover the MX name: mx.ex.test port 25 presents a certificate for " + strings.Join(many[:10], ", ") + " and 2 more"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckCertificateName(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.cert}}, c.host, 25)
			switch {
			case c.detail == "" && err != nil:
				t.Fatalf("covered, yet %v", err)
			case c.detail == "":
			case !errors.Is(err, ErrCertificateName):
				t.Fatalf("%v, want ErrCertificateName", err)
			case err.Error() != c.detail:
				t.Fatalf("detail\n %s\nwant\n %s", err, c.detail)
			}
		})
	}
	if err := CheckCertificateName(&tls.ConnectionState{}, "mx.ex.test", 25); err != nil {
		t.Errorf("no certificate: %v, want nothing judged", err)
	}
	if err := CheckCertificateName(nil, "mx.ex.test", 25); err != nil {
		t.Errorf("no state: %v", err)
	}
}
