package collector

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// BenchmarkRealSchedule runs the scheduler at its defaults against a real
// Dovecot on two addresses (IMAPS and POP3S, no login) for a few intervals
// and reports what the issue of the schedule asks for: lag p99, runs
// skipped, the success ratio, and how long a probe holds a connection at
// the server (mean established connections at the server ÷ probes per
// second). Run it once per size:
//
//	MAIL_EXPORTER_REAL_PEERS=1 go test ./collector -run '^$' -bench BenchmarkRealSchedule -benchtime=1x
func BenchmarkRealSchedule(b *testing.B) {
	m := peers.StartMail(b)
	for _, n := range []int{200, 800, 1600} {
		b.Run(fmt.Sprintf("endpoints=%d/interval=5s", n), func(b *testing.B) {
			for range b.N {
				benchSchedule(b, m, n, 5*time.Second, 3)
			}
		})
	}
}

func benchSchedule(b *testing.B, m *peers.Mail, n int, interval time.Duration, intervals int) {
	var srv []schedServer
	for i := range n {
		ep, port := "imaps", m.Ports["imaps"]
		if i%2 == 1 {
			ep, port = "pop3s", m.Ports["pop3s"]
		}
		host := []string{"127.0.0.1", "127.0.0.2"}[(i/2)%2]
		srv = append(srv, schedServer{fmt.Sprintf("d%05d", i), host, ep, port, interval, interval / 2})
	}
	path := schedConfig(b, m, "concurrency: 64", srv) // host_concurrency: the default
	exp := New(Options{})
	if err := exp.Reload(path); err != nil {
		b.Fatal(err)
	}
	defer exp.Stop()
	time.Sleep(interval + interval/2) // resolutions, then first runs spread over one interval
	ok0, fail0 := exp.checkCounts()
	skip0 := exp.skippedEndpoint()
	conns := peers.SampleConns(
		fmt.Sprintf("127.0.0.1:%d", m.Ports["imaps"]), fmt.Sprintf("127.0.0.1:%d", m.Ports["pop3s"]),
		fmt.Sprintf("127.0.0.2:%d", m.Ports["imaps"]), fmt.Sprintf("127.0.0.2:%d", m.Ports["pop3s"]))
	start := time.Now()
	b.ResetTimer()
	time.Sleep(time.Duration(intervals) * interval)
	b.StopTimer()
	secs := time.Since(start).Seconds()
	cs, _ := conns.Stop()
	st := exp.Schedule()
	ok1, fail1 := exp.checkCounts()
	probes := (ok1 + fail1) - (ok0 + fail0)
	if probes <= 0 {
		b.Fatal("no probes ran")
	}
	b.ReportMetric(probes/secs, "probes/s")
	b.ReportMetric(float64(n)/interval.Seconds(), "asked/s")
	b.ReportMetric((ok1-ok0)/probes, "success_ratio")
	b.ReportMetric(exp.skippedEndpoint()-skip0, "skipped")
	b.ReportMetric(1000*cs.Mean/(probes/secs), "server_ms/conn") // Little's law
	b.ReportMetric(st.LagP99.Seconds(), "lag_p99_last_min_s")
	b.ReportMetric(float64(cs.Sustained), "server_peak_conns")
	b.ReportMetric(b2f(st.Overloaded), "overloaded")
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// checkCounts reads mail_exporter_checks_total{kind="endpoint"}.
func (e *Exporter) checkCounts() (ok, fail float64) {
	return readCounter(e, "mail_exporter_checks_total", "endpoint", "success"),
		readCounter(e, "mail_exporter_checks_total", "endpoint", "failure")
}

func (e *Exporter) skippedEndpoint() float64 {
	return readCounter(e, "mail_exporter_schedule_skipped_total", "endpoint", "")
}

// readCounter reads name{kind, result} (result "" = any) from what e collects.
func readCounter(e *Exporter, name, kind, result string) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	mfs, _ := reg.Gather()
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			l := map[string]string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["kind"] == kind && (result == "" || l["result"] == result) {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}
