package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// probeIMAP probes an IMAP endpoint (RFC 9051 / RFC 3501; STARTTLS RFC 9051
// 6.2.1; QUOTA RFC 9208). The greeting, pre-TLS CAPABILITY and STARTTLS are
// read by our bounded reader; go-imap takes over after that.
func probeIMAP(ctx context.Context, s *session, r *Result) error {
	ep := s.t.Endpoint
	lr := newLineReader(s.conn)

	done := s.phase(PhaseGreeting)
	line, err := lr.readLine()
	done()
	if err != nil {
		return greetingError(err)
	}
	// RFC 9051 7.1: the greeting is OK, PREAUTH or BYE.
	status, _, _ := strings.Cut(strings.TrimPrefix(line, "* "), " ")
	switch {
	case !strings.HasPrefix(line, "* "):
		return fail(ReasonGreeting, fmt.Errorf("unexpected greeting %q", clip(line)))
	case strings.EqualFold(status, "OK"):
	case strings.EqualFold(status, "PREAUTH") && ep.TLS != config.TLSStartTLS:
	case strings.EqualFold(status, "PREAUTH"):
		// RFC 9051 11.1: STARTTLS is impossible after PREAUTH.
		return fail(ReasonStartTLSUnsupported, errors.New("PREAUTH greeting on a STARTTLS endpoint"))
	default:
		return fail(ReasonGreeting, fmt.Errorf("greeting %q", clip(line)))
	}

	if ep.TLS == config.TLSStartTLS {
		done = s.phase(PhaseCapabilities)
		caps, err := imapCapabilities(s, lr)
		done()
		if err != nil {
			return err
		}
		offered := caps["STARTTLS"]
		r.StartTLSOffered = boolPtr(offered)
		mechs, plain := imapPreTLS(caps)
		r.PreTLSAuthMechanisms, r.PlaintextAuthOffered = mechs, boolPtr(plain)
		if !offered {
			return fail(ReasonStartTLSUnsupported, errors.New("STARTTLS not offered"))
		}
		done = s.phase(PhaseStartTLS)
		err = imapStartTLS(s, lr)
		done()
		if err != nil {
			return err
		}
		if err := s.handshake(ctx); err != nil {
			return err
		}
		lr.reset(s.conn)
	}

	c := imapclient.New(replayConn{Conn: s.conn, r: io.MultiReader(strings.NewReader("* OK ready\r\n"), lr.br)}, s.t.IMAPOptions)
	defer c.Close()

	done = s.phase(PhaseCapabilities)
	caps, err := c.Capability().Wait()
	done()
	if err != nil {
		return imapError(err, ReasonProtocol, "CAPABILITY")
	}
	r.AuthMechanisms = upperSorted(caps.AuthMechanisms())
	if ep.TLS == config.TLSNone {
		r.PreTLSAuthMechanisms = r.AuthMechanisms
	}

	if cred := ep.Credential; cred != nil {
		done = s.phase(PhaseAuth)
		err = imapLogin(c, caps, cred)
		done()
		r.AuthSuccess = boolPtr(err == nil)
		if err != nil {
			return err
		}
		// Servers announce more after login (Dovecot lists QUOTA only
		// then, RFC 9051 7.2.2); go-imap tracks the new set.
		if c.Caps().Has(imap.CapQuota) {
			done = s.phase(PhaseQuota)
			r.Quota, err = imapQuota(c)
			done()
			if err != nil {
				return err
			}
		}
	}

	if s.use != nil {
		if err := s.use(c); err != nil {
			return err
		}
	}

	done = s.phase(PhaseLogout)
	err = c.Logout().Wait()
	done()
	if err != nil && !isClosed(err) {
		return imapError(err, ReasonProtocol, "LOGOUT")
	}
	return nil
}

