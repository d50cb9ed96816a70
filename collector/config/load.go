package config

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Option changes how Load and Parse reach the outside world.
type Option func(*options)

type options struct {
	getenv   func(string) (string, bool)
	readFile func(string) ([]byte, error)
}

// WithGetenv replaces os.LookupEnv for password_env.
func WithGetenv(f func(string) (string, bool)) Option { return func(o *options) { o.getenv = f } }

// WithReadFile replaces os.ReadFile for the config file (Load), password_file
// and ca_file.
func WithReadFile(f func(string) ([]byte, error)) Option {
	return func(o *options) { o.readFile = f }
}

func newOptions(opts []Option) options {
	o := options{getenv: os.LookupEnv, readFile: os.ReadFile}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Load reads and parses the config file at path. Relative password_file and
// ca_file paths are taken relative to the directory of path. The error, if
// any, is an *Error or several joined with errors.Join.
func Load(path string, opts ...Option) (*Config, error) {
	o := newOptions(opts)
	data, err := o.readFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read config file: " + cause(err).Error(), Err: err}
	}
	return parse(data, path, o)
}

// Parse parses a config held in memory; filename names it in messages and
// anchors relative paths.
func Parse(data []byte, filename string, opts ...Option) (*Config, error) {
	return parse(data, filename, newOptions(opts))
}

// parser holds the state of one parse: the report and what later sections
// inherit from earlier ones.
type parser struct {
	report
	dir  string
	opts options
	cfg  *Config
	// The global durations, with where they came from.
	interval, timeout, dnsInterval, rtInterval dur
	ca                                         map[string]error // CA files already checked
	work                                       int              // values visited, see maxWork
}

func parse(data []byte, file string, o options) (*Config, error) {
	if file == "" {
		file = "<config>"
	}
	p := &parser{report: report{file: file}, dir: filepath.Dir(file), opts: o, ca: map[string]error{}}
	p.config(p.document(data))
	if err := p.err(); err != nil {
		return nil, err
	}
	p.cfg.Warnings = p.warnings()
	return p.cfg, nil
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document returns the root node of the one YAML document in data, or nil
// for an empty file.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := decode(dec, &doc); err != nil {
		if err != io.EOF {
			p.syntax(err)
		}
		return nil
	}
	switch err := decode(dec, &extra); {
	case err == io.EOF:
	case err != nil:
		p.syntax(err)
	default:
		p.errorf(extra.Line, "", "a second YAML document (---): the file must hold one")
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// decode guards against a panic inside yaml.v3: a config file must never
// crash the exporter.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

// parserProblems are the messages of yaml.v3's parser (not its scanner),
// whose line numbers it reports counting from 0.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected key", "did not find expected node content",
	"found duplicate %TAG directive", "found duplicate %YAML directive",
	"found incompatible YAML document", "found undefined tag handle",
}

func (p *parser) syntax(err error) {
	msg, line := err.Error(), 0
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserProblems, msg) {
			line++
		}
	}
	msg = strings.Join(strings.Fields(strings.TrimPrefix(msg, "yaml: ")), " ")
	p.errorf(line, "", "invalid YAML: %s", msg)
}

func (p *parser) config(root *yaml.Node) {
	p.cfg = &Config{File: p.file, Credentials: map[string]*Credential{}}
	var fs fields
	if root != nil && !isNull(root) {
		fs, _ = p.mapping(field{val: resolve(root), line: root.Line},
			"global", "credentials", "servers", "domains", "roundtrips")
	}
	p.global(fs["global"])
	p.credentials(fs["credentials"])
	p.servers(fs["servers"])
	p.domains(fs["domains"])
	p.roundtrips(fs["roundtrips"])
}

func (p *parser) global(f field) {
	p.interval = dur{d: DefaultInterval, path: "the default"}
	p.timeout = dur{d: DefaultTimeout, path: "the default"}
	p.dnsInterval = dur{d: DefaultDNSInterval, path: "the default"}
	p.rtInterval = dur{d: DefaultRoundtripInterval, path: "the default"}
	g := &p.cfg.Global
	g.Concurrency = DefaultConcurrency
	g.Addresses = DefaultAddresses
	g.HostConcurrency = DefaultHostConcurrency
	g.ProbeMaxInFlight = DefaultProbeMaxInFlight
	g.PostureInterval = DefaultPostureInterval
	defer func() {
		g.Interval, g.Timeout = p.interval.d, p.timeout.d
		g.DNSInterval, g.RoundtripInterval = p.dnsInterval.d, p.rtInterval.d
	}()
	if !f.present() {
		return
	}
	fs, ok := p.mapping(f, "interval", "timeout", "dns_interval", "roundtrip_interval",
		"concurrency", "host_concurrency", "resolver", "ehlo_name", "ca_file", "addresses",
		"probe_min_spacing", "probe_max_in_flight", "posture_interval")
	if !ok {
		return
	}
	p.interval = p.duration(fs["interval"], 1, p.interval)
	p.timeout = p.duration(fs["timeout"], 1, p.timeout)
	p.dnsInterval = p.duration(fs["dns_interval"], 1, p.dnsInterval)
	p.rtInterval = p.duration(fs["roundtrip_interval"], 1, p.rtInterval)
	p.checkTiming(p.timeout, p.interval)
	if f := fs["posture_interval"]; f.present() {
		pi := p.duration(f, 1, dur{d: DefaultPostureInterval, path: "the default"})
		p.checkTiming(p.timeout, pi)
		g.PostureInterval = pi.d
	}
	if c, ok := p.integer(fs["concurrency"]); ok {
		if c < 1 {
			p.errorf(fs["concurrency"].line, fs["concurrency"].path, "must be at least 1, got %d", c)
		}
		g.Concurrency = c
	}
	if c, ok := p.integer(fs["host_concurrency"]); ok {
		if c < 1 {
			p.errorf(fs["host_concurrency"].line, fs["host_concurrency"].path, "must be at least 1, got %d", c)
		}
		g.HostConcurrency = c
	}
	if s, ok := p.str(fs["resolver"]); ok && s != "" {
		if !isHostPort(s) {
			p.errorf(fs["resolver"].line, fs["resolver"].path, "%q is not host:port (e.g. 127.0.0.1:53)", s)
		}
		g.Resolver = s
	}
	if s, ok := p.str(fs["ehlo_name"]); ok && s != "" {
		if !isEHLOName(s) {
			p.errorf(fs["ehlo_name"].line, fs["ehlo_name"].path, "%q is not a DNS name or an address literal like [192.0.2.1]", s)
		}
		g.EHLOName = s
	}
	g.CAFile = p.caFile(fs["ca_file"])
	g.Addresses = p.addressRule(fs["addresses"], g.Addresses)
	p.probeLimits(fs)
}

// rel makes a path from the config file relative to the file's directory.
func (p *parser) rel(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.dir, path)
}

// caFile checks that a ca_file holds at least one PEM certificate and
// returns its resolved path ("" when not given).
func (p *parser) caFile(f field) string {
	s, ok := p.str(f)
	if !ok || s == "" {
		return ""
	}
	path := p.rel(s)
	err, done := p.ca[path]
	if !done {
		err = p.checkPEM(path)
		p.ca[path] = err
	}
	if err != nil {
		p.errorf(f.line, f.path, "%v", err)
	}
	return path
}

func (p *parser) checkPEM(path string) error {
	data, err := p.opts.readFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", show(path), cause(err))
	}
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("%s: certificate %d: %w", show(path), n, err)
		}
	}
	if n == 0 {
		return errors.New(show(path) + " holds no PEM certificate")
	}
	return nil
}
