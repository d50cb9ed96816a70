package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/report"
)

// checkFlags are the flags of `mail_exporter check` (SPEC section 5).
type checkFlags struct {
	target       *string
	configFile   *string
	resolver     *string
	caFile       *string
	dkim         *[]string
	smtpPort     *int
	user         *string
	passwordEnv  *string
	passwordFile *string
	timeout      *time.Duration
	output       *string
	verbose      *bool
	ehlo         *string
	relayTest    *bool
	addresses    *string
}

// checkHelp is the check command's description in its --help.
const checkHelp = "Check a mail domain, one endpoint (smtp://, smtps://, imap://, imaps://, pop3://, pop3s://) or every check of a config file, once, and print a report. Exit codes: 0 OK, 1 warning, 2 critical, 3 unknown."

func addCheckFlags(c *kingpin.Application) *checkFlags {
	f := &checkFlags{
		target:       c.Arg("target", "A domain (example.com) or an endpoint URL (imaps://mail.example.com:993)").String(),
		configFile:   c.Flag("config.file", "Run every check of this targets.yaml once instead.").PlaceHolder("FILE").String(),
		resolver:     c.Flag("resolver", "DNS server for every lookup; default: the system's.").PlaceHolder("HOST:PORT").String(),
		caFile:       c.Flag("ca-file", "Extra trusted roots (PEM).").PlaceHolder("FILE").String(),
		dkim:         c.Flag("dkim-selector", "DKIM selector to check (repeatable).").PlaceHolder("SELECTOR").Strings(),
		smtpPort:     c.Flag("smtp-port", "Port MX hosts are dialled on for DANE and MTA-STS.").Default("25").Int(),
		user:         c.Flag("user", "Log in as this user (only when given).").PlaceHolder("USER").String(),
		passwordEnv:  c.Flag("password-env", "Environment variable holding the password.").PlaceHolder("VAR").String(),
		passwordFile: c.Flag("password-file", "File holding the password.").PlaceHolder("FILE").String(),
		timeout:      c.Flag("timeout", "Timeout of one probe or one domain's checks.").Default("15s").Duration(),
		output:       c.Flag("output", "Report format: text or json.").Default("text").Enum("text", "json"),
		verbose:      c.Flag("verbose", "Include each dialogue's transcript (secrets masked).").Short('v').Bool(),
		ehlo:         c.Flag("ehlo-name", "EHLO name; default: this machine's hostname.").PlaceHolder("NAME").String(),
		relayTest:    c.Flag("relay-test", "With a domain (on its MX hosts) or an smtp:// or smtps:// URL: also run the open-relay test (RCPT TO a foreign recipient, never DATA).").Bool(),
		addresses: c.Flag("addresses", "Which addresses of an endpoint's host to probe, each reported on its own line: all (every A and AAAA), ipv4, ipv6 or first.").
			Default("all").Enum("all", "ipv4", "ipv6", "first"),
	}
	return f
}

// errUsage marks a mistake in the command line: exit 3 (unknown).
var errUsage = errors.New("usage")

func runCheck(f *checkFlags, stdout, stderr *os.File) int {
	started := time.Now()
	ctx, cancel := signalContext()
	defer cancel()
	rep, err := buildReport(ctx, f, stderr, started)
	if err != nil {
		fmt.Fprintf(stderr, "mail_exporter check: %v\n", err)
		return report.Unknown.ExitCode()
	}
	rep.Finish(time.Now())
	if *f.output == "json" {
		err = report.JSON(stdout, rep)
	} else {
		err = report.Text(stdout, rep, report.TextOptions{Color: isTerminal(stdout), Verbose: *f.verbose, Width: terminalWidth(stdout)})
	}
	if err != nil {
		return report.Unknown.ExitCode()
	}
	return rep.ExitCode
}

