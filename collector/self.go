package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// selfMetrics are the exporter's metrics about itself.
type selfMetrics struct {
	checks     *prometheus.CounterVec
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

func newSelfMetrics() *selfMetrics {
	m := &selfMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mail_exporter_checks_total",
			Help: "Checks run by the schedule, by kind and result.",
		}, []string{"kind", "result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mail_exporter_config_last_reload_successful",
			Help: "1 when the last attempt to load the configuration succeeded.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mail_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, as a Unix time.",
		}),
	}
	// Every kind/result pair exists from the start, so rate() and alerts
	// see a zero rather than nothing.
	for _, k := range checkKinds {
		for _, r := range []string{"success", "failure"} {
			m.checks.WithLabelValues(k, r)
		}
	}
	return m
}

func (m *selfMetrics) count(kind string, ok bool) {
	r := "failure"
	if ok {
		r = "success"
	}
	m.checks.WithLabelValues(kind, r).Inc()
}

func (m *selfMetrics) reloadFailed() { m.reloadOK.Set(0) }

func (m *selfMetrics) reloadSucceeded(t time.Time) {
	m.reloadOK.Set(1)
	m.reloadTime.Set(float64(t.UnixNano()) / 1e9)
}

func (m *selfMetrics) Collect(ch chan<- prometheus.Metric) {
	m.checks.Collect(ch)
	m.reloadOK.Collect(ch)
	m.reloadTime.Collect(ch)
}
