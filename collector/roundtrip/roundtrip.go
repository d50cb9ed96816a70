// Package roundtrip checks that mail flows end to end: it submits a
// message carrying a unique token through an SMTP endpoint and watches an
// IMAP mailbox until the message is visible, timing submit-accepted to
// visible. It reuses the endpoint prober for dialling, TLS and login.
package roundtrip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/msgauth"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// Reason is the `result` label of mail_roundtrip_result_info.
type Reason string

const (
	ReasonOK           Reason = "ok"
	ReasonReceive      Reason = "receive"       // could not open the mailbox (connect, TLS, login, SELECT)
	ReasonSend         Reason = "send"          // could not reach or log in to the submission endpoint
	ReasonSendRefused  Reason = "send_refused"  // the server refused the message
	ReasonNotDelivered Reason = "not_delivered" // accepted, but not visible before the timeout
	ReasonSendTempfail Reason = "send_tempfail" // the server answered 4xx (greylisting, a milter, a full queue): retried at the next run
	ReasonDKIM         Reason = "dkim"          // delivered, but without a passing DKIM signature aligned with dkim_domain
)

// Check is one configured roundtrip, resolved.
type Check struct {
	Name     string
	Send     probe.Target // an SMTP endpoint
	Receive  probe.Target // an IMAP endpoint with a credential
	Mailbox  string
	From, To string
	Timeout  time.Duration
	Logger   *slog.Logger
	// Transcript, when set, records both sessions (/probe?debug=true).
	Transcript *probe.Transcript
	// PollInterval is how often the mailbox is searched when the server
	// offers no IDLE (and the longest an IDLE waits); 0 = 1s.
	PollInterval time.Duration
	// Resolver fetches DKIM keys and DMARC records for the verification of
	// the arrived message; nil makes every signature temperror.
	Resolver resolver.Resolver
	// DKIMDomain: the run fails (ReasonDKIM) unless the message carries a
	// passing DKIM signature aligned with it.
	DKIMDomain string
	// TrustedAuthservIDs: whose Authentication-Results are read.
	TrustedAuthservIDs []string
}

// Result is one roundtrip's outcome.
type Result struct {
	Start    time.Time
	Finished time.Time
	Success  bool
	Reason   Reason
	Error    string
	// Delivery is from the submission being accepted to the message being
	// visible over IMAP; zero unless Success.
	Delivery time.Duration
	Cleaned  int // probe messages removed (this run's and leftovers)
	// Auth is the verification of the arrived message; nil when it did not
	// arrive or could not be fetched (AuthError says why).
	Auth      *msgauth.Report
	AuthError string
	// AuthRefused: a server refused a login (probe result "auth").
	AuthRefused bool
}

// Run performs one roundtrip, bounded by c.Timeout.
func Run(ctx context.Context, c Check) *Result {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.Transcript != nil {
		log = slog.New(probe.TranscriptHandler(log.Handler(), c.Transcript))
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	r := &Result{Start: time.Now()}
	token := newToken()
	w := &watcher{check: c, token: token, ready: make(chan struct{}), accepted: make(chan time.Time, 1),
		arrivals: make(chan struct{}, 1), log: log}

	recv := c.Receive
	recv.Endpoint = withTimeout(recv.Endpoint, c.Timeout)
	recv.Transcript = c.Transcript
	recv.IMAPOptions = &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(*imapclient.UnilateralDataMailbox) { w.arrived() },
	}}
	recvDone := make(chan *probe.Result, 1)
	go func() {
		recvDone <- probe.With(ctx, recv, func(cl any) error { return w.watch(ctx, cl.(*imapclient.Client)) })
	}()

	var recvResult *probe.Result
	select {
	case <-w.ready:
	case recvResult = <-recvDone: // failed before the mailbox was open
		return r.finish(ReasonReceive, r.describe("receive", recvResult))
	}

	send := c.Send
	send.Transcript = c.Transcript
	msg := message(c, token, time.Now())
	var refused error
	accepted := false
	sendResult := probe.With(ctx, send, func(cl any) error {
		refused = submit(cl.(*smtp.Client), c.From, c.To, msg)
		if refused == nil {
			accepted = true
			w.accepted <- time.Now()
		}
		return refused
	})
	if !accepted && refused == nil {
		cancel()
		<-recvDone
		if sendDeferred(sendResult) {
			return r.finish(ReasonSendTempfail, r.describe("send", sendResult))
		}
		return r.finish(ReasonSend, r.describe("send", sendResult))
	}
	if refused != nil {
		cancel()
		<-recvDone
		if isTempfail(refused) {
			return r.finish(ReasonSendTempfail, "send: "+refused.Error())
		}
		return r.finish(ReasonSendRefused, "send: "+refused.Error())
	}
	log.Debug("roundtrip message accepted", "roundtrip", c.Name, "token", token)

	recvResult = <-recvDone
	r.Cleaned = w.cleaned
	if w.visible.IsZero() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || recvResult.Reason == probe.ReasonTimeout {
			return r.finish(ReasonNotDelivered, fmt.Sprintf("message not visible in %s within %s", c.Mailbox, c.Timeout))
		}
		return r.finish(ReasonReceive, r.describe("receive", recvResult))
	}
	r.Delivery = w.visible.Sub(w.acceptedAt)
	// The message was seen; a failure after that (cleanup, logout) is
	// still a failure, but the delivery time is real and kept.
	if !recvResult.Success {
		return r.finish(ReasonReceive, r.describe("receive after delivery", recvResult))
	}
	if reason, why := r.authenticate(parent, c, w, log); reason != ReasonOK {
		return r.finish(reason, why)
	}
	return r.finish(ReasonOK, "")
}

func (r *Result) finish(reason Reason, msg string) *Result {
	r.Finished = time.Now()
	r.Reason, r.Error, r.Success = reason, msg, reason == ReasonOK
	return r
}

// describe names why one side failed, noting a refused login.
func (r *Result) describe(side string, pr *probe.Result) string {
	if pr.Reason == probe.ReasonAuth {
		r.AuthRefused = true
	}
	return fmt.Sprintf("%s: %s: %s", side, pr.Reason, pr.Error)
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func withTimeout(ep *config.Endpoint, d time.Duration) *config.Endpoint {
	cp := *ep
	cp.Timeout = d
	return &cp
}
