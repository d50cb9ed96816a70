package dnscheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mx"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/starttls"
)

// tlsTarget is one place an MX host's certificate is read from: one of its
// addresses, or the host name when the dialling was injected (Options.DialSTARTTLS).
type tlsTarget struct {
	addr netip.Addr // invalid: the host as a whole
	dial func(ctx context.Context) (*tls.ConnectionState, error)
}

// where names the target in problem details.
func (t tlsTarget) where() string {
	if t.addr.IsValid() {
		return " (address " + t.addr.String() + ")"
	}
	return ""
}

// tlsTargets lists where h's certificate is checked: every address of the
// MX host, both families (the rule endpoint probes follow with addresses:
// all), at most maxAddrs; a sender may land on any of them. With an
// injected DialSTARTTLS, or an MX host without addresses, the host once.
func (e *env) tlsTargets(h mx.Host) []tlsTarget {
	name := h.Name
	if e.opt.DialSTARTTLS != nil || len(h.Addrs) == 0 {
		return []tlsTarget{{dial: func(ctx context.Context) (*tls.ConnectionState, error) { return e.tlsState(ctx, name) }}}
	}
	var out []tlsTarget
	for _, a := range h.Addrs {
		if len(out) == maxAddrs {
			break
		}
		out = append(out, tlsTarget{addr: a, dial: func(ctx context.Context) (*tls.ConnectionState, error) {
			return e.tlsStateAt(ctx, name, a)
		}})
	}
	return out
}

// tlsStateAt is the STARTTLS handshake with host on one address (SNI and
// EHLO as for the host), dialled once per run.
func (e *env) tlsStateAt(ctx context.Context, host string, a netip.Addr) (*tls.ConnectionState, error) {
	return e.cachedTLS(ctx, hostPort(host, e.port)+"@"+a.String(), func(ctx context.Context) (*tls.ConnectionState, error) {
		target := netip.AddrPortFrom(a, uint16(e.port)).String()
		dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		}
		cs, err := starttls.Dial(ctx, dial, host, e.port, e.opt.EHLOName)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		return cs, nil
	})
}
