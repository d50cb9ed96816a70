package collector

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// endpointCheck probes one endpoint of one server.
type endpointCheck struct {
	ident, fp string
	server    *config.Server
	ep        *config.Endpoint
	target    probe.Target
	descs     *probe.Descs
	labels    []string // values for probe.EndpointLabels + the server's label keys
	last      atomic.Pointer[probe.Result]
	text      atomic.Pointer[probe.Rendered] // last, rendered for /metrics
}

// EndpointID is the identity of an endpoint check.
func EndpointID(server, endpoint string) string { return "endpoint/" + server + "/" + endpoint }

func newEndpointCheck(env *checkEnv, srv *config.Server, ep *config.Endpoint) *endpointCheck {
	labels := []string{srv.Name, srv.Host, ep.Name, string(ep.Protocol), strconv.Itoa(ep.Port), string(ep.TLS)}
	for _, k := range env.labelKeys {
		labels = append(labels, srv.Labels[k])
	}
	c := &endpointCheck{
		ident:  EndpointID(srv.Name, ep.Name),
		server: srv,
		ep:     ep,
		descs:  env.descs,
		labels: labels,
		target: env.target(srv, ep),
	}
	var user, pass string
	if ep.Credential != nil {
		user, pass = ep.Credential.Username, ep.Credential.Password.Reveal()
	}
	c.fp = fingerprintOf(labels, srv.TLSServerName, srv.CAFile, ep.VerifyCertificate, ep.Interval, ep.Timeout,
		user, pass, env.ehlo, env.resolverAddr)
	return c
}

// target is the probe.Target for one endpoint of one server.
func (env *checkEnv) target(srv *config.Server, ep *config.Endpoint) probe.Target {
	return probe.Target{
		Server:     srv.Name,
		Host:       srv.Host,
		ServerName: srv.TLSServerName,
		Endpoint:   ep,
		RootCAs:    env.roots[srv.CAFile],
		EHLOName:   env.ehlo,
		Resolver:   env.resolver,
		Now:        env.now,
	}
}

func (c *endpointCheck) id() string              { return c.ident }
func (c *endpointCheck) kind() string            { return "endpoint" }
func (c *endpointCheck) fingerprint() string     { return c.fp }
func (c *endpointCheck) interval() time.Duration { return c.ep.Interval }

func (c *endpointCheck) probe(ctx context.Context, log *slog.Logger, tr *probe.Transcript) *probe.Result {
	t := c.target
	t.Logger, t.Transcript = log, tr
	return probe.Run(ctx, t)
}

func (c *endpointCheck) run(ctx context.Context, log *slog.Logger) bool {
	r := c.probe(ctx, log, nil)
	if ctx.Err() != nil {
		return false // cancelled by a reload or shutdown: not a result
	}
	prev := c.store(r)
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
func (c *endpointCheck) store(r *probe.Result) *probe.Result {
	c.text.Store(c.descs.Render(r, c.labels))
	return c.last.Swap(r)
}

func (c *endpointCheck) runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc {
	r := c.probe(ctx, log, tr)
	return func(ch chan<- prometheus.Metric) { c.descs.Collect(ch, r, c.labels) }
}

func (c *endpointCheck) collect(ch chan<- prometheus.Metric) {
	if r := c.last.Load(); r != nil {
		c.descs.Collect(ch, r, c.labels)
	}
}

func (c *endpointCheck) status() StatusRow {
	row := StatusRow{
		Kind:   "endpoint",
		Name:   c.server.Name + "/" + c.ep.Name,
		Target: c.server.Host + ":" + strconv.Itoa(c.ep.Port) + " " + string(c.ep.Protocol) + " " + string(c.ep.TLS),
	}
	r := c.last.Load()
	if r == nil {
		return row
	}
	row.Ran, row.OK, row.Result, row.Reason = true, r.Success, string(r.Reason), r.Error
	row.Finished = r.Start.Add(r.Duration)
	if r.TLS != nil {
		row.SetCert(r.TLS.NotAfter, c.target.Now())
	}
	return row
}
