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
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
)

// endpointCheck is one endpoint of one server. It does not probe: it
// resolves the server's host on the endpoint's interval and keeps one
// addressCheck per address the server's `addresses` rule selects (SPEC
// 6.1); those are scheduled checks of their own, each with its phase, its
// result and its transcript. The set follows DNS: an address that
// disappears from the answer stops being probed and exported at the next
// resolution, a new one starts.
//
// A resolution that fails (SERVFAIL, timeout, NXDOMAIN, no address under
// the rule) is a `dns` result: every address last seen reads it until a
// resolution succeeds again, and if no address was ever seen one series
// with address="" and family="" carries it.
type endpointCheck struct {
	ident, fp string
	server    *config.Server
	ep        *config.Endpoint
	env       *checkEnv
	target    probe.Target
	descs     *probe.Descs
	labels    []string // probe.SummaryValues: the endpoint's labels without address and family
	sumLabels string   // labels, rendered for mail_probe_addresses(_up)

	mu       sync.Mutex
	kids     []*addressCheck // in resolver order; replaced, never changed in place
	resolved atomic.Bool     // a resolution has finished (or the host is an IP literal)
	failed   atomic.Pointer[probe.Result]
	failText atomic.Pointer[probe.Rendered] // failed, as address="", while no address is known
	// literal: the host is an IP address the addresses rule keeps, so the
	// address set never changes and there is nothing to resolve on a
	// schedule (an IP literal the rule drops is still scheduled: its
	// resolution carries the failure).
	literal bool
	// discoveredBy is the domain that advertised this endpoint; "" for a
	// configured one.
	discoveredBy string
	onDemand     recent // the latest /probe result (ondemand.go)
}

// EndpointID is the identity of an endpoint check.
func EndpointID(server, endpoint string) string { return "endpoint/" + server + "/" + endpoint }

// AddressID is the identity of the check of one address of an endpoint.
func AddressID(server, endpoint string, addr netip.Addr) string {
	return EndpointID(server, endpoint) + "@" + addr.String()
}

func newEndpointCheck(env *checkEnv, srv *config.Server, ep *config.Endpoint) *endpointCheck {
	labels := []string{srv.Name, srv.Host, ep.Name, string(ep.Protocol), strconv.Itoa(ep.Port), string(ep.TLS)}
	for _, k := range env.labelKeys {
		labels = append(labels, srv.Labels[k])
	}
	c := &endpointCheck{
		ident:     EndpointID(srv.Name, ep.Name),
		server:    srv,
		ep:        ep,
		env:       env,
		descs:     env.descs,
		labels:    labels,
		sumLabels: env.descs.SummaryLabels(labels),
		target:    env.target(srv, ep),
	}
	var user, pass string
	if ep.Credential != nil {
		user, pass = ep.Credential.Username, ep.Credential.Password.Reveal()
	}
	c.fp = fingerprintOf(labels, srv.TLSServerName, srv.CAFile, ep.VerifyCertificate, ep.Interval, ep.Timeout,
		user, pass, env.ehlo, env.resolverAddr, rule(srv),
		strconv.FormatBool(ep.RelayTest), ep.RelayTestRecipient)
	// An IP literal needs no lookup: its one check exists from the start.
	if ip, err := netip.ParseAddr(srv.Host); err == nil {
		c.setAddrs(rule(srv).Select([]netip.Addr{ip}))
		c.resolved.Store(true)
		c.literal = len(c.children()) > 0
	}
	return c
}

// rule is the server's addresses rule; discovered servers have none set.
func rule(srv *config.Server) config.AddressRule {
	if srv.Addresses == "" {
		return config.DefaultAddresses
	}
	return srv.Addresses
}

// target is the probe.Target for one endpoint of one server.
func (env *checkEnv) target(srv *config.Server, ep *config.Endpoint) probe.Target {
	return probe.Target{
		Server:        srv.Name,
		Host:          srv.Host,
		ServerName:    srv.TLSServerName,
		Endpoint:      ep,
		RootCAs:       env.roots[srv.CAFile],
		Intermediates: env.inters[srv.CAFile],
		EHLOName:      env.ehlo,
		Resolver:      env.resolver,
		Now:           env.now,
		RelayTest:     relayTestOf(ep),
		LookupPTR:     env.lookupPTR(ep),
		Chains:        env.chains,
		KeyShares:     env.shares,
	}
}

