package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// ErrHandshake marks a TLS handshake the server refused or broke off: the
// answer "not accepted" to the question HandshakeWith asks. Anything else it
// returns (no connection, no greeting, no STARTTLS, a timeout) means the
// question could not be asked.
var ErrHandshake = errors.New("TLS handshake refused")

// ErrNoTLS means the endpoint has no TLS to reach (tls: none).
var ErrNoTLS = errors.New("endpoint has no TLS")

// handedOff ends a probe at its TLS handshake: it carries the result of the
// caller's own handshake past the protocol code, which returns it unchanged.
type handedOff struct{ err error }

func (h *handedOff) Error() string {
	if h.err == nil {
		return "handed off"
	}
	return h.err.Error()
}
func (h *handedOff) Unwrap() error { return h.err }

// HandshakeWith reaches t's TLS handshake the way a probe does (resolve,
// connect; for STARTTLS the greeting, capabilities and STARTTLS of the
// endpoint's protocol) and runs a handshake with cfg there instead of the
// probe's own. It returns the connection state, or an error: one wrapping
// ErrHandshake when the server refused this handshake, any other when the
// handshake could not be reached. Nothing is sent over TLS: the connection
// is closed (close_notify) right after the handshake. t.Endpoint.Timeout
// bounds the whole attempt.
func HandshakeWith(ctx context.Context, t Target, cfg *tls.Config) (*tls.ConnectionState, error) {
	ep := t.Endpoint
	if ep.TLS != config.TLSImplicit && ep.TLS != config.TLSStartTLS {
		return nil, ErrNoTLS
	}
	now := t.Now
	if now == nil {
		now = time.Now
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()
	var state *tls.ConnectionState
	s := &session{t: t, log: log, now: now, r: &Result{Start: now()}}
	s.handoff = func(ctx context.Context, raw net.Conn) error {
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			if ctx.Err() != nil || isTimeout(err) {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			return fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		st := tc.ConnectionState()
		state = &st
		_ = tc.CloseWrite()
		return nil
	}
	fn := prober(ep.Protocol)
	if fn == nil {
		return nil, protocolError("unknown protocol %q", ep.Protocol)
	}
	err := s.run(ctx, fn)
	var h *handedOff
	switch {
	case errors.As(err, &h):
		if h.err != nil {
			return nil, h.err
		}
		return state, nil
	case err == nil:
		return nil, errors.New("the probe ended without a TLS handshake")
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return nil, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
