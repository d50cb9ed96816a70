package collector

import (
	"context"
	"sync"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/discover"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
)

// Outcome is the result of running one configured check once, for
// `mail_exporter check --config.file`.
type Outcome struct {
	ID        string
	Kind      string
	Server    *config.Server    // endpoint checks
	Endpoint  *config.Endpoint  // endpoint checks
	Probe     *probe.Result     // endpoint checks
	Domain    *dnscheck.Result  // domain checks
	Discovery *discover.Result  // domain checks with discover: true
	Roundtrip *roundtrip.Result // roundtrip checks
	Name      string            // domain or roundtrip name
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
	out := make([]Outcome, len(checks))
	sem := make(chan struct{}, max(concurrency, 1))
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = runOutcome(ctx, c, e)
			if progress != nil {
				mu.Lock()
				done++
				progress(done, len(checks), c.id())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, nil
}

func runOutcome(ctx context.Context, c check, e *Exporter) Outcome {
	o := Outcome{ID: c.id(), Kind: c.kind()}
	switch c := c.(type) {
	case *endpointCheck:
		o.Server, o.Endpoint = c.server, c.ep
		o.Probe = c.probe(ctx, e.log, nil)
	case *domainCheck:
		o.Name = c.cfg.Domain
		o.Domain, o.Discovery = c.do(ctx, e.log, nil)
	case *roundtripCheck:
		o.Name = c.cfg.Name
		o.Roundtrip = c.do(ctx, e.log, nil)
	}
	return o
}
