// Package dane checks DANE for SMTP, RFC 7672: TLSA records at
// "_<port>._tcp.<mx host>" (2.2.3) are usable only when the MX and TLSA
// answers are DNSSEC-authenticated (2.2); only DANE-TA(2) and DANE-EE(3) are
// usable for SMTP (3.1.3); and a usable record must match the certificate the
// MX host presents after STARTTLS (3.1.1, 3.1.2; RFC 6698 2.1, 7671 5).
package dane

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Findings.
var (
	ErrNoTLSA        = errors.New("no TLSA record")                                                 // RFC 7672 2.2.3
	ErrInsecure      = errors.New("TLSA records not DNSSEC-authenticated, so unusable")             // RFC 7672 2.2
	ErrNoUsable      = errors.New("no usable TLSA record (only PKIX usages or unknown parameters)") // RFC 7672 3.1.3
	ErrPKIXUsage     = errors.New("TLSA records with usage 0 or 1, which SMTP clients ignore")      // RFC 7672 3.1.3
	ErrMismatch      = errors.New("no usable TLSA record matches the certificate presented")        // RFC 7672 3.1
	ErrNoCertificate = errors.New("could not get the MX host's certificate")                        // RFC 7672 2.2
)

// TLSA usages, selectors and matching types (RFC 6698 2.1, RFC 7218).
const (
	UsagePKIXTA = 0
	UsagePKIXEE = 1
	UsageDANETA = 2
	UsageDANEEE = 3
)

// Name returns the TLSA owner name for host and port (RFC 7672 2.2.3).
func Name(host string, port int) string {
	return fmt.Sprintf("_%d._tcp.%s", port, dns.Fqdn(strings.ToLower(host)))
}

// Usable reports whether an SMTP client can use the record: usage DANE-TA or
// DANE-EE, selector 0 or 1, matching type 0, 1 or 2 (RFC 7672 3.1.3).
func Usable(t *dns.TLSA) bool {
	return (t.Usage == UsageDANETA || t.Usage == UsageDANEEE) &&
		t.Selector <= 1 && t.MatchingType <= 2
}

// Match reports whether the TLSA record's data matches cert.
func Match(t *dns.TLSA, cert *x509.Certificate) bool {
	var data []byte
	switch t.Selector {
	case 0:
		data = cert.Raw
	case 1:
		data = cert.RawSubjectPublicKeyInfo
	default:
		return false
	}
	var sum []byte
	switch t.MatchingType {
	case 0:
		sum = data
	case 1:
		s := sha256.Sum256(data)
		sum = s[:]
	case 2:
		s := sha512.Sum512(data)
		sum = s[:]
	default:
		return false
	}
	return strings.EqualFold(hex.EncodeToString(sum), t.Certificate)
}

// Verify checks the presented chain against the usable records:
//
//   - DANE-EE(3) matches the leaf; names and dates are not checked
//     (RFC 7672 3.1.1).
//   - DANE-TA(2) matches a certificate of the presented chain that then
//     serves as the trust anchor; the leaf must chain to it, be valid now and
//     carry the MX host name (RFC 7672 3.1.2, 3.2.2).
//
// It returns nil on a match, ErrMismatch (wrapped) otherwise.
func Verify(records []*dns.TLSA, cs *tls.ConnectionState, host string, now time.Time) error {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate presented", ErrNoCertificate)
	}
	chain := cs.PeerCertificates
	leaf := chain[0]
	var taErr error
	for _, t := range records {
		if !Usable(t) {
			continue
		}
		switch t.Usage {
		case UsageDANEEE:
			if Match(t, leaf) {
				return nil
			}
		case UsageDANETA:
			for _, ta := range chain[1:] {
				if !Match(t, ta) {
					continue
				}
				if taErr = verifyTA(chain, ta, host, now); taErr == nil {
					return nil
				}
			}
		}
	}
	if taErr != nil {
		return fmt.Errorf("%w: a DANE-TA record matched but the chain does not verify: %v", ErrMismatch, taErr)
	}
	return fmt.Errorf("%w (%s)", ErrMismatch, describe(leaf))
}

func verifyTA(chain []*x509.Certificate, ta *x509.Certificate, host string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ta)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if c != ta {
			inter.AddCert(c)
		}
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       strings.TrimSuffix(host, "."),
		CurrentTime:   now,
	})
	return err
}

// describe names the leaf's key as a "3 1 1" record would, for the log.
func describe(c *x509.Certificate) string {
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "presented key 3 1 1 " + hex.EncodeToString(s[:])
}
