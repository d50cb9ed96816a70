package collector

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/authbackoff"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
)

// roundtripCheck is one end-to-end check.
type roundtripCheck struct {
	cfg         *config.Roundtrip
	check       roundtrip.Check
	descs       *roundtrip.Descs
	fp          string
	last        atomic.Pointer[roundtrip.Result]
	lastSuccess atomic.Int64 // Unix nanoseconds; 0 = never
	// resolverAddr is global.resolver, for the verification of the arrived
	// message's DKIM signatures and DMARC records.
	resolverAddr string
	onDemand     recent // the latest /probe result
	auth         *authbackoff.State
	backoffDesc  *prometheus.Desc // mail_roundtrip_auth_backoff_seconds
}

func newRoundtripCheck(env *checkEnv, rt *config.Roundtrip, descs *roundtrip.Descs) *roundtripCheck {
	send := env.target(rt.Send.Server, rt.Send.Endpoint)
	recv := env.target(rt.Receive.Server, rt.Receive.Endpoint)
	c := &roundtripCheck{
		cfg:         rt,
		descs:       descs,
		auth:        authbackoff.New(rt.Interval),
		backoffDesc: env.rtBackoffDesc,
		check: roundtrip.Check{
			Name: rt.Name, Send: send, Receive: recv, Mailbox: rt.Receive.Mailbox,
			From: rt.Send.From, To: rt.Send.To, Timeout: rt.Timeout,
			DKIMDomain: rt.DKIMDomain, TrustedAuthservIDs: rt.TrustedAuthservIDs,
		},
		resolverAddr: env.resolverAddr,
	}
	var secrets []string
	for _, ep := range []*config.Endpoint{rt.Send.Endpoint, rt.Receive.Endpoint} {
		if ep.Credential != nil {
			secrets = append(secrets, ep.Credential.Username, ep.Credential.Password.Reveal())
		}
	}
	c.fp = fingerprintOf(rt.Name, rt.Send.Server.Name, rt.Send.Endpoint.Name, rt.Receive.Server.Name,
		rt.Receive.Endpoint.Name, rt.Receive.Mailbox, rt.Send.From, rt.Send.To, rt.Interval, rt.Timeout,
		env.target(rt.Send.Server, rt.Send.Endpoint).Host, secrets, env.ehlo, env.resolverAddr,
		rt.DKIMDomain, rt.TrustedAuthservIDs)
	return c
}

func (c *roundtripCheck) id() string              { return RoundtripID(c.cfg.Name) }
func (c *roundtripCheck) kind() string            { return "roundtrip" }
func (c *roundtripCheck) fingerprint() string     { return c.fp }
func (c *roundtripCheck) interval() time.Duration { return c.cfg.Interval }

func (c *roundtripCheck) do(ctx context.Context, log *slog.Logger, tr *probe.Transcript) *roundtrip.Result {
	chk := c.check
	chk.Logger, chk.Transcript = log, tr
	// Made per run, as for domain checks: with global.resolver "" it follows
	// /etc/resolv.conf as it is now. Without one, signatures are temperror.
	if res, err := resolver.New(c.resolverAddr); err == nil {
		chk.Resolver = res
	} else {
		log.Warn("no DNS resolver for DKIM verification", "check", c.id(), "err", err)
	}
	return roundtrip.Run(ctx, chk)
}

func (c *roundtripCheck) run(ctx context.Context, log *slog.Logger, tr *probe.Transcript) bool {
	r := c.do(ctx, log, tr)
	if ctx.Err() != nil {
		return false // cancelled by a reload or shutdown: not a result
	}
	prev := c.last.Swap(r)
	switch {
	case r.AuthRefused:
		c.auth.Refused()
	case r.Success:
		c.auth.Accepted()
	}
	if r.Success {
		c.lastSuccess.Store(r.Finished.UnixNano())
	}
	if prev == nil || prev.Success != r.Success {
		if r.Success {
			log.Info("roundtrip delivering", "check", c.id(), "delivery", r.Delivery)
		} else {
			log.Warn("roundtrip failing", "check", c.id(), "result", string(r.Reason), "err", r.Error)
		}
	}
	return r.Success
}

func (c *roundtripCheck) lastOK() time.Time {
	if ns := c.lastSuccess.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

func (c *roundtripCheck) runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc {
	r := c.do(ctx, log, tr)
	last := c.lastOK()
	if r.Success {
		last = r.Finished
	}
	return func(ch chan<- prometheus.Metric) { c.descs.Collect(ch, c.cfg.Name, r, last) }
}

func (c *roundtripCheck) collect(ch chan<- prometheus.Metric) {
	if r := c.last.Load(); r != nil {
		c.descs.Collect(ch, c.cfg.Name, r, c.lastOK())
	}
}

func (c *roundtripCheck) status() StatusRow {
	row := StatusRow{
		Kind:   "roundtrip",
		Name:   c.cfg.Name,
		Target: c.cfg.Send.Server.Name + "/" + c.cfg.Send.Endpoint.Name + " → " + c.cfg.Receive.Server.Name + "/" + c.cfg.Receive.Endpoint.Name + " " + c.cfg.Receive.Mailbox,
	}
	if r := c.last.Load(); r != nil {
		row.Ran, row.OK, row.Result, row.Reason, row.Finished = true, r.Success, string(r.Reason), r.Error, r.Finished
		if r.Success {
			row.Result += " in " + r.Delivery.Round(time.Millisecond).String()
		}
	}
	return row
}
