package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/tlsposture"
)

// Finding codes of a TLS posture item (README "TLS posture"); documented
// in Codes. The alerts use the same thresholds.
const (
	CodePostureUnreachable = "posture_unreachable"
	CodeTLSLegacyProtocol  = "tls_legacy_protocol"
	CodeTLSNoModern        = "tls_no_modern_protocol"
	CodeTLSWeakCipher      = "tls_weak_cipher"
	CodeChainIncomplete    = "chain_incomplete"
	CodeChainUntrusted     = "chain_untrusted"
	CodeKeyWeak            = "key_weak"
	CodeSignatureSHA1      = "signature_sha1"
	CodeOCSPRevoked        = "ocsp_revoked"
	CodeOCSPInvalid        = "ocsp_invalid"
	CodeChainCertExpiring  = "chain_cert_expiring"
)

// Posture builds the item for one TLS posture check of one endpoint.
func Posture(host string, ep *config.Endpoint, r *tlsposture.Result, now time.Time) Item {
	it := Item{
		Name:    fmt.Sprintf("TLS posture %s %s:%d (%s, %s)", ep.Name, host, ep.Port, ep.Protocol, ep.TLS),
		Figures: map[string]float64{"duration_seconds": r.Duration.Seconds()},
	}
	if r.Error != "" {
		it.Findings = []Finding{{Status: Unknown, Code: CodePostureUnreachable, Message: r.Error,
			Advice: "The posture check needs the same path as the probe (connect, greeting, STARTTLS): see the endpoint's own line."}}
		it.Summary, it.Status = "not checked", Unknown
		return it
	}
	var acc []string
	for _, p := range r.Protocols {
		if p.Accepted {
			acc = append(acc, p.Version)
		}
		it.Figures["accepts_"+strings.ReplaceAll(strings.ToLower(p.Version), " ", "")] = b2f(p.Accepted)
	}
	parts := []string{"accepts " + orNone(acc)}
	if f := r.Cert; f != nil {
		parts = append(parts, fmt.Sprintf("%s %d-bit key, %s", f.KeyType, f.KeyBits, f.SignatureAlgorithm))
		it.Figures["key_bits"] = float64(f.KeyBits)
		chain := "chain complete"
		if !f.ChainComplete {
			chain = "chain incomplete"
		}
		parts = append(parts, fmt.Sprintf("%s (%d sent)", chain, len(f.Chain)))
		if f.OCSPStapled {
			parts = append(parts, "OCSP stapled: "+f.OCSPStatus)
		} else {
			parts = append(parts, "no OCSP staple")
		}
	}
	it.Summary = strings.Join(parts, ", ")
	it.Findings = postureFindings(host, ep, r, now)
	it.Status = itemStatus(it.Findings)
	return it
}

