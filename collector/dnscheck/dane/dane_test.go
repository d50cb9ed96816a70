package dane

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func tlsa(usage, sel, mt uint8, data string) *dns.TLSA {
	return &dns.TLSA{Usage: usage, Selector: sel, MatchingType: mt, Certificate: data}
}

func digest(mt uint8, b []byte) string {
	switch mt {
	case 1:
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	case 2:
		s := sha512.Sum512(b)
		return hex.EncodeToString(s[:])
	}
	return hex.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	ca := testpki.NewCA(t)
	now := time.Now()
	leaf := ca.Leaf(t, time.Time{}, time.Time{}, "mx.ex.test")
	expired := ca.Leaf(t, now.Add(-48*time.Hour), now.Add(-time.Hour), "mx.ex.test")
	chain := func(c tls.Certificate) *tls.ConnectionState {
		var certs []*x509.Certificate
		for _, der := range c.Certificate {
			x, _ := x509.ParseCertificate(der)
			certs = append(certs, x)
		}
		return &tls.ConnectionState{PeerCertificates: certs}
	}
	l := leaf.Leaf
	for _, c := range []struct {
		name  string
		recs  []*dns.TLSA
		cs    *tls.ConnectionState
		host  string
		match bool
	}{
		{"3 1 1", []*dns.TLSA{tlsa(3, 1, 1, digest(1, l.RawSubjectPublicKeyInfo))}, chain(leaf), "mx.ex.test", true},
		{"3 0 1", []*dns.TLSA{tlsa(3, 0, 1, digest(1, l.Raw))}, chain(leaf), "mx.ex.test", true},
		{"3 1 2", []*dns.TLSA{tlsa(3, 1, 2, digest(2, l.RawSubjectPublicKeyInfo))}, chain(leaf), "mx.ex.test", true},
		{"3 0 0", []*dns.TLSA{tlsa(3, 0, 0, digest(0, l.Raw))}, chain(leaf), "mx.ex.test", true},
		{"3 1 1 ignores name", []*dns.TLSA{tlsa(3, 1, 1, digest(1, l.RawSubjectPublicKeyInfo))}, chain(leaf), "other.test", true},
		{"3 1 1 ignores dates", []*dns.TLSA{tlsa(3, 1, 1, digest(1, expired.Leaf.RawSubjectPublicKeyInfo))}, chain(expired), "mx.ex.test", true},
		{"3 1 1 wrong", []*dns.TLSA{tlsa(3, 1, 1, digest(1, []byte("other")))}, chain(leaf), "mx.ex.test", false},
		{"2 0 1 ca", []*dns.TLSA{tlsa(2, 0, 1, digest(1, ca.Cert.Raw))}, chain(leaf), "mx.ex.test", true},
		{"2 1 1 ca", []*dns.TLSA{tlsa(2, 1, 1, digest(1, ca.Cert.RawSubjectPublicKeyInfo))}, chain(leaf), "mx.ex.test", true},
		{"2 0 1 wrong name", []*dns.TLSA{tlsa(2, 0, 1, digest(1, ca.Cert.Raw))}, chain(leaf), "other.test", false},
		{"2 0 1 expired", []*dns.TLSA{tlsa(2, 0, 1, digest(1, ca.Cert.Raw))}, chain(expired), "mx.ex.test", false},
		{"2 matches leaf only", []*dns.TLSA{tlsa(2, 0, 1, digest(1, l.Raw))}, chain(leaf), "mx.ex.test", false},
		{"1 1 1 unusable", []*dns.TLSA{tlsa(1, 1, 1, digest(1, l.RawSubjectPublicKeyInfo))}, chain(leaf), "mx.ex.test", false},
		{"3 2 1 unusable", []*dns.TLSA{tlsa(3, 2, 1, digest(1, l.RawSubjectPublicKeyInfo))}, chain(leaf), "mx.ex.test", false},
		{"second record matches", []*dns.TLSA{tlsa(3, 1, 1, "00"), tlsa(3, 1, 1, digest(1, l.RawSubjectPublicKeyInfo))}, chain(leaf), "mx.ex.test", true},
	} {
		err := Verify(c.recs, c.cs, c.host, now)
		if c.match && err != nil || !c.match && !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v, want match %v", c.name, err, c.match)
		}
	}
}

func TestCheckHost(t *testing.T) {
	ca := testpki.NewCA(t)
	leaf := ca.Leaf(t, time.Time{}, time.Time{}, "mx.ex.test")
	good := fmt.Sprintf("_25._tcp.mx.ex.test. 300 IN TLSA 3 1 1 %s", testpki.SPKISHA256(leaf.Leaf))
	state := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf.Leaf}}
	dial := func(context.Context) (*tls.ConnectionState, error) { return state, nil }
	noDial := func(context.Context) (*tls.ConnectionState, error) { return nil, errors.New("refused") }
	for _, c := range []struct {
		name     string
		records  []string
		secure   []string
		mxSecure bool
		dial     Dial
		valid    bool
		want     []error
	}{
		{"good", []string{good}, []string{"ex.test"}, true, dial, true, nil},
		{"no tlsa", nil, []string{"ex.test"}, true, dial, false, []error{ErrNoTLSA}},
		{"insecure tlsa", []string{good}, nil, true, dial, false, []error{ErrInsecure}},
		{"insecure mx", []string{good}, []string{"ex.test"}, false, dial, false, []error{ErrInsecure}},
		{"mismatch", []string{"_25._tcp.mx.ex.test. 300 IN TLSA 3 1 1 00112233"}, []string{"ex.test"}, true, dial, false, []error{ErrMismatch}},
		{"pkix only", []string{"_25._tcp.mx.ex.test. 300 IN TLSA 1 1 1 00112233"}, []string{"ex.test"}, true, dial, false, []error{ErrNoUsable}},
		{"pkix beside", []string{good, "_25._tcp.mx.ex.test. 300 IN TLSA 0 1 1 00112233"}, []string{"ex.test"}, true, dial, true, []error{ErrPKIXUsage}},
		{"no certificate", []string{good}, []string{"ex.test"}, true, noDial, false, []error{ErrNoCertificate}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := resolver.NewMock(c.records...).Secure(c.secure...)
			h, err := CheckHost(context.Background(), m, "mx.ex.test", 25, c.mxSecure, c.dial, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if h.Valid != c.valid {
				t.Errorf("valid %v, want %v", h.Valid, c.valid)
			}
			if len(h.Problems) != len(c.want) {
				t.Fatalf("problems %v, want %v", h.Problems, c.want)
			}
			for i, w := range c.want {
				if !errors.Is(h.Problems[i], w) {
					t.Errorf("problem %d: %v, want %v", i, h.Problems[i], w)
				}
			}
		})
	}
}
