package mx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// ErrCertificateName: an MX host presents a certificate that does not cover
// the MX name (RFC 8461 4.2 and RFC 7672 3.2.3 require that it does, for
// senders that check).
var ErrCertificateName = errors.New("MX host certificate does not cover the MX name")

// maxNamesShown bounds the certificate names a detail lists.
const maxNamesShown = 10

// CheckCertificateName judges the certificate host presented on port after
// STARTTLS by its name alone, as crypto/x509 matches it (subjectAltName
// dNSName, a wildcard for one label, no fallback to the subject CN): trust
// and dates are the endpoint probe's and the mta_sts check's. The error
// names the MX host and the names the certificate does cover. A state
// without a certificate is not judged.
func CheckCertificateName(cs *tls.ConnectionState, host string, port int) error {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	leaf := cs.PeerCertificates[0]
	if leaf.VerifyHostname(host) == nil {
		return nil
	}
	return fmt.Errorf("%w: %s port %d presents a certificate for %s", ErrCertificateName, host, port, CertificateNames(leaf))
}

// CertificateNames lists the DNS names c covers, for humans: at most
// maxNamesShown, then how many more; a certificate without any says what
// its subject CN is, which clients no longer match.
func CertificateNames(c *x509.Certificate) string {
	names := c.DNSNames
	if len(names) == 0 {
		if c.Subject.CommonName != "" {
			return fmt.Sprintf("no DNS name (only the subject CN %q, which clients do not match)", c.Subject.CommonName)
		}
		return "no DNS name"
	}
	if len(names) > maxNamesShown {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamesShown], ", "), len(names)-maxNamesShown)
	}
	return strings.Join(names, ", ")
}
