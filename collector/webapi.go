package collector

import (
	"context"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/authbackoff"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// This file is what the HTTP side (collector/web) sees of the Exporter:
// checks looked up by identity and run on demand, status rows, and the
// stored endpoint series. collector/web imports this package, never the
// reverse.

// Check is one running check as /probe and the status page see it.
type Check interface {
	ID() string
	Kind() string // "endpoint", "domain" or "roundtrip"
	// RunOnce runs the check now, without storing the result, and returns
	// its metrics; tr, when set, receives the transcript.
	RunOnce(ctx context.Context, tr *probe.Transcript) prometheus.Collector
	Status() StatusRow
	// Detail is where the check belongs and what its last result means.
	Detail(now time.Time) Detail
	// Results are the status rows of the stored results behind the check:
	// one per address of an endpoint, else Status alone.
	Results() []StatusRow
	// MinSpacing is how long /probe answers from the latest result instead
	// of running again (SPEC 6.3): probe_min_spacing for a check that logs
	// in or sends mail, longer while its schedule backs off from a refused
	// login (collector/authbackoff); 0 for any other check.
	MinSpacing() time.Duration
	// Latest is the newest result of a check that logs in or sends mail,
	// scheduled or on demand, and when it finished.
	Latest() (prometheus.Collector, time.Time, bool)
}

// StatusRow is one line of the status page.
type StatusRow struct {
	Kind, Name, Target string
	Ran                bool
	OK                 bool
	Result             string
	Reason             string
	Finished           time.Time
	HasCert            bool
	CertDays           float64 // days until the certificate expires, when one was seen
}

// SetCert records the days left on a certificate, rounded down to a tenth.
func (r *StatusRow) SetCert(notAfter, now time.Time) {
	if notAfter.IsZero() {
		return
	}
	r.HasCert = true
	r.CertDays = math.Floor(notAfter.Sub(now).Hours()/24*10) / 10
}

// handle adapts the internal check to Check.
type handle struct {
	c   check
	log *slog.Logger
	g   config.Global
	now func() time.Time
}

func (h handle) ID() string        { return h.c.id() }
func (h handle) Kind() string      { return h.c.kind() }
func (h handle) Status() StatusRow { return h.c.status() }
func (h handle) Results() []StatusRow {
	ec, ok := h.c.(*endpointCheck)
	if !ok {
		return []StatusRow{h.c.status()}
	}
	var rows []StatusRow
	for _, k := range ec.children() {
		rows = append(rows, k.status())
	}
	if len(rows) == 0 {
		rows = append(rows, ec.status())
	}
	return rows
}
func (h handle) RunOnce(ctx context.Context, tr *probe.Transcript) prometheus.Collector {
	f := h.c.runOnce(ctx, h.log, tr)
	if s, ok := h.c.(spaced); ok && s.logsIn() {
		s.demand().store(f, h.now())
	}
	return collectorFunc(f)
}

func (h handle) MinSpacing() time.Duration {
	s, ok := h.c.(spaced)
	if !ok || !s.logsIn() {
		return 0
	}
	return max(h.g.MinSpacing(h.c.interval()), s.backoffGap())
}

func (h handle) Latest() (prometheus.Collector, time.Time, bool) {
	s, ok := h.c.(spaced)
	if !ok || !s.logsIn() {
		return nil, time.Time{}, false
	}
	f, at, ok := latest(s)
	if !ok {
		return nil, time.Time{}, false
	}
	return collectorFunc(f), at, true
}

// Lookup returns a running check by identity (EndpointID, DomainID,
// RoundtripID).
func (e *Exporter) Lookup(id string) (Check, bool) {
	c, ok := e.lookup(id)
	if !ok {
		return nil, false
	}
	return e.handle(c), true
}

func (e *Exporter) handle(c check) handle {
	h := handle{c: c, log: e.log, now: e.opts.Now}
	if cfg := e.Config(); cfg != nil {
		h.g = cfg.Global
	}
	return h
}

// Checks returns the running checks in ID order.
func (e *Exporter) Checks() []Check {
	list := e.snapshot()
	out := make([]Check, len(list))
	for i, c := range list {
		out[i] = e.handle(c)
	}
	return out
}

// Now is the Exporter's clock.
func (e *Exporter) Now() time.Time { return e.opts.Now() }

// RunAll runs every check this replica owns once, now, and stores the
// results as the schedule does; the schedule itself does not move.
func (e *Exporter) RunAll(ctx context.Context) {
	for _, c := range e.snapshot() {
		if e.opts.Shard.Owns(c.id()) {
			e.runScheduled(ctx, c)
		}
	}
}

// WithoutEndpoints is the Exporter as a collector of everything except
// endpoint series: register it, not the Exporter, in the registry given to
// web.Metrics, which writes the endpoint series itself (WriteEndpointText).
func (e *Exporter) WithoutEndpoints() prometheus.Collector { return nonEndpoints{e} }

type nonEndpoints struct{ e *Exporter }

func (n nonEndpoints) Describe(chan<- *prometheus.Desc) {}
func (n nonEndpoints) Collect(ch chan<- prometheus.Metric) {
	n.e.collect(ch, false)
}

// WriteEndpointText writes the stored result of every endpoint check in
// the text exposition format, as rendered when it was stored (see
// probe.Rendered).
func (e *Exporter) WriteEndpointText(w io.Writer) error {
	list := e.snapshot()
	items := make([]*probe.Rendered, 0, len(list))
	var sums []probe.SummaryItem
	var backoffs []probe.Gauge
	for _, c := range list {
		switch c := c.(type) {
		case *addressCheck:
			if t := c.text.Load(); t != nil {
				items = append(items, t)
			}
			if c.auth != nil && c.last.Load() != nil {
				backoffs = append(backoffs, probe.Gauge{Labels: c.authLabels, Value: c.auth.Gap().Seconds()})
			}
		case *endpointCheck:
			if t := c.failText.Load(); t != nil && len(c.children()) == 0 {
				items = append(items, t)
			}
			if s, ok := c.summary(); ok {
				sums = append(sums, probe.SummaryItem{Labels: c.sumLabels, Summary: s})
			}
		}
	}
	if err := probe.WriteText(w, items); err != nil {
		return err
	}
	if err := probe.WriteSummaries(w, sums); err != nil {
		return err
	}
	return probe.WriteGauges(w, authbackoff.EndpointName, authbackoff.EndpointHelp, backoffs)
}

// collectorFunc adapts a collectFunc to an unchecked prometheus.Collector.
type collectorFunc collectFunc

func (f collectorFunc) Describe(chan<- *prometheus.Desc) {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) {
	f(ch)
}
