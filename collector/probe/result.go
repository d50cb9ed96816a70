package probe

import (
	"time"

	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
)

// Phase names one timed step of a probe (SPEC section 2).
type Phase string

const (
	PhaseResolve      Phase = "resolve"
	PhaseConnect      Phase = "connect"
	PhaseTLSHandshake Phase = "tls_handshake"
	PhaseGreeting     Phase = "greeting"
	PhaseCapabilities Phase = "capabilities"
	PhaseStartTLS     Phase = "starttls"
	PhaseAuth         Phase = "auth"
	PhaseQuota        Phase = "quota"
	PhaseTransaction  Phase = "transaction" // MAIL FROM through the last RCPT reply (relay test)
	PhaseLogout       Phase = "logout"
)

// Reason is the `result` label of mail_probe_result_info: why a probe ended.
type Reason string

const (
	ReasonOK                  Reason = "ok"
	ReasonDNS                 Reason = "dns"
	ReasonConnect             Reason = "connect"
	ReasonTimeout             Reason = "timeout"
	ReasonGreeting            Reason = "greeting"
	ReasonStartTLSUnsupported Reason = "starttls_unsupported"
	ReasonTLSHandshake        Reason = "tls_handshake"
	ReasonCertificate         Reason = "certificate"
	ReasonAuth                Reason = "auth"
	ReasonProtocol            Reason = "protocol"
	// ReasonTempfail: a 4xx greeting, or a 4xx at MAIL/RCPT in a relay test
	// (greylisting, rate limits, 421 too many connections). The server is
	// there and said "later": distinct from down (SPEC 6.2).
	ReasonTempfail Reason = "tempfail"
)

// PhaseTiming is how long one phase took. A phase that runs twice (the
// capabilities exchange before and after STARTTLS) is summed into one entry,
// so there is one series per phase.
type PhaseTiming struct {
	Phase    Phase
	Duration time.Duration
}

// Result is what one endpoint probe found: plain data, no metrics, no
// connections. The exporter stores the latest Result per check and turns it
// into metrics at scrape time.
type Result struct {
	Start    time.Time
	Duration time.Duration
	Success  bool
	Reason   Reason
	Error    string // why it failed, for logs and the status page; never holds a secret

	Phases []PhaseTiming

	// TLS is set whenever a handshake produced a certificate, also when
	// verification failed: an expired certificate reads "expired", not "down".
	TLS *TLSFacts

	// Set only on starttls endpoints, once the pre-TLS capabilities were read.
	// PlaintextAuthOffered: a login that sends the password itself (SASL
	// PLAIN or LOGIN, IMAP without LOGINDISABLED, POP3 USER) was offered
	// before TLS (plaintext.go).
	StartTLSOffered      *bool
	PlaintextAuthOffered *bool

	// Mechanisms offered after TLS where there is TLS (upper case, sorted);
	// the list a login chooses from. POP3's USER/PASS shows as "USER".
	AuthMechanisms []string
	// PreTLSAuthMechanisms are the mechanisms offered on the unencrypted
	// connection: before STARTTLS, or on a `tls: none` endpoint (where they
	// equal AuthMechanisms). IMAP's LOGIN command is not listed; it is in
	// PlaintextAuthOffered.
	PreTLSAuthMechanisms []string
	// AuthSuccess is nil where no credential applies or login was not reached.
	AuthSuccess *bool

	Quota *Quota

	// Banner holds the SMTP greeting and EHLO host names (SMTP only, set
	// once a greeting was read).
	Banner *banner.Facts
	// Relay is the relay test's outcome, where one ran.
	Relay *relaytest.Result
}

// Quota is the INBOX quota root's usage (RFC 9208), in bytes.
type Quota struct {
	UsedBytes, LimitBytes  int64
	Messages, MessageLimit int64 // -1 when the server does not report MESSAGE
}

// TLSFacts are the facts about one TLS session that metrics need. They are
// extracted right after the handshake, so no certificate is kept alive.
type TLSFacts struct {
	Version       string // "TLS 1.3"
	Cipher        string // Go's cipher suite name
	NotBefore     time.Time
	NotAfter      time.Time
	ChainNotAfter time.Time // earliest expiry in the verified chain, else the presented one
	Verified      bool
	VerifyError   VerifyError // "" when verified
	VerifyDetail  string      // the verifier's message, for humans
	Subject       string
	Issuer        string
	Serial        string
	DNSNames      string // comma-separated SANs
	Fingerprint   string // SHA-256 of the leaf DER, lower-case hex
}

// VerifyError is the `error` label of mail_tls_cert_verify_error_info.
type VerifyError string

const (
	VerifyExpired          VerifyError = "expired"
	VerifyNotYetValid      VerifyError = "not_yet_valid"
	VerifyUnknownAuthority VerifyError = "unknown_authority"
	VerifyHostnameMismatch VerifyError = "hostname_mismatch"
	// VerifyIncompleteChain: the chain verifies only with an intermediate
	// the server did not send (SPEC 6.2). Verification is strict, like
	// `openssl s_client -CAfile roots`: intermediates known from elsewhere
	// (Target.Intermediates) only tell this apart from unknown_authority.
	VerifyIncompleteChain VerifyError = "incomplete_chain"
	VerifyOther           VerifyError = "other"
)

// addPhase adds d to phase p, keeping first-run order.
func (r *Result) addPhase(p Phase, d time.Duration) {
	for i := range r.Phases {
		if r.Phases[i].Phase == p {
			r.Phases[i].Duration += d
			return
		}
	}
	r.Phases = append(r.Phases, PhaseTiming{Phase: p, Duration: d})
}

// PhaseDuration returns the time spent in p and whether p ran.
func (r *Result) PhaseDuration(p Phase) (time.Duration, bool) {
	for _, pt := range r.Phases {
		if pt.Phase == p {
			return pt.Duration, true
		}
	}
	return 0, false
}

func boolPtr(b bool) *bool { return &b }
