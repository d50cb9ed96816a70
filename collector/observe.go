package collector

import (
	"context"
	"net/url"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/report"
)

// Recorder observes what the schedule stores: the status page's history
// (collector/web) is one. Record is called after every scheduled run that
// stored a result, from the goroutine that ran it; Retain after every change
// of the running set, with the identities still running.
type Recorder interface {
	Record(Stored)
	Retain(running func(id string) bool)
}

// Stored is one stored result, as a Recorder sees it.
type Stored struct {
	ID, Kind string
	At       time.Time // when the run finished
	OK       bool
	Result   string        // the result code ("ok", "connect", …; domains: "valid" or "problems")
	Error    string        // why it failed; never holds a secret
	Duration time.Duration // the whole run
	Phases   []probe.PhaseTiming
	// Transcript of the run, masked; "" unless the run was recorded (see
	// transcriptFor) and failed.
	Transcript string
}

// transcriptFor decides whether a scheduled run records a transcript. A
// transcript costs about a third more allocations per probe (see
// BenchmarkProbeTranscript), so a check that passed last time runs without
// one; the first run of a check and every run after a failure record one.
// A check that keeps failing thus shows the dialogue of its latest failure.
func (e *Exporter) transcriptFor(c check) *probe.Transcript {
	if _, resolution := c.(*endpointCheck); resolution || e.opts.Recorder == nil {
		return nil
	}
	if s, ok := storedOf(c); ok && s.OK {
		return nil
	}
	return probe.NewTranscript()
}

// record hands the result just stored by a scheduled run to the Recorder.
func (e *Exporter) record(ctx context.Context, c check, tr *probe.Transcript, took time.Duration) {
	if e.opts.Recorder == nil || ctx.Err() != nil {
		return // a cancelled run stores nothing
	}
	s, ok := storedOf(c)
	if !ok {
		return
	}
	if s.Duration == 0 {
		s.Duration = took
	}
	if tr != nil && !s.OK {
		s.Transcript = tr.String()
	}
	e.opts.Recorder.Record(s)
}

// storedOf describes the check's latest stored result.
func storedOf(c check) (Stored, bool) {
	s := Stored{ID: c.id(), Kind: c.kind()}
	probeResult := func(r *probe.Result) {
		s.At, s.OK, s.Result, s.Error = r.Start.Add(r.Duration), r.Success, string(r.Reason), r.Error
		s.Duration, s.Phases = r.Duration, r.Phases
	}
	switch c := c.(type) {
	case *addressCheck:
		r := c.last.Load()
		if r == nil {
			return s, false
		}
		probeResult(r)
	case *endpointCheck:
		// The resolution: its addresses have the results, unless it failed
		// before any address was known.
		r := c.failed.Load()
		if r == nil || len(c.children()) > 0 {
			return s, false
		}
		probeResult(r)
	case *domainCheck:
		r := c.last.Load()
		if r == nil {
			return s, false
		}
		s.At, s.OK, s.Result, s.Error = r.Finished, healthy(r), "valid", summary(r)
		if !s.OK {
			s.Result = "problems"
		}
	case *roundtripCheck:
		r := c.last.Load()
		if r == nil {
			return s, false
		}
		s.At, s.OK, s.Result, s.Error, s.Duration = r.Finished, r.Success, string(r.Reason), r.Error, r.Finished.Sub(r.Start)
	case *postureCheck:
		row := c.status()
		if !row.Ran {
			return s, false
		}
		s.At, s.OK, s.Result, s.Error = row.Finished, row.OK, row.Result, row.Reason
	default:
		return s, false
	}
	return s, true
}

// Detail is what the status page shows of a check beyond its StatusRow:
// where it belongs and what its last result means.
type Detail struct {
	// Server and Host: the server of an endpoint check, the sending server
	// of a roundtrip.
	Server, Host string
	Endpoint     string // endpoint checks: the endpoint's name
	Port         int
	// Protocol and TLS of an endpoint; Address and Family: the address an
	// endpoint probe dials ("" for the endpoint's resolution).
	Protocol, TLS, Address, Family string
	// Covered: other checks stand for this one on the status page (an
	// endpoint's resolution, whose addresses have their own rows).
	Covered bool
	// Domain: the domain of a domain check; for an endpoint it advertised,
	// the advertising domain.
	Domain string
	// ChainNotAfter is the earliest expiry in the certificate chain, as
	// the certificate alerts use it; zero when no certificate was seen.
	ChainNotAfter time.Time
	// Items are the last result in the check command's words, every
	// problem with its fix; nil before the first run.
	Items []report.Item
	// ProbeQuery runs the check on demand: /probe?<ProbeQuery>.
	ProbeQuery string
}

// detailOf builds the Detail of a check.
func detailOf(c check, now time.Time) Detail {
	switch c := c.(type) {
	case *addressCheck:
		d := endpointDetail(c.ep, c.last.Load(), now)
		d.Address, d.Family = c.addr.String(), config.Family(c.addr)
		return d
	case *endpointCheck:
		d := endpointDetail(c, c.failed.Load(), now)
		// Its addresses stand for it once there are any; before, it shows
		// as not run yet, or as failed when the host does not resolve.
		d.Covered = len(c.children()) > 0
		return d
	case *domainCheck:
		d := Detail{Domain: c.cfg.Domain, ProbeQuery: "domain=" + qs(c.cfg.Domain)}
		if r := c.last.Load(); r != nil {
			d.Items = domainItems(r)
		}
		return d
	case *postureCheck:
		d := endpointDetail(c.ep, nil, now)
		d.ProbeQuery += "&posture=true"
		addrs, rs := c.results()
		for i, r := range rs {
			it := report.Posture(c.ep.server.Host, c.ep.ep, r, now)
			if addrs[i].IsValid() {
				it.Name += " " + addrs[i].String()
			}
			d.Items = append(d.Items, it)
		}
		return d
	case *roundtripCheck:
		d := Detail{Server: c.cfg.Send.Server.Name, Host: c.cfg.Send.Server.Host, ProbeQuery: "roundtrip=" + qs(c.cfg.Name)}
		if r := c.last.Load(); r != nil {
			d.Items = []report.Item{report.Roundtrip(c.cfg.Name, r)}
		}
		return d
	}
	return Detail{}
}

func endpointDetail(c *endpointCheck, r *probe.Result, now time.Time) Detail {
	d := Detail{Server: c.server.Name, Host: c.server.Host, Endpoint: c.ep.Name, Port: c.ep.Port, Domain: c.discoveredBy,
		Protocol: string(c.ep.Protocol), TLS: string(c.ep.TLS),
		ProbeQuery: "server=" + qs(c.server.Name) + "&endpoint=" + qs(c.ep.Name)}
	if r == nil {
		return d
	}
	d.Items = []report.Item{report.Endpoint(c.server.Host, c.ep, r, now)}
	if r.TLS != nil {
		d.ChainNotAfter = r.TLS.ChainNotAfter
		if d.ChainNotAfter.IsZero() {
			d.ChainNotAfter = r.TLS.NotAfter
		}
	}
	return d
}

// domainItems are the domain's checks with something to say.
func domainItems(r *dnscheck.Result) []report.Item {
	var out []report.Item
	for _, it := range report.Domain(r) {
		if it.Status != report.OK {
			out = append(out, it)
		}
	}
	return out
}

func qs(s string) string { return url.QueryEscape(s) }

// Detail is the check's Detail as of now.
func (h handle) Detail(now time.Time) Detail { return detailOf(h.c, now) }
