package roundtrip

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/msgauth"
)

// Descs are the roundtrip metric descriptors; every series carries
// `roundtrip`.
type Descs struct {
	success, duration, lastSuccess, lastRun, result *prometheus.Desc
	dkimResult, dkimAligned, authResults            *prometheus.Desc
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
		dkimResult: prometheus.NewDesc("mail_roundtrip_dkim_result_info",
			"1 per DKIM-Signature on the arrived message, with its verification result (pass, fail, permerror, temperror); one series with empty domain and selector and result none when unsigned.",
			append(l, "domain", "selector", "result"), nil),
		dkimAligned: prometheus.NewDesc("mail_roundtrip_dkim_aligned",
			"1 when a passing DKIM signature on the arrived message aligns with its From domain (RFC 7489 3.1.1, in that domain's adkim mode).", l, nil),
		authResults: prometheus.NewDesc("mail_roundtrip_auth_results_info",
			"1 per method result in an Authentication-Results field of a trusted authserv-id on the arrived message.",
			append(l, "authserv_id", "method", "result"), nil),
	}
}

// Collect writes r. lastSuccess is kept by the caller across runs (zero =
// never); duration is shown only for a delivered message, the message
// authentication series only for a message that was fetched and verified.
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
	if a := r.Auth; a != nil {
		d.collectAuth(g, a)
	}
}

func (d *Descs) collectAuth(g func(*prometheus.Desc, float64, ...string), a *msgauth.Report) {
	if len(a.Signatures) == 0 {
		g(d.dkimResult, 1, "", "", string(msgauth.ResultNone))
	}
	// Two signatures with the same domain, selector and result (a message
	// signed twice with one key) are one series.
	seen := map[[3]string]bool{}
	for _, s := range a.Signatures {
		k := [3]string{s.Domain, s.Selector, string(s.Result)}
		if !seen[k] {
			seen[k] = true
			g(d.dkimResult, 1, k[:]...)
		}
	}
	aligned := 0.0
	if a.Aligned {
		aligned = 1
	}
	g(d.dkimAligned, aligned)
	for _, ar := range a.AuthResults {
		g(d.authResults, 1, ar.AuthservID, ar.Method, ar.Result)
	}
}
