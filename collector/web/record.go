package web

import (
	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// History records the exporter's stored results into a history.Store for
// the status page: give it as collector.Options.Recorder.
type History struct{ Store *history.Store }

var _ collector.Recorder = History{}

// Record keeps one stored result as a compact sample.
func (h History) Record(s collector.Stored) {
	h.Store.Record(s.ID, sampleOf(s), s.Error, s.Transcript)
}

// Retain drops the history of checks no longer running.
func (h History) Retain(running func(id string) bool) { h.Store.Retain(running) }

// phaseGroup puts each probe phase into one of the sample's three groups.
var phaseGroup = map[probe.Phase]int{
	probe.PhaseResolve:      history.PhaseConnect,
	probe.PhaseConnect:      history.PhaseConnect,
	probe.PhaseTLSHandshake: history.PhaseTLS,
	probe.PhaseStartTLS:     history.PhaseTLS,
}

func sampleOf(s collector.Stored) history.Sample {
	smp := history.Sample{At: s.At, OK: s.OK, Code: s.Result, Total: s.Duration}
	for _, p := range s.Phases {
		g, ok := phaseGroup[p.Phase]
		if !ok {
			g = history.PhaseServer // greeting, capabilities, auth, quota, logout, and any later phase
		}
		smp.Phases[g] += p.Duration
	}
	return smp
}
