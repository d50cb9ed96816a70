// Package collector schedules the configured checks, stores their latest
// results and renders them as metrics at scrape time. The checks themselves
// live in sub-packages (probe, dnscheck, roundtrip) and know nothing of this
// one; the HTTP side (/metrics, /probe, the status page) lives in
// collector/web, which sees the Exporter through webapi.go.
package collector

import (
	"context"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/scheduler"
)

// Options configure an Exporter.
type Options struct {
	Logger *slog.Logger
	// Shard splits the checks between replicas: this one runs the checks
	// whose identity hashes to Index modulo Count. Count 0 or 1 = all.
	Shard Shard
	// Hostname is the default EHLO name; "" = os.Hostname().
	Hostname string
	Now      func() time.Time
	// Resolver, when set, resolves the endpoints' hosts instead of the one
	// global.resolver names (tests).
	Resolver probe.Resolver
	// Recorder, when set, sees every result the schedule stores (the
	// status page's history).
	Recorder Recorder
}

// Exporter owns the running configuration, the scheduler and the results.
type Exporter struct {
	opts  Options
	log   *slog.Logger
	sched *scheduler.Scheduler
	self  *selfMetrics

	reloadMu       sync.Mutex // one reload at a time
	installMu      sync.Mutex // one change of the running set at a time
	installPending atomic.Bool

	mu         sync.RWMutex
	cfg        *config.Config
	env        *checkEnv
	configured []check            // built from cfg
	discovered map[string][]check // endpoints advertised by a domain, by domain check ID
	checks     map[string]check   // running: configured + discovered, by ID
	list       []check            // the same, sorted by ID, for stable output
}

// New creates an Exporter with no checks; call ApplyConfig or Reload.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
		if opts.Hostname == "" {
			opts.Hostname = "localhost"
		}
	}
	return &Exporter{
		opts:       opts,
		log:        opts.Logger,
		self:       newSelfMetrics(),
		checks:     map[string]check{},
		discovered: map[string][]check{},
	}
}

// start begins scheduling under g's limits, or applies them to the running
// schedule. It is separate from New so that tests and `check` can run
// checks without a schedule.
func (e *Exporter) start(g config.Global) {
	if e.sched == nil {
		e.sched = scheduler.New(scheduler.Options{
			Concurrency: g.Concurrency, HostConcurrency: g.HostConcurrency,
			Kinds: checkKinds, Logger: e.log, Now: e.opts.Now,
		})
		return
	}
	e.sched.SetLimits(g.Concurrency, g.HostConcurrency)
}

// checkKinds are the values of the `kind` label.
var checkKinds = []string{"endpoint", "domain", "roundtrip", "posture"}

// Schedule reports the scheduler's load (zero before the first config).
func (e *Exporter) Schedule() scheduler.Stats {
	if e.sched == nil {
		return scheduler.Stats{}
	}
	return e.sched.Stats()
}

// Overloaded reports whether the schedule is not kept: lag p99 over the
// last minute above a tenth of the shortest interval, or a run skipped in
// it (mail_exporter_overloaded).
func (e *Exporter) Overloaded() bool { return e.Schedule().Overloaded }

// Stop ends every scheduled check and waits for running ones.
func (e *Exporter) Stop() {
	if e.sched != nil {
		e.sched.Stop()
	}
}

// Config returns the running configuration (nil before the first load).
func (e *Exporter) Config() *config.Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

// Reload loads path and applies it. On error the running configuration
// stays in place and mail_exporter_config_last_reload_successful reads 0.
func (e *Exporter) Reload(path string, opts ...config.Option) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	cfg, err := config.Load(path, opts...)
	if err != nil {
		e.self.reloadFailed()
		e.log.Error("config reload failed; keeping the running config", "file", path, "err", err)
		return err
	}
	for _, w := range cfg.Warnings {
		e.log.Warn(w)
	}
	if err := e.ApplyConfig(cfg); err != nil {
		e.self.reloadFailed()
		e.log.Error("config apply failed; keeping the running config", "file", path, "err", err)
		return err
	}
	e.self.reloadSucceeded(e.opts.Now())
	e.log.Info("config loaded", "file", path, "checks", e.sched.Len())
	return nil
}

// ApplyConfig makes cfg the running configuration. Checks whose identity
// and settings are unchanged keep their schedule and last result.
func (e *Exporter) ApplyConfig(cfg *config.Config) error {
	env, err := e.newCheckEnv(cfg)
	if err != nil {
		return err
	}
	env.onDiscover = e.setDiscovered
	env.onAddresses = e.requestInstall
	built := e.buildChecks(cfg, env)
	e.installMu.Lock()
	defer e.installMu.Unlock()
	e.mu.Lock()
	e.cfg, e.env, e.configured = cfg, env, built
	// Discovered endpoints of domains that are gone, or no longer
	// discover, go with them; the others stay until their domain runs.
	for id := range e.discovered {
		if d, ok := cfg.Domain(strings.TrimPrefix(id, "domain/")); !ok || !d.Discover {
			delete(e.discovered, id)
		}
	}
	e.mu.Unlock()
	e.start(cfg.Global)
	e.install()
	return nil
}

