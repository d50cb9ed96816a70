package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultResolvConf is read when no server is configured.
const DefaultResolvConf = "/etc/resolv.conf"

// attemptTimeout bounds one UDP attempt when the context allows more; a lost
// datagram then costs one retry, not the whole check.
const attemptTimeout = 2 * time.Second

// udpSize is the EDNS0 buffer size advertised (DNS flag day 2020: 1232).
const udpSize = 1232

// Client queries one recursive resolver.
type Client struct {
	Server string // host:port
}

// New returns a client for server ("host:port", or a bare host for port 53).
// With server "" it uses the first nameserver of /etc/resolv.conf.
func New(server string) (*Client, error) {
	if server == "" {
		return FromResolvConf(DefaultResolvConf)
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	return &Client{Server: server}, nil
}

// FromResolvConf returns a client for the first nameserver listed in path.
func FromResolvConf(path string) (*Client, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(cc.Servers) == 0 {
		return nil, fmt.Errorf("%s lists no nameserver", path)
	}
	return &Client{Server: net.JoinHostPort(cc.Servers[0], cc.Port)}, nil
}

// Lookup sends one recursive query with the AD bit set, over UDP, and again
// over TCP when the reply is truncated. The context's deadline bounds it.
func (c *Client) Lookup(ctx context.Context, name string, qtype uint16) (Answer, error) {
	name = dns.Fqdn(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return Answer{}, fmt.Errorf("%w: %q is not a domain name", ErrDNS, name)
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true // RFC 6840 5.7: ask for the AD bit without DO
	m.SetEdns0(udpSize, false)

	reply, err := c.exchange(ctx, m, "udp")
	if err == nil && reply.Truncated {
		reply, err = c.exchange(ctx, m, "tcp")
	}
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %s %s: %v", ErrDNS, name, dns.TypeToString[qtype], err)
	}
	a := Answer{
		Records:           reply.Answer,
		Authority:         reply.Ns,
		Rcode:             reply.Rcode,
		AuthenticatedData: reply.AuthenticatedData,
	}
	return a, rcodeError(name, qtype, reply.Rcode)
}

// exchange sends m over network; UDP gets a second attempt when the first
// times out and the context has time left.
func (c *Client) exchange(ctx context.Context, m *dns.Msg, network string) (*dns.Msg, error) {
	attempts := 1
	if network == "udp" {
		attempts = 2
	}
	var err error
	for i := 0; i < attempts; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		timeout := attemptTimeout
		if network == "tcp" {
			timeout = 2 * attemptTimeout
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
			timeout = time.Until(dl)
		}
		cl := &dns.Client{Net: network, Timeout: timeout, UDPSize: udpSize}
		var reply *dns.Msg
		reply, _, err = cl.ExchangeContext(ctx, m, c.Server)
		if err == nil {
			if err := matches(m, reply); err != nil {
				return nil, err
			}
			return reply, nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			break
		}
	}
	return nil, err
}

// matches checks that the reply answers the question asked (RFC 5452 9.1).
func matches(q, r *dns.Msg) error {
	if !r.Response || len(r.Question) != 1 {
		return errors.New("malformed reply")
	}
	if !strings.EqualFold(r.Question[0].Name, q.Question[0].Name) || r.Question[0].Qtype != q.Question[0].Qtype {
		return errors.New("reply to another question")
	}
	return nil
}
