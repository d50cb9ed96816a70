package peers

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestCAIssue(t *testing.T) {
	ca := NewCA(t)
	if !ca.Cert.IsCA {
		t.Fatal("CA certificate is not a CA")
	}
	for _, kt := range []KeyType{"", KeyECDSA, KeyRSA2048} {
		certPEM, keyPEM, leaf := ca.Issue(t, CertOptions{
			DNSNames: []string{"mail.example.test"},
			IPs:      []net.IP{net.IPv4(127, 0, 0, 2)},
			KeyType:  kt,
		})
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			t.Fatalf("%q: key pair: %v", kt, err)
		}
		switch leaf.PublicKey.(type) {
		case *rsa.PublicKey:
			if kt != KeyRSA2048 {
				t.Errorf("%q: got an RSA key", kt)
			}
		case *ecdsa.PublicKey:
			if kt == KeyRSA2048 {
				t.Errorf("%q: got an ECDSA key", kt)
			}
		}
		for _, name := range []string{"mail.example.test", "127.0.0.2"} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name}); err != nil {
				t.Errorf("%q: verify for %s: %v", kt, name, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "other.example.test"}); err == nil {
			t.Errorf("%q: verified for a name it does not have", kt)
		}
	}

	// Validity in the past and in the future.
	_, _, expired := ca.Issue(t, CertOptions{
		DNSNames:  []string{"mail.example.test"},
		NotBefore: time.Now().Add(-48 * time.Hour),
		NotAfter:  time.Now().Add(-24 * time.Hour),
	})
	_, err := expired.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "mail.example.test"})
	var inv x509.CertificateInvalidError
	if !errors.As(err, &inv) || inv.Reason != x509.Expired {
		t.Errorf("expired certificate: err = %v, want x509.Expired", err)
	}

	// Another CA does not verify it.
	_, _, leaf := ca.Issue(t, CertOptions{DNSNames: []string{"a.test"}})
	_, err = leaf.Verify(x509.VerifyOptions{Roots: NewCA(t).Pool(), DNSName: "a.test"})
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("foreign CA: err = %v, want UnknownAuthorityError", err)
	}

	if p := ca.PEM(); len(p) == 0 {
		t.Error("empty CA PEM")
	}
}