// install merges the configured and the discovered checks into the running
// set, reusing unchanged check instances (and so their last results), and
// hands the set to the scheduler. Callers hold installMu.
func (e *Exporter) install() {
	e.mu.Lock()
	next := make(map[string]check, len(e.configured))
	owned := map[string]bool{}
	var endpoints []*endpointCheck
	add := func(c check, mine bool) {
		if _, dup := next[c.id()]; dup {
			return // configured first: an advertised server already configured is probed once
		}
		old, ok := e.checks[c.id()]
		if ok && old.fingerprint() == c.fingerprint() {
			c = old
		} else if ec, isEP := c.(*endpointCheck); isEP && ok {
			if prev, wasEP := old.(*endpointCheck); wasEP {
				ec.adopt(prev) // changed settings, same host: keep its addresses
			}
		}
		next[c.id()] = c
		owned[c.id()] = mine
		if ec, isEP := c.(*endpointCheck); isEP {
			endpoints = append(endpoints, ec)
		}
	}
	for _, c := range e.configured {
		add(c, e.opts.Shard.Owns(c.id()))
	}
	// Discovered endpoints run on the shard that owns their domain: only
	// that shard knows them.
	for _, cs := range e.discovered {
		for _, c := range cs {
			add(c, true)
		}
	}
	// Each address of an endpoint is a check of its own, on the shard of
	// its endpoint (the one that resolves it).
	for _, ec := range endpoints {
		for _, k := range ec.children() {
			add(k, owned[ec.id()])
		}
	}
	list := make([]check, 0, len(next))
	for _, c := range next {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id() < list[j].id() })
	e.checks, e.list = next, list
	e.mu.Unlock()
	if e.opts.Recorder != nil {
		e.opts.Recorder.Retain(func(id string) bool { _, ok := next[id]; return ok })
	}

	jobs := make([]scheduler.Job, 0, len(list))
	for _, c := range list {
		if !owned[c.id()] {
			continue
		}
		if ec, isEP := c.(*endpointCheck); isEP && ec.literal {
			continue // its one address check is scheduled; nothing to resolve
		}
		jobs = append(jobs, scheduler.Job{
			ID: c.id(), Fingerprint: c.fingerprint(), Kind: c.kind(), Interval: c.interval(), Key: schedKey(c),
			Run: func(ctx context.Context) { e.runScheduled(ctx, c) },
		})
	}
	e.sched.Update(jobs)
}

// schedKey is the server a check loads, for the scheduler's per-host limit:
// the address an endpoint probe dials, the sending server of a roundtrip;
// "" for domain checks and endpoint resolutions (they load resolvers, not
// mail servers).
func schedKey(c check) string {
	switch c := c.(type) {
	case *addressCheck:
		return c.addr.String()
	case *roundtripCheck:
		return hostKey(c.check.Send.Host)
	case *postureCheck:
		return hostKey(c.ep.server.Host)
	}
	return ""
}

func hostKey(host string) string { return strings.ToLower(strings.TrimSuffix(host, ".")) }

// setDiscovered replaces the endpoint checks discovered for one domain.
func (e *Exporter) setDiscovered(domainID string, cs []check) {
	e.installMu.Lock()
	defer e.installMu.Unlock()
	e.mu.Lock()
	if _, ok := e.checks[domainID]; !ok {
		e.mu.Unlock()
		return // the domain was removed meanwhile
	}
	e.discovered[domainID] = cs
	e.mu.Unlock()
	e.install()
}

// runScheduled runs one check for the schedule and counts its outcome. An
// endpoint's resolution is not an endpoint check of its own (its addresses
// count), except when it failed with no address to read the failure.
func (e *Exporter) runScheduled(ctx context.Context, c check) {
	if e.skipForBackoff(c) {
		return
	}
	tr := e.transcriptFor(c)
	start := time.Now()
	ok := c.run(ctx, e.log, tr)
	e.record(ctx, c, tr, time.Since(start))
	if ec, isEP := c.(*endpointCheck); isEP && (ok || len(ec.children()) > 0 || ctx.Err() != nil) {
		return
	}
	e.self.count(c.kind(), ok)
}

// installDelay gathers the address-set changes of many endpoints (after a
// start, every host resolves for the first time) into one install.
const installDelay = 100 * time.Millisecond

// requestInstall re-installs the running set soon: an endpoint's address
// set changed.
func (e *Exporter) requestInstall() {
	if !e.installPending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(installDelay, func() {
		e.installMu.Lock()
		defer e.installMu.Unlock()
		e.installPending.Store(false)
		e.install()
	})
}

// lookup returns a configured check by identity.
func (e *Exporter) lookup(id string) (check, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c, ok := e.checks[id]
	return c, ok
}

// snapshot returns the current checks in ID order.
func (e *Exporter) snapshot() []check {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.list
}

// Describe sends nothing: the label sets of endpoint series depend on the
// configuration, so the Exporter is an unchecked collector.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect renders the latest stored result of every check owned by this
// shard, and the exporter's own metrics. It never waits for a probe.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) { e.collect(ch, true) }

// collect is Collect, leaving out the endpoint series unless endpoints:
// web.Metrics writes those itself (see WithoutEndpoints).
func (e *Exporter) collect(ch chan<- prometheus.Metric, endpoints bool) {
	for _, c := range e.snapshot() {
		if isEndpoint(c) && !endpoints {
			continue // written as text, their backoff gauge too
		}
		collectBackoff(c, ch)
		c.collect(ch)
	}
	e.self.Collect(ch)
	if e.sched != nil {
		e.sched.Collect(ch)
	}
}

// Ready reports whether a configuration is loaded.
func (e *Exporter) Ready() bool { return e.Config() != nil }

// isEndpoint says whether c's series are endpoint series (written as text
// by MetricsHandler).
func isEndpoint(c check) bool {
	switch c.(type) {
	case *endpointCheck, *addressCheck:
		return true
	}
	return false
}
