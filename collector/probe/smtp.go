package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/config"
)

// probeSMTP probes an SMTP endpoint (RFC 5321, STARTTLS RFC 3207, AUTH
// RFC 4954). The greeting, the pre-TLS EHLO and STARTTLS are spoken by our
// bounded reader; go-smtp takes over for EHLO, AUTH and QUIT.
func probeSMTP(ctx context.Context, s *session, r *Result) error {
	ep := s.t.Endpoint
	lr := newLineReader(s.conn)

	done := s.phase(PhaseGreeting)
	code, lines, err := lr.readSMTPReply()
	done()
	if err != nil {
		return greetingError(err)
	}
	// RFC 5321 4.2: 220 is service ready; 554 means "go away"; a 4xx
	// (421 service not available, RFC 5321 3.8) means "not now".
	if code/100 == 4 {
		return fail(ReasonTempfail, fmt.Errorf("greeting %d %s", code, clip(strings.Join(lines, " "))))
	}
	if code != 220 {
		return fail(ReasonGreeting, fmt.Errorf("greeting %d %s", code, clip(lines[0])))
	}
	r.Banner = &banner.Facts{GreetingHost: banner.Host(lines[0])}
	defer s.lookupPTR(ctx, r)

	if ep.TLS == config.TLSStartTLS {
		done = s.phase(PhaseCapabilities)
		ext, _, err := smtpEHLO(s, lr)
		done()
		if err != nil {
			return err
		}
		_, offered := ext["STARTTLS"]
		r.PreTLSAuthMechanisms = smtpMechanisms(ext)
		r.StartTLSOffered = boolPtr(offered)
		r.PlaintextAuthOffered = boolPtr(anyPlaintext(r.PreTLSAuthMechanisms))
		if !offered {
			return fail(ReasonStartTLSUnsupported, errors.New("STARTTLS not offered"))
		}
		done = s.phase(PhaseStartTLS)
		err = smtpStartTLS(s, lr)
		done()
		if err != nil {
			return err
		}
		if err := s.handshake(ctx); err != nil {
			return err
		}
		lr.reset(s.conn)
	}

	if s.t.RelayTest == nil && s.use == nil {
		return smtpLogin(s, lr, r)
	}
	return smtpTransactions(ctx, s, lr, lines[0], r)
}

// smtpLogin ends the usual probe on the probe's own reader: EHLO, AUTH when
// a credential is set, QUIT. That is all it needs, and go-smtp's client
// would add two buffers, two deadline changes per command and four reader
// layers to every probe.
func smtpLogin(s *session, lr *lineReader, r *Result) error {
	ep := s.t.Endpoint
	done := s.phase(PhaseCapabilities)
	ext, host, err := smtpEHLO(s, lr)
	done()
	if err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	recordEHLO(r, ep.TLS, host, ext["AUTH"])

	if cred := ep.Credential; cred != nil {
		done = s.phase(PhaseAuth)
		err = smtpAuthLine(s, lr, r.AuthMechanisms, cred)
		done()
		r.AuthSuccess = boolPtr(err == nil)
		if err != nil {
			return err
		}
	}

	done = s.phase(PhaseLogout)
	err = smtpQuit(s, lr)
	done()
	return err
}

// smtpTransactions ends a probe that needs SMTP transactions after EHLO
// (the relay test, a With hook such as the roundtrip's submission) on
// go-smtp's client.
func smtpTransactions(ctx context.Context, s *session, lr *lineReader, greeting string, r *Result) error {
	ep := s.t.Endpoint
	// go-smtp insists on reading a greeting first; after STARTTLS there is
	// none (RFC 3207 4.2), and before it we read the real one ourselves, so
	// it is shown a one-line copy of it.
	sn := &ehloSniffer{Conn: replayConn{Conn: s.conn, r: io.MultiReader(strings.NewReader("220 "+clip(greeting)+"\r\n"), lr.br)}}
	c := smtp.NewClient(sn)
	defer c.Close()

	done := s.phase(PhaseCapabilities)
	err := c.Hello(s.t.EHLOName)
	done()
	if err != nil {
		return smtpError(err, ReasonProtocol, "EHLO")
	}
	_, mechs := c.Extension("AUTH")
	recordEHLO(r, ep.TLS, sn.host(), mechs)

	// The relay test runs before any login: relaying for a logged-in user
	// is what submission is for.
	var later error // a tempfail of the relay test, reported once the session ends
	if s.t.RelayTest != nil {
		later = s.relayTest(ctx, c, r)
		if later != nil && failReason(ctx, later) != ReasonTempfail {
			return later
		}
		if r.Relay.Closing() {
			return later // 421: the server hung up
		}
	}

	if cred := ep.Credential; cred != nil {
		done = s.phase(PhaseAuth)
		err = smtpAuth(c, r.AuthMechanisms, cred)
		done()
		r.AuthSuccess = boolPtr(err == nil)
		if err != nil {
			return err
		}
	}

	if s.use != nil {
		if err := s.use(c); err != nil {
			return err
		}
	}

	done = s.phase(PhaseLogout)
	err = c.Quit()
	done()
	if err != nil && !isClosed(err) {
		return smtpError(err, ReasonProtocol, "QUIT")
	}
	return later
}

