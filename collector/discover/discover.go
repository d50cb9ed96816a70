// Package discover reads what a mail domain advertises (SPEC section 1,
// `discover: true`) and turns every advertised server into an endpoint to
// probe:
//
//   - its MX hosts (RFC 5321 5.1), probed as `smtp` (STARTTLS, no login) on
//     the domain's smtp_port;
//   - its SRV records for mail clients, `_submission`, `_imap`, `_pop3`
//     (RFC 6186 3) and `_submissions`, `_imaps`, `_pop3s` (RFC 8314 5.1);
//   - its autoconfig file, the clientConfig document mail clients fetch from
//     `https://autoconfig.<domain>/mail/config-v1.1.xml` and then
//     `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`
//     (Thunderbird's format, draft-ietf-mailmaint-autoconfig).
//
// What SRV and autoconfig advertise is verified at once with one probe per
// endpoint (package probe, no login, certificate verified for the advertised
// name) and reported as the `srv` and `autoconfig` checks, with problem codes
// from dnscheck.Codes (CODES.md). MX hosts are not verified here: the mx,
// dane and mta_sts checks and the endpoint probes cover them.
//
// It knows nothing of scheduling: the caller runs Discover on the domain's
// interval, probes Result.Endpoints like configured endpoints, and drops the
// endpoints that disappear — except those of a source listed in
// Result.SourceErrors, which could not be read this time.
package discover

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mx"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// Sources of an advertised endpoint, and the values of Discover's checks.
const (
	SourceMX         = "mx"
	SourceSRV        = dnscheck.CheckSRV        // "srv"
	SourceAutoconfig = dnscheck.CheckAutoconfig // "autoconfig"
)

// Options is the world a discovery runs in.
type Options struct {
	// Resolver answers every DNS query (the one of global.resolver); the
	// system resolver is never used.
	Resolver resolver.Resolver
	// HTTPClient fetches the autoconfig file. nil: a client verifying TLS
	// against RootCAs, dialling through Resolver, without keep-alives. Whatever
	// the client, redirects to another host are not followed, the body is
	// capped at MaxAutoconfigSize and each fetch is bounded by Timeout.
	HTTPClient *http.Client
	// RootCAs verifies the autoconfig host and the advertised servers (nil =
	// the system roots).
	RootCAs *x509.CertPool
	// ProbeResolver resolves for the verification probes; nil = Resolver.
	ProbeResolver probe.Resolver
	EHLOName      string        // for SMTP probes; "" = "localhost"
	Timeout       time.Duration // one verification probe, one fetch; 0 = config.DefaultTimeout
	SMTPPort      int           // where MX hosts are probed (the domain's smtp_port); 0 = 25
}

// Endpoint is one advertised endpoint.
type Endpoint struct {
	// Host is the advertised host name, lower-case without a trailing dot:
	// the `server` label, the address dialled and the name the certificate
	// must cover.
	Host string
	// Name is the standard endpoint name (smtp, submission, submissions,
	// imap, imaps, pop3, pop3s) when protocol, port and TLS match the
	// standard table, else "<protocol>-<port>-<tls>", e.g. "imap-10143-starttls".
	Name     string
	Protocol config.Protocol
	Port     int
	TLS      config.TLSMode
	Sources  []string // SourceMX, SourceSRV, SourceAutoconfig, in that order
}

// Key identifies an endpoint: host, protocol, port and TLS mode. A configured
// endpoint with the same key is the same endpoint, to be probed once.
func (e Endpoint) Key() string {
	return fmt.Sprintf("%s|%s|%d|%s", e.Host, e.Protocol, e.Port, e.TLS)
}

// Config returns the endpoint as a configured one would be: no credential
// (a discovered server has none), certificate verified.
func (e Endpoint) Config(interval, timeout time.Duration) *config.Endpoint {
	return &config.Endpoint{Name: e.Name, Protocol: e.Protocol, Port: e.Port, TLS: e.TLS,
		VerifyCertificate: true, Interval: interval, Timeout: timeout}
}

// Result is what one discovery found.
type Result struct {
	Domain string
	// Endpoints are deduplicated by Key and sorted by host, protocol, port
	// and TLS mode.
	Endpoints []Endpoint
	// Checks holds "srv" and "autoconfig" (those asked for): LookupSuccess,
	// Valid and Problems with codes from dnscheck.Codes.
	Checks map[string]*dnscheck.CheckResult
	// SourceErrors names the sources that could not be read (DNS failure,
	// timeout), with why. Their endpoints in Endpoints are incomplete: keep
	// the previous ones rather than dropping them.
	SourceErrors map[string]string
}

