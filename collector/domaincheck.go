package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/discover"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// domainCheck runs the DNS posture checks of one mail domain.
type domainCheck struct {
	cfg  *config.Domain
	env  *checkEnv
	fp   string
	last atomic.Pointer[dnscheck.Result]
}

func newDomainCheck(env *checkEnv, d *config.Domain) *domainCheck {
	return &domainCheck{
		cfg: d,
		env: env,
		fp: fingerprintOf(d.Domain, d.DKIMSelectors, d.Checks, d.DNSBLZones, d.Discover, d.SMTPPort,
			d.Interval, d.Timeout, env.resolverAddr, env.ehlo, env.caFile),
	}
}

func (c *domainCheck) id() string              { return DomainID(c.cfg.Domain) }
func (c *domainCheck) kind() string            { return "domain" }
func (c *domainCheck) fingerprint() string     { return c.fp }
func (c *domainCheck) interval() time.Duration { return c.cfg.Interval }

// discover reads what the domain advertises to clients and servers.
func (c *domainCheck) discover(ctx context.Context, res *resolver.Client) *discover.Result {
	var which []string
	for _, ch := range c.cfg.Checks {
		if ch == "autoconfig" || ch == "srv" {
			which = append(which, ch)
		}
	}
	if which == nil {
		which = []string{} // MX only
	}
	return discover.Discover(ctx, c.cfg.Domain, which, discover.Options{
		Resolver: res, RootCAs: c.env.roots[c.env.caFile], EHLOName: c.env.ehlo,
		Timeout: c.env.timeout, SMTPPort: c.cfg.SMTPPort,
	})
}

// publish hands the advertised endpoints to the exporter as scheduled
// endpoint checks. A discovery whose sources failed keeps the previous set:
// a DNS hiccup must not make endpoints vanish and reappear.
func (c *domainCheck) publish(d *discover.Result) {
	if c.env.onDiscover == nil || d == nil || len(d.SourceErrors) > 0 {
		return
	}
	var cs []check
	for _, ep := range d.Endpoints {
		if c.env.configured[ep.Key()] {
			continue
		}
		srv := &config.Server{Name: ep.Host, Host: ep.Host, TLSServerName: ep.Host, CAFile: c.env.caFile}
		ec := newEndpointCheck(c.env, srv, ep.Config(c.env.interval, c.env.timeout))
		ec.discoveredBy = c.cfg.Domain
		cs = append(cs, ec)
	}
	c.env.onDiscover(c.id(), cs)
}

// dnsChecks are the configured checks that dnscheck runs; autoconfig and
// srv belong to discovery.
func (c *domainCheck) dnsChecks() []string {
	out := []string{} // never nil: dnscheck reads nil as "the defaults"
	for _, ch := range c.cfg.Checks {
		if ch != "autoconfig" && ch != "srv" {
			out = append(out, ch)
		}
	}
	return out
}

func (c *domainCheck) do(ctx context.Context, log *slog.Logger, tr *probe.Transcript) (*dnscheck.Result, *discover.Result) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if tr != nil {
		log = slog.New(probe.TranscriptHandler(log.Handler(), tr))
	}
	// The resolver is made per run: with global.resolver "" it follows
	// /etc/resolv.conf as it is now, and a broken one fails this check, not
	// the whole configuration.
	res, err := resolver.New(c.env.resolverAddr)
	d := dnscheck.Domain{Name: c.cfg.Domain, DKIMSelectors: c.cfg.DKIMSelectors, Checks: c.dnsChecks(),
		DNSBLZones: c.cfg.DNSBLZones, SMTPPort: c.cfg.SMTPPort, MXCertificates: c.cfg.Discover}
	if err != nil {
		log.Error("no DNS resolver", "domain", c.cfg.Domain, "err", err)
		return failedResult(d, err, c.env.now()), nil
	}
	log.Debug("domain checks start", "domain", c.cfg.Domain, "checks", strings.Join(d.Checks, ","), "resolver", res.Server)
	var disc *discover.Result
	discDone := make(chan struct{})
	go func() {
		defer close(discDone)
		if c.cfg.Discover {
			disc = c.discover(ctx, res)
		}
	}()
	r := dnscheck.Run(ctx, d, dnscheck.Options{
		Resolver: res, RootCAs: c.env.roots[c.env.caFile], EHLOName: c.env.ehlo, Now: c.env.now,
	})
	<-discDone
	if disc != nil {
		for name, cr := range disc.Checks {
			r.Checks[name] = cr
		}
		for _, ep := range disc.Endpoints {
			log.Debug("discovered endpoint", "domain", c.cfg.Domain, "host", ep.Host, "endpoint", ep.Name,
				"sources", strings.Join(ep.Sources, ","))
		}
		for src, why := range disc.SourceErrors {
			log.Debug("discovery source failed", "domain", c.cfg.Domain, "source", src, "err", why)
		}
	}
	for _, name := range sortedCheckNames(r) {
		cr := r.Checks[name]
		for _, p := range cr.Problems {
			log.Debug("domain problem", "domain", c.cfg.Domain, "check", name, "code", p.Code,
				"severity", string(p.Severity), "detail", p.Detail)
		}
		if !cr.LookupSuccess {
			log.Debug("domain lookup failed", "domain", c.cfg.Domain, "check", name, "err", cr.Error)
		}
	}
	return r, disc
}

