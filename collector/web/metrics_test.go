package web

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// /metrics through Metrics shows the same series as the Exporter
// collected through client_golang, gzipped or not, and lints clean.
func TestMetricsHandlerMatchesRegistry(t *testing.T) {
	exp := newExporter(t, "")
	exp.RunAll(context.Background())

	full := prometheus.NewRegistry()
	full.MustRegister(exp)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(full, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := seriesOf(t, rec.Body)
	// The families the text path writes beside the rendered results are
	// among them (the fixture's endpoints log in, so each has a backoff).
	for _, name := range []string{"mail_probe_addresses{", "mail_probe_addresses_up{", "mail_auth_backoff_seconds{"} {
		if !slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "GAUGE "+name) }) {
			t.Fatalf("the registry's exposition has no %s} series; the comparison would not cover it", name)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(exp.WithoutEndpoints())
	h := Metrics(reg, exp, discard, 2)
	for _, enc := range []string{"", "gzip", "gzip;q=0"} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", enc)
		// A client preferring protobuf still gets consistent text.
		req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("%q: status %d, content type %q", enc, rec.Code, rec.Header().Get("Content-Type"))
		}
		var body io.Reader = rec.Body
		if gz := rec.Header().Get("Content-Encoding") == "gzip"; gz != (enc == "gzip") {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", enc, rec.Header().Get("Content-Encoding"))
		} else if gz {
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		got := seriesOf(t, body)
		if len(want) < 50 || !slices.Equal(got, want) {
			t.Errorf("%q: Metrics and the registry differ:\n got %d:\n%s\nwant %d:\n%s", enc, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
	}
}

// seriesOf parses text exposition, lints it and lists its series.
func seriesOf(t *testing.T, r io.Reader) []string {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	var list []*dto.MetricFamily
	var out []string
	for name, mf := range mfs {
		list = append(list, mf)
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			out = append(out, mf.GetType().String()+" "+name+"{"+strings.Join(ls, ",")+"} "+m.String())
		}
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range specNamed(problems) {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	sort.Strings(out)
	return out
}

// specNamed drops the one lint problem the SPEC's names cause: promlint (as
// promtool) objects to "bits" in mail_tls_cert_key_bits (SPEC 6.2), as in
// mail_dkim_key_bits; the SPEC name is kept.
func specNamed(problems []promlint.Problem) []promlint.Problem {
	var out []promlint.Problem
	for _, p := range problems {
		if p.Metric == "mail_tls_cert_key_bits" && strings.Contains(p.Text, `"bits"`) {
			continue
		}
		out = append(out, p)
	}
	return out
}