// Discover reads what domain advertises and verifies the SRV and autoconfig
// endpoints. checks says which of SourceSRV and SourceAutoconfig to read
// (nil = both; SourceMX may be listed and is ignored): MX is always read for
// endpoints. Discover never panics and returns by ctx's deadline.
func Discover(ctx context.Context, domain string, checks []string, opt Options) *Result {
	domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	res := &Result{Domain: domain, Checks: map[string]*dnscheck.CheckResult{}, SourceErrors: map[string]string{}}
	wantSRV, wantAC := checks == nil, checks == nil
	for _, c := range checks {
		switch strings.ToLower(c) {
		case SourceSRV:
			wantSRV = true
		case SourceAutoconfig:
			wantAC = true
		}
	}
	if opt.Resolver == nil {
		for src, want := range map[string]bool{SourceMX: true, SourceSRV: wantSRV, SourceAutoconfig: wantAC} {
			if want {
				res.SourceErrors[src] = "no resolver configured"
				if src != SourceMX {
					res.Checks[src] = &dnscheck.CheckResult{Error: "no resolver configured"}
				}
			}
		}
		return res
	}
	d := newDiscovery(domain, opt)

	// The three sources are read concurrently.
	var (
		mxRes *mx.Result
		mxErr error
		srv   *srvRead
		ac    *acRead
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		mxErr = safely(func() (err error) {
			mxRes, err = mx.Lookup(ctx, opt.Resolver, domain)
			return err
		})
	})
	if wantSRV {
		wg.Go(func() {
			if err := safely(func() error { srv = readSRV(ctx, opt.Resolver, domain); return nil }); err != nil {
				srv = &srvRead{err: err}
			}
		})
	}
	if wantAC {
		wg.Go(func() {
			if err := safely(func() error { ac = d.readAutoconfig(ctx); return nil }); err != nil {
				ac = &acRead{err: err}
			}
		})
	}
	wg.Wait()

	eps := map[string]*Endpoint{}
	add := func(host string, p config.Protocol, port int, tls config.TLSMode, source string) {
		e := Endpoint{Host: host, Name: EndpointName(p, port, tls), Protocol: p, Port: port, TLS: tls}
		if old, ok := eps[e.Key()]; ok {
			if !slices.Contains(old.Sources, source) {
				old.Sources = append(old.Sources, source)
			}
			return
		}
		e.Sources = []string{source}
		eps[e.Key()] = &e
	}

	if mxErr != nil {
		res.SourceErrors[SourceMX] = mxErr.Error()
	} else if !mxRes.Implicit { // an implicit MX is not advertised; the mx check reports it
		port := opt.SMTPPort
		if port == 0 {
			port = 25
		}
		for _, h := range mxRes.Hosts {
			add(h.Name, config.SMTP, port, config.TLSStartTLS, SourceMX)
		}
	}

	// What SRV and autoconfig advertise, then verified: each distinct
	// endpoint is probed once, whoever advertised it.
	var ads []advert
	if srv != nil {
		ads = append(ads, srv.adverts()...)
	}
	if ac != nil {
		ads = append(ads, ac.adverts()...)
	}
	for _, a := range ads {
		add(a.ep.Host, a.ep.Protocol, a.ep.Port, a.ep.TLS, a.source)
	}
	outcomes := d.verifyAll(ctx, ads)

	if srv != nil {
		res.Checks[SourceSRV] = srv.check(outcomes, ac)
		if srv.err != nil {
			res.SourceErrors[SourceSRV] = srv.err.Error()
		}
	}
	if ac != nil {
		res.Checks[SourceAutoconfig] = ac.check(outcomes, srv)
		if ac.err != nil {
			res.SourceErrors[SourceAutoconfig] = ac.err.Error()
		}
	}

	for _, e := range eps {
		slices.SortFunc(e.Sources, func(a, b string) int { return sourceRank(a) - sourceRank(b) })
		res.Endpoints = append(res.Endpoints, *e)
	}
	slices.SortFunc(res.Endpoints, compareEndpoints)
	return res
}

func sourceRank(s string) int {
	switch s {
	case SourceMX:
		return 0
	case SourceSRV:
		return 1
	}
	return 2
}

