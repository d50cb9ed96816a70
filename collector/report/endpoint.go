package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// Thresholds for certificate warnings; they match the shipped alerts.
const (
	certWarnDays     = 14
	certCriticalDays = 3
)

// EndpointSection says where an endpoint belongs in the report.
func EndpointSection(ep *config.Endpoint) string {
	switch {
	case ep.Protocol == config.IMAP || ep.Protocol == config.POP3:
		return "incoming"
	case ep.Port == 25 || ep.Name == "smtp" || ep.RelayTest:
		return "mx"
	}
	return "outgoing"
}

// Endpoint builds the item for one endpoint probe.
func Endpoint(host string, ep *config.Endpoint, r *probe.Result, now time.Time) Item {
	it := Item{
		Name:    fmt.Sprintf("%s %s:%d (%s, %s)", ep.Name, host, ep.Port, ep.Protocol, ep.TLS),
		Figures: map[string]float64{"duration_seconds": r.Duration.Seconds()},
	}
	var parts []string
	if t := r.TLS; t != nil {
		parts = append(parts, t.Version)
		if !t.NotAfter.IsZero() {
			days := math.Floor(t.NotAfter.Sub(now).Hours() / 24)
			it.Figures["cert_days_left"] = days
			parts = append(parts, fmt.Sprintf("certificate %s for %s", daysText(days), certNames(t, host, 2)))
		}
	}
	for _, p := range r.Phases {
		it.Figures["phase_"+string(p.Phase)+"_seconds"] = p.Duration.Seconds()
	}
	parts = append(parts, mxSummary(r)...)
	parts = append(parts, phaseText(r))
	if r.AuthSuccess != nil {
		parts = append(parts, "login "+map[bool]string{true: "ok", false: "failed"}[*r.AuthSuccess])
	}
	if ep.TLS == config.TLSStartTLS && r.PlaintextAuthOffered != nil && !*r.PlaintextAuthOffered && len(r.PreTLSAuthMechanisms) > 0 {
		parts = append(parts, "before STARTTLS only challenge-response login ("+strings.Join(r.PreTLSAuthMechanisms, ", ")+"), no password in the clear")
	}
	if r.Quota != nil && r.Quota.LimitBytes > 0 {
		pct := 100 * float64(r.Quota.UsedBytes) / float64(r.Quota.LimitBytes)
		it.Figures["quota_used_ratio"] = pct / 100
		parts = append(parts, fmt.Sprintf("mailbox %.0f%% full", pct))
	}
	it.Summary = strings.Join(parts, ", ")
	it.Findings = endpointFindings(host, ep, r, now)
	it.Status = itemStatus(it.Findings)
	return it
}

func daysText(days float64) string {
	if days < 0 {
		return fmt.Sprintf("expired %.0f days ago", -days)
	}
	return fmt.Sprintf("valid %.0f more days", days)
}

// certNames lists the names a certificate covers, at most max of them:
// "mail.example.com and 9 more". The name dialled comes first when the
// certificate covers it, so the one that matters is the one shown.
func certNames(t *probe.TLSFacts, host string, max int) string {
	if t.DNSNames == "" {
		return t.Subject
	}
	names := strings.Split(t.DNSNames, ",")
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	for i, n := range names {
		if nameCovers(n, host) {
			names[0], names[i] = names[i], names[0]
			break
		}
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max-1], ", "), len(names)-max+1)
}

// nameCovers reports whether a certificate name (perhaps a wildcard of
// one label, RFC 6125 6.4.3) covers host.
func nameCovers(name, host string) bool {
	name, host = strings.ToLower(name), strings.ToLower(strings.TrimSuffix(host, "."))
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		_, parent, found := strings.Cut(host, ".")
		return found && parent == rest
	}
	return name == host
}

// phaseText is "connect 0.3 ms, tls 1.1 ms, greeting 2 ms, … total 9 ms".
func phaseText(r *probe.Result) string {
	var b []string
	for _, p := range r.Phases {
		if p.Phase == probe.PhaseResolve && p.Duration < time.Millisecond {
			continue
		}
		b = append(b, string(p.Phase)+" "+ms(p.Duration))
	}
	b = append(b, "total "+ms(r.Duration))
	return strings.Join(b, ", ")
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
}

// endpointFindings explains what went wrong, and what is merely worth
// knowing, in the words an admin would use.
func endpointFindings(host string, ep *config.Endpoint, r *probe.Result, now time.Time) []Finding {
	var fs []Finding
	addr := fmt.Sprintf("%s:%d", host, ep.Port)
	if !r.Success && r.Reason != probe.ReasonCertificate {
		st := Critical
		if r.Reason == probe.ReasonTempfail {
			st = Warning // the server is there and said "later": not down
		}
		fs = append(fs, Finding{Status: st, Code: string(r.Reason), Message: r.Error, Advice: reasonAdvice(r.Reason, addr, ep)})
	}
	if t := r.TLS; t != nil {
		if !t.Verified {
			st := Critical
			if !ep.VerifyCertificate {
				st = Warning
			}
			fs = append(fs, Finding{Status: st, Code: string(t.VerifyError), Message: "certificate does not verify: " + t.VerifyDetail,
				Advice: certAdvice(t, host)})
		} else if !t.NotAfter.IsZero() {
			days := t.NotAfter.Sub(now).Hours() / 24
			switch {
			case days < certCriticalDays:
				fs = append(fs, Finding{Status: Critical, Code: CodeCertExpiring, Message: fmt.Sprintf("certificate expires in %.1f days", days),
					Advice: "Renew the certificate now; clients will refuse it when it expires. If renewal is automated (ACME), check why it has not run."})
			case days < certWarnDays:
				fs = append(fs, Finding{Status: Warning, Code: CodeCertExpiring, Message: fmt.Sprintf("certificate expires in %.0f days", days),
					Advice: "Renew the certificate soon. If renewal is automated (ACME), it should have happened by now: check its logs."})
			}
		}
		if t.Version == "TLS 1.0" || t.Version == "TLS 1.1" {
			fs = append(fs, Finding{Status: Warning, Code: CodeTLSOld, Message: t.Version + " negotiated",
				Advice: "TLS 1.0 and 1.1 are deprecated (RFC 8996): enable TLS 1.2 and 1.3 on the server."})
		}
	}
	fs = append(fs, mxFindings(host, ep, r)...)
	if r.PlaintextAuthOffered != nil && *r.PlaintextAuthOffered {
		fs = append(fs, Finding{Status: Warning, Code: CodePlaintextAuth, Message: plaintextMessage(ep, r),
			Advice: "Clients could send passwords in the clear. Offer password logins only after STARTTLS (Postfix: smtpd_tls_auth_only = yes, or smtpd_sasl_security_options = noanonymous, noplaintext together with smtpd_sasl_tls_security_options = noanonymous, which otherwise inherits noplaintext and leaves no mechanism after TLS; Dovecot: disable_plaintext_auth = yes with ssl = yes or required)."})
	}
	return fs
}