// relayTestOf is the relay test an endpoint asks for, nil for none.
func relayTestOf(ep *config.Endpoint) *relaytest.Config {
	if !ep.RelayTest || ep.Protocol != config.SMTP {
		return nil
	}
	return &relaytest.Config{Recipient: ep.RelayTestRecipient}
}

// lookupPTR is the PTR lookup of SMTP probes (banner against reverse DNS),
// through the configured resolver.
func (env *checkEnv) lookupPTR(ep *config.Endpoint) func(context.Context, netip.Addr) ([]string, error) {
	if ep.Protocol != config.SMTP {
		return nil
	}
	return env.ptr
}

func (c *endpointCheck) id() string              { return c.ident }
func (c *endpointCheck) kind() string            { return "endpoint" }
func (c *endpointCheck) fingerprint() string     { return c.fp }
func (c *endpointCheck) interval() time.Duration { return c.ep.Interval }

// children returns the current address checks.
func (c *endpointCheck) children() []*addressCheck {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kids
}

// setAddrs makes addrs the address set, keeping the checks (and results)
// of addresses already known. It reports whether the set changed.
func (c *endpointCheck) setAddrs(addrs []netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := make(map[netip.Addr]*addressCheck, len(c.kids))
	for _, k := range c.kids {
		old[k.addr] = k
	}
	changed := len(addrs) != len(c.kids)
	next := make([]*addressCheck, 0, len(addrs))
	for _, a := range addrs {
		k, ok := old[a]
		if !ok {
			k, changed = newAddressCheck(c, a), true
		}
		next = append(next, k)
	}
	c.kids = next
	return changed
}

// adopt takes over the address set of the check this one replaces (its
// settings changed), so that a reload does not wait for a resolution.
func (c *endpointCheck) adopt(old *endpointCheck) {
	if c.resolved.Load() {
		return
	}
	var addrs []netip.Addr
	for _, k := range old.children() {
		addrs = append(addrs, k.addr)
	}
	c.setAddrs(addrs)
	c.resolved.Store(old.resolved.Load())
}

// addrLabels are the labels of an address's series; an invalid addr gives
// address="" and family="" (a host that never resolved).
func (c *endpointCheck) addrLabels(a netip.Addr) []string {
	n := len(probe.EndpointLabels) - 2
	out := make([]string, 0, len(c.labels)+2)
	out = append(out, c.labels[:n]...)
	if a.IsValid() {
		out = append(out, a.String(), config.Family(a))
	} else {
		out = append(out, "", "")
	}
	return append(out, c.labels[n:]...)
}

func (c *endpointCheck) resolve(ctx context.Context) probe.Resolution {
	return probe.Resolve(ctx, c.target.Resolver, c.server.Host, rule(c.server), c.env.now)
}

// run resolves the host and updates the address set. It reports whether
// the resolution succeeded.
func (c *endpointCheck) run(ctx context.Context, log *slog.Logger, _ *probe.Transcript) bool {
	res := c.resolve(ctx)
	if ctx.Err() != nil {
		return false // cancelled by a reload or shutdown: not a result
	}
	if res.Err != nil {
		f := res.Failed()
		prev := c.failed.Swap(f)
		kids := c.children()
		if len(kids) == 0 {
			c.failText.Store(c.descs.Render(f, c.addrLabels(netip.Addr{})))
		}
		for _, k := range kids {
			k.store(f)
		}
		c.resolved.Store(true)
		if prev == nil {
			log.Warn("endpoint down", "check", c.ident, "result", string(probe.ReasonDNS), "err", f.Error)
		}
		return false
	}
	if c.failed.Swap(nil) != nil {
		log.Info("endpoint resolves again", "check", c.ident)
	}
	changed := c.setAddrs(res.Addrs)
	c.failText.Store(nil)
	c.resolved.Store(true)
	if changed {
		log.Info("endpoint addresses", "check", c.ident, "addresses", addrList(res.Addrs))
		if c.env.onAddresses != nil {
			c.env.onAddresses()
		}
	}
	return true
}