func compareEndpoints(a, b Endpoint) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Protocol), string(b.Protocol)); c != 0 {
		return c
	}
	if a.Port != b.Port {
		return a.Port - b.Port
	}
	return strings.Compare(string(a.TLS), string(b.TLS))
}

// standard is SPEC section 1's table of standard endpoints.
var standard = []struct {
	name     string
	protocol config.Protocol
	port     int
	tls      config.TLSMode
}{
	{"smtp", config.SMTP, 25, config.TLSStartTLS},
	{"submission", config.SMTP, 587, config.TLSStartTLS},
	{"submissions", config.SMTP, 465, config.TLSImplicit},
	{"imap", config.IMAP, 143, config.TLSStartTLS},
	{"imaps", config.IMAP, 993, config.TLSImplicit},
	{"pop3", config.POP3, 110, config.TLSStartTLS},
	{"pop3s", config.POP3, 995, config.TLSImplicit},
}

// EndpointName is the standard name of protocol/port/tls, or
// "<protocol>-<port>-<tls>".
func EndpointName(p config.Protocol, port int, tls config.TLSMode) string {
	for _, s := range standard {
		if s.protocol == p && s.port == port && s.tls == tls {
			return s.name
		}
	}
	return string(p) + "-" + strconv.Itoa(port) + "-" + string(tls)
}

// advert is one endpoint as one source advertises it.
type advert struct {
	ep     Endpoint
	source string // SourceSRV or SourceAutoconfig
	family string // "imap", "pop3" or "submission"
	where  string // for details: "_imaps._tcp" or the autoconfig server
}

// discovery holds the options of one run with defaults filled in.
type discovery struct {
	domain  string
	opt     Options
	client  *http.Client
	probeRs probe.Resolver
	timeout time.Duration
	ehlo    string
}

func newDiscovery(domain string, opt Options) *discovery {
	d := &discovery{domain: domain, opt: opt, client: opt.HTTPClient, probeRs: opt.ProbeResolver,
		timeout: opt.Timeout, ehlo: opt.EHLOName}
	if d.client == nil {
		d.client = newHTTPClient(opt.RootCAs, dnscheck.ResolvingDialer(opt.Resolver))
	}
	if d.probeRs == nil {
		d.probeRs = resolverAdapter{opt.Resolver}
	}
	if d.timeout <= 0 {
		d.timeout = config.DefaultTimeout
	}
	if d.ehlo == "" {
		d.ehlo = "localhost"
	}
	return d
}

// resolverAdapter makes a dnscheck resolver a probe.Resolver.
type resolverAdapter struct{ r resolver.Resolver }

func (a resolverAdapter) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	addrs, _, _, err := resolver.Addrs(ctx, a.r, host)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, ip := range addrs {
		if network == "ip" || (network == "ip4") == ip.Is4() {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	return out, nil
}

// safely runs fn, turning a panic into an error.
func safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return fn()
}

// builder accumulates one check's result.
type builder struct{ cr dnscheck.CheckResult }

func newBuilder() *builder { return &builder{cr: dnscheck.CheckResult{LookupSuccess: true}} }

func (b *builder) add(code, detail string) {
	b.cr.Problems = append(b.cr.Problems, problem(code, detail))
}

func (b *builder) fail(err error) {
	b.cr.LookupSuccess = false
	if b.cr.Error == "" {
		b.cr.Error = err.Error()
	} else if !strings.Contains(b.cr.Error, err.Error()) {
		b.cr.Error += "; " + err.Error()
	}
}

// done sets Valid: the lookups succeeded, the thing checked is present and
// there is no error-severity problem.
func (b *builder) done(present bool) *dnscheck.CheckResult {
	b.cr.Valid = b.cr.LookupSuccess && present && !slices.ContainsFunc(b.cr.Problems, func(p dnscheck.Problem) bool {
		return p.Severity == dnscheck.SeverityError
	})
	return &b.cr
}

// problem builds a Problem through dnscheck.Codes.
func problem(code, detail string) dnscheck.Problem {
	for _, c := range dnscheck.Codes {
		if c.Code == code {
			return dnscheck.Problem{Code: c.Code, Severity: c.Severity, Detail: detail}
		}
	}
	// Unreachable while TestCodesExist passes.
	return dnscheck.Problem{Code: code, Severity: dnscheck.SeverityError, Detail: detail}
}
