package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// Checks is what /probe needs of the running configuration
// (collector.Exporter).
type Checks interface {
	Lookup(id string) (collector.Check, bool)
	Config() *config.Config // nil before the first load
	Now() time.Time
}

// RetryAfter is what a refused /probe is told to wait.
const RetryAfter = 5 * time.Second

// Refusal reasons of mail_exporter_probe_refused_total.
const ReasonMaxInFlight = "max_in_flight"

// Prober serves /probe: it runs one configured check now and answers with
// its metrics alone, from a fresh registry (SPEC section 4). Only
// configured checks can be run: the exporter never probes a host it was
// not told to watch. So that /probe cannot be turned against the servers
// it watches (SPEC 6.3): concurrent requests for one check share one run;
// a check that logs in or sends mail answers from its latest result within
// probe_min_spacing; beyond probe_max_in_flight runs at once, 429.
type Prober struct {
	checks  Checks
	flights flights[answer]
	refused *prometheus.CounterVec
}

// answer is one run's outcome, shared by the callers that joined it.
type answer struct {
	metrics prometheus.Collector
	tr      *probe.Transcript // nil for a stored result
	at      time.Time         // when the result finished (stored results)
	spacing time.Duration
}

// Probe returns the /probe handler. Register it as a collector too: it
// counts refused requests.
func Probe(checks Checks) *Prober {
	p := &Prober{
		checks: checks,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mail_exporter_probe_refused_total",
			Help: "/probe requests refused without running, by reason (max_in_flight: probe_max_in_flight runs were in flight).",
		}, []string{"reason"}),
	}
	p.refused.WithLabelValues(ReasonMaxInFlight)
	return p
}

func (p *Prober) Describe(ch chan<- *prometheus.Desc) { p.refused.Describe(ch) }
func (p *Prober) Collect(ch chan<- prometheus.Metric) { p.refused.Collect(ch) }

func (p *Prober) maxInFlight() int {
	if cfg := p.checks.Config(); cfg != nil {
		return cfg.Global.ProbeMaxInFlight
	}
	return config.DefaultProbeMaxInFlight
}

func (p *Prober) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var id string
	switch {
	case q.Get("server") != "" && q.Get("endpoint") != "" && q.Get("posture") == "true":
		id = collector.PostureID(q.Get("server"), q.Get("endpoint"))
	case q.Get("server") != "" && q.Get("endpoint") != "":
		id = collector.EndpointID(q.Get("server"), q.Get("endpoint"))
	case q.Get("domain") != "":
		id = collector.DomainID(q.Get("domain"))
	case q.Get("roundtrip") != "":
		id = collector.RoundtripID(q.Get("roundtrip"))
	default:
		http.Error(w, "give server and endpoint, domain, or roundtrip", http.StatusBadRequest)
		return
	}
	c, ok := p.checks.Lookup(id)
	if !ok {
		http.Error(w, "no such check in the configuration: "+id, http.StatusNotFound)
		return
	}
	// Answer before Prometheus gives up on the scrape. The run itself
	// outlives a caller that goes away: others may share it.
	wait, runCtx := r.Context(), context.WithoutCancel(r.Context())
	if s := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); s != "" {
		if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
			d := time.Duration(secs * float64(time.Second))
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(wait, d)
			defer cancel()
			runCtx, cancel = context.WithTimeout(runCtx, d)
			defer cancel()
		}
	}
	spacing := c.MinSpacing()
	fromStore := func() (answer, bool) {
		if spacing <= 0 {
			return answer{}, false
		}
		m, at, ok := c.Latest()
		if !ok || p.checks.Now().Sub(at) >= spacing {
			return answer{}, false
		}
		return answer{metrics: m, at: at, spacing: spacing}, true
	}
	run := func() answer {
		// Always recorded: a caller asking for debug output may join.
		tr := probe.NewTranscript()
		return answer{metrics: c.RunOnce(runCtx, tr), tr: tr}
	}
	a, how, err := p.flights.Do(wait, id, p.maxInFlight(), fromStore, run)
	switch {
	case err == errBusy:
		p.refused.WithLabelValues(ReasonMaxInFlight).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
		http.Error(w, fmt.Sprintf("refused: %d on-demand probes are running (probe_max_in_flight); retry later", p.maxInFlight()),
			http.StatusTooManyRequests)
		return
	case err != nil:
		http.Error(w, "gave up waiting for the run of "+id+": "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	var age time.Duration
	if how == cached {
		age = max(p.checks.Now().Sub(a.at), 0)
		w.Header().Set("X-Mail-Exporter-Cached", strconv.Itoa(int(age/time.Second)))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.metrics)
	if q.Get("debug") != "true" {
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}
	var note string
	switch how {
	case cached:
		note = fmt.Sprintf("Answered from the latest result, %s old (minimum spacing %s): nothing was sent to the server.\n",
			age.Truncate(time.Second), a.spacing)
		for _, row := range c.Results() {
			if row.Ran {
				note += fmt.Sprintf("Last scheduled result of %s: %s %s\n", row.Name, row.Result, row.Reason)
			}
		}
		note += "\n"
	case joined:
		note = "Shared the run of a concurrent request for the same check.\n\n"
	}
	writeDebug(w, id, note, a.tr, reg)
}

func writeDebug(w http.ResponseWriter, id, note string, tr *probe.Transcript, reg *prometheus.Registry) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Check %s\n\n%s", id, note)
	if tr != nil {
		fmt.Fprintf(w, "Transcript (C: client, S: server, #: log; secrets masked):\n%s\n", tr.String())
	}
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Fprintf(w, "gathering metrics: %v\n", err)
		return
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		_ = enc.Encode(mf)
	}
	if tr != nil {
		fmt.Fprintf(w, "Metrics:\n%s", tr.Mask(b.String()))
		return
	}
	fmt.Fprintf(w, "Metrics:\n%s", b.String())
}
