package web

import (
	"log/slog"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

var discard = slog.New(slog.DiscardHandler)

// newExporter loads fakes.Targets(extra) into an Exporter. Nothing has run
// yet: call RunAll for stored results.
func newExporter(t *testing.T, extra string) *collector.Exporter {
	t.Helper()
	exp := collector.New(collector.Options{Hostname: "probe.example.test"})
	if err := exp.Reload(fakes.Targets(t, extra)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	return exp
}
