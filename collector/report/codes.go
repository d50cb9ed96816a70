package report

import (
	"fmt"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
)

// Finding codes the report adds itself. The others are a probe result
// (probe.Reason), a certificate verify error (probe.VerifyError) or a DNS
// problem code (dnscheck.Codes).
const (
	CodeLookupFailed   = "lookup_failed"
	CodeDNSSECInsecure = "dnssec_insecure"
	CodeCertExpiring   = "cert_expiring"
	CodeTLSOld         = "tls_old"
	CodePlaintextAuth  = "plaintext_auth_offered"
	CodeOpenRelay      = "open_relay"
	CodeRelayUnknown   = "relay_test_inconclusive"
	CodeBannerPTR      = "banner_ptr_mismatch"
	CodeBannerMX       = "banner_mx_mismatch"
	// Roundtrip message authentication (roundtripauth.go).
	CodeDKIMNotVerified = "dkim_not_verified"
	CodeDKIMNone        = "dkim_none"
	CodeDKIMNotAligned  = "dkim_not_aligned"
	CodeDKIMFail        = "dkim_fail"
	CodeDKIMPermError   = "dkim_permerror"
	CodeDKIMTempError   = "dkim_temperror"
	CodeReceiverVerdict = "receiver_verdict"
)

// CodeInfo documents one of the report's own finding codes.
type CodeInfo struct {
	Code, Status, Meaning string
}

// Codes lists the report's own finding codes; README's table is generated
// from them and dnscheck.Codes (TestREADMECodes).
var Codes = []CodeInfo{
	{CodeLookupFailed, "unknown", "A DNS check's lookups got no usable answer (SERVFAIL, REFUSED, timeout): the records could not be judged. Not a `mail_dns_problem_info` code; the exporter sets `mail_dns_lookup_success{check}` 0."},
	{CodeDNSSECInsecure, "warning", "The domain's answers are not DNSSEC-authenticated (`mail_dnssec_secure` 0)."},
	{CodeCertExpiring, "warning, critical", "The certificate verifies but expires within 14 days (critical within 3)."},
	{CodeTLSOld, "warning", "TLS 1.0 or 1.1 was negotiated (RFC 8996)."},
	{CodeOpenRelay, "critical", "The relay test got a 2xx to RCPT for a foreign recipient (`mail_smtp_relay_accepted{variant}` 1, `mail_smtp_relay_test_result_info{result=\"open\"}`): anyone can send mail through the server."},
	{CodeRelayUnknown, "warning", "The relay test got a 4xx or no answer to RCPT, and no 2xx (`result=\"inconclusive\"`): it could not tell."},
	{CodeBannerPTR, "warning", "The host name in the 220 greeting is not a PTR name of the address dialled (`mail_smtp_banner_matches_ptr` 0). Not an FCrDNS failure (that is the `ptr` check)."},
	{CodeBannerMX, "warning", "The host name in the 220 greeting is not the MX name dialled (port 25 endpoints addressed by name)."},
	{CodePlaintextAuth, "warning", "A password login is offered before STARTTLS (`mail_plaintext_auth_offered` 1; see \"Plaintext login before STARTTLS\")."},
	{CodeDKIMNotVerified, "warning", "A roundtrip's message arrived but could not be fetched for verification (too large, FETCH failed)."},
	{CodeDKIMNone, "warning, critical", "A roundtrip's message arrived without any DKIM-Signature (critical when the roundtrip has `dkim_domain`)."},
	{CodeDKIMNotAligned, "warning", "A DKIM signature on a roundtrip's message passes, but its `d=` does not align with the From domain (RFC 7489 3.1.1): DMARC does not count it."},
	{CodeDKIMFail, "critical", "A DKIM signature on a roundtrip's message does not verify with the key in DNS (`mail_roundtrip_dkim_result_info{result=\"fail\"}`): a rotated key, a truncated record, a modified message."},
	{CodeDKIMPermError, "critical", "A DKIM signature on a roundtrip's message or its key record is unusable: no record, revoked key, malformed signature, rsa-sha1."},
	{CodeDKIMTempError, "warning", "The key of a DKIM signature on a roundtrip's message could not be fetched (DNS failure)."},
	{CodeReceiverVerdict, "warning", "A trusted receiver's Authentication-Results field reports dkim, spf or dmarc other than pass (`mail_roundtrip_auth_results_info`)."},
	// TLS posture (README "TLS posture"), report.Posture.
	{CodePostureUnreachable, "unknown", "The TLS posture check could not reach a handshake (`mail_tls_posture_success` 0): nothing is known."},
	{CodeTLSLegacyProtocol, "warning", "TLS 1.0 or 1.1 is accepted (`mail_tls_protocol_accepted` 1; deprecated by RFC 8996)."},
	{CodeTLSNoModern, "warning", "Neither TLS 1.2 nor TLS 1.3 is accepted."},
	{CodeTLSWeakCipher, "warning", "A suite of the weak list is accepted: RC4, 3DES or static RSA key exchange (`mail_tls_weak_cipher_accepted` 1)."},
	{CodeChainIncomplete, "critical", "The server does not send an intermediate its chain needs; it verifies only with one from `ca_file` or AIA (`mail_tls_chain_complete` 0; the probe's `incomplete_chain`)."},
	{CodeChainUntrusted, "warning", "What the server sends does not reach a trusted root, even with `ca_file` intermediates and AIA."},
	{CodeKeyWeak, "warning, critical", "The leaf key is RSA under 2048 or ECDSA under 256 bits (critical under 1024 RSA bits; `mail_tls_cert_key_bits`)."},
	{CodeSignatureSHA1, "warning", "The leaf is signed with SHA-1 or MD5 (`mail_tls_cert_signature_algorithm_info`)."},
	{CodeOCSPRevoked, "critical", "The stapled OCSP response says the certificate is revoked."},
	{CodeOCSPInvalid, "warning", "The stapled OCSP response is unusable: unparsable, not signed by the issuer or its delegate, about another certificate, or outside thisUpdate..nextUpdate."},
	{CodeChainCertExpiring, "warning, critical", "A certificate the server sends, an intermediate too, expires within 14 days (critical within 3)."},
}

// CodesMarkdown renders the codes README documents: the DNS problem codes
// of dnscheck.Codes, then the report's own.
func CodesMarkdown() string {
	var b strings.Builder
	b.WriteString(dnscheck.CodesTable())
	b.WriteString("\n`mail_exporter check` adds these finding codes of its own, beside probe results (`auth`, `timeout`, …) and certificate errors (`expired`, …):\n\n")
	b.WriteString("| code | status | meaning |\n|---|---|---|\n")
	for _, c := range Codes {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Code, c.Status, strings.ReplaceAll(c.Meaning, "|", `\|`))
	}
	return b.String()
}
