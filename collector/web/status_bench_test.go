package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// pageCheck is an endpoint check with a fixed status, for the page's
// benchmark.
type pageCheck struct {
	id  string
	row collector.StatusRow
	d   collector.Detail
}

func (c pageCheck) ID() string                                                      { return c.id }
func (c pageCheck) Kind() string                                                    { return "endpoint" }
func (c pageCheck) Status() collector.StatusRow                                     { return c.row }
func (c pageCheck) Detail(time.Time) collector.Detail                               { return c.d }
func (c pageCheck) RunOnce(context.Context, *probe.Transcript) prometheus.Collector { return nil }
func (c pageCheck) Results() []collector.StatusRow                                  { return []collector.StatusRow{c.row} }
func (c pageCheck) MinSpacing() time.Duration                                       { return 0 }
func (c pageCheck) Latest() (prometheus.Collector, time.Time, bool)                 { return nil, time.Time{}, false }

type fakeSource []collector.Check

func (s fakeSource) Checks() []collector.Check { return s }
func (s fakeSource) Lookup(id string) (collector.Check, bool) {
	for _, c := range s {
		if c.ID() == id {
			return c, true
		}
	}
	return nil, false
}
func (fakeSource) Now() time.Time { return time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC) }
func (fakeSource) Ready() bool    { return true }

// BenchmarkStatusPage renders the status page of n endpoints (servers of
// seven endpoints, one in 20 failing) with full histories, and reports
// its size.
//
//	go test ./collector/web -run '^$' -bench StatusPage -benchmem
func BenchmarkStatusPage(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			hist := history.New(history.DefaultPerCheck)
			now := fakeSource{}.Now()
			src := make(fakeSource, n)
			eps := []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"}
			for i := range src {
				srv, ep := fmt.Sprintf("mx%04d", i/7), eps[i%7]
				id := collector.AddressID(srv, ep, mustAddr("192.0.2.7"))
				ok := i%20 != 0
				row := collector.StatusRow{Kind: "endpoint", Name: srv + "/" + ep, Ran: true, OK: ok, Result: "ok", Finished: now.Add(-20 * time.Second)}
				if !ok {
					row.Result, row.Reason = "connect", "connect 192.0.2.7:993: connection refused"
				}
				src[i] = pageCheck{id: id, row: row, d: collector.Detail{Server: srv, Host: srv + ".example.com", Endpoint: ep, Port: 993,
					Protocol: "imap", TLS: "implicit", Address: "192.0.2.7", ChainNotAfter: now.Add(60 * 24 * time.Hour)}}
				for k := range history.DefaultPerCheck {
					hist.Record(id, history.Sample{At: now.Add(time.Duration(k-60) * time.Minute), OK: ok || k%2 == 0, Code: "ok", Total: 40 * time.Millisecond,
						Phases: [history.NumPhases]time.Duration{time.Millisecond, 12 * time.Millisecond, 25 * time.Millisecond}}, "", "")
				}
			}
			h := Status(src, StatusOptions{Version: "bench", History: hist})
			var size int
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
			b.ReportMetric(float64(size)/float64(n), "bytes/check")
		})
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
