package roundtrip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mail-exporter/mail_exporter/collector/msgauth"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// verifyTimeout bounds the DNS lookups of the verification. It runs after
// the delivery, on its own clock: a message that arrived just before the
// roundtrip's timeout must not have its keys reported unavailable.
const verifyTimeout = 10 * time.Second

// probeTempfail is the endpoint probe's reason for a 4xx greeting.
const probeTempfail probe.Reason = "tempfail"

// probeReply4xx finds a 4xx reply in the endpoint probe's error text, which
// spells replies as "greeting 421 ...", "STARTTLS refused: 454 ..." or
// "EHLO refused with 450 ...": a server that defers the session before
// MAIL (a milter that is down answers STARTTLS with 454) defers the mail.
var probeReply4xx = regexp.MustCompile(`(greeting|refused:|refused with) 4[0-9][0-9] `)

// sendDeferred: the send session failed on a 4xx before the transaction.
func sendDeferred(pr *probe.Result) bool {
	return pr.Reason == probeTempfail || probeReply4xx.MatchString(pr.Error)
}

// isTempfail: the server answered with a transient negative completion
// reply (RFC 5321 4.2.1, 4yz): greylisting, a milter or a queue that
// cannot take the message now. The next run tries again.
func isTempfail(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 400 && se.Code < 500
}

// authenticate verifies the arrived message (DKIM, alignment, trusted
// Authentication-Results), writes what it found to the log (and so to the
// transcript), and says whether dkim_domain is satisfied.
func (r *Result) authenticate(ctx context.Context, c Check, w *watcher, log *slog.Logger) (Reason, string) {
	if w.raw == nil {
		r.AuthError = w.fetchErr.Error()
		log.Warn("roundtrip message not verified", "roundtrip", c.Name, "err", r.AuthError)
		if c.DKIMDomain != "" {
			return ReasonDKIM, "DKIM not verified: " + r.AuthError
		}
		return ReasonOK, ""
	}
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	rep := msgauth.Verify(ctx, w.raw, msgauth.Options{
		Resolver: c.Resolver, TrustedAuthservIDs: c.TrustedAuthservIDs, DKIMDomain: c.DKIMDomain,
	})
	r.Auth = rep
	if len(rep.Signatures) == 0 {
		log.Info("dkim: the message carries no DKIM-Signature", "roundtrip", c.Name, "from_domain", rep.FromDomain)
	}
	for _, s := range rep.Signatures {
		log.Info(fmt.Sprintf("dkim: d=%s s=%s %s", s.Domain, s.Selector, s.Result), "roundtrip", c.Name,
			"aligned", s.Aligned, "from_domain", rep.FromDomain, "alignment", string(rep.Alignment), "err", s.Err)
	}
	for _, a := range rep.AuthResults {
		log.Info(fmt.Sprintf("authentication-results: %s %s=%s", a.AuthservID, a.Method, a.Result), "roundtrip", c.Name)
	}
	for _, p := range rep.Problems {
		log.Info("verification note", "roundtrip", c.Name, "note", p)
	}
	if !rep.DKIMDomainOK {
		return ReasonDKIM, rep.DKIMDomainWhy
	}
	return ReasonOK, ""
}
