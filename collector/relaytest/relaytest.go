// Package relaytest asks an SMTP server whether it relays for strangers
// (RFC 5321 3.6.2, 7.1; RFC 2505): MAIL FROM an outside address, RCPT TO a
// recipient at a domain the server must not host, written three ways, and
// reads the verdict from the RCPT replies alone. It never sends DATA, so no
// message can be queued, and it always ends the transaction with RSET.
//
// It speaks over a session someone else opened (the endpoint probe, after
// its greeting, EHLO and TLS): Run takes the few commands it needs as the
// Client interface, which *smtp.Client of github.com/emersion/go-smtp
// satisfies.
package relaytest

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// DefaultRecipient is relay_test_recipient's default: .invalid is reserved
// (RFC 2606 2, RFC 6761 6.4), so no server hosts it and no relay can deliver
// to it even when it accepts.
const DefaultRecipient = "relay-test@example.invalid"

// Variant is the `variant` label of mail_smtp_relay_accepted: how the
// foreign recipient is written.
type Variant string

const (
	// Plain: RCPT TO:<user@foreign>, the relay attempt itself.
	Plain Variant = "plain"
	// PercentHack: RCPT TO:<user%foreign@server>. The "%-hack" of old
	// sendmail rulesets (RFC 1123 5.2.16 lets a host treat a local part as
	// it likes; RFC 2505 2.5 asks relays not to honour "%"): the domain
	// looks local, and the server then rewrites user%foreign to
	// user@foreign and relays.
	PercentHack Variant = "percent_hack"
	// SourceRoute: RCPT TO:<@server:user@foreign>, an RFC 821 source route
	// (RFC 5321 3.6.1 and C: servers SHOULD ignore the route and MUST NOT
	// use it to relay; RFC 2505 2.6).
	SourceRoute Variant = "source_route"
)

// Variants lists every variant in the order they are tried.
var Variants = []Variant{Plain, PercentHack, SourceRoute}

// Verdict is the `result` label of mail_smtp_relay_test_result_info.
type Verdict string

const (
	Refused      Verdict = "refused"      // every variant refused (5xx, or a 4xx that says relaying is denied)
	Open         Verdict = "open"         // some variant accepted (2xx): an open relay
	Inconclusive Verdict = "inconclusive" // a 4xx, or no usable answer, and nothing accepted
)

// Config is what one relay test sends.
type Config struct {
	// From is the reverse-path; "" sends the null reverse-path MAIL FROM:<>.
	From string
	// Recipient is user@foreign-domain (DefaultRecipient when empty).
	Recipient string
	// ServerDomain is the name the server answers to (a DNS name or an
	// address literal such as [192.0.2.1]): the "local" domain of the
	// percent-hack and the first hop of the source route.
	ServerDomain string
	// Now times the transaction; nil = time.Now.
	Now func() time.Time
}

// Client is the part of an SMTP client session a relay test uses.
type Client interface {
	Mail(from string, opts *smtp.MailOptions) error
	Rcpt(to string, opts *smtp.RcptOptions) error
	Reset() error
}

// Reply is the server's answer to one command of the test.
type Reply struct {
	Command string // "MAIL FROM:<...>" or "RCPT TO:<...>"
	Variant Variant
	Outcome Outcome
	Code    int    // 0 when there was no reply
	Text    string // the server's text (enhanced code included), or the error
}

// Result is what one relay test found.
type Result struct {
	Verdict Verdict
	Mail    Reply
	Rcpts   []Reply // one per variant tried, in Variants order
	// Tempfail is set when a 4xx that is not a refusal answered MAIL or a
	// RCPT (greylisting, rate limits, 421): the probe's result `tempfail`.
	Tempfail bool
	// Transaction is MAIL FROM through the last RCPT reply (phase `transaction`).
	Transaction time.Duration
}

// Accepted reports whether variant v got a 2xx.
func (r *Result) Accepted(v Variant) bool {
	for _, x := range r.Rcpts {
		if x.Variant == v {
			return x.Outcome == Accept
		}
	}
	return false
}

