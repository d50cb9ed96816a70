// Package dnscheck runs the DNS posture checks of a mail domain (SPEC
// section 3, domain series): MX, SPF, DMARC, DKIM, MTA-STS, TLS-RPT, DANE,
// reverse DNS, DNS blocklists and DNSSEC. Each standard lives in its own
// sub-package; this one runs them for a domain (Run) and writes the result as
// Prometheus metrics (Result.Collect). It knows nothing of HTTP or scheduling.
//
// Every finding is a Problem whose Code comes from the fixed list Codes
// (documented in CODES.md). Record text and error details go into
// Problem.Detail for logs and the status page, never into a label.
package dnscheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Resolver is the DNS client every check uses; see package resolver for the
// miekg/dns implementation (resolver.New) and the test mock.
type Resolver = resolver.Resolver

// Check names: the `check` label and the values of Domain.Checks.
const (
	CheckMX     = "mx"
	CheckSPF    = "spf"
	CheckDMARC  = "dmarc"
	CheckDKIM   = "dkim"
	CheckMTASTS = "mta_sts"
	CheckTLSRPT = "tls_rpt"
	CheckDANE   = "dane"
	CheckPTR    = "ptr"
	CheckDNSBL  = "dnsbl"
)

// DefaultChecks is what an omitted `checks:` means (SPEC section 1).
func DefaultChecks() []string {
	return []string{CheckMX, CheckSPF, CheckDMARC, CheckDKIM, CheckMTASTS, CheckTLSRPT, CheckDANE, CheckPTR}
}

// AllChecks lists every check Run knows.
func AllChecks() []string { return append(DefaultChecks(), CheckDNSBL) }

// Severity of a problem.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Options is the world a run works in.
type Options struct {
	// Resolver answers every DNS query; build it with resolver.New from
	// global.resolver. It should be a validating resolver: the AD bit it
	// returns is trusted for DNSSEC and DANE.
	Resolver Resolver
	// HTTPClient fetches MTA-STS policies. nil: a client verifying TLS
	// against RootCAs, following no redirects, resolving through Resolver.
	// Redirects are never followed and the body is capped whatever the client.
	HTTPClient *http.Client
	// RootCAs verifies MTA-STS policy hosts and MX certificates (nil = system).
	RootCAs *x509.CertPool
	// DialSTARTTLS returns the TLS state of host:port after EHLO and STARTTLS,
	// unverified. nil: DefaultDialSTARTTLS with EHLOName, resolving through
	// Resolver.
	DialSTARTTLS func(ctx context.Context, host string, port int) (*tls.ConnectionState, error)
	EHLOName     string           // for the default DialSTARTTLS ("" = "localhost")
	Now          func() time.Time // nil = time.Now
}

// Domain is one configured domain (SPEC section 1, `domains:`).
type Domain struct {
	Name          string
	DKIMSelectors []string
	Checks        []string // nil = DefaultChecks()
	DNSBLZones    []string
	SMTPPort      int // 0 = 25
	// MXCertificates (`discover: true`): the mx check also reads the
	// certificate of every address of every MX host after STARTTLS on
	// SMTPPort and reports the MX names it does not cover
	// (mx_certificate_name).
	MXCertificates bool
}

// Result is everything one run found.
type Result struct {
	Domain   string
	Finished time.Time
	Checks   map[string]*CheckResult // by check name; only the checks that ran

	MXHosts              int             // mx
	SPFLookups           int             // spf: DNS-querying terms in the tree
	SPFVoidLookups       int             // spf
	DMARCPolicy          string          // dmarc: the policy for the domain, "" if none
	DMARCSubdomainPolicy string          // dmarc: for its subdomains
	DKIMKeys             []DKIMKey       // dkim: one per selector with a record
	MTASTSMode           string          // mta_sts: "" if no policy
	MTASTSMaxAge         int64           // mta_sts: -1 if no policy
	DANE                 map[string]bool // dane: per MX host
	PTR                  []PTRResult     // ptr: per MX address
	DNSBL                []DNSBLResult   // dnsbl: per MX address and zone answered
	DNSSEC               map[string]bool // per zone: the domain's and each MX host's
}

// CheckResult is the outcome of one check.
type CheckResult struct {
	LookupSuccess bool      // every lookup got NOERROR or NXDOMAIN
	Valid         bool      // present and free of error-severity problems
	Problems      []Problem // findings, errors and warnings
	Error         string    // why LookupSuccess is false, for logs and the status page
	// NotApplicable says why the check had nothing to look at, "" when it
	// applied: DANE and PTR for a domain without MX hosts or addresses,
	// DNSBL without zones. Such a check is neither valid nor invalid: it
	// has mail_dns_check_applicable 0 and no mail_dns_record_valid series.
	NotApplicable string
}

// Applicable reports whether the check had something to check.
func (c *CheckResult) Applicable() bool { return c.NotApplicable == "" }

// Problem is one finding.
type Problem struct {
	Code     string   // from Codes
	Severity Severity // from Codes
	Detail   string   // human text; never a label
}

// DKIMKey is the key published for one selector.
type DKIMKey struct {
	Selector string
	KeyType  string // rsa, ed25519, or what k= says
	Bits     int    // 0 when revoked or unreadable
}

// PTRResult is the reverse DNS of one MX address.
type PTRResult struct {
	MX, IP string
	Valid  bool     // forward-confirmed
	Names  []string // the address's PTR names
	// Confirmed is the PTR name that resolves back to IP ("" when none
	// does). It need not be MX: any PTR name confirms the address.
	Confirmed string
}

// DNSBLResult is one blocklist answer for one MX address.
type DNSBLResult struct {
	IP, Zone string
	Listed   bool
}