func postureFindings(host string, ep *config.Endpoint, r *tlsposture.Result, now time.Time) []Finding {
	var fs []Finding
	var legacy []string
	for _, v := range []string{"TLS 1.0", "TLS 1.1"} {
		if r.Accepted(v) {
			legacy = append(legacy, v)
		}
	}
	if len(legacy) > 0 {
		fs = append(fs, Finding{Status: Warning, Code: CodeTLSLegacyProtocol, Message: strings.Join(legacy, " and ") + " accepted",
			Advice: "TLS 1.0 and 1.1 are deprecated (RFC 8996). Allow TLS 1.2 and 1.3 only: Postfix smtpd_tls_protocols = >=TLSv1.2 " +
				"and smtpd_tls_mandatory_protocols = >=TLSv1.2; Dovecot ssl_min_protocol = TLSv1.2."})
	}
	if !r.Accepted("TLS 1.2") && !r.Accepted("TLS 1.3") && len(r.Protocols) > 0 {
		fs = append(fs, Finding{Status: Warning, Code: CodeTLSNoModern, Message: "neither TLS 1.2 nor TLS 1.3 accepted",
			Advice: "Current clients need TLS 1.2 or newer: upgrade the server's TLS library or its protocol settings."})
	}
	if len(r.WeakCiphers) > 0 {
		fs = append(fs, Finding{Status: Warning, Code: CodeTLSWeakCipher, Message: "weak cipher suites accepted: " + strings.Join(r.WeakCiphers, ", "),
			Advice: "Exclude them: Postfix smtpd_tls_exclude_ciphers = aNULL, kRSA, RC4, 3DES (and smtpd_tls_mandatory_exclude_ciphers); " +
				"Dovecot ssl_cipher_list without kRSA, RC4 and 3DES (its default excludes them)."})
	}
	f := r.Cert
	if f == nil {
		return fs
	}
	switch {
	case !f.ChainComplete && f.ChainVerifies:
		fs = append(fs, Finding{Status: Critical, Code: CodeChainIncomplete, Message: "the chain is " + f.ChainDetail,
			Advice: "Serve the full chain, leaf first, then the intermediates: Postfix smtpd_tls_chain_files (or a fullchain.pem as " +
				"smtpd_tls_cert_file); Dovecot ssl_cert = </path/fullchain.pem. Clients that do not fetch the intermediate themselves fail."})
	case !f.ChainComplete:
		fs = append(fs, Finding{Status: Warning, Code: CodeChainUntrusted, Message: "the chain " + f.ChainDetail,
			Advice: "The certificate is not from a CA the exporter trusts (self-signed or a private CA): add the CA's root to ca_file, or use a public CA."})
	}
	switch {
	case f.KeyType == "rsa" && f.KeyBits < 1024:
		fs = append(fs, Finding{Status: Critical, Code: CodeKeyWeak, Message: fmt.Sprintf("%d-bit RSA key", f.KeyBits), Advice: keyAdvice})
	case f.KeyType == "rsa" && f.KeyBits < 2048, f.KeyType == "ecdsa" && f.KeyBits < 256:
		fs = append(fs, Finding{Status: Warning, Code: CodeKeyWeak, Message: fmt.Sprintf("%d-bit %s key", f.KeyBits, strings.ToUpper(f.KeyType)), Advice: keyAdvice})
	}
	if a := strings.ToUpper(f.SignatureAlgorithm); strings.Contains(a, "SHA1") || strings.Contains(a, "MD5") || strings.Contains(a, "MD2") {
		fs = append(fs, Finding{Status: Warning, Code: CodeSignatureSHA1, Message: "the leaf is signed " + f.SignatureAlgorithm,
			Advice: "SHA-1 signatures are refused by current clients and CAs no longer issue them: reissue the certificate (SHA-256)."})
	}
	switch {
	case f.OCSPStatus == tlsposture.OCSPRevoked:
		fs = append(fs, Finding{Status: Critical, Code: CodeOCSPRevoked, Message: "the stapled OCSP response says revoked: " + f.OCSPDetail,
			Advice: "The CA revoked this certificate: replace it now, and find out why (key compromise?)."})
	case f.OCSPStatus == tlsposture.OCSPInvalid:
		fs = append(fs, Finding{Status: Warning, Code: CodeOCSPInvalid, Message: "the stapled OCSP response is unusable: " + f.OCSPDetail,
			Advice: "The server staples a stale or wrong response: check that its OCSP refresh (haproxy .ocsp file, nginx resolver) runs."})
	}
	for _, c := range f.Chain {
		days := math.Floor(c.NotAfter.Sub(now).Hours() / 24)
		if days >= certWarnDays {
			continue
		}
		st := Warning
		if days < certCriticalDays {
			st = Critical
		}
		fs = append(fs, Finding{Status: st, Code: CodeChainCertExpiring,
			Message: fmt.Sprintf("certificate %s (depth %s) %s", c.Subject, strconv.Itoa(c.Depth), daysText(days)),
			Advice:  "Renew it, or for an intermediate take the current chain from the CA, and reload the service."})
	}
	return fs
}

const keyAdvice = "Issue a new certificate with a new key: RSA 2048 bits or more, or ECDSA P-256."

func orNone(v []string) string {
	if len(v) == 0 {
		return "no TLS version"
	}
	return strings.Join(v, ", ")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
