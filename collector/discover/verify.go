package discover

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// maxProbes bounds the verification probes in flight for one domain.
const maxProbes = 4

// Verification findings; a check's code is "<check>_<kind>", except
// kindNoSTARTTLS (see outcome.code).
const (
	kindUnresolvable = "host_unresolvable"
	kindClosed       = "port_closed"
	kindProtocol     = "protocol_error"
	kindMismatch     = "security_mismatch"
	kindTLS          = "tls_failed"
	kindCertificate  = "certificate"
	kindNoSTARTTLS   = "no_starttls"
)

// outcome is what verifying one endpoint found: nothing (kind ""), a finding,
// or a DNS failure that left it unverified.
type outcome struct {
	kind      string
	detail    string
	lookupErr error
}

// code is the problem code of the outcome for a check. A STARTTLS endpoint
// whose server does not offer STARTTLS is srv_plaintext for SRV (RFC 6186's
// _imap, _pop3 and _submission are plaintext ports that must be upgraded)
// and autoconfig_security_mismatch for autoconfig (socketType STARTTLS
// promises what the port does not do).
func (o outcome) code(check string) string {
	switch o.kind {
	case "":
		return ""
	case kindNoSTARTTLS:
		if check == SourceSRV {
			return "srv_plaintext"
		}
		return "autoconfig_security_mismatch"
	}
	return check + "_" + o.kind
}

// verifier probes endpoints, each (host, protocol, port, TLS mode) at most
// once per discovery, and resolves each host once.
type verifier struct {
	d      *discovery
	sem    chan struct{}
	mu     sync.Mutex
	probes map[string]*probeCall
	hosts  map[string]*hostCall
}

type probeCall struct {
	done chan struct{}
	r    *probe.Result
}

type hostCall struct {
	done  chan struct{}
	addrs []netip.Addr
	err   error
}

