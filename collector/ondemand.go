package collector

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/authbackoff"
)

// What a check that logs in or sends mail keeps for /probe's spacing
// (SPEC 6.3) and for the failed-login backoff of its schedule
// (collector/authbackoff).

// spaced is a check /probe may answer from its latest result: an endpoint
// or a roundtrip.
type spaced interface {
	check
	// logsIn is false for an endpoint without a credential.
	logsIn() bool
	// scheduled is the newest stored result of the schedule, if any.
	scheduled() (collectFunc, time.Time, bool)
	demand() *recent
	// backoffGap is the login backoff's current gap (0: none).
	backoffGap() time.Duration
}

// backingOff is a scheduled check that logs in: an address of an endpoint
// with a credential, or a roundtrip.
type backingOff interface {
	backoff() *authbackoff.State // nil: the check does not log in
}

// recent holds the latest on-demand result of a check.
type recent struct{ p atomic.Pointer[ranAt] }

type ranAt struct {
	collect collectFunc
	at      time.Time
}

func (r *recent) store(f collectFunc, at time.Time) { r.p.Store(&ranAt{f, at}) }

// latest is the newer of the scheduled and the on-demand result.
func latest(s spaced) (collectFunc, time.Time, bool) {
	f, at, ok := s.scheduled()
	if d := s.demand().p.Load(); d != nil && (!ok || d.at.After(at)) {
		return d.collect, d.at, true
	}
	return f, at, ok
}

// skipForBackoff reports whether a scheduled run of c is skipped because
// a server refused its credential.
func (e *Exporter) skipForBackoff(c check) bool {
	b, ok := c.(backingOff)
	if !ok || b.backoff() == nil || !b.backoff().Skip() {
		return false
	}
	e.log.Debug("login refused earlier: scheduled run skipped", "check", c.id(),
		"refusals", b.backoff().Failures(), "gap", b.backoff().Gap())
	return true
}

// collectBackoff writes the backoff gauge of a check that ran here.
func collectBackoff(c check, ch chan<- prometheus.Metric) {
	switch c := c.(type) {
	case *addressCheck:
		if c.auth != nil && c.last.Load() != nil {
			ch <- c.auth.Metric(c.ep.env.backoffDesc, c.labels...)
		}
	case *roundtripCheck:
		if c.last.Load() != nil {
			ch <- c.auth.Metric(c.backoffDesc, c.cfg.Name)
		}
	}
}

func (c *addressCheck) backoff() *authbackoff.State { return c.auth }

func (c *endpointCheck) logsIn() bool    { return c.ep.Credential != nil }
func (c *endpointCheck) demand() *recent { return &c.onDemand }
func (c *endpointCheck) backoffGap() time.Duration {
	var g time.Duration
	for _, k := range c.children() {
		if k.auth != nil {
			g = max(g, k.auth.Gap())
		}
	}
	return g
}

// scheduled is every address's stored result, as /probe answers for the
// endpoint, as of the newest of them: an address that logged in within
// probe_min_spacing makes the whole endpoint fresh.
func (c *endpointCheck) scheduled() (collectFunc, time.Time, bool) {
	var newest time.Time
	for _, k := range c.children() {
		if r := k.last.Load(); r != nil && r.Start.Add(r.Duration).After(newest) {
			newest = r.Start.Add(r.Duration)
		}
	}
	if newest.IsZero() {
		return nil, time.Time{}, false
	}
	return func(ch chan<- prometheus.Metric) {
		for _, k := range c.children() {
			k.collect(ch)
		}
		c.collect(ch)
	}, newest, true
}

func (c *roundtripCheck) logsIn() bool                { return true }
func (c *roundtripCheck) backoff() *authbackoff.State { return c.auth }
func (c *roundtripCheck) backoffGap() time.Duration   { return c.auth.Gap() }
func (c *roundtripCheck) demand() *recent             { return &c.onDemand }
func (c *roundtripCheck) scheduled() (collectFunc, time.Time, bool) {
	r := c.last.Load()
	if r == nil {
		return nil, time.Time{}, false
	}
	last := c.lastOK()
	return func(ch chan<- prometheus.Metric) { c.descs.Collect(ch, c.cfg.Name, r, last) }, r.Finished, true
}
