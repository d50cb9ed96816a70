package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/discover"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/report"
)

// checkDomain does what an admin does by hand for a mail domain: find what
// it advertises (MX, SRV, autoconfig), probe every advertised endpoint, and
// check every DNS record, then report it all in one place.
func checkDomain(ctx context.Context, f *checkFlags, cred *config.Credential, prog *progress, started time.Time) (*report.Report, error) {
	domain := strings.TrimSuffix(strings.ToLower(*f.target), ".")
	if _, ok := dns.IsDomainName(domain); !ok || !strings.Contains(domain, ".") || strings.ContainsAny(domain, " /:@") {
		return nil, fmt.Errorf("%w: %q is not a domain name", errUsage, *f.target)
	}
	res, err := resolver.New(*f.resolver)
	if err != nil {
		return nil, fmt.Errorf("%w: resolver: %v", errUsage, err)
	}
	roots, err := checkRoots(f)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 4**f.timeout)
	defer cancel()

	prog.update(0, 3, "reading what "+domain+" advertises and its DNS records")
	checks := dnscheck.DefaultChecks()
	if len(*f.dkim) == 0 {
		checks = slices.DeleteFunc(checks, func(c string) bool { return c == dnscheck.CheckDKIM })
	}
	var disc *discover.Result
	var records *dnscheck.Result
	var wg sync.WaitGroup
	wg.Go(func() {
		disc = discover.Discover(ctx, domain, nil, discover.Options{Resolver: res, RootCAs: roots,
			EHLOName: ehloName(f), Timeout: *f.timeout, SMTPPort: *f.smtpPort})
	})
	wg.Go(func() {
		dctx, dcancel := context.WithTimeout(ctx, *f.timeout)
		defer dcancel()
		records = dnscheck.Run(dctx, dnscheck.Domain{Name: domain, DKIMSelectors: *f.dkim, Checks: checks, SMTPPort: *f.smtpPort},
			dnscheck.Options{Resolver: res, RootCAs: roots, EHLOName: ehloName(f)})
	})
	wg.Wait()
	for name, cr := range disc.Checks {
		records.Checks[name] = cr
	}

	rep := report.New(domain, started)
	items := make([][]report.Item, len(disc.Endpoints))
	sem := make(chan struct{}, 4)
	var mu sync.Mutex
	done := 0
	for i, ep := range disc.Endpoints {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := ep.Config(time.Minute, *f.timeout)
			isMX := slices.Contains(ep.Sources, discover.SourceMX)
			if isMX {
				// An MX is judged as one (banner against PTR and MX name) on
				// whatever port --smtp-port gives; "smtp" is its service's name.
				cfg.Name = "smtp"
			}
			// Login only when asked, and never on the MX port.
			if cred != nil && !isMX {
				cfg.Credential = cred
			}
			// The relay test is an MX question: submission ports found by SRV or
			// autoconfig relay for authenticated users by design.
			if *f.relayTest && isMX && cfg.Protocol == config.SMTP {
				cfg.RelayTest, cfg.RelayTestRecipient = true, config.DefaultRelayTestRecipient
			}
			items[i] = probeEndpoint(ctx, f, roots, ep.Host, cfg)
			for j := range items[i] {
				items[i][j].Name += " [" + strings.Join(ep.Sources, ", ") + "]"
			}
			mu.Lock()
			done++
			prog.update(done, len(disc.Endpoints), "probed "+ep.Host+" "+ep.Name)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, ep := range disc.Endpoints {
		section := report.EndpointSection(ep.Config(0, 0))
		if slices.Contains(ep.Sources, discover.SourceMX) {
			section = "mx"
		}
		for _, it := range items[i] {
			rep.Add(section, it)
		}
	}
	for _, it := range report.Domain(records) {
		rep.Add("dns", it)
	}
	return rep, nil
}