// recordEHLO keeps what the EHLO after TLS (or the only one, without TLS)
// told: the server's name and the AUTH keyword's mechanisms.
func recordEHLO(r *Result, mode config.TLSMode, host, authParam string) {
	r.Banner.EHLOHost = host
	r.AuthMechanisms = upperSorted(strings.Fields(authParam))
	if mode == config.TLSNone {
		r.PreTLSAuthMechanisms = r.AuthMechanisms
	}
}

// smtpEHLO sends EHLO and returns the extensions keyed by upper-case
// keyword and the host name the reply's first line gives (RFC 5321
// 4.1.1.1). A server that rejects EHLO gets HELO and offers no extensions.
func smtpEHLO(s *session, lr *lineReader) (ext map[string]string, host string, err error) {
	if err := writeLine(s.conn, "EHLO %s", s.t.EHLOName); err != nil {
		return nil, "", err
	}
	code, lines, err := lr.readSMTPReply()
	if err != nil {
		return nil, "", err
	}
	if code == 500 || code == 502 {
		if err := writeLine(s.conn, "HELO %s", s.t.EHLOName); err != nil {
			return nil, "", err
		}
		if code, _, err = lr.readSMTPReply(); err != nil {
			return nil, "", err
		}
		if code != 250 {
			return nil, "", protocolError("HELO refused with %d", code)
		}
		return map[string]string{}, "", nil
	}
	if code != 250 {
		return nil, "", protocolError("EHLO refused with %d %s", code, clip(lines[0]))
	}
	ext = make(map[string]string, len(lines))
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		ext[strings.ToUpper(k)] = v
	}
	return ext, banner.Host(lines[0]), nil
}

// smtpStartTLS sends STARTTLS and checks the reply. Anything the server
// sent after the 220 would be read as if it came over TLS: that is the
// command-injection flaw of RFC 3207 section 6, so it is refused.
func smtpStartTLS(s *session, lr *lineReader) error {
	if err := writeLine(s.conn, "STARTTLS"); err != nil {
		return err
	}
	code, lines, err := lr.readSMTPReply()
	if err != nil {
		return err
	}
	if code != 220 {
		return fail(ReasonStartTLSUnsupported, fmt.Errorf("STARTTLS refused: %d %s", code, clip(lines[0])))
	}
	if lr.br.Buffered() > 0 {
		return protocolError("server sent data after its STARTTLS reply")
	}
	return nil
}

// smtpAuth logs in on go-smtp's client (see smtpSASL).
func smtpAuth(c *smtp.Client, mechs []string, cred *config.Credential) error {
	a, err := smtpSASL(mechs, cred)
	if err != nil {
		return err
	}
	if err := c.Auth(a); err != nil {
		return smtpError(err, ReasonAuth, "AUTH")
	}
	return nil
}

// smtpError classifies a go-smtp error: a server reply becomes reason with
// the reply code; anything else (a timeout, a reset) passes through.
func smtpError(err error, reason Reason, cmd string) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fail(reason, fmt.Errorf("%s refused: %d %s", cmd, se.Code, clip(se.Message)))
	}
	if reason == ReasonAuth && !isNetErr(err) {
		return fail(reason, fmt.Errorf("%s: %w", cmd, err))
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// greetingError files every failure to read a greeting under "greeting"
// (a timeout still reads "timeout": failReason checks deadlines first).
func greetingError(err error) error {
	return fail(ReasonGreeting, fmt.Errorf("greeting: %w", err))
}

func upperSorted(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		s = strings.ToUpper(s)
		if !hasFold(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
