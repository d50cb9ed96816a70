// Package config defines the targets.yaml schema (SPEC section 1) and loads it
// strictly: unknown keys, wrong types, impossible values and dangling
// references are errors that name the file, the line and the key.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Protocol is the mail protocol an endpoint speaks.
type Protocol string

const (
	SMTP Protocol = "smtp"
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
)

// TLSMode says how an endpoint brings up TLS.
type TLSMode string

const (
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (465, 993, 995)
	TLSStartTLS TLSMode = "starttls" // STARTTLS / STLS after the greeting
	TLSNone     TLSMode = "none"     // plaintext only
)

// Defaults from SPEC section 1.
const (
	DefaultInterval          = time.Minute
	DefaultTimeout           = 15 * time.Second
	DefaultDNSInterval       = 15 * time.Minute
	DefaultRoundtripInterval = 5 * time.Minute
	DefaultProbeMaxInFlight  = 4
	DefaultRoundtripTimeout  = 2 * time.Minute
	DefaultConcurrency       = 64
	DefaultHostConcurrency   = 4             // SPEC section 6.5
	DefaultPostureInterval   = 6 * time.Hour // SPEC 6.1
)

// Config is one loaded, validated targets.yaml. Every inherited value is
// already resolved: an Endpoint carries its effective interval, timeout,
// credential and TLS settings, so nothing downstream looks at defaults again.
type Config struct {
	File        string // the path it was loaded from, for messages
	Global      Global
	Credentials map[string]*Credential
	Servers     []*Server
	Domains     []*Domain
	Roundtrips  []*Roundtrip
	Warnings    []string // "<file>:<line>: <key>: <message>", e.g. for an inline password
}

// Global holds the settings under `global:`.
type Global struct {
	Interval          time.Duration
	Timeout           time.Duration
	DNSInterval       time.Duration
	RoundtripInterval time.Duration
	Concurrency       int
	// HostConcurrency is the most checks in flight per address dialled
	// (SPEC 6.5); Concurrency stays the outer bound.
	HostConcurrency int
	Resolver        string // "host:port" or "" for the system resolver
	EHLOName        string // "" = the machine's hostname, filled in by the caller
	CAFile          string
	Addresses       AddressRule // which resolved addresses endpoint probes dial
	// ProbeMinSpacing (probe_min_spacing): within it, /probe of a check that
	// logs in or sends mail answers from its latest result. 0 = not set:
	// see MinSpacing.
	ProbeMinSpacing time.Duration
	// ProbeMaxInFlight (probe_max_in_flight): on-demand runs at once.
	ProbeMaxInFlight int
	PostureInterval  time.Duration // TLS posture checks (SPEC 6.1)
}

// Credential is a named username and password. The password is read at load
// time from exactly one of a file, an environment variable or inline text.
type Credential struct {
	Name     string
	Username string
	Password Secret
	Source   string // "password_file", "password_env" or "password": where Password came from
}

// Format prints a Credential with its password masked. Without it, fmt's
// bad-verb path (a map of *Credential printed with %s) would print the
// struct's fields raw, bypassing Secret's own methods.
func (c Credential) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprintf(f, "config.Credential{Name:%q, Username:%q, Password:\"****\", Source:%q}", c.Name, c.Username, c.Source)
		return
	}
	type plain Credential // no Format method: no recursion
	fmt.Fprintf(f, fmt.FormatString(f, verb), plain{Name: c.Name, Username: c.Username, Password: "****", Source: c.Source})
}

// Server is one mail host and the endpoints probed on it.
type Server struct {
	Name          string
	Host          string
	TLSServerName string // effective: defaults to Host
	CAFile        string // effective: server's, else global's
	Credential    string // the default credential name, "" = none
	Interval      time.Duration
	Addresses     AddressRule // effective: server's, else global's
	Labels        map[string]string
	Posture       bool // TLS posture checks of its TLS endpoints (SPEC 6.1; default true)
	Endpoints     []*Endpoint
	Line          int // line in the config file where it was declared
}

// Endpoint is one protocol on one port of a server, with every setting
// resolved (standard-endpoint defaults, server and global inheritance).
type Endpoint struct {
	Name              string
	Protocol          Protocol
	Port              int
	TLS               TLSMode
	Credential        *Credential // nil = no login
	VerifyCertificate bool
	Interval          time.Duration // effective
	Timeout           time.Duration // effective
	Line              int           // line in the config file where it was declared (0 = implied)
	// RelayTest runs the open-relay test (smtp protocol only; effective:
	// the endpoint's relay_test, else the server's, default false).
	RelayTest          bool
	RelayTestRecipient string // effective; DefaultRelayTestRecipient when not given
}

// Domain is one mail domain whose DNS posture is checked.
type Domain struct {
	Domain        string
	DKIMSelectors []string
	Checks        []string // effective: defaults to AllDomainChecks
	DNSBLZones    []string
	Discover      bool
	SMTPPort      int           // effective: defaults to 25
	Interval      time.Duration // effective
	Timeout       time.Duration // effective: global timeout
	Line          int           // line in the config file where it was declared
}

// AllDomainChecks is what `checks:` means when omitted (SPEC section 1).
var AllDomainChecks = []string{"mx", "spf", "dmarc", "dkim", "mta_sts", "tls_rpt", "dane", "ptr"}

// Roundtrip is one end-to-end check: submit a message, see it arrive.
type Roundtrip struct {
	Name     string
	Send     RoundtripSend
	Receive  RoundtripReceive
	Interval time.Duration // effective
	Timeout  time.Duration // effective
	Line     int           // line in the config file where it was declared
	// DKIMDomain: a run fails (result dkim) unless the arrived message
	// carries a passing DKIM signature aligned with it; "" = not required.
	DKIMDomain string
	// TrustedAuthservIDs: whose Authentication-Results are exported
	// (effective: the receive server's host when not given), lower case.
	TrustedAuthservIDs []string
}

// RoundtripSend names the SMTP endpoint that submits the message.
type RoundtripSend struct {
	Server   *Server
	Endpoint *Endpoint
	From, To string
}

// RoundtripReceive names the IMAP endpoint and mailbox watched for it.
type RoundtripReceive struct {
	Server   *Server
	Endpoint *Endpoint
	Mailbox  string // defaults to INBOX
}

// Secret is a password. It formats as "****" everywhere (fmt, logs, YAML,
// JSON) so that printing a Config cannot leak it; Reveal returns the text.
type Secret string

func (s Secret) String() string               { return "****" }
func (s Secret) GoString() string             { return `"****"` }
func (s Secret) MarshalText() ([]byte, error) { return []byte("****"), nil }
func (s Secret) Reveal() string               { return string(s) }

// LogValue keeps a Secret masked in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue("****") }

// Format masks every fmt verb, also those (%d, %x, ...) that would otherwise
// print the underlying string through fmt's bad-verb path.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, "****")
}