func addrList(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

// probeAt probes the endpoint on one address.
func (c *endpointCheck) probeAt(ctx context.Context, log *slog.Logger, tr *probe.Transcript, a netip.Addr) *probe.Result {
	t := c.target
	t.Address, t.Logger, t.Transcript = a, log, tr
	return probe.Run(ctx, t)
}

// probeAll resolves and probes every address side by side, for /probe and
// `check`. With tr, each address's dialogue is kept apart and appended in
// address order. A failed resolution gives one result for the invalid
// address.
func (c *endpointCheck) probeAll(ctx context.Context, log *slog.Logger, tr *probe.Transcript) ([]netip.Addr, []*probe.Result) {
	res := c.resolve(ctx)
	if res.Err != nil {
		if tr != nil {
			tr.Note("resolve " + c.server.Host + ": " + res.Err.Error())
		}
		return []netip.Addr{{}}, []*probe.Result{res.Failed()}
	}
	if tr != nil {
		tr.Note("resolved " + c.server.Host + " (addresses: " + string(rule(c.server)) + "): " + addrList(res.Addrs))
	}
	out := make([]*probe.Result, len(res.Addrs))
	trs := make([]*probe.Transcript, len(res.Addrs))
	var wg sync.WaitGroup
	for i, a := range res.Addrs {
		if tr != nil {
			trs[i] = probe.NewTranscript()
		}
		wg.Go(func() { out[i] = c.probeAt(ctx, log, trs[i], a) })
	}
	wg.Wait()
	for i, a := range res.Addrs {
		if tr != nil {
			tr.Note("--- address " + a.String() + " (" + config.Family(a) + "): " + string(out[i].Reason))
			tr.Append(trs[i])
		}
	}
	return res.Addrs, out
}

// runOnce probes every address of the endpoint now (/probe?server=&endpoint=).
func (c *endpointCheck) runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc {
	addrs, rs := c.probeAll(ctx, log, tr)
	s := probe.Summary{Addresses: len(rs)}
	for _, r := range rs {
		if r.Success {
			s.Up++
		}
	}
	return func(ch chan<- prometheus.Metric) {
		for i, r := range rs {
			c.descs.Collect(ch, r, c.addrLabels(addrs[i]))
		}
		c.descs.CollectSummary(ch, s, c.labels)
	}
}

// summary counts the exported addresses and those up. ok is false before
// the first resolution. While no address is known and the resolution
// failed, the one address="" series counts: mail_probe_addresses is always
// the number of mail_probe_success series of the endpoint.
func (c *endpointCheck) summary() (s probe.Summary, ok bool) {
	if !c.resolved.Load() {
		return s, false
	}
	kids := c.children()
	if len(kids) == 0 && c.failed.Load() != nil {
		return probe.Summary{Addresses: 1}, true
	}
	s.Addresses = len(kids)
	for _, k := range kids {
		if r := k.last.Load(); r != nil && r.Success {
			s.Up++
		}
	}
	return s, true
}

func (c *endpointCheck) collect(ch chan<- prometheus.Metric) {
	if f := c.failed.Load(); f != nil && len(c.children()) == 0 {
		c.descs.Collect(ch, f, c.addrLabels(netip.Addr{}))
	}
	if s, ok := c.summary(); ok {
		c.descs.CollectSummary(ch, s, c.labels)
	}
}

func (c *endpointCheck) status() StatusRow {
	row := StatusRow{
		Kind:   "endpoint",
		Name:   c.server.Name + "/" + c.ep.Name,
		Target: c.server.Host + ":" + strconv.Itoa(c.ep.Port) + " " + string(c.ep.Protocol) + " " + string(c.ep.TLS),
	}
	if f := c.failed.Load(); f != nil {
		row.Ran, row.Result, row.Reason = true, string(f.Reason), f.Error
		row.Finished = f.Start.Add(f.Duration)
		return row
	}
	if s, ok := c.summary(); ok {
		row.Ran, row.OK = true, s.Addresses > 0 && s.Up == s.Addresses
		row.Result = strconv.Itoa(s.Up) + " of " + strconv.Itoa(s.Addresses) + " addresses up"
	}
	return row
}
