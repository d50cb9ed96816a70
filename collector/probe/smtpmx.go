package probe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
)

// The inbound-MX parts of the SMTP probe: the relay test, and the banner
// names against the PTR names of the address dialled. Both reuse the
// probe's session (dialling, TLS, EHLO) through these two hooks.

// relayTest runs the relay test on c and records it in r. It returns a
// tempfail Failure when the server deferred (RFC 5321 4.2.1 4yz), another
// error when the session broke.
func (s *session) relayTest(ctx context.Context, c *smtp.Client, r *Result) error {
	cfg := *s.t.RelayTest
	if cfg.ServerDomain == "" {
		cfg.ServerDomain = domainOf(s.t.Host)
	}
	if cfg.From == "" {
		cfg.From = relaytest.DefaultFrom(s.t.EHLOName)
	}
	cfg.Now = s.now
	res, err := relaytest.Run(ctx, c, cfg)
	r.Relay = res
	r.addPhase(PhaseTransaction, res.Transaction)
	s.log.Debug("relay test", "verdict", string(res.Verdict), "tempfail", res.Tempfail)
	if err != nil {
		return fmt.Errorf("relay test: %w", err)
	}
	if res.Tempfail {
		return fail(ReasonTempfail, fmt.Errorf("relay test deferred: %s", deferredText(res)))
	}
	return nil
}

// deferredText quotes the first 4xx reply of a relay test.
func deferredText(res *relaytest.Result) string {
	for _, rp := range append([]relaytest.Reply{res.Mail}, res.Rcpts...) {
		if rp.Outcome == relaytest.Defer {
			return fmt.Sprintf("%s: %d %s", rp.Command, rp.Code, rp.Text) // clipped to 200 by relaytest
		}
	}
	return "4xx"
}

// domainOf writes host as the domain part of an address: a DNS name as is,
// an IP as an address literal (RFC 5321 4.1.3).
func domainOf(host string) string {
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return strings.TrimSuffix(host, ".")
	case ip.To4() != nil:
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + ip.String() + "]"
}

// lookupPTR fills in the PTR names of the address dialled, when the
// target has a PTR lookup and a greeting was read.
func (s *session) lookupPTR(ctx context.Context, r *Result) {
	if s.t.LookupPTR == nil || r.Banner == nil || !s.addr.IsValid() {
		return
	}
	names, err := s.t.LookupPTR(ctx, s.addr)
	if err != nil {
		r.Banner.PTRError = clip(err.Error())
		s.log.Debug("PTR lookup failed", "address", s.addr.String(), "err", r.Banner.PTRError)
		return
	}
	r.Banner.PTRChecked, r.Banner.PTRNames = true, banner.NormalizeNames(names)
	s.log.Debug("PTR names", "address", s.addr.String(), "names", strings.Join(r.Banner.PTRNames, " "),
		"greeting_host", r.Banner.GreetingHost, "matches", r.Banner.MatchesPTR())
}

// ehloSniffer keeps the first line of the reply to the EHLO that go-smtp
// sends, which go-smtp itself drops: "250-mx.example.com Hello ...".
type ehloSniffer struct {
	net.Conn
	armed bool
	line  []byte
	done  bool
}

func (e *ehloSniffer) Write(p []byte) (int, error) {
	if !e.done && bytes.HasPrefix(bytes.ToUpper(p), []byte("EHLO ")) {
		e.armed = true
	}
	return e.Conn.Write(p)
}

func (e *ehloSniffer) Read(p []byte) (int, error) {
	n, err := e.Conn.Read(p)
	if e.armed && !e.done {
		chunk := p[:n]
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk, e.done = chunk[:i], true
		}
		if len(e.line)+len(chunk) <= maxLineBytes {
			e.line = append(e.line, chunk...)
		} else {
			e.done = true
		}
	}
	return n, err
}

// host is the host name of the EHLO reply's first line, "" when it was
// not a 250 reply (RFC 5321 4.1.1.1).
func (e *ehloSniffer) host() string {
	line := strings.TrimRight(string(e.line), "\r")
	if !e.done || len(line) < 4 || !strings.HasPrefix(line, "250") || (line[3] != '-' && line[3] != ' ') {
		return ""
	}
	return banner.Host(line[4:])
}
