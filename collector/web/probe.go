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
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// Checks looks up a running check by identity (collector.Exporter).
type Checks interface {
	Lookup(id string) (collector.Check, bool)
}

// Probe runs one configured check now and answers with its metrics alone,
// from a fresh registry (SPEC section 4). Only configured checks can be
// run: the exporter never probes a host it was not told to watch.
func Probe(checks Checks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var id string
		switch {
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
		c, ok := checks.Lookup(id)
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
		reg := prometheus.NewRegistry()
		reg.MustRegister(c.RunOnce(ctx, tr))
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