// plaintextMessage names what sends the password in the clear before
// STARTTLS (the rule of probe's plaintext.go).
func plaintextMessage(ep *config.Endpoint, r *probe.Result) string {
	var what []string
	for _, m := range r.PreTLSAuthMechanisms {
		switch m {
		case "PLAIN", "LOGIN":
			if ep.Protocol == config.IMAP {
				what = append(what, "AUTH="+m) // as CAPABILITY spells it
			} else {
				what = append(what, "AUTH "+m)
			}
		case "USER":
			what = append(what, "USER/PASS")
		}
	}
	if ep.Protocol == config.IMAP && len(what) == 0 {
		what = append(what, "the LOGIN command (no LOGINDISABLED)")
	}
	if len(what) == 0 {
		return "password login offered before STARTTLS"
	}
	return "password login offered before STARTTLS: " + strings.Join(what, ", ")
}

func reasonAdvice(reason probe.Reason, addr string, ep *config.Endpoint) string {
	switch reason {
	case probe.ReasonDNS:
		return "The host name does not resolve. Check the A/AAAA records, or the name clients are told to use."
	case probe.ReasonConnect:
		return fmt.Sprintf("Nothing accepts connections on %s. Check that the service runs and listens on that port, and that no firewall drops it.", addr)
	case probe.ReasonTimeout:
		return "The server did not answer in time. An overloaded server, a firewall that drops packets, or a tarpit (postscreen) delaying the greeting all look like this; the phase timings show where it stalled."
	case probe.ReasonGreeting:
		return "The server did not greet properly (closed the connection, refused service, or spoke another protocol). Check that the right service listens on this port and its logs say why it refuses."
	case probe.ReasonStartTLSUnsupported:
		return "The server does not offer STARTTLS (or refused it), so mail and passwords would go unencrypted. Configure a certificate for the service (Postfix: smtpd_tls_cert_file; Dovecot: ssl_cert) or, if this port is implicit TLS, set tls: implicit."
	case probe.ReasonTLSHandshake:
		return "TLS could not be set up. The port may speak plaintext first (use STARTTLS), or the server's TLS configuration (protocols, ciphers, certificate file) is broken."
	case probe.ReasonTempfail:
		return "The server answered with a temporary failure (4xx): greylisting, a rate or connection limit (421 too many connections), or a policy that defers unknown clients. Senders retry, so mail is delayed, not lost; if it persists, check the limits for this client (Postfix: smtpd_client_connection_count_limit, postscreen, the greylisting policy) and the server's log for the reason."
	case probe.ReasonAuth:
		return "Login failed. Check the username and password, that the account is not locked, and that the server offers a mechanism after TLS (PLAIN or LOGIN)."
	}
	if ep.TLS == config.TLSImplicit {
		return "The server broke the protocol. Check that this port really speaks " + string(ep.Protocol) + " over implicit TLS."
	}
	return "The server broke the protocol (malformed or over-long replies, or a reset). Its logs should say why."
}

func certAdvice(t *probe.TLSFacts, host string) string {
	switch t.VerifyError {
	case probe.VerifyExpired:
		return fmt.Sprintf("The certificate expired on %s. Renew it and reload the service.", t.NotAfter.UTC().Format("2006-01-02"))
	case probe.VerifyNotYetValid:
		return fmt.Sprintf("The certificate is valid only from %s: check the server's clock, or wait for it to start.", t.NotBefore.UTC().Format("2006-01-02 15:04 MST"))
	case probe.VerifyHostnameMismatch:
		return fmt.Sprintf("The certificate covers %s, not %s: point clients at a name it covers, or add %s to the certificate.", certNames(t, host, 4), host, host)
	case probe.VerifyIncompleteChain:
		return "The server does not send the intermediate certificate its chain needs (" + t.VerifyDetail + "). Serve the full chain, " +
			"leaf first, then the intermediates: Postfix smtpd_tls_chain_files (or a fullchain.pem as smtpd_tls_cert_file); " +
			"Dovecot ssl_cert = </path/fullchain.pem. Clients that do not fetch it themselves refuse the connection."
	case probe.VerifyUnknownAuthority:
		return "The certificate is not signed by a trusted CA (self-signed, or the intermediate certificates are missing): serve the full chain, or use a certificate from a public CA."
	}
	return "The certificate chain is not acceptable: " + t.VerifyDetail
}
