package collector

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/tlsposture"
)

// postureCheck is the TLS posture check of one TLS endpoint (SPEC 6.1:
// global.posture_interval, server `posture`). Each run resolves the host
// under the server's `addresses` rule and checks every address, so its
// series carry the same labels as the endpoint's, address and family
// included. Its logic is package tlsposture.
type postureCheck struct {
	ep    *endpointCheck
	ident string // PostureID, made once: snapshot and scrapes ask for it
	every time.Duration
	hc    tlsposture.Options
	descs *tlsposture.Descs
	fp    string
	last  atomic.Pointer[postureRun]
}

// postureRun is one run: a result per address, in resolver order. A
// failed resolution is one result for the invalid address.
type postureRun struct {
	addrs   []netip.Addr
	results []*tlsposture.Result
}

// PostureID is the identity of a posture check.
func PostureID(server, endpoint string) string { return "posture/" + server + "/" + endpoint }

// newPostureCheck returns nil for an endpoint without TLS or a server with
// `posture: false`.
func newPostureCheck(env *checkEnv, ec *endpointCheck, every time.Duration) *postureCheck {
	if !ec.server.Posture || ec.ep.TLS == config.TLSNone {
		return nil
	}
	return &postureCheck{
		ep: ec, ident: PostureID(ec.server.Name, ec.ep.Name), every: every, descs: env.postureDescs,
		hc: tlsposture.Options{Target: ec.target, HTTPClient: env.aia},
		fp: fingerprintOf(ec.fp, every),
	}
}

func (c *postureCheck) id() string              { return c.ident }
func (c *postureCheck) kind() string            { return "posture" }
func (c *postureCheck) fingerprint() string     { return c.fp }
func (c *postureCheck) interval() time.Duration { return c.every }

// do checks every address, two at a time (each check is several
// handshakes with one server). With tr, each address's dialogues (up to
// every STARTTLS) are kept apart and appended in address order.
func (c *postureCheck) do(ctx context.Context, log *slog.Logger, tr *probe.Transcript) *postureRun {
	res := c.ep.resolve(ctx)
	if res.Err != nil {
		if tr != nil {
			tr.Note("resolve " + c.ep.server.Host + ": " + res.Err.Error())
		}
		return &postureRun{addrs: []netip.Addr{{}}, results: []*tlsposture.Result{{
			Start: c.ep.env.now(), Error: "resolve " + c.ep.server.Host + ": " + res.Err.Error()}}}
	}
	run := &postureRun{addrs: res.Addrs, results: make([]*tlsposture.Result, len(res.Addrs))}
	trs := make([]*probe.Transcript, len(res.Addrs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, a := range res.Addrs {
		if tr != nil {
			trs[i] = probe.NewTranscript()
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o := c.hc
			o.Target.Address, o.Target.Logger, o.Target.Transcript = a, log, trs[i]
			run.results[i] = tlsposture.Run(ctx, o)
		})
	}
	wg.Wait()
	for i, a := range res.Addrs {
		if tr != nil {
			tr.Note("--- address " + a.String() + " (" + config.Family(a) + "): TLS posture " + postureSummary(run.results[i]))
			tr.Append(trs[i])
		}
	}
	return run
}

func (c *postureCheck) run(ctx context.Context, log *slog.Logger, tr *probe.Transcript) bool {
	r := c.do(ctx, log, tr)
	if ctx.Err() != nil {
		return false
	}
	c.last.Store(r)
	ok := true
	for i, x := range r.results {
		if x.Error != "" {
			ok = false
			log.Warn("TLS posture check failed", "check", c.id(), "address", r.addrs[i].String(), "err", x.Error)
		}
	}
	return ok
}

func (c *postureCheck) runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc {
	r := c.do(ctx, log, tr)
	return func(ch chan<- prometheus.Metric) { c.collectRun(ch, r) }
}

func (c *postureCheck) collect(ch chan<- prometheus.Metric) {
	if r := c.last.Load(); r != nil {
		c.collectRun(ch, r)
	}
}

func (c *postureCheck) collectRun(ch chan<- prometheus.Metric, r *postureRun) {
	for i, a := range r.addrs {
		c.descs.Collect(ch, r.results[i], c.ep.addrLabels(a))
	}
}

// results returns the last run's results by address, for `check`.
func (c *postureCheck) results() ([]netip.Addr, []*tlsposture.Result) {
	if r := c.last.Load(); r != nil {
		return r.addrs, r.results
	}
	return nil, nil
}

func (c *postureCheck) status() StatusRow {
	row := StatusRow{
		Kind:   "posture",
		Name:   c.ep.server.Name + "/" + c.ep.ep.Name,
		Target: c.ep.server.Host + ":" + strconv.Itoa(c.ep.ep.Port) + " " + string(c.ep.ep.TLS),
	}
	r := c.last.Load()
	if r == nil {
		return row
	}
	row.Ran, row.OK, row.Result = true, true, "ok"
	for i, x := range r.results {
		if f := x.Start.Add(x.Duration); f.After(row.Finished) {
			row.Finished = f
		}
		if x.Error != "" {
			row.OK, row.Result = false, "unreachable"
			row.Reason = r.addrs[i].String() + ": " + x.Error
		}
	}
	return row
}

// postureSummary is one line on a result, for transcripts.
func postureSummary(r *tlsposture.Result) string {
	if r.Error != "" {
		return "failed: " + r.Error
	}
	var acc []string
	for _, p := range r.Protocols {
		if p.Accepted {
			acc = append(acc, p.Version)
		}
	}
	s := "accepts " + strings.Join(acc, ", ")
	if len(r.WeakCiphers) > 0 {
		s += "; weak suites " + strings.Join(r.WeakCiphers, ", ")
	}
	return s
}
