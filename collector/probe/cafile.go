package probe

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ErrNoCertificates means a CA file holds no PEM certificate.
var ErrNoCertificates = errors.New("no PEM certificates")

// LoadCAFile reads a PEM bundle (a ca_file) and splits it: self-signed
// certificates are trust anchors, added to the system roots; the others are
// intermediates, which never make a chain verify (verification is strict,
// like `openssl s_client -CAfile` with roots only) but let a probe name a
// missing intermediate (incomplete_chain) and a posture check complete a
// chain. intermediates is nil when the file holds none.
func LoadCAFile(file string) (roots, intermediates *x509.CertPool, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("ca_file: %w", err)
	}
	roots, err = x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue // as x509.CertPool.AppendCertsFromPEM does
		}
		n++
		if IsSelfSigned(c) {
			roots.AddCert(c)
			continue
		}
		if intermediates == nil {
			intermediates = x509.NewCertPool()
		}
		intermediates.AddCert(c)
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("ca_file %s: %w", file, ErrNoCertificates)
	}
	return roots, intermediates, nil
}

// IsSelfSigned reports whether c is signed by its own key: a root, or a
// self-signed server certificate pinned in a ca_file (not a CA, so
// CheckSignatureFrom would refuse it).
func IsSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
