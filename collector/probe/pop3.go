package probe

import (
	"context"
	"errors"
	"fmt"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/pop3"
)

// probePOP3 probes a POP3 endpoint (RFC 1939; CAPA RFC 2449; STLS RFC 2595
// section 4; AUTH RFC 5034) with our own small client.
func probePOP3(ctx context.Context, s *session, r *Result) error {
	ep := s.t.Endpoint
	c := pop3.NewClient(s.conn)

	done := s.phase(PhaseGreeting)
	_, err := c.Greeting()
	done()
	if err != nil {
		return greetingError(err)
	}

	if ep.TLS == config.TLSStartTLS {
		done = s.phase(PhaseCapabilities)
		caps, err := pop3Capa(c)
		done()
		if err != nil {
			return err
		}
		offered := pop3.HasCapability(caps, "STLS")
		r.StartTLSOffered = boolPtr(offered)
		mechs, plain := pop3PreTLS(caps)
		r.PreTLSAuthMechanisms, r.PlaintextAuthOffered = mechs, boolPtr(plain)
		if !offered {
			return fail(ReasonStartTLSUnsupported, errors.New("STLS not offered"))
		}
		done = s.phase(PhaseStartTLS)
		err = c.StartTLS()
		done()
		if err != nil {
			var pe *pop3.Error
			if errors.As(err, &pe) {
				return fail(ReasonStartTLSUnsupported, err)
			}
			return pop3Error(err)
		}
		if err := s.handshake(ctx); err != nil {
			return err
		}
		c.Upgrade(s.conn)
	}

	done = s.phase(PhaseCapabilities)
	caps, err := pop3Capa(c)
	done()
	if err != nil {
		return err
	}
	mechs := pop3.SASLMechanisms(caps)
	// USER/PASS is POP3's own login (RFC 1939 7); it is listed with the SASL
	// mechanisms so a dashboard shows every way in.
	if caps == nil || pop3.HasCapability(caps, "USER") {
		mechs = append(mechs, "USER")
	}
	r.AuthMechanisms = upperSorted(mechs)
	if ep.TLS == config.TLSNone {
		r.PreTLSAuthMechanisms = r.AuthMechanisms
	}

	if cred := ep.Credential; cred != nil {
		done = s.phase(PhaseAuth)
		err = pop3Login(c, r.AuthMechanisms, cred)
		done()
		r.AuthSuccess = boolPtr(err == nil)
		if err != nil {
			return err
		}
	}

	done = s.phase(PhaseLogout)
	err = c.Quit()
	done()
	if err != nil && !isClosed(err) {
		return pop3Error(err)
	}
	return nil
}

// pop3Capa runs CAPA; a server without CAPA (-ERR, RFC 2449 is optional)
// has no capabilities, which is not an error.
func pop3Capa(c *pop3.Client) ([]string, error) {
	caps, err := c.Capa()
	var pe *pop3.Error
	if errors.As(err, &pe) {
		return nil, nil
	}
	if err != nil {
		return nil, pop3Error(err)
	}
	return caps, nil
}

// pop3Login uses AUTH PLAIN where offered, else USER/PASS.
func pop3Login(c *pop3.Client, mechs []string, cred *config.Credential) error {
	var err error
	switch {
	case hasFold(mechs, "PLAIN"):
		err = c.AuthPlain("", cred.Username, cred.Password.Reveal())
	case hasFold(mechs, "USER"):
		if err = c.User(cred.Username); err == nil {
			err = c.Pass(cred.Password.Reveal())
		}
	default:
		return fail(ReasonAuth, fmt.Errorf("no supported login offered (have %v)", mechs))
	}
	var pe *pop3.Error
	if errors.As(err, &pe) {
		return fail(ReasonAuth, err)
	}
	if err != nil {
		return pop3Error(err)
	}
	return nil
}

// pop3Error files client-side protocol violations (over-long lines, junk)
// under "protocol" and lets transport errors through.
func pop3Error(err error) error {
	if isNetErr(err) {
		return err
	}
	var f *Failure
	if errors.As(err, &f) {
		return err
	}
	return fail(ReasonProtocol, err)
}