// verifyAll verifies every advertised endpoint once.
func (d *discovery) verifyAll(ctx context.Context, ads []advert) map[string]outcome {
	v := &verifier{d: d, sem: make(chan struct{}, maxProbes), probes: map[string]*probeCall{}, hosts: map[string]*hostCall{}}
	var eps []Endpoint
	for _, a := range ads {
		if !slices.ContainsFunc(eps, func(e Endpoint) bool { return e.Key() == a.ep.Key() }) {
			eps = append(eps, a.ep)
		}
	}
	out := make(map[string]outcome, len(eps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Go(func() {
			var o outcome
			if err := safely(func() error { o = v.verify(ctx, ep); return nil }); err != nil {
				o = outcome{kind: kindProtocol, detail: err.Error()}
			}
			mu.Lock()
			out[ep.Key()] = o
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// verify probes ep as advertised and classifies a failure. When the
// advertised TLS mode fails before any TLS or greeting, the other mode is
// tried on the same port: if that one works, the port speaks the other
// security and the advertisement is wrong (security_mismatch) rather than
// the server broken.
func (v *verifier) verify(ctx context.Context, ep Endpoint) outcome {
	if _, err := netip.ParseAddr(ep.Host); err != nil {
		addrs, err := v.resolve(ctx, ep.Host)
		if err != nil {
			return outcome{lookupErr: fmt.Errorf("%s: %w", ep.Host, err)}
		}
		if len(addrs) == 0 {
			return outcome{kind: kindUnresolvable, detail: ep.Host + " has no A or AAAA record"}
		}
	}
	r := v.probe(ctx, ep, ep.TLS)
	if r.Reason != probe.ReasonOK && expired(ctx) {
		// The discovery ran out of time: that says nothing of the server.
		return notVerified(ep)
	}
	switch r.Reason {
	case probe.ReasonOK:
		return outcome{}
	case probe.ReasonCertificate:
		return outcome{kind: kindCertificate, detail: r.Error}
	case probe.ReasonDNS:
		return outcome{kind: kindUnresolvable, detail: r.Error}
	case probe.ReasonConnect:
		return outcome{kind: kindClosed, detail: r.Error}
	case probe.ReasonStartTLSUnsupported:
		return outcome{kind: kindNoSTARTTLS, detail: r.Error}
	case probe.ReasonTimeout:
		if !connected(r) {
			return outcome{kind: kindClosed, detail: r.Error}
		}
	}
	// The advertised mode failed. If the port spoke that mode as far as
	// the probe went (a certificate for implicit TLS, a greeting for the
	// others), the security is right and the failure is the server's.
	// Otherwise the other mode is tried on the same port.
	if !speaks(r, ep.TLS) {
		alt := config.TLSImplicit
		if ep.TLS == config.TLSImplicit {
			alt = config.TLSStartTLS
		}
		ar := v.probe(ctx, ep, alt)
		if speaks(ar, alt) {
			return outcome{kind: kindMismatch, detail: mismatchDetail(ep.TLS, ar) + " (" + string(ep.TLS) + " probe: " + string(r.Reason) + ": " + r.Error + ")"}
		}
		if expired(ctx) {
			return notVerified(ep)
		}
	}
	switch r.Reason {
	case probe.ReasonTLSHandshake:
		return outcome{kind: kindTLS, detail: r.Error}
	case probe.ReasonTimeout:
		return outcome{kind: kindClosed, detail: "connected, but nothing came within the timeout: " + r.Error}
	}
	return outcome{kind: kindProtocol, detail: string(r.Reason) + ": " + r.Error}
}

// expired reports whether ctx is done or at its deadline: a probe's reads
// time out at the deadline a moment before ctx itself says so.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

func notVerified(ep Endpoint) outcome {
	return outcome{lookupErr: fmt.Errorf("%s:%d (%s, %s) not verified: %w", ep.Host, ep.Port, ep.Protocol, ep.TLS, context.DeadlineExceeded)}
}

// connected reports whether the probe got past connect: a greeting or a TLS
// handshake was attempted.
func connected(r *probe.Result) bool {
	_, g := r.PhaseDuration(probe.PhaseGreeting)
	_, t := r.PhaseDuration(probe.PhaseTLSHandshake)
	return g || t
}

// speaks reports whether a probe in mode found the port speaking that mode:
// for implicit TLS, a handshake that produced a certificate; for STARTTLS
// and plaintext, a greeting that was accepted (the capabilities were asked
// for next).
func speaks(r *probe.Result, mode config.TLSMode) bool {
	if mode == config.TLSImplicit {
		return r.TLS != nil
	}
	_, ok := r.PhaseDuration(probe.PhaseCapabilities)
	return ok
}

func mismatchDetail(advertised config.TLSMode, alt *probe.Result) string {
	switch {
	case advertised != config.TLSImplicit:
		what := "STARTTLS"
		if advertised == config.TLSNone {
			what = "plaintext"
		}
		return "advertised " + what + ", but the port speaks implicit TLS (SSL)"
	case alt.StartTLSOffered != nil && *alt.StartTLSOffered:
		return "advertised implicit TLS (SSL), but the port speaks plaintext first and offers STARTTLS"
	}
	return "advertised implicit TLS (SSL), but the port speaks plaintext"
}

// probe runs one probe of ep in TLS mode tls, once per discovery.
func (v *verifier) probe(ctx context.Context, ep Endpoint, tls config.TLSMode) *probe.Result {
	key := Endpoint{Host: ep.Host, Protocol: ep.Protocol, Port: ep.Port, TLS: tls}.Key()
	v.mu.Lock()
	c, ok := v.probes[key]
	if !ok {
		c = &probeCall{done: make(chan struct{})}
		v.probes[key] = c
	}
	v.mu.Unlock()
	if ok {
		<-c.done // the first caller always finishes: probe.Run is bounded by ctx
		return c.r
	}
	defer close(c.done)
	select {
	case v.sem <- struct{}{}:
		defer func() { <-v.sem }()
	case <-ctx.Done():
		c.r = &probe.Result{Reason: probe.ReasonTimeout, Error: ctx.Err().Error()}
		return c.r
	}
	d := v.d
	c.r = probe.Run(ctx, probe.Target{
		Server: ep.Host, Host: ep.Host, ServerName: ep.Host,
		Endpoint: &config.Endpoint{Name: EndpointName(ep.Protocol, ep.Port, tls), Protocol: ep.Protocol, Port: ep.Port,
			TLS: tls, VerifyCertificate: true, Timeout: d.timeout},
		RootCAs: d.opt.RootCAs, EHLOName: d.ehlo, Resolver: d.probeRs,
	})
	return c.r
}

// resolve looks host's addresses up once per discovery.
func (v *verifier) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	v.mu.Lock()
	c, ok := v.hosts[host]
	if !ok {
		c = &hostCall{done: make(chan struct{})}
		v.hosts[host] = c
	}
	v.mu.Unlock()
	if ok {
		<-c.done
		return c.addrs, c.err
	}
	defer close(c.done)
	c.addrs, _, _, c.err = resolver.Addrs(ctx, v.d.opt.Resolver, host)
	return c.addrs, c.err
}
