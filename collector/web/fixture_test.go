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
	return loadExporter(t, fakes.Targets(t, extra), false)
}

// newQuietExporter is newExporter as a replica that owns none of the
// checks: nothing runs unless asked for through /probe.
func newQuietExporter(t *testing.T, extra string) *collector.Exporter {
	t.Helper()
	return loadExporter(t, fakes.Targets(t, extra), true)
}

func loadExporter(t *testing.T, path string, quiet bool) *collector.Exporter {
	t.Helper()
	opts := collector.Options{Hostname: "probe.example.test"}
	if quiet {
		opts.Shard = quietShard(t, path)
	}
	exp := collector.New(opts)
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	return exp
}