// imapCapabilities sends CAPABILITY and collects the untagged reply's
// atoms, upper-cased.
func imapCapabilities(s *session, lr *lineReader) (map[string]bool, error) {
	caps := map[string]bool{}
	err := imapCommand(s, lr, "C1", "CAPABILITY", func(line string) {
		if rest, ok := cutFold(line, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(rest) {
				caps[strings.ToUpper(c)] = true
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return caps, nil
}

// imapStartTLS sends STARTTLS; data after the tagged OK would be read as if
// it came over TLS (RFC 9051 6.2.1 forbids acting on it), so it is refused.
func imapStartTLS(s *session, lr *lineReader) error {
	err := imapCommand(s, lr, "C2", "STARTTLS", nil)
	var f *Failure
	if errors.As(err, &f) && f.Reason == ReasonProtocol && errors.Is(err, errIMAPStatus) {
		return fail(ReasonStartTLSUnsupported, err)
	}
	if err != nil {
		return err
	}
	if lr.br.Buffered() > 0 {
		return protocolError("server sent data after its STARTTLS reply")
	}
	return nil
}

var errIMAPStatus = errors.New("command refused")

// imapCommand sends "tag cmd" and reads lines up to the tagged status,
// passing untagged lines to untagged.
func imapCommand(s *session, lr *lineReader, tag, cmd string, untagged func(string)) error {
	if err := writeLine(s.conn, "%s %s", tag, cmd); err != nil {
		return err
	}
	for i := 0; i < maxReplyLines; i++ {
		line, err := lr.readLine()
		if err != nil {
			return err
		}
		if rest, ok := cutFold(line, tag+" "); ok {
			if st, _, _ := strings.Cut(rest, " "); strings.EqualFold(st, "OK") {
				return nil
			}
			return protocolError("%s: %w: %s", cmd, errIMAPStatus, clip(rest))
		}
		if strings.HasPrefix(line, "* BYE") {
			return protocolError("%s: server said %s", cmd, clip(line))
		}
		if untagged != nil {
			untagged(line)
		}
	}
	return protocolError("%s: %w", cmd, ErrTooManyLines)
}

// imapLogin uses AUTHENTICATE PLAIN (RFC 4959) where offered, else LOGIN
// unless the server disabled it.
func imapLogin(c *imapclient.Client, caps imap.CapSet, cred *config.Credential) error {
	var err error
	switch {
	case caps.Has(imap.AuthCap(sasl.Plain)):
		err = c.Authenticate(sasl.NewPlainClient("", cred.Username, cred.Password.Reveal()))
	case !caps.Has(imap.CapLoginDisabled):
		err = c.Login(cred.Username, cred.Password.Reveal()).Wait()
	default:
		return fail(ReasonAuth, errors.New("LOGINDISABLED and no AUTH=PLAIN offered"))
	}
	if err != nil {
		return imapError(err, ReasonAuth, "login")
	}
	return nil
}

// imapQuota reads the INBOX quota root (RFC 9208 4.2.1). STORAGE is counted
// in units of 1024 octets (RFC 9208 5.1).
func imapQuota(c *imapclient.Client) (*Quota, error) {
	data, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil {
		return nil, imapError(err, ReasonProtocol, "GETQUOTAROOT")
	}
	for _, d := range data {
		st, ok := d.Resources[imap.QuotaResourceStorage]
		if !ok {
			continue
		}
		q := &Quota{UsedBytes: st.Usage * 1024, LimitBytes: st.Limit * 1024, Messages: -1, MessageLimit: -1}
		if m, ok := d.Resources[imap.QuotaResourceMessage]; ok {
			q.Messages, q.MessageLimit = m.Usage, m.Limit
		}
		return q, nil
	}
	return nil, nil
}

// imapError classifies a go-imap error: a NO/BAD becomes reason, a
// transport error passes through.
func imapError(err error, reason Reason, cmd string) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return fail(reason, fmt.Errorf("%s refused: %s %s", cmd, ie.Type, clip(ie.Text)))
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

func cutFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}
