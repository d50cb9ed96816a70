package collector

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/authbackoff"
	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/discover"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
	"github.com/mail-exporter/mail_exporter/collector/tlsposture"
)

// check is one scheduled check of any kind.
type check interface {
	id() string          // stable identity: "endpoint/mx1/imaps", "domain/example.com", "roundtrip/loop"
	kind() string        // "endpoint", "domain" or "roundtrip"
	fingerprint() string // changes when the check's settings change
	interval() time.Duration
	// run performs the check, stores its result and reports success; tr,
	// when set, receives the transcript.
	run(ctx context.Context, log *slog.Logger, tr *probe.Transcript) bool
	// runOnce performs the check for /probe without storing it; tr, when
	// set, receives the transcript.
	runOnce(ctx context.Context, log *slog.Logger, tr *probe.Transcript) collectFunc
	collect(ch chan<- prometheus.Metric)
	status() StatusRow
}

// collectFunc writes one result's metrics.
type collectFunc func(ch chan<- prometheus.Metric)

// buildChecks turns a configuration into checks.
func (e *Exporter) buildChecks(cfg *config.Config, env *checkEnv) []check {
	var out []check
	for _, srv := range cfg.Servers {
		for _, ep := range srv.Endpoints {
			ec := newEndpointCheck(env, srv, ep)
			out = append(out, ec)
			if pc := newPostureCheck(env, ec, cfg.Global.PostureInterval); pc != nil {
				out = append(out, pc)
			}
		}
	}
	for _, d := range cfg.Domains {
		out = append(out, newDomainCheck(env, d))
	}
	rtDescs := roundtrip.NewDescs()
	for _, rt := range cfg.Roundtrips {
		out = append(out, newRoundtripCheck(env, rt, rtDescs))
	}
	return out
}

// checkEnv is what every check of one configuration shares.
type checkEnv struct {
	resolver     probe.Resolver
	resolverAddr string
	// labelKeys is the union of every server's `labels:` keys: all endpoint
	// series of a metric must carry the same label names, so a server
	// without a key gets it empty.
	labelKeys []string
	descs     *probe.Descs
	interval  time.Duration // global interval and timeout, for discovered endpoints
	timeout   time.Duration
	// mail_auth_backoff_seconds, mail_roundtrip_auth_backoff_seconds
	backoffDesc, rtBackoffDesc *prometheus.Desc
	// postureDescs and aia serve the TLS posture checks.
	postureDescs *tlsposture.Descs
	aia          *http.Client
	// onDiscover receives the endpoint checks a domain advertises; nil when
	// checks run once (mail_exporter check), not on a schedule.
	onDiscover func(domainID string, cs []check)
	// onAddresses is called when an endpoint's address set changed; nil
	// when checks run once.
	onAddresses func()
	// configured holds the discover.Endpoint keys of the configured
	// endpoints: an advertised endpoint that is also configured is probed
	// once, under its configured name.
	configured map[string]bool
	caFile     string // global.ca_file, for domain checks
	ehlo       string
	roots      map[string]*x509.CertPool // by CA file; "" = system roots (nil pool)
	inters     map[string]*x509.CertPool // the CA files' intermediates (see probe.LoadCAFile)
	now        func() time.Time
	// ptr looks up PTR names for SMTP banner checks.
	ptr func(context.Context, netip.Addr) ([]string, error)
	// chains keeps the verdicts of certificate chains that verified; one
	// per loaded config, so a reload starts afresh.
	chains *probe.ChainCache
	// shares remembers the servers that turned down the post-quantum key
	// share, likewise per loaded config.
	shares *probe.KeyShares
}

func (e *Exporter) newCheckEnv(cfg *config.Config) (*checkEnv, error) {
	env := &checkEnv{
		resolver:     probe.NewResolver(cfg.Global.Resolver),
		resolverAddr: cfg.Global.Resolver,
		caFile:       cfg.Global.CAFile,
		ehlo:         cfg.Global.EHLOName,
		roots:        map[string]*x509.CertPool{"": nil},
		inters:       map[string]*x509.CertPool{},
		now:          e.opts.Now,
		ptr:          banner.CachedPTRLookup(banner.PTRLookup(cfg.Global.Resolver), e.opts.Now),
		chains:       probe.NewChainCache(probe.DefaultChainCacheSize),
		shares:       probe.NewKeyShares(probe.DefaultKeySharesSize, probe.KeySharesRefresh),
	}
	if e.opts.Resolver != nil {
		env.resolver = e.opts.Resolver
	}
	keys := map[string]string{}
	for _, srv := range cfg.Servers {
		for k := range srv.Labels {
			keys[k] = ""
		}
	}
	env.labelKeys = sortedKeys(keys)
	env.configured = map[string]bool{}
	for _, srv := range cfg.Servers {
		for _, ep := range srv.Endpoints {
			k := discover.Endpoint{Host: strings.ToLower(strings.TrimSuffix(srv.Host, ".")), Protocol: ep.Protocol, Port: ep.Port, TLS: ep.TLS}.Key()
			env.configured[k] = true
		}
	}
	env.descs = probe.NewDescs(env.labelKeys)
	env.backoffDesc = authbackoff.EndpointDesc(append(append([]string{}, probe.EndpointLabels...), env.labelKeys...))
	env.rtBackoffDesc = authbackoff.RoundtripDesc()
	env.postureDescs = tlsposture.NewDescs(append(append([]string{}, probe.EndpointLabels...), env.labelKeys...))
	env.aia = tlsposture.NewHTTPClient(probe.NewResolver(cfg.Global.Resolver), cfg.Global.Timeout)
	env.interval, env.timeout = cfg.Global.Interval, cfg.Global.Timeout
	if env.ehlo == "" {
		env.ehlo = e.opts.Hostname
	}
	files := []string{cfg.Global.CAFile}
	for _, s := range cfg.Servers {
		files = append(files, s.CAFile)
	}
	for _, f := range files {
		if _, ok := env.roots[f]; ok {
			continue
		}
		pool, inter, err := probe.LoadCAFile(f)
		if err != nil {
			return nil, err
		}
		env.roots[f], env.inters[f] = pool, inter
	}
	return env, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fingerprintOf hashes a check's effective settings. Secrets go into the
// hash (a new password is a changed check) but never into anything shown.
func fingerprintOf(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// DomainID and RoundtripID are the identities of domain and roundtrip checks.
func DomainID(domain string) string {
	return "domain/" + strings.ToLower(strings.TrimSuffix(domain, "."))
}
func RoundtripID(name string) string { return "roundtrip/" + name }
