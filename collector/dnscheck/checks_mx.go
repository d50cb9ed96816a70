package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dane"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnsbl"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mtasts"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mx"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/ptr"
)

// maxAddrs bounds the MX addresses looked at by ptr and dnsbl.
const maxAddrs = 32

// The checks below need the MX set; they wait for the shared lookup.

func (e *env) checkMTASTS(ctx context.Context) outcome {
	b := newBuilder(CheckMTASTS)
	m, err := e.mx(ctx)
	if err != nil {
		b.fail(fmt.Errorf("MX lookup: %w", err))
		return outcome{cr: b.done(false)}
	}
	rep, err := mtasts.Check(ctx, e.opt.Resolver, e.client, e.domain, m.Names())
	if err != nil {
		b.fail(err)
	}
	b.add(rep.Problems...)
	p := rep.Policy
	if p != nil && p.Mode != mtasts.ModeNone {
		// RFC 8461 4.2: each MX host must present a certificate valid for
		// its name, chained to a trusted root.
		// On every address of every MX host: a sender may land on any.
		for _, h := range m.Hosts {
			for _, tg := range e.tlsTargets(h) {
				cs, err := tg.dial(ctx)
				if err != nil {
					b.add(fmt.Errorf("%w: %s port %d: %v", mtasts.ErrMXNoTLS, h.Name, e.port, err))
					continue
				}
				if err := mtasts.CheckMXCertificate(cs, h.Name, e.opt.RootCAs, e.now()); err != nil {
					b.add(fmt.Errorf("%w%s", err, tg.where()))
				}
			}
		}
	}
	return outcome{cr: b.done(p != nil), apply: func(r *Result) {
		if p != nil {
			r.MTASTSMode, r.MTASTSMaxAge = p.Mode, p.MaxAge
		}
	}}
}

func (e *env) checkDANE(ctx context.Context) outcome {
	b := newBuilder(CheckDANE)
	m, err := e.mx(ctx)
	if err != nil {
		b.fail(fmt.Errorf("MX lookup: %w", err))
		return outcome{cr: b.done(false)}
	}
	if len(m.Hosts) == 0 {
		return outcome{cr: b.notApplicable(noMXHosts(m))} // no TLSA to look up (RFC 7672 2.2.3)
	}
	valid := map[string]bool{}
	for _, h := range m.Hosts {
		// Every address of the host must present a certificate its TLSA
		// records match: a sender may land on any of them.
		for _, tg := range e.tlsTargets(h) {
			res, err := dane.CheckHost(ctx, e.opt.Resolver, h.Name, e.port, m.Secure && h.AddrsSecure, tg.dial, e.now())
			if err != nil {
				b.fail(err)
				continue
			}
			for _, p := range res.Problems {
				// What the TLSA records say is the host's, said once; what
				// the certificate says is the address's.
				switch {
				case errors.Is(p, dane.ErrMismatch), errors.Is(p, dane.ErrNoCertificate):
					b.add(fmt.Errorf("%w%s", p, tg.where()))
				case !slices.ContainsFunc(b.cr.Problems, func(q Problem) bool { return q.Detail == p.Error() }):
					b.add(p)
				}
			}
			ok, seen := valid[h.Name]
			valid[h.Name] = res.Valid && (ok || !seen)
		}
	}
	all := len(valid) > 0
	for _, v := range valid {
		all = all && v
	}
	return outcome{cr: b.done(all), apply: func(r *Result) { r.DANE = valid }}
}

func (e *env) checkPTR(ctx context.Context) outcome {
	b := newBuilder(CheckPTR)
	m, err := e.mx(ctx)
	if err != nil {
		b.fail(fmt.Errorf("MX lookup: %w", err))
		return outcome{cr: b.done(false)}
	}
	if countAddrs(m) == 0 {
		return outcome{cr: b.notApplicable(noMXAddrs(m))}
	}
	var out []PTRResult
	n := 0
	for _, h := range m.Hosts {
		for _, ip := range h.Addrs {
			if n++; n > maxAddrs {
				break
			}
			res, err := ptr.Check(ctx, e.opt.Resolver, ip)
			if err != nil {
				b.fail(err)
				continue
			}
			b.add(res.Problems...)
			out = append(out, PTRResult{MX: h.Name, IP: ip.String(), Valid: res.Valid, Names: res.Names, Confirmed: res.Confirmed})
		}
	}
	return outcome{cr: b.done(len(out) > 0), apply: func(r *Result) { r.PTR = out }}
}

