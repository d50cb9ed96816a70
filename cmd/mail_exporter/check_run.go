package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
	"github.com/mail-exporter/mail_exporter/collector/report"
)

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// roots are the system roots plus --ca-file.
func checkRoots(f *checkFlags) (*x509.CertPool, error) {
	if *f.caFile == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(*f.caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: --ca-file: %v", errUsage, err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: --ca-file %s holds no PEM certificate", errUsage, *f.caFile)
	}
	return pool, nil
}

func ehloName(f *checkFlags) string {
	if *f.ehlo != "" {
		return *f.ehlo
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// probeEndpoint probes one endpoint for the check command: every address
// the host resolves to under --addresses, side by side, one item each (a
// host that does not resolve gives one item with the dns result).
func probeEndpoint(ctx context.Context, f *checkFlags, roots *x509.CertPool, host string, ep *config.Endpoint) []report.Item {
	ep.Timeout = *f.timeout
	resolver := probe.NewResolver(*f.resolver)
	rctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	res := probe.Resolve(rctx, resolver, host, config.AddressRule(*f.addresses), nil)
	cancel()
	if res.Err != nil {
		return []report.Item{report.Endpoint(host, ep, res.Failed(), time.Now())}
	}
	items := make([]report.Item, len(res.Addrs))
	var wg sync.WaitGroup
	for i, a := range res.Addrs {
		wg.Go(func() {
			var tr *probe.Transcript
			if *f.verbose {
				tr = probe.NewTranscript()
			}
			t := probe.Target{
				Server: host, Host: host, Address: a, ServerName: host, Endpoint: ep, RootCAs: roots,
				EHLOName: ehloName(f), Resolver: resolver, Transcript: tr, Logger: discardLogger(),
			}
			if ep.Protocol == config.SMTP {
				t.LookupPTR = banner.PTRLookup(*f.resolver)
				if ep.RelayTest {
					t.RelayTest = &relaytest.Config{Recipient: ep.RelayTestRecipient}
				}
			}
			r := probe.Run(ctx, t)
			items[i] = report.Endpoint(host, ep, r, time.Now())
			items[i].AtAddress(host, a)
			if tr != nil {
				items[i].Transcript = tr.String()
			}
		})
	}
	wg.Wait()
	return items
}

func checkURL(ctx context.Context, f *checkFlags, cred *config.Credential, started time.Time) (*report.Report, error) {
	host, ep, err := parseEndpointURL(*f.target)
	if err != nil {
		return nil, err
	}
	roots, err := checkRoots(f)
	if err != nil {
		return nil, err
	}
	ep.Credential = cred
	if *f.relayTest {
		if ep.Protocol != config.SMTP {
			return nil, fmt.Errorf("%w: --relay-test needs an smtp:// or smtps:// URL", errUsage)
		}
		ep.RelayTest, ep.RelayTestRecipient = true, config.DefaultRelayTestRecipient
	}
	rep := report.New(*f.target, started)
	for _, it := range probeEndpoint(ctx, f, roots, host, ep) {
		rep.Add(report.EndpointSection(ep), it)
	}
	return rep, nil
}

// checkConfig runs every check of a config file once: a deploy-time test.
func checkConfig(ctx context.Context, f *checkFlags, prog *progress, started time.Time) (*report.Report, error) {
	cfg, err := config.Load(*f.configFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	exp := collector.New(collector.Options{})
	outs, err := exp.RunOnce(ctx, cfg, cfg.Global.Concurrency, func(done, total int, id string) { prog.update(done, total, id) })
	if err != nil {
		return nil, err
	}
	rep := report.New(*f.configFile, started)
	now := time.Now()
	for _, o := range outs {
		switch o.Kind {
		case "endpoint":
			it := report.Endpoint(o.Server.Host, o.Endpoint, o.Probe, now)
			it.AtAddress(o.Server.Host, o.Address)
			it.Name = o.Server.Name + ": " + it.Name
			rep.Add(report.EndpointSection(o.Endpoint), it)
		case "domain":
			for _, it := range report.Domain(o.Domain) {
				it.Name = o.Name + " " + it.Name
				rep.Add("dns", it)
			}
		case "roundtrip":
			rep.Add("roundtrip", report.Roundtrip(o.Name, o.Roundtrip))
			for _, it := range report.RoundtripAuth(o.Name, o.Roundtrip) {
				rep.Add("roundtrip", it)
			}
		case "posture":
			it := report.Posture(o.Server.Host, o.Endpoint, o.Posture, now)
			it.Name = o.Server.Name + ": " + it.Name
			if o.Address.IsValid() {
				it.Name += " " + o.Address.String()
			}
			rep.Add(report.EndpointSection(o.Endpoint), it)
		}
	}
	return rep, nil
}
