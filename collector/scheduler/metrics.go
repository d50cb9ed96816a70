package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	lag        *prometheus.HistogramVec
	skipped    *prometheus.CounterVec
	inFlight   *prometheus.Desc
	overloaded *prometheus.Desc
}

func newMetrics(kinds []string) *metrics {
	m := &metrics{
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mail_exporter_schedule_lag_seconds",
			Help:    "How late checks start against their schedule, waiting for a slot included.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mail_exporter_schedule_skipped_total",
			Help: "Runs skipped because the previous run of the same check was still queued or running.",
		}, []string{"kind"}),
		inFlight: prometheus.NewDesc("mail_exporter_checks_in_flight",
			"Checks running right now.", nil, nil),
		overloaded: prometheus.NewDesc("mail_exporter_overloaded",
			"1 when the schedule lag p99 over the last minute is above 10 % of the shortest interval, or a run was skipped in it.", nil, nil),
	}
	for _, k := range kinds {
		m.skipped.WithLabelValues(k)
	}
	return m
}

// Describe and Collect expose the scheduler's metrics. The gauges are built
// at collect time from the scheduler's state.
func (s *Scheduler) Describe(ch chan<- *prometheus.Desc) {
	s.m.lag.Describe(ch)
	s.m.skipped.Describe(ch)
	ch <- s.m.inFlight
	ch <- s.m.overloaded
}

func (s *Scheduler) Collect(ch chan<- prometheus.Metric) {
	s.m.lag.Collect(ch)
	s.m.skipped.Collect(ch)
	st := s.Stats()
	ch <- prometheus.MustNewConstMetric(s.m.inFlight, prometheus.GaugeValue, float64(st.InFlight))
	ch <- prometheus.MustNewConstMetric(s.m.overloaded, prometheus.GaugeValue, b2f(st.Overloaded))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Stats is what the scheduler knows about its load.
type Stats struct {
	// Overloaded: LagP99 above a tenth of ShortestInterval, or Skipped > 0.
	Overloaded       bool
	LagP99           time.Duration // over the last minute (an upper bound within 10 %)
	Runs             int           // runs started in the last minute
	Skipped          int           // runs skipped in the last minute
	InFlight         int
	Queued           int // runs waiting for a global or a host slot
	Concurrency      int
	HostConcurrency  int // 0 = no per-host limit
	ShortestInterval time.Duration
	Jobs             int
	// BusiestHost is the Key with the most runs queued, and how many.
	BusiestHost   string
	BusiestQueued int
}

// Stats returns the scheduler's current figures.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats(s.now())
	s.fillBusiest(&st)
	return st
}

func (s *Scheduler) stats(now time.Time) Stats {
	w := s.win.stats(now)
	st := Stats{
		LagP99: w.p99, Runs: w.runs, Skipped: w.skipped,
		InFlight: s.running, Queued: s.waiting, Concurrency: s.limit, HostConcurrency: s.hostLimit,
		ShortestInterval: s.minInterval, Jobs: len(s.entries),
	}
	st.Overloaded = st.ShortestInterval > 0 && (st.Skipped > 0 || st.LagP99 > st.ShortestInterval/10)
	return st
}
