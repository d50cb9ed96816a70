package tlsposture

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"time"

	"golang.org/x/crypto/ocsp"
)

// keyOf is the leaf's public key type and size in bits.
func keyOf(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "rsa", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ecdsa", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "ed25519", 256
	}
	return "other", 0
}

// OCSP statuses (the `status` label of mail_tls_ocsp_status_info).
const (
	OCSPGood    = "good"
	OCSPRevoked = "revoked"
	OCSPUnknown = "unknown"
	OCSPInvalid = "invalid"
)

// ocspFacts judges a stapled OCSP response (RFC 6960, stapled per RFC 6066
// 8): it must parse, be signed by the leaf's issuer or a responder it
// delegated to (ocsp.ParseResponseForCert checks both), be about the leaf,
// and be current (RFC 6960 4.2.2.1: thisUpdate <= now <= nextUpdate).
// issuer nil (not known) makes any staple invalid: it cannot be checked.
func ocspFacts(f *CertFacts, staple []byte, leaf, issuer *x509.Certificate, now time.Time) {
	if len(staple) == 0 {
		return
	}
	f.OCSPStapled = true
	if issuer == nil {
		f.OCSPStatus, f.OCSPDetail = OCSPInvalid, "the issuer of the certificate is unknown: the response cannot be checked"
		return
	}
	resp, err := ocsp.ParseResponseForCert(staple, leaf, issuer)
	switch {
	case err != nil:
		f.OCSPStatus, f.OCSPDetail = OCSPInvalid, err.Error()
		return
	case resp.SerialNumber == nil || resp.SerialNumber.Cmp(leaf.SerialNumber) != 0:
		f.OCSPStatus, f.OCSPDetail = OCSPInvalid, "the response is about another certificate"
		return
	case now.Before(resp.ThisUpdate.Add(-5 * time.Minute)):
		f.OCSPStatus, f.OCSPDetail = OCSPInvalid, "the response is dated in the future ("+resp.ThisUpdate.UTC().Format(time.RFC3339)+")"
		return
	case !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate):
		f.OCSPStatus, f.OCSPDetail = OCSPInvalid, "the response expired at "+resp.NextUpdate.UTC().Format(time.RFC3339)
		return
	}
	switch resp.Status {
	case ocsp.Good:
		f.OCSPStatus = OCSPGood
	case ocsp.Revoked:
		f.OCSPStatus, f.OCSPDetail = OCSPRevoked, "revoked at "+resp.RevokedAt.UTC().Format(time.RFC3339)
	default:
		f.OCSPStatus = OCSPUnknown
	}
}
