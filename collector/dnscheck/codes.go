package dnscheck

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dane"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dkim"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dmarc"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnsbl"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mtasts"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mx"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/ptr"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/spf"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/tlsrpt"
)

// CodeInfo documents one problem code: the `code` label of
// mail_dns_problem_info, its check and severity, what it means and the RFC
// section behind it.
type CodeInfo struct {
	Code     string
	Check    string
	Severity Severity
	Meaning  string
	RFC      string

	err error // the sentinel error of the check package it stands for
}

// errNoSelectors: the dkim check runs but no selector is configured.
var errNoSelectors = errors.New("no DKIM selector configured: DKIM keys cannot be discovered, list them in dkim_selectors")

// Codes is the fixed list of problem codes. CODES.md is generated from it
// (TestCodesMarkdown) and pasted into README.
var Codes = []CodeInfo{
	{"mx_missing", CheckMX, SeverityError, "No MX records and no A/AAAA: the domain cannot receive mail.", "RFC 5321 5.1", mx.ErrNoMX},
	{"mx_implicit", CheckMX, SeverityWarning, "No MX records; mail falls back to the domain's own address (implicit MX).", "RFC 5321 5.1", mx.ErrImplicitMX},
	{"mx_null_mixed", CheckMX, SeverityError, `A null MX ("0 .") is published with other MX records or a non-zero preference.`, "RFC 7505 3", mx.ErrNullMXMixed},
	{"mx_target_no_address", CheckMX, SeverityError, "An MX target has no A or AAAA record.", "RFC 5321 5.1", mx.ErrTargetNoAddr},
	{"mx_target_cname", CheckMX, SeverityError, "An MX target is an alias (CNAME), not a host name.", "RFC 2181 10.3", mx.ErrTargetIsAlias},
	{"mx_certificate_name", CheckMX, SeverityWarning, "With `discover: true`: the certificate an MX host presents after STARTTLS on `smtp_port` (on any of its addresses) does not cover the MX name; the detail names the host and the certificate's names. Senders that check the name (MTA-STS, DANE-TA) refuse it; opportunistic TLS does not check.", "RFC 8461 4.2, RFC 7672 3.2.3", mx.ErrCertificateName},

	{"spf_missing", CheckSPF, SeverityError, `No "v=spf1" TXT record: SPF result "none".`, "RFC 7208 4.5", spf.ErrNoRecord},
	{"spf_multiple", CheckSPF, SeverityError, `More than one "v=spf1" record at a name: permerror.`, "RFC 7208 4.5", spf.ErrMultipleRecords},
	{"spf_syntax", CheckSPF, SeverityError, "A record in the tree does not parse: permerror.", "RFC 7208 4.6, 12", spf.ErrSyntax},
	{"spf_too_many_lookups", CheckSPF, SeverityError, "More than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect) over the include/redirect tree: permerror.", "RFC 7208 4.6.4", spf.ErrTooManyLookups},
	{"spf_too_many_void_lookups", CheckSPF, SeverityError, "More than 2 lookups in the tree returned NXDOMAIN or no records: permerror.", "RFC 7208 4.6.4", spf.ErrTooManyVoidLookups},
	{"spf_mx_too_many_names", CheckSPF, SeverityError, `An "mx" mechanism's domain has more than 10 MX records: permerror.`, "RFC 7208 4.6.4", spf.ErrTooManyMXNames},
	{"spf_include_missing", CheckSPF, SeverityError, "An include or redirect target publishes no SPF record: permerror.", "RFC 7208 5.2, 6.1", spf.ErrIncludeNoRecord},
	{"spf_pass_all", CheckSPF, SeverityWarning, `"+all": every sender passes.`, "RFC 7208 5.1", spf.ErrPassAll},
	{"spf_neutral_all", CheckSPF, SeverityWarning, `"?all": unmatched senders are neutral, no policy.`, "RFC 7208 5.1, 8.2", spf.ErrNeutralAll},
	{"spf_no_all", CheckSPF, SeverityWarning, `No "all" and no redirect: unmatched senders default to neutral.`, "RFC 7208 4.7", spf.ErrNoAll},
	{"spf_ptr", CheckSPF, SeverityWarning, `The "ptr" mechanism is used; it is deprecated.`, "RFC 7208 5.5", spf.ErrPTR},

	{"dmarc_missing", CheckDMARC, SeverityError, "No DMARC record at the domain nor found by the DNS Tree Walk.", "RFC 9989 4.10.1", dmarc.ErrNoRecord},
	{"dmarc_multiple", CheckDMARC, SeverityError, "More than one DMARC record at a name: all are discarded.", "RFC 9989 4.10", dmarc.ErrMultipleRecords},
	{"dmarc_syntax", CheckDMARC, SeverityError, `A record starting like DMARC does not parse or does not start with "v=DMARC1": it is ignored.`, "RFC 9989 4.7, 4.8", dmarc.ErrSyntax},
	{"dmarc_invalid_policy", CheckDMARC, SeverityError, "p, sp or np has an invalid value: p=none if rua is valid, else no DMARC.", "RFC 9989 4.10.1", dmarc.ErrInvalidPolicy},
	{"dmarc_invalid_tag", CheckDMARC, SeverityWarning, "A tag (t, psd, adkim, aspf, fo) has an invalid value; receivers use the default.", "RFC 9989 4.8", dmarc.ErrInvalidTag},
	{"dmarc_obsolete_tag", CheckDMARC, SeverityWarning, "pct, rf or ri: tags removed by RFC 9989, ignored by its receivers.", "RFC 9989 C.5.2", dmarc.ErrObsoleteTag},
	{"dmarc_invalid_uri", CheckDMARC, SeverityWarning, "A rua or ruf entry is not a valid URI; it is ignored.", "RFC 9989 4.6, 4.8", dmarc.ErrInvalidURI},
	{"dmarc_policy_none", CheckDMARC, SeverityWarning, "The policy that applies to the domain is none (monitoring mode).", "RFC 9989 4.7", dmarc.ErrPolicyNone},
	{"dmarc_testing", CheckDMARC, SeverityWarning, "t=y: receivers apply the policy one level lower.", "RFC 9989 4.7", dmarc.ErrTesting},
	{"dmarc_report_unauthorized", CheckDMARC, SeverityWarning, "An external report destination publishes no `<domain>._report._dmarc` record; reports are not sent there.", "RFC 9990 4", dmarc.ErrReportUnauthorized},

	{"dkim_no_selectors", CheckDKIM, SeverityWarning, "No selector configured: DKIM keys cannot be discovered.", "RFC 6376 3.1", errNoSelectors},
	{"dkim_missing", CheckDKIM, SeverityError, "No key record at `<selector>._domainkey.<domain>`.", "RFC 6376 3.6.2.2", dkim.ErrNoRecord},
	{"dkim_multiple", CheckDKIM, SeverityError, "More than one key record for the selector; verifiers may pick either.", "RFC 6376 3.6.2.2", dkim.ErrMultipleRecords},
	{"dkim_syntax", CheckDKIM, SeverityError, "The key record does not parse (tag list, v=, missing p=).", "RFC 6376 3.2, 3.6.1", dkim.ErrSyntax},
	{"dkim_revoked", CheckDKIM, SeverityError, "Empty p=: the key is revoked.", "RFC 6376 3.6.1", dkim.ErrRevoked},
	{"dkim_bad_key", CheckDKIM, SeverityError, "p= is not a valid key of the declared type.", "RFC 6376 3.6.1, RFC 8463 4.2", dkim.ErrBadKey},
	{"dkim_unknown_key_type", CheckDKIM, SeverityError, "k= names a key type other than rsa or ed25519.", "RFC 6376 3.6.1, RFC 8463", dkim.ErrUnknownKeyType},
	{"dkim_key_too_short", CheckDKIM, SeverityError, "RSA key shorter than 1024 bits: verifiers reject it.", "RFC 8301 3.2", dkim.ErrKeyTooShort},
	{"dkim_key_weak", CheckDKIM, SeverityWarning, "RSA key shorter than 2048 bits.", "RFC 8301 3.2", dkim.ErrKeyWeak},
	{"dkim_no_sha256", CheckDKIM, SeverityError, "h= excludes sha256; sha1 signatures are no longer accepted.", "RFC 8301 3.1", dkim.ErrSHA1Only},
	{"dkim_testing", CheckDKIM, SeverityWarning, "t=y: the domain is testing DKIM; verifiers may ignore failures.", "RFC 6376 3.6.1", dkim.ErrTesting},
	{"dkim_not_for_email", CheckDKIM, SeverityError, "s= does not include email or *.", "RFC 6376 3.6.1", dkim.ErrNotForEmail},

	{"mtasts_missing", CheckMTASTS, SeverityWarning, "No `_mta-sts` TXT record: the domain has no MTA-STS policy.", "RFC 8461 3.1", mtasts.ErrNoRecord},
	{"mtasts_multiple", CheckMTASTS, SeverityError, "More than one `v=STSv1` record: senders assume no policy.", "RFC 8461 3.1", mtasts.ErrMultipleRecords},
	{"mtasts_record_syntax", CheckMTASTS, SeverityError, "The `_mta-sts` record does not parse (`v=STSv1; id=` 1 to 32 letters and digits).", "RFC 8461 3.1", mtasts.ErrRecordSyntax},
	{"mtasts_policy_unreachable", CheckMTASTS, SeverityError, "The policy could not be fetched from `https://mta-sts.<domain>/.well-known/mta-sts.txt`.", "RFC 8461 3.3", mtasts.ErrFetch},
	{"mtasts_policy_certificate", CheckMTASTS, SeverityError, "The policy host's certificate is not valid for `mta-sts.<domain>` or not trusted.", "RFC 8461 3.3", mtasts.ErrCertificate},
	{"mtasts_policy_http_status", CheckMTASTS, SeverityError, "The policy fetch answered other than 200 OK (redirects are not followed).", "RFC 8461 3.3", mtasts.ErrHTTPStatus},
	{"mtasts_policy_content_type", CheckMTASTS, SeverityError, "The policy is not served as text/plain.", "RFC 8461 3.2", mtasts.ErrContentType},
	{"mtasts_policy_too_large", CheckMTASTS, SeverityError, "The policy is larger than 64 KiB.", "RFC 8461 3.3", mtasts.ErrTooLarge},
	{"mtasts_policy_syntax", CheckMTASTS, SeverityError, "The policy does not parse (version, mode, max_age, mx).", "RFC 8461 3.2", mtasts.ErrPolicySyntax},
	{"mtasts_mode_none", CheckMTASTS, SeverityWarning, "`mode: none`: the policy is withdrawn.", "RFC 8461 5", mtasts.ErrModeNone},
	{"mtasts_mode_testing", CheckMTASTS, SeverityWarning, "`mode: testing`: failures are reported, not enforced.", "RFC 8461 5", mtasts.ErrModeTesting},
	{"mtasts_max_age_short", CheckMTASTS, SeverityWarning, "max_age is under a day; weeks or more are recommended.", "RFC 8461 3.2", mtasts.ErrMaxAgeShort},
	{"mtasts_mx_not_covered", CheckMTASTS, SeverityError, "An MX host matches no mx pattern of the policy.", "RFC 8461 4.1", mtasts.ErrMXNotCovered},
	{"mtasts_mx_certificate", CheckMTASTS, SeverityError, "An MX host's certificate is not trusted, expired or not valid for its name.", "RFC 8461 4.2", mtasts.ErrMXCertificate},
	{"mtasts_mx_starttls_failed", CheckMTASTS, SeverityError, "An MX host could not be reached, or did not offer STARTTLS, on `smtp_port`.", "RFC 8461 4.2, RFC 3207", mtasts.ErrMXNoTLS},

	{"tlsrpt_missing", CheckTLSRPT, SeverityWarning, "No `_smtp._tls` TXT record: no TLS reports are requested.", "RFC 8460 3", tlsrpt.ErrNoRecord},
	{"tlsrpt_multiple", CheckTLSRPT, SeverityError, "More than one `v=TLSRPTv1` record: senders assume none.", "RFC 8460 3", tlsrpt.ErrMultipleRecords},
	{"tlsrpt_syntax", CheckTLSRPT, SeverityError, "The record does not parse (`v=TLSRPTv1; rua=...`).", "RFC 8460 3", tlsrpt.ErrSyntax},
	{"tlsrpt_bad_uri", CheckTLSRPT, SeverityError, "A rua URI is not a valid mailto: or https: URI.", "RFC 8460 3", tlsrpt.ErrBadURI},

	{"dane_missing", CheckDANE, SeverityWarning, "An MX host has no TLSA record at `_<smtp_port>._tcp.<mx>`.", "RFC 7672 2.2.3", dane.ErrNoTLSA},
	{"dane_tlsa_insecure", CheckDANE, SeverityError, "TLSA records exist but the MX, address or TLSA answers are not DNSSEC-authenticated, so they cannot be used.", "RFC 7672 2.2", dane.ErrInsecure},
	{"dane_no_usable_tlsa", CheckDANE, SeverityError, "No TLSA record with usage 2 or 3 and a known selector and matching type.", "RFC 7672 3.1.3", dane.ErrNoUsable},
	{"dane_pkix_usage", CheckDANE, SeverityWarning, "TLSA records with usage 0 or 1, which SMTP clients ignore.", "RFC 7672 3.1.3", dane.ErrPKIXUsage},
	{"dane_mismatch", CheckDANE, SeverityError, "No usable TLSA record matches the certificate the MX host presents after STARTTLS.", "RFC 7672 3.1.1, 3.1.2", dane.ErrMismatch},
	{"dane_starttls_failed", CheckDANE, SeverityError, "The MX host could not be reached, or did not offer STARTTLS, on `smtp_port`.", "RFC 7672 2.2, RFC 3207", dane.ErrNoCertificate},

	{"ptr_missing", CheckPTR, SeverityError, "An MX address has no PTR record: iprev fails.", "RFC 8601 3", ptr.ErrNoPTR},
	{"ptr_not_confirmed", CheckPTR, SeverityError, "No PTR name of an MX address resolves back to it: iprev fails.", "RFC 8601 3", ptr.ErrNotConfirmed},

	{"dnsbl_listed", CheckDNSBL, SeverityError, "An MX address is listed (an A record in 127.0.0.0/8).", "RFC 5782 2.1", dnsbl.ErrListed},

	// Discovery (`discover: true`, package collector/discover): what the domain
	// advertises to mail clients. Every advertised endpoint is probed without
	// a login, by the name it is advertised under.
	{"srv_missing", CheckSRV, SeverityWarning, "No SRV record for any of `_submission`, `_submissions`, `_imap`, `_imaps`, `_pop3`, `_pop3s` (`._tcp.<domain>`): clients cannot locate the servers from DNS.", "RFC 6186 3, RFC 8314 5.1", errDiscovery},
	{"srv_invalid", CheckSRV, SeverityError, `An SRV record is unusable: port 0 on a real target, or a "." target (service not offered) mixed with other records.`, "RFC 2782, RFC 6186 3.4", errDiscovery},
	{"srv_host_unresolvable", CheckSRV, SeverityError, "A preferred SRV target has no A or AAAA record.", "RFC 2782", errDiscovery},
	{"srv_port_closed", CheckSRV, SeverityError, "A preferred SRV target does not answer on the advertised port (refused, or silent until the timeout).", "RFC 6186 3", errDiscovery},
	{"srv_protocol_error", CheckSRV, SeverityError, "A preferred SRV target answers, but not with the service's protocol (wrong greeting, protocol error).", "RFC 6186 3", errDiscovery},
	{"srv_security_mismatch", CheckSRV, SeverityError, "The port speaks the other kind of TLS: implicit TLS where `_imap`/`_pop3`/`_submission` promise plaintext with STARTTLS, or plaintext where `_imaps`/`_pop3s`/`_submissions` promise implicit TLS.", "RFC 6186 4, RFC 8314 5.1", errDiscovery},
	{"srv_tls_failed", CheckSRV, SeverityError, "TLS does not come up on the advertised port, in the advertised mode or the other.", "RFC 8314 5.2", errDiscovery},
	{"srv_certificate", CheckSRV, SeverityError, "The certificate is not valid for the SRV target name (or untrusted, or expired).", "RFC 6186 4, RFC 8314 5.3", errDiscovery},
	{"srv_plaintext", CheckSRV, SeverityError, "An `_imap`, `_pop3` or `_submission` target does not offer STARTTLS: clients would log in in the clear.", "RFC 8314 4.1, 5.2", errDiscovery},
	{"srv_autoconfig_mismatch", CheckSRV, SeverityWarning, `SRV and the autoconfig file advertise different servers for a protocol (no host and port in common), or SRV says "not offered" where autoconfig offers it.`, "RFC 6186 3", errDiscovery},

	{"autoconfig_missing", CheckAutoconfig, SeverityWarning, "No autoconfig file at `https://autoconfig.<domain>/mail/config-v1.1.xml` nor at `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`.", "draft-ietf-mailmaint-autoconfig (config retrieval)", errDiscovery},
	{"autoconfig_fetch_failed", CheckAutoconfig, SeverityError, "`autoconfig.<domain>` answers but does not serve the file: TLS or certificate failure, HTTP status other than 200 (404 and 410 mean missing), a redirect to another host, a timeout, or more than 256 KiB.", "draft-ietf-mailmaint-autoconfig (config retrieval)", errDiscovery},
	{"autoconfig_syntax", CheckAutoconfig, SeverityError, "The file is not a clientConfig document: malformed XML, another root element, or an imap/pop3/smtp server without one valid hostname, port and socketType.", "draft-ietf-mailmaint-autoconfig (data format)", errDiscovery},
	{"autoconfig_host_unresolvable", CheckAutoconfig, SeverityError, "An advertised hostname has no A or AAAA record.", "draft-ietf-mailmaint-autoconfig (hostname)", errDiscovery},
	{"autoconfig_port_closed", CheckAutoconfig, SeverityError, "An advertised server does not answer on its port (refused, or silent until the timeout).", "draft-ietf-mailmaint-autoconfig (port)", errDiscovery},
	{"autoconfig_protocol_error", CheckAutoconfig, SeverityError, "An advertised server answers, but not with the advertised protocol (wrong greeting, protocol error).", "draft-ietf-mailmaint-autoconfig (type)", errDiscovery},
	{"autoconfig_security_mismatch", CheckAutoconfig, SeverityError, "socketType does not match what the port speaks: SSL on a plaintext/STARTTLS port, STARTTLS or plain on an implicit-TLS port, or STARTTLS where the server does not offer it.", "RFC 8314 3, draft-ietf-mailmaint-autoconfig (socketType)", errDiscovery},
	{"autoconfig_tls_failed", CheckAutoconfig, SeverityError, "TLS does not come up on the advertised port, in the advertised mode or the other.", "RFC 8314 5.2", errDiscovery},
	{"autoconfig_certificate", CheckAutoconfig, SeverityError, "The certificate is not valid for the advertised hostname (or untrusted, or expired).", "RFC 8314 5.3, draft-ietf-mailmaint-autoconfig (TLS validation)", errDiscovery},
	{"autoconfig_plaintext", CheckAutoconfig, SeverityError, "socketType plain with password-cleartext (an absent authentication element is taken as such): clients are told to send the password in the clear.", "RFC 8314 4.1, draft-ietf-mailmaint-autoconfig (socketType)", errDiscovery},
	{"autoconfig_unencrypted", CheckAutoconfig, SeverityWarning, "socketType plain with a login that hides the password (password-encrypted, OAuth2, ...): the mail itself travels unencrypted.", "RFC 8314 4.1", errDiscovery},
	{"autoconfig_srv_mismatch", CheckAutoconfig, SeverityWarning, `The autoconfig file and SRV advertise different servers for a protocol (no host and port in common), or SRV says "not offered" where autoconfig offers it.`, "RFC 6186 3, draft-ietf-mailmaint-autoconfig", errDiscovery},
}

