// Package probe runs one endpoint probe (SPEC section 2): resolve, connect,
// TLS, greeting, capabilities, STARTTLS, login and logout against an SMTP,
// IMAP or POP3 server, timing each phase. It knows nothing of scheduling or
// HTTP: a probe is a function from a Target to a Result.
package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
)

// Target is everything one probe needs. Its whole world comes in here: no
// globals, no flags.
type Target struct {
	Server string // the `server` label, for logs
	Host   string // DNS name or IP literal to dial
	// Address, when valid, is dialled instead of resolving Host (the
	// exporter resolves once per endpoint and probes each address as its
	// own check). Host still names the server in logs and SNI defaults.
	Address    netip.Addr
	ServerName string // SNI and the name the certificate must cover
	Endpoint   *config.Endpoint
	RootCAs    *x509.CertPool // nil = the system roots
	// Intermediates are CA certificates known from elsewhere (the non-root
	// certificates of a ca_file bundle). They never make a chain verify: a
	// chain that verifies only with one of them reads incomplete_chain.
	Intermediates *x509.CertPool
	EHLOName      string
	Resolver      Resolver
	Logger        *slog.Logger
	Transcript    *Transcript // nil unless a debug transcript was asked for
	Now           func() time.Time
	// IMAPOptions are passed to go-imap's client (e.g. a handler for the
	// unsolicited EXISTS that IDLE waits for); nil = defaults.
	IMAPOptions *imapclient.Options
	// ReadLimit caps the bytes a server may send in one probe; 0 = DefaultReadLimit.
	ReadLimit int64
	// RelayTest, when set on an SMTP endpoint, runs the open-relay test
	// after EHLO (and TLS) and before any login; see package relaytest.
	// An empty ServerDomain is filled in from Host.
	RelayTest *relaytest.Config
	// LookupPTR, when set, returns the PTR names of the address an SMTP
	// probe dialled, to compare with the greeting's host name; nil = no
	// comparison. It gets the probe's context.
	LookupPTR func(ctx context.Context, ip netip.Addr) ([]string, error)
	// Chains, when set, keeps the facts of chains that verified, so the
	// same chain is not verified on every probe; nil = verify every time.
	Chains *ChainCache
	// KeyShares, when set, spares the post-quantum key share to servers
	// that turned it down (see KeyShares); nil = Go's default offer always.
	KeyShares *KeyShares
}

// DefaultReadLimit bounds what a server may send during one probe. A mail
// handshake is a few kilobytes; a hostile server streaming an endless reply
// is cut off here instead of growing the exporter's memory.
const DefaultReadLimit = 1 << 20

// probeFn speaks one protocol. It records phases and facts into r and
// returns the error that ended the probe, if any (classified by failReason).
type probeFn func(ctx context.Context, s *session, r *Result) error

// prober returns the function that speaks protocol p, nil if none does.
func prober(p config.Protocol) probeFn {
	switch p {
	case config.SMTP:
		return probeSMTP
	case config.IMAP:
		return probeIMAP
	case config.POP3:
		return probePOP3
	}
	return nil
}

// Run probes t.Endpoint once, bounded by the endpoint's timeout (and ctx).
// It never panics on server input and always returns a Result.
func Run(ctx context.Context, t Target) *Result {
	return runProbe(ctx, t, nil)
}

// ErrUse marks an error returned by a With callback, so that callers can
// tell their own failures from the probe's.
var ErrUse = errors.New("session use failed")

// With probes t like Run, but once logged in hands the client to use
// (*smtp.Client for SMTP, *imapclient.Client for IMAP) before logging out.
// An error from use ends the probe with reason "protocol" and is wrapped
// with ErrUse. This is how end-to-end checks reuse the probe's dialling,
// TLS and login instead of repeating them.
func With(ctx context.Context, t Target, use func(client any) error) *Result {
	return runProbe(ctx, t, func(c any) error {
		if err := use(c); err != nil {
			return fail(ReasonProtocol, fmt.Errorf("%w: %w", ErrUse, err))
		}
		return nil
	})
}

func runProbe(ctx context.Context, t Target, use func(any) error) *Result {
	now := t.Now
	if now == nil {
		now = time.Now
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ep := t.Endpoint
	if t.Transcript != nil {
		t.Transcript.AddSecrets(secretsOf(ep)...)
		log = slog.New(teeHandler{log.Handler(), t.Transcript})
	}
	// Every line a probe logs is at debug level. Binding the attributes
	// formats them at once (slog's built-in handlers do), which is a visible
	// share of a probe's CPU when nobody will read them.
	if t.Transcript != nil || log.Enabled(ctx, slog.LevelDebug) {
		log = log.With("server", t.Server, "endpoint", ep.Name, "host", t.Host, "port", ep.Port)
		if t.Address.IsValid() {
			log = log.With("address", t.Address.String())
		}
	}

	r := &Result{Start: now()}
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()

	s := &session{t: t, log: log, now: now, r: r, use: use}
	fn := prober(ep.Protocol)
	var err error
	if fn == nil {
		err = protocolError("unknown protocol %q", ep.Protocol)
	} else {
		err = s.run(ctx, fn)
	}
	r.Duration = now().Sub(r.Start)
	if err != nil {
		r.Reason = failReason(ctx, err)
		r.Error = maskSecrets(err.Error(), secretsOf(ep))
		log.Debug("probe failed", "result", r.Reason, "err", r.Error, "duration", r.Duration)
	} else {
		r.Reason, r.Success = ReasonOK, true
		log.Debug("probe succeeded", "duration", r.Duration)
	}
	return r
}

// Failure is an error that knows its result reason.
type Failure struct {
	Reason Reason
	Err    error
}

// Error is the cause alone: the reason is reported separately (Result.Reason).
func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(reason Reason, err error) error { return &Failure{Reason: reason, Err: err} }

func protocolError(format string, args ...any) error {
	return fail(ReasonProtocol, fmt.Errorf(format, args...))
}

// failReason maps the error that ended a probe to its `result` label. A
// deadline beats everything: a server that stalls in any phase reads
// "timeout", which is what on-call needs to see.
func failReason(ctx context.Context, err error) Reason {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) || ctx.Err() != nil {
		return ReasonTimeout
	}
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ReasonProtocol
}

// phase starts timing p; the returned func stops it. Phases are recorded
// also when they fail, so a greeting that stalled shows how long it stalled.
func (s *session) phase(p Phase) func() {
	start := s.now()
	s.log.Debug("phase start", "phase", string(p))
	return func() { s.r.addPhase(p, s.now().Sub(start)) }
}

// secretsOf lists the strings a transcript must never show for t.
func secretsOf(ep *config.Endpoint) []string {
	if ep.Credential == nil || ep.Credential.Password.Reveal() == "" {
		return nil
	}
	c := ep.Credential
	// The SASL PLAIN blob too, so that its base64 form is masked wherever it
	// might appear (RFC 4616 2: authzid NUL authcid NUL passwd).
	return []string{c.Password.Reveal(), "\x00" + c.Username + "\x00" + c.Password.Reveal()}
}

func hasFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
