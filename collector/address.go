package collector

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/authbackoff"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// addressCheck probes one endpoint on one of its host's addresses: the
// scheduled check behind the endpoint series, which carry its `address`
// and `family` labels. Its endpointCheck creates and drops it.
type addressCheck struct {
	ep     *endpointCheck
	addr   netip.Addr
	ident  string
	fp     string
	labels []string
	last   atomic.Pointer[probe.Result]
	text   atomic.Pointer[probe.Rendered] // last, rendered for /metrics
	auth   *authbackoff.State             // failed-login backoff of the schedule
	// authLabels are labels rendered for the backoff gauge's text line
	// (set with auth).
	authLabels string
}

func newAddressCheck(ep *endpointCheck, a netip.Addr) *addressCheck {
	c := &addressCheck{
		ep:     ep,
		addr:   a,
		ident:  AddressID(ep.server.Name, ep.ep.Name, a),
		fp:     fingerprintOf(ep.fp, a),
		labels: ep.addrLabels(a),
	}
	if ep.ep.Credential != nil {
		c.auth = authbackoff.New(ep.interval())
		c.authLabels = ep.descs.Labels(c.labels)
	}
	return c
}

func (c *addressCheck) id() string              { return c.ident }
func (c *addressCheck) kind() string            { return "endpoint" }
func (c *addressCheck) fingerprint() string     { return c.fp }
func (c *addressCheck) interval() time.Duration { return c.ep.interval() }

func (c *addressCheck) run(ctx context.Context, log *slog.Logger, tr *probe.Transcript) bool {
	// While the host does not resolve, every address reads the lookup's
	// failure: dialling an address DNS no longer gives would hide it.
	if f := c.ep.failed.Load(); f != nil {
		c.store(f)
		return false
	}
	r := c.ep.probeAt(ctx, log, tr, c.addr)
	if ctx.Err() != nil {
		return false // cancelled by a reload or shutdown: not a result
	}
	prev := c.store(r)
	switch {
	case c.auth == nil:
	case r.Reason == probe.ReasonAuth:
		c.auth.Refused()
	case r.AuthSuccess != nil && *r.AuthSuccess:
		c.auth.Accepted()
	}
	// Log changes of state, not every failure: a down server must not
	// flood the log once a minute per endpoint.
	if wasOK := prev != nil && prev.Success; prev == nil || wasOK != r.Success {
		if r.Success {
			log.Info("endpoint up", "check", c.ident, "duration", r.Duration)
		} else {
			log.Warn("endpoint down", "check", c.ident, "result", string(r.Reason), "err", r.Error)
		}
	}
	return r.Success
}

// store makes r the last result and returns the one before.
func (c *addressCheck) store(r *probe.Result) *probe.Result {
	c.text.Store(c.ep.descs.Render(r, c.labels))
	return c.last.Swap(r)
}

func (c *addressCheck) runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc {
	r := c.ep.probeAt(ctx, log, tr, c.addr)
	return func(ch chan<- prometheus.Metric) { c.ep.descs.Collect(ch, r, c.labels) }
}

func (c *addressCheck) collect(ch chan<- prometheus.Metric) {
	if r := c.last.Load(); r != nil {
		c.ep.descs.Collect(ch, r, c.labels)
	}
}

func (c *addressCheck) status() StatusRow {
	row := c.ep.status()
	row.Name += " " + c.addr.String()
	row.Target = hostPort(c.addr, c.ep.ep.Port) + " " + string(c.ep.ep.Protocol) + " " + string(c.ep.ep.TLS) +
		" (" + config.Family(c.addr) + " of " + c.ep.server.Host + ")"
	row.Ran, row.OK, row.Result, row.Reason, row.Finished = false, false, "", "", time.Time{}
	r := c.last.Load()
	if r == nil {
		return row
	}
	row.Ran, row.OK, row.Result, row.Reason = true, r.Success, string(r.Reason), r.Error
	row.Finished = r.Start.Add(r.Duration)
	if r.TLS != nil {
		row.SetCert(r.TLS.NotAfter, c.ep.target.Now())
	}
	return row
}

func hostPort(a netip.Addr, port int) string { return netip.AddrPortFrom(a, uint16(port)).String() }