func sortedCheckNames(r *dnscheck.Result) []string {
	names := make([]string, 0, len(r.Checks))
	for n := range r.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// healthy is true when every check's lookups answered and its records are
// valid.
func healthy(r *dnscheck.Result) bool {
	for _, cr := range r.Checks {
		if cr.Applicable() && (!cr.LookupSuccess || !cr.Valid) {
			return false
		}
	}
	return true
}

func (c *domainCheck) run(ctx context.Context, log *slog.Logger, tr *probe.Transcript) bool {
	r, disc := c.do(ctx, log, tr)
	if ctx.Err() != nil {
		return false // cancelled by a reload or shutdown: not a result
	}
	prev := c.last.Swap(r)
	c.publish(disc)
	ok := healthy(r)
	if prev == nil || healthy(prev) != ok {
		if ok {
			log.Info("domain records valid", "domain", c.cfg.Domain)
		} else {
			log.Warn("domain records have problems", "domain", c.cfg.Domain, "problems", summary(r))
		}
	}
	return ok
}

func (c *domainCheck) runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc {
	r, _ := c.do(ctx, log, tr)
	return func(ch chan<- prometheus.Metric) { r.Collect(ch, nil) }
}

func (c *domainCheck) collect(ch chan<- prometheus.Metric) {
	if r := c.last.Load(); r != nil {
		r.Collect(ch, nil)
	}
}

// summary lists the failing checks and their error codes.
func summary(r *dnscheck.Result) string {
	var parts []string
	for _, name := range sortedCheckNames(r) {
		cr := r.Checks[name]
		if !cr.Applicable() {
			parts = append(parts, name+": not applicable ("+cr.NotApplicable+")")
			continue
		}
		if !cr.LookupSuccess {
			parts = append(parts, name+": lookup failed ("+cr.Error+")")
			continue
		}
		var codes []string
		for _, p := range cr.Problems {
			codes = append(codes, p.Code+"("+string(p.Severity)+")")
		}
		if len(codes) > 0 {
			parts = append(parts, name+": "+strings.Join(codes, " "))
		}
	}
	return strings.Join(parts, "; ")
}

// notApplicable names the checks that had nothing to check, sorted.
func notApplicable(r *dnscheck.Result) []string {
	var out []string
	for _, name := range sortedCheckNames(r) {
		if !r.Checks[name].Applicable() {
			out = append(out, name)
		}
	}
	return out
}

func (c *domainCheck) status() StatusRow {
	row := StatusRow{Kind: "domain", Name: c.cfg.Domain, Target: strings.Join(c.cfg.Checks, " ")}
	if r := c.last.Load(); r != nil {
		row.Ran, row.OK, row.Finished, row.Reason = true, healthy(r), r.Finished, summary(r)
		row.Result = "valid"
		if !row.OK {
			row.Result = "problems"
		}
		if na := notApplicable(r); len(na) > 0 {
			row.Result += fmt.Sprintf(", %d not applicable", len(na))
			row.Target += " (not applicable: " + strings.Join(na, ", ") + ")"
		}
	}
	return row
}

// failedResult is what a run without a resolver reports: every check's
// lookups failed.
func failedResult(d dnscheck.Domain, err error, now time.Time) *dnscheck.Result {
	r := &dnscheck.Result{Domain: d.Name, Finished: now, Checks: map[string]*dnscheck.CheckResult{}, MTASTSMaxAge: -1}
	for _, name := range d.Checks {
		r.Checks[name] = &dnscheck.CheckResult{Error: err.Error()}
	}
	return r
}
