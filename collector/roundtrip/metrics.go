package roundtrip

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Descs are the roundtrip metric descriptors; every series carries
// `roundtrip`.
type Descs struct {
	success, duration, lastSuccess, lastRun, result *prometheus.Desc
}

// NewDescs builds the descriptors.
func NewDescs() *Descs {
	l := []string{"roundtrip"}
	return &Descs{
		success:     prometheus.NewDesc("mail_roundtrip_success", "1 when the last end-to-end check delivered its message in time.", l, nil),
		duration:    prometheus.NewDesc("mail_roundtrip_duration_seconds", "Time from the submission being accepted to the message being visible over IMAP, in the last successful run.", l, nil),
		lastSuccess: prometheus.NewDesc("mail_roundtrip_last_success_timestamp_seconds", "When an end-to-end check last succeeded, as a Unix time.", l, nil),
		lastRun:     prometheus.NewDesc("mail_roundtrip_last_run_timestamp_seconds", "When the last end-to-end check finished, as a Unix time.", l, nil),
		result:      prometheus.NewDesc("mail_roundtrip_result_info", "Why the last end-to-end check ended: ok or the failure reason.", append(l, "result"), nil),
	}
}

// Collect writes r. lastSuccess is kept by the caller across runs (zero =
// never); duration is shown only for a delivered message.
func (d *Descs) Collect(ch chan<- prometheus.Metric, name string, r *Result, lastSuccess time.Time) {
	g := func(desc *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{name}, lv...)...)
	}
	ok := 0.0
	if r.Success {
		ok = 1
		g(d.duration, r.Delivery.Seconds())
	}
	g(d.success, ok)
	g(d.result, 1, string(r.Reason))
	g(d.lastRun, float64(r.Finished.UnixNano())/1e9)
	if !lastSuccess.IsZero() {
		g(d.lastSuccess, float64(lastSuccess.UnixNano())/1e9)
	}
}
