package collector_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/web"
)

// BenchmarkCollect renders /metrics for 1k and 10k endpoints' stored
// results through the handler the exporter serves (web.Metrics): plain
// text, and gzipped as Prometheus asks for it. "registry" is the same
// output through client_golang's registry and promhttp, the way /metrics
// was served before, for comparison. bytes/scrape is the body as sent.
//
//	go test ./collector -run '^$' -bench BenchmarkCollect -benchmem
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			e := collector.BenchExporter(b, n)
			reg := prometheus.NewRegistry()
			reg.MustRegister(e.WithoutEndpoints())
			full := prometheus.NewRegistry()
			full.MustRegister(e)
			handlers := []struct {
				name, enc string
				h         http.Handler
			}{
				{"text", "identity", web.Metrics(reg, e, slog.New(slog.DiscardHandler), 1)},
				{"gzip", "gzip", web.Metrics(reg, e, slog.New(slog.DiscardHandler), 1)},
				{"registry", "identity", promhttp.HandlerFor(full, promhttp.HandlerOpts{})},
			}
			for _, h := range handlers {
				b.Run(h.name, func(b *testing.B) {
					var size int
					b.ReportAllocs()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
						req.Header.Set("Accept-Encoding", h.enc)
						rec := httptest.NewRecorder()
						h.h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
						}
						size = rec.Body.Len()
					}
					b.ReportMetric(float64(size), "bytes/scrape")
				})
			}
		})
	}
}