func (e *env) checkDNSBL(ctx context.Context) outcome {
	b := newBuilder(CheckDNSBL)
	if len(e.d.DNSBLZones) == 0 {
		// Nothing to ask: lists have usage policies, none is queried unasked.
		return outcome{cr: b.notApplicable("no dnsbl_zones configured")}
	}
	m, err := e.mx(ctx)
	if err != nil {
		b.fail(fmt.Errorf("MX lookup: %w", err))
		return outcome{cr: b.done(false)}
	}
	if countAddrs(m) == 0 {
		return outcome{cr: b.notApplicable(noMXAddrs(m))}
	}
	var ips []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, h := range m.Hosts {
		for _, ip := range h.Addrs {
			if !seen[ip] && len(ips) < maxAddrs {
				seen[ip] = true
				ips = append(ips, ip)
			}
		}
	}
	var out []DNSBLResult
	zones := map[string]bool{}
	for _, zone := range e.d.DNSBLZones {
		zone = strings.TrimSuffix(strings.ToLower(zone), ".")
		if zone == "" || zones[zone] {
			continue
		}
		zones[zone] = true
		for _, ip := range ips {
			listed, err := dnsbl.Query(ctx, e.opt.Resolver, zone, ip)
			switch {
			case err != nil:
				// A SERVFAIL, and equally a list's "refused" or unreadable
				// answer (dnsbl.ErrRefused, ErrBadAnswer): a failed lookup,
				// never a finding (SPEC: error codes are not listings).
				b.fail(err)
				continue
			case listed:
				b.add(fmt.Errorf("%w: %s in %s", dnsbl.ErrListed, ip, zone))
			}
			out = append(out, DNSBLResult{IP: ip.String(), Zone: zone, Listed: listed})
		}
	}
	return outcome{cr: b.done(true), apply: func(r *Result) { r.DNSBL = out }}
}

// countAddrs counts the MX hosts' addresses.
func countAddrs(m *mx.Result) int {
	n := 0
	for _, h := range m.Hosts {
		n += len(h.Addrs)
	}
	return n
}

// noMXHosts says why a domain has no MX host to check.
func noMXHosts(m *mx.Result) string {
	if m.NullMX {
		return `null MX ("0 ."): the domain accepts no mail (RFC 7505)`
	}
	return "no MX host"
}

// noMXAddrs says why a domain has no MX address to check.
func noMXAddrs(m *mx.Result) string {
	if len(m.Hosts) == 0 {
		return noMXHosts(m)
	}
	return "no MX host has an address"
}

// checkDNSSEC finds whether the domain's answers and each MX host's zone are
// DNSSEC-authenticated (the AD bit of a SOA query; the zone is the owner of
// the SOA in the answer or, for a name below the apex, the authority section).
func (e *env) checkDNSSEC(ctx context.Context) outcome {
	secure := map[string]bool{}
	if ok, _, err := e.zoneSecure(ctx, e.domain); err == nil {
		secure[e.domain] = ok
	}
	if m, err := e.mx(ctx); err == nil {
		for _, h := range m.Hosts {
			if ok, zone, err := e.zoneSecure(ctx, h.Name); err == nil && zone != "" {
				secure[zone] = ok
			}
		}
	}
	return outcome{apply: func(r *Result) {
		for z, ok := range secure {
			r.DNSSEC[z] = ok
		}
	}}
}

func (e *env) zoneSecure(ctx context.Context, name string) (bool, string, error) {
	a, err := e.opt.Resolver.Lookup(ctx, name, dns.TypeSOA)
	if err != nil {
		return false, "", err
	}
	zone := ""
	for _, rr := range append(append([]dns.RR(nil), a.Records...), a.Authority...) {
		if soa, ok := rr.(*dns.SOA); ok {
			zone = strings.TrimSuffix(strings.ToLower(soa.Hdr.Name), ".")
			break
		}
	}
	return a.AuthenticatedData, zone, nil
}
