package probe

import (
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/pop3"
)

// What a server offers before TLS, judged the same way for the three
// protocols: a login is "plaintext" when the password itself crosses the
// wire (encoded, not encrypted). That is SASL PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login), IMAP's LOGIN command (RFC 9051 6.2.3) and
// POP3's USER/PASS (RFC 1939 7). Challenge-response mechanisms (CRAM-MD5
// RFC 2195, DIGEST-MD5 RFC 2831, SCRAM-* RFC 5802/7677, NTLM, GSSAPI) send
// a proof derived from the password, never the password: offering them
// before TLS is recorded (PreTLSAuthMechanisms), not called plaintext.

// plaintextMechanisms are the SASL mechanisms that carry the password as is.
var plaintextMechanisms = []string{"PLAIN", "LOGIN"}

func anyPlaintext(mechs []string) bool {
	for _, m := range plaintextMechanisms {
		if hasFold(mechs, m) {
			return true
		}
	}
	return false
}

// smtpMechanisms returns the mechanisms of an EHLO reply's AUTH keyword
// (RFC 4954 3), upper case, sorted. A bare "AUTH" line offers none. The
// pre-standard "AUTH=LOGIN PLAIN" form some servers add for old clients
// counts as well. ext is keyed by the line's first word, upper case.
func smtpMechanisms(ext map[string]string) []string {
	var mechs []string
	for k, v := range ext {
		switch {
		case k == "AUTH":
			mechs = append(mechs, strings.Fields(v)...)
		case strings.HasPrefix(k, "AUTH="):
			mechs = append(mechs, strings.TrimPrefix(k, "AUTH="))
			mechs = append(mechs, strings.Fields(v)...)
		}
	}
	return upperSorted(nonEmpty(mechs))
}

// imapPreTLS returns the AUTH= mechanisms of a pre-TLS CAPABILITY and
// whether a plaintext login is offered: LOGIN is allowed unless
// LOGINDISABLED is advertised (RFC 9051 6.2.3, 7.2.2), or AUTH=PLAIN or
// AUTH=LOGIN is. caps are upper-case atoms.
func imapPreTLS(caps map[string]bool) (mechs []string, plaintext bool) {
	for c := range caps {
		if m, ok := strings.CutPrefix(c, "AUTH="); ok {
			mechs = append(mechs, m)
		}
	}
	mechs = upperSorted(nonEmpty(mechs))
	return mechs, !caps["LOGINDISABLED"] || anyPlaintext(mechs)
}

// pop3PreTLS returns the SASL mechanisms of a pre-TLS CAPA (RFC 2449 6.3,
// RFC 5034), with USER when it is advertised (RFC 2449 6.2), and whether a
// plaintext login is offered: USER, or SASL PLAIN or LOGIN. A server that
// answers CAPA with -ERR advertises nothing.
func pop3PreTLS(caps []string) (mechs []string, plaintext bool) {
	mechs = pop3.SASLMechanisms(caps)
	user := pop3.HasCapability(caps, "USER")
	if user {
		mechs = append(mechs, "USER")
	}
	mechs = upperSorted(mechs)
	return mechs, user || anyPlaintext(mechs)
}

func nonEmpty(v []string) []string {
	out := v[:0]
	for _, s := range v {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
