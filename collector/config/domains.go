package config

import (
	"slices"
	"strings"
)

// KnownChecks are the check names `checks:` accepts. autoconfig and srv only
// run with `discover: true`; dnsbl only with `dnsbl_zones`.
var KnownChecks = []string{"mx", "spf", "dmarc", "dkim", "mta_sts", "tls_rpt", "dane", "ptr", "dnsbl", "autoconfig", "srv"}

func (p *parser) domains(f field) {
	items, _ := p.list(f)
	first := map[string]int{}
	for _, it := range items {
		d, name := p.domain(it)
		if d == nil {
			continue
		}
		if d.Domain != "" {
			if l, dup := first[d.Domain]; dup {
				p.errorf(name.line, name.path, "duplicate domain %q (first at line %d)", d.Domain, l)
			} else {
				first[d.Domain] = name.line
			}
		}
		p.cfg.Domains = append(p.cfg.Domains, d)
	}
}

// domain reads one item of `domains:` and returns it with its domain field.
func (p *parser) domain(f field) (*Domain, field) {
	fs, ok := p.mapping(f, "domain", "dkim_selectors", "checks", "dnsbl_zones", "discover", "smtp_port", "interval")
	if !ok {
		return nil, field{}
	}
	d := &Domain{Line: f.line, SMTPPort: 25, Timeout: p.timeout.d}
	if !fs["domain"].present() {
		p.errorf(f.line, f.path, "domain is required")
	} else if v, ok := p.nonEmpty(fs["domain"]); ok {
		d.Domain = normalizeDomain(v)
		if !isDNSName(d.Domain) || isIP(d.Domain) {
			p.errorf(fs["domain"].line, fs["domain"].path, "%q is not a valid domain name", v)
		}
	}
	d.DKIMSelectors = p.names(fs["dkim_selectors"], "DKIM selector", isSelector, false)
	d.DNSBLZones = p.names(fs["dnsbl_zones"], "DNS zone", isDNSName, true)
	if v, ok := p.boolean(fs["discover"]); ok {
		d.Discover = v
	}
	if v, ok := p.port(fs["smtp_port"]); ok {
		d.SMTPPort = v
	}
	iv := p.duration(fs["interval"], 3, p.dnsInterval)
	d.Interval = iv.d
	p.checkTiming(p.timeout, iv)
	d.Checks = p.checks(fs["checks"], d)
	return d, fs["domain"]
}

// names reads a list of distinct, valid names.
func (p *parser) names(f field, what string, valid func(string) bool, lower bool) []string {
	items, _ := p.list(f)
	var out []string
	for _, it := range items {
		s, ok := p.nonEmpty(it)
		if !ok {
			continue
		}
		if lower {
			s = normalizeDomain(s)
		}
		switch {
		case !valid(s):
			p.errorf(it.line, it.path, "%q is not a valid %s", it.val.Value, what)
		case slices.Contains(out, s):
			p.errorf(it.line, it.path, "duplicate %s %q", what, s)
		default:
			out = append(out, s)
		}
	}
	return out
}

// checks resolves `checks:`. Omitted, it is AllDomainChecks, less dkim when
// no selector is listed (DKIM keys cannot be discovered), plus dnsbl when
// zones are listed and autoconfig and srv with discover.
func (p *parser) checks(f field, d *Domain) []string {
	if !f.present() {
		var out []string
		for _, c := range AllDomainChecks {
			if c != "dkim" || len(d.DKIMSelectors) > 0 {
				out = append(out, c)
			}
		}
		if len(d.DNSBLZones) > 0 {
			out = append(out, "dnsbl")
		}
		if d.Discover {
			out = append(out, "autoconfig", "srv")
		}
		return out
	}
	items, ok := p.list(f)
	if !ok {
		return nil
	}
	out := []string{}
	for _, it := range items {
		c, ok := p.str(it)
		switch {
		case !ok:
		case !slices.Contains(KnownChecks, c):
			p.errorf(it.line, it.path, "unknown check %q (%s)", c, strings.Join(KnownChecks, ", "))
		case slices.Contains(out, c):
			p.errorf(it.line, it.path, "duplicate check %q", c)
		case c == "dkim" && len(d.DKIMSelectors) == 0:
			p.errorf(it.line, it.path, "dkim needs dkim_selectors (DKIM keys cannot be discovered)")
		case c == "dnsbl" && len(d.DNSBLZones) == 0:
			p.errorf(it.line, it.path, "dnsbl needs dnsbl_zones")
		default:
			if (c == "autoconfig" || c == "srv") && !d.Discover {
				p.warnf(it.line, it.path, "%s does nothing without discover: true", c)
			}
			out = append(out, c)
		}
	}
	return out
}