// Checks of package discover (`discover: true`). It imports this package, so
// it names its findings by code (Problem) rather than through a sentinel of a
// check package; errDiscovery only marks their rows.
const (
	CheckSRV        = "srv"
	CheckAutoconfig = "autoconfig"
)

// DiscoveryChecks lists the checks of package discover.
func DiscoveryChecks() []string { return []string{CheckSRV, CheckAutoconfig} }

var errDiscovery = errors.New("finding of package discover")

// problem turns a finding of check into a Problem through the Codes table.
func problem(check string, err error) Problem {
	for _, c := range Codes {
		if c.Check == check && errors.Is(err, c.err) {
			return Problem{Code: c.Code, Severity: c.Severity, Detail: err.Error()}
		}
	}
	// Unreachable while TestSentinelsHaveCodes passes.
	return Problem{Code: check + "_unclassified", Severity: SeverityError, Detail: err.Error()}
}

// CodesMarkdown renders Codes as CODES.md.
//
//go:generate env UPDATE_CODES_MD=1 go test -run TestCodesMarkdown .
//go:generate env UPDATE_CODES_MD=1 go test -run TestREADMECodes ../report
func CodesMarkdown() string {
	var b strings.Builder
	b.WriteString("# mail_dns_problem_info codes\n\n")
	b.WriteString("Every finding of the domain checks is one `mail_dns_problem_info{check,code,severity}` series. ")
	b.WriteString("Generated from `dnscheck.Codes`, the table the checks map their findings through; a test fails when the two differ.\n\n")
	b.WriteString(CodesTable())
	return b.String()
}

// CodesTable renders Codes as a Markdown table (CODES.md and README).
func CodesTable() string {
	var b strings.Builder
	b.WriteString("| code | check | severity | meaning | RFC |\n|---|---|---|---|---|\n")
	for _, c := range Codes {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Code, c.Check, c.Severity, strings.ReplaceAll(c.Meaning, "|", `\|`), c.RFC)
	}
	return b.String()
}
