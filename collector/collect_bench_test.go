package collector_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
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
	dual := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	for _, c := range []struct {
		n     int
		addrs []netip.Addr
	}{{1000, nil}, {10000, nil}, {10000, dual}} {
		n := c.n
		name := fmt.Sprintf("%dk", n/1000)
		if len(c.addrs) > 0 {
			// Every host with an A and an AAAA: each address its own series.
			name += fmt.Sprintf("-%daddr", len(c.addrs))
		}
		b.Run(name, func(b *testing.B) {
			e := collector.BenchExporter(b, n, c.addrs...)
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
					var size, series int
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
						if h.enc == "identity" {
							series = countSeries(rec.Body.String())
						}
					}
					b.ReportMetric(float64(size), "bytes/scrape")
					if series > 0 {
						b.ReportMetric(float64(series), "series/scrape")
					}
				})
			}
		})
	}
}

// countSeries counts the samples of a text exposition, and of those the
// endpoint series (mail_probe_*, mail_tls_*, ...).
func countSeries(body string) int {
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}
