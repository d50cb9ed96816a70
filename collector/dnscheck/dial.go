package dnscheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/starttls"
)

// ResolvingDialer returns a DialContext that resolves host names with r, the
// one resolver of every check, instead of the system's, and tries each
// address in turn.
func ResolvingDialer(r Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (_ net.Conn, err error) {
		// http.Transport dials on its own goroutine, out of Run's recover.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("internal error: %v", p)
			}
		}()
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		if ip, err := netip.ParseAddr(host); err == nil {
			return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		}
		addrs, _, _, err := resolver.Addrs(ctx, r, host)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("%s has no address", host)
		}
		var errs []error
		for _, ip := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return nil, errors.Join(errs...)
	}
}

// DefaultDialSTARTTLS returns the DialSTARTTLS used when Options has none:
// it resolves host through r, connects to host:port, says EHLO ehlo, issues
// STARTTLS and returns the unverified TLS state (package starttls).
func DefaultDialSTARTTLS(r Resolver, ehlo string) func(ctx context.Context, host string, port int) (*tls.ConnectionState, error) {
	dial := ResolvingDialer(r)
	return func(ctx context.Context, host string, port int) (*tls.ConnectionState, error) {
		return starttls.Dial(ctx, dial, host, port, ehlo)
	}
}

// hostPort is a cache key.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