func buildReport(ctx context.Context, f *checkFlags, stderr *os.File, started time.Time) (*report.Report, error) {
	cred, err := checkCredential(f)
	if err != nil {
		return nil, err
	}
	prog := newProgress(stderr)
	defer prog.done()
	switch {
	case *f.configFile != "" && *f.target != "":
		return nil, fmt.Errorf("%w: give a target or --config.file, not both", errUsage)
	case *f.relayTest && *f.configFile != "":
		// Refused rather than ignored: a config's endpoints would otherwise read
		// as tested for relaying when they were not. The config says where.
		return nil, fmt.Errorf("%w: --relay-test takes a domain or an smtp:// or smtps:// URL; in a config, set relay_test: true on the server or endpoint", errUsage)
	case *f.configFile != "":
		return checkConfig(ctx, f, prog, started)
	case strings.Contains(*f.target, "://"):
		return checkURL(ctx, f, cred, started)
	case *f.target != "":
		return checkDomain(ctx, f, cred, prog, started)
	}
	return nil, fmt.Errorf("%w: give a domain, an endpoint URL or --config.file", errUsage)
}

// checkCredential reads the password named by the flags; never from the
// command line itself, where other users could see it.
func checkCredential(f *checkFlags) (*config.Credential, error) {
	if *f.user == "" {
		if *f.passwordEnv != "" || *f.passwordFile != "" {
			return nil, fmt.Errorf("%w: a password flag without --user", errUsage)
		}
		return nil, nil
	}
	var pw string
	switch {
	case *f.passwordEnv != "" && *f.passwordFile != "":
		return nil, fmt.Errorf("%w: give one of --password-env and --password-file", errUsage)
	case *f.passwordEnv != "":
		v, ok := os.LookupEnv(*f.passwordEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("%w: environment variable %s is not set", errUsage, *f.passwordEnv)
		}
		pw = v
	case *f.passwordFile != "":
		b, err := os.ReadFile(*f.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("%w: password file: %v", errUsage, err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	default:
		return nil, fmt.Errorf("%w: --user needs --password-env or --password-file", errUsage)
	}
	return &config.Credential{Name: "cli", Username: *f.user, Password: config.Secret(pw), Source: "cli"}, nil
}

// schemes maps URL schemes to protocol, TLS mode and default port.
var schemes = map[string]struct {
	proto config.Protocol
	tls   config.TLSMode
	port  int
}{
	"smtp": {config.SMTP, config.TLSStartTLS, 25}, "smtps": {config.SMTP, config.TLSImplicit, 465},
	"imap": {config.IMAP, config.TLSStartTLS, 143}, "imaps": {config.IMAP, config.TLSImplicit, 993},
	"pop3": {config.POP3, config.TLSStartTLS, 110}, "pop3s": {config.POP3, config.TLSImplicit, 995},
}

// standardNames names (protocol, port, tls) triples after the standard table.
var standardNames = map[string]string{
	"smtp/25/starttls": "smtp", "smtp/587/starttls": "submission", "smtp/465/implicit": "submissions",
	"imap/143/starttls": "imap", "imap/993/implicit": "imaps", "pop3/110/starttls": "pop3", "pop3/995/implicit": "pop3s",
}

// parseEndpointURL turns smtp://host:587 into a host and an endpoint.
func parseEndpointURL(raw string) (string, *config.Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	s, ok := schemes[strings.ToLower(u.Scheme)]
	if !ok {
		return "", nil, fmt.Errorf("%w: scheme %q: use smtp, smtps, imap, imaps, pop3 or pop3s", errUsage, u.Scheme)
	}
	host, port := u.Hostname(), s.port
	if host == "" {
		return "", nil, fmt.Errorf("%w: %q has no host", errUsage, raw)
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return "", nil, fmt.Errorf("%w: bad port %q", errUsage, p)
		}
	}
	key := fmt.Sprintf("%s/%d/%s", s.proto, port, s.tls)
	name := standardNames[key]
	if name == "" {
		name = fmt.Sprintf("%s-%d", strings.ToLower(u.Scheme), port)
	}
	return host, &config.Endpoint{Name: name, Protocol: s.proto, Port: port, TLS: s.tls, VerifyCertificate: true}, nil
}

// progress draws a live progress line on a terminal, nothing otherwise.
type progress struct {
	w  io.Writer
	on bool
}

func newProgress(f *os.File) *progress { return &progress{w: f, on: isTerminal(f)} }

func (p *progress) update(done, total int, what string) {
	if p.on {
		fmt.Fprintf(p.w, "\r\x1b[K%d/%d %s", done, total, what)
	}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
