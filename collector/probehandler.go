package collector

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

	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// ProbeHandler runs one configured check now and answers with its metrics
// alone, from a fresh registry (SPEC section 4). Only configured checks can
// be run: the exporter never probes a host it was not told to watch.
func (e *Exporter) ProbeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var id string
		switch {
		case q.Get("server") != "" && q.Get("endpoint") != "":
			id = EndpointID(q.Get("server"), q.Get("endpoint"))
		case q.Get("domain") != "":
			id = DomainID(q.Get("domain"))
		case q.Get("roundtrip") != "":
			id = RoundtripID(q.Get("roundtrip"))
		default:
			http.Error(w, "give server and endpoint, domain, or roundtrip", http.StatusBadRequest)
			return
		}
		c, ok := e.lookup(id)
		if !ok {
			http.Error(w, "no such check in the configuration: "+id, http.StatusNotFound)
			return
		}
		ctx := r.Context()
		// Answer before Prometheus gives up on the scrape.
		if s := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); s != "" {
			if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(secs*float64(time.Second)))
				defer cancel()
			}
		}
		debug := q.Get("debug") == "true"
		var tr *probe.Transcript
		if debug {
			tr = probe.NewTranscript()
		}
		collect := c.runOnce(ctx, e.log, tr)
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectorFunc(collect))
		if !debug {
			promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
			return
		}
		writeDebug(w, id, tr, reg)
	})
}

func writeDebug(w http.ResponseWriter, id string, tr *probe.Transcript, reg *prometheus.Registry) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Check %s\n\nTranscript (C: client, S: server, #: log; secrets masked):\n%s\n", id, tr.String())
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
	fmt.Fprintf(w, "Metrics:\n%s", tr.Mask(b.String()))
}

// collectorFunc adapts a collectFunc to an unchecked prometheus.Collector.
type collectorFunc collectFunc

func (f collectorFunc) Describe(chan<- *prometheus.Desc) {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) {
	f(ch)
}

// DomainID and RoundtripID are the identities of domain and roundtrip checks.
func DomainID(domain string) string {
	return "domain/" + strings.ToLower(strings.TrimSuffix(domain, "."))
}
func RoundtripID(name string) string { return "roundtrip/" + name }