// Recipients returns the foreign recipient written in each variant.
func Recipients(c Config) map[Variant]string {
	rcpt := c.Recipient
	if rcpt == "" {
		rcpt = DefaultRecipient
	}
	at := strings.LastIndexByte(rcpt, '@')
	local, foreign := rcpt[:max(at, 0)], rcpt[at+1:]
	server := c.ServerDomain
	return map[Variant]string{
		Plain:       rcpt,
		PercentHack: local + "%" + foreign + "@" + server,
		SourceRoute: "@" + server + ":" + rcpt,
	}
}

// ErrSession marks a failure of the session itself (timeout, reset,
// garbage): the probe ends on it, with the partial Result kept.
var ErrSession = errors.New("relay test: session failed")

// Run performs the test on c, whose session must be past EHLO and not in a
// mail transaction. The error is non-nil only when the session broke; a
// refusing or deferring server is a Result, not an error.
func Run(ctx context.Context, c Client, cfg Config) (*Result, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	res := &Result{Verdict: Inconclusive}
	start := now()
	err := transaction(ctx, c, cfg, res)
	res.Transaction = now().Sub(start)
	res.Verdict = verdict(res)
	if err != nil {
		return res, err
	}
	if res.Closing() {
		return res, nil // 421: the server closes the session, RSET would fail
	}
	// RFC 5321 4.1.1.5: RSET aborts the transaction; nothing was sent.
	if rerr := c.Reset(); rerr != nil {
		var se *smtp.SMTPError
		if !errors.As(rerr, &se) {
			return res, errors.Join(ErrSession, rerr)
		}
	}
	return res, nil
}

func transaction(ctx context.Context, c Client, cfg Config, res *Result) error {
	res.Mail = Reply{Command: "MAIL FROM:<" + cfg.From + ">"}
	err := c.Mail(cfg.From, nil)
	res.Mail.Outcome, res.Mail.Code, res.Mail.Text = Classify(err)
	switch res.Mail.Outcome {
	case NoReply:
		return errors.Join(ErrSession, err)
	case Defer:
		res.Tempfail = true
		return nil
	case Refuse:
		return nil // no RCPT can follow a refused MAIL: see verdict
	}
	rcpts := Recipients(cfg)
	for _, v := range Variants {
		if ctx.Err() != nil {
			return errors.Join(ErrSession, ctx.Err())
		}
		to := rcpts[v]
		rp := Reply{Command: "RCPT TO:<" + to + ">", Variant: v}
		err := c.Rcpt(to, nil)
		rp.Outcome, rp.Code, rp.Text = Classify(err)
		res.Rcpts = append(res.Rcpts, rp)
		switch {
		case rp.Outcome == NoReply:
			return errors.Join(ErrSession, err)
		case rp.Outcome == Defer:
			res.Tempfail = true
		}
		if res.Closing() {
			return nil
		}
	}
	return nil
}

// verdict: open when any recipient was accepted, refused when every one
// was refused, inconclusive otherwise. A refused sender is inconclusive:
// the server may refuse our sender (say, its domain does not resolve for
// it) and still relay for others, and the verdict comes from RCPT alone.
func verdict(r *Result) Verdict {
	refused := len(r.Rcpts) == len(Variants)
	for _, x := range r.Rcpts {
		if x.Outcome == Accept {
			return Open
		}
		refused = refused && x.Outcome == Refuse
	}
	if refused {
		return Refused
	}
	return Inconclusive
}

// Closing reports a 421 reply: RFC 5321 3.8 and 4.2.1, the server is
// closing the session and will answer nothing more.
func (r *Result) Closing() bool {
	if r.Mail.Code == 421 {
		return true
	}
	for _, x := range r.Rcpts {
		if x.Code == 421 {
			return true
		}
	}
	return false
}

// DefaultFrom is the reverse-path of a relay test from a client that
// calls itself ehlo: relay-test@ehlo, or "" (the null reverse-path) when
// ehlo is not a DNS name with a dot (an address literal, "localhost").
func DefaultFrom(ehlo string) string {
	ehlo = strings.TrimSuffix(ehlo, ".")
	if !strings.Contains(ehlo, ".") || strings.HasPrefix(ehlo, "[") {
		return ""
	}
	return "relay-test@" + ehlo
}
