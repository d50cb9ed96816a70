package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// Resolver turns a host name into addresses. *net.Resolver satisfies it; the
// exporter passes one bound to global.resolver, tests pass a fake.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// NewResolver returns a resolver that sends every query to server
// ("host:port"), or the system resolver when server is "".
func NewResolver(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}

// ErrReadLimit means the server sent more than a probe will read.
var ErrReadLimit = errors.New("server sent more data than a probe reads")

// session is one probe's connection state. Connections are layered
//
//	TCP -> guardConn -> [tls.Conn] -> [tap, when a transcript is kept]
//
// and conn is always the top of that stack.
type session struct {
	t     Target
	log   *slog.Logger
	now   func() time.Time
	r     *Result
	guard *guardConn
	tls   *tls.Conn // once the handshake is done
	conn  net.Conn
	addr  netip.Addr // the address dialled
	// use, when set, is called with the logged-in client (*smtp.Client or
	// *imapclient.Client) before logout: see With.
	use func(client any) error
	// handoff, when set, replaces the probe's own TLS handshake: it gets
	// the raw connection and the probe ends there (see HandshakeWith).
	handoff func(ctx context.Context, raw net.Conn) error
}

// run resolves, connects, does implicit TLS, then hands over to fn. The
// connection is always closed before run returns, and a cancelled context
// unblocks any read at once (the whole probe has one deadline).
func (s *session) run(ctx context.Context, fn probeFn) error {
	if err := s.dial(ctx); err != nil {
		return err
	}
	defer s.close()
	stop := context.AfterFunc(ctx, s.guard.abort)
	defer stop()
	if s.t.Endpoint.TLS == "implicit" {
		if err := s.handshake(ctx); err != nil {
			return err
		}
	}
	return fn(ctx, s, s.r)
}

// close ends the connection: over TLS with a close_notify first (RFC 8446
// 6.1: each party sends one before closing its write side). The alert's
// write is bounded by the probe's deadline like every other.
func (s *session) close() {
	if s.tls != nil {
		_ = s.tls.Close()
		return
	}
	_ = s.guard.Close()
}

func (s *session) dial(ctx context.Context) error {
	addr := s.t.Address.Unmap()
	if !addr.IsValid() {
		// No address given: resolve and dial the first (roundtrips, the
		// check command's verification probes).
		done := s.phase(PhaseResolve)
		res := Resolve(ctx, s.t.Resolver, s.t.Host, config.AddressesFirst, s.now)
		done()
		if res.Err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail(ReasonDNS, res.Err)
		}
		addr = res.Addrs[0]
	}

	done := s.phase(PhaseConnect)
	var d net.Dialer
	target := netip.AddrPortFrom(addr, uint16(s.t.Endpoint.Port)).String()
	c, err := d.DialContext(ctx, "tcp", target)
	done()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(ReasonConnect, fmt.Errorf("connect %s: %w", target, err))
	}
	s.log.Debug("connected", "address", target)
	s.addr = addr
	deadline, _ := ctx.Deadline()
	limit := s.t.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	s.guard = &guardConn{Conn: c, hard: deadline, limit: limit}
	_ = s.guard.SetDeadline(deadline)
	s.setConn(s.guard)
	return nil
}

// setConn makes c the top of the connection stack, tapping it into the
// transcript when one is kept.
func (s *session) setConn(c net.Conn) {
	if s.t.Transcript != nil {
		c = s.t.Transcript.tap(c)
	}
	s.conn = c
}

// guardConn enforces the probe's limits below every library: no deadline can
// be set past the probe's own (go-smtp resets deadlines per command), a
// cancelled probe unblocks at once, and reads stop after limit bytes.
type guardConn struct {
	net.Conn
	hard    time.Time
	limit   int64
	read    atomic.Int64
	aborted atomic.Bool
	mu      sync.Mutex
}

func (g *guardConn) Read(p []byte) (int, error) {
	left := g.limit - g.read.Load()
	if left <= 0 {
		return 0, fail(ReasonProtocol, fmt.Errorf("%w (%d bytes)", ErrReadLimit, g.limit))
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := g.Conn.Read(p)
	g.read.Add(int64(n))
	return n, err
}

func (g *guardConn) clamp(t time.Time) time.Time {
	if g.aborted.Load() {
		return time.Unix(1, 0)
	}
	if g.hard.IsZero() {
		return t
	}
	if t.IsZero() || t.After(g.hard) {
		return g.hard
	}
	return t
}

func (g *guardConn) SetDeadline(t time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Conn.SetDeadline(g.clamp(t))
}

func (g *guardConn) SetReadDeadline(t time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Conn.SetReadDeadline(g.clamp(t))
}

func (g *guardConn) SetWriteDeadline(t time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Conn.SetWriteDeadline(g.clamp(t))
}

// abort makes every pending and future read or write fail at once.
func (g *guardConn) abort() {
	g.aborted.Store(true)
	_ = g.SetDeadline(time.Time{})
}

// replayConn lets a client library start on a connection whose first bytes
// were already consumed by us: it reads prefix first, then rest.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
