package collector

import (
	"context"
	"net/netip"
	"sync"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/discover"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
	"github.com/mail-exporter/mail_exporter/collector/tlsposture"
)

// Outcome is the result of running one configured check once, for
// `mail_exporter check --config.file`.
type Outcome struct {
	ID        string
	Kind      string
	Server    *config.Server     // endpoint checks
	Endpoint  *config.Endpoint   // endpoint checks
	Probe     *probe.Result      // endpoint checks: one Outcome per address
	Address   netip.Addr         // endpoint checks: the address probed; invalid when the host did not resolve
	Domain    *dnscheck.Result   // domain checks
	Discovery *discover.Result   // domain checks with discover: true
	Roundtrip *roundtrip.Result  // roundtrip checks
	Posture   *tlsposture.Result // posture checks: one Outcome per address, with Server, Endpoint and Address
	Name      string             // domain or roundtrip name
}

// RunOnce runs every check of cfg once, at most concurrency at a time,
// without a schedule and without storing anything. progress, if set, is
// called as each check finishes.
func (e *Exporter) RunOnce(ctx context.Context, cfg *config.Config, concurrency int, progress func(done, total int, id string)) ([]Outcome, error) {
	env, err := e.newCheckEnv(cfg)
	if err != nil {
		return nil, err
	}
	checks := e.buildChecks(cfg, env)
	outs := make([][]Outcome, len(checks))
	sem := make(chan struct{}, max(concurrency, 1))
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			outs[i] = runOutcomes(ctx, c, e)
			if progress != nil {
				mu.Lock()
				done++
				progress(done, len(checks), c.id())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var out []Outcome
	for _, o := range outs {
		out = append(out, o...)
	}
	return out, nil
}

// runOutcomes runs c once; an endpoint gives one Outcome per address.
func runOutcomes(ctx context.Context, c check, e *Exporter) []Outcome {
	o := Outcome{ID: c.id(), Kind: c.kind()}
	switch c := c.(type) {
	case *endpointCheck:
		o.Server, o.Endpoint = c.server, c.ep
		addrs, rs := c.probeAll(ctx, e.log, nil)
		out := make([]Outcome, len(rs))
		for i, r := range rs {
			out[i], out[i].Probe, out[i].Address = o, r, addrs[i]
			if addrs[i].IsValid() {
				out[i].ID = AddressID(c.server.Name, c.ep.Name, addrs[i])
			}
		}
		return out
	case *postureCheck:
		o.Server, o.Endpoint = c.ep.server, c.ep.ep
		run := c.do(ctx, e.log, nil)
		out := make([]Outcome, len(run.results))
		for i, r := range run.results {
			out[i], out[i].Posture, out[i].Address = o, r, run.addrs[i]
		}
		return out
	case *domainCheck:
		o.Name = c.cfg.Domain
		o.Domain, o.Discovery = c.do(ctx, e.log, nil)
	case *roundtripCheck:
		o.Name = c.cfg.Name
		o.Roundtrip = c.do(ctx, e.log, nil)
	}
	return []Outcome{o}
}
