package config

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// standardEndpoint is one row of the SPEC's table of standard endpoints.
type standardEndpoint struct {
	protocol Protocol
	port     int
	tls      TLSMode
	login    bool // uses the server's credential by default
}

// StandardEndpoints names the standard endpoints in the order an omitted
// `endpoints:` expands to.
var StandardEndpoints = []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"}

var standard = map[string]standardEndpoint{
	"smtp":        {SMTP, 25, TLSStartTLS, false}, // MX-to-MX: no login
	"submission":  {SMTP, 587, TLSStartTLS, true},
	"submissions": {SMTP, 465, TLSImplicit, true},
	"imap":        {IMAP, 143, TLSStartTLS, true},
	"imaps":       {IMAP, 993, TLSImplicit, true},
	"pop3":        {POP3, 110, TLSStartTLS, true},
	"pop3s":       {POP3, 995, TLSImplicit, true},
}

// reservedLabels are the labels the exporter itself puts on server series;
// a server label of the same name would collide with them.
var reservedLabels = []string{
	"server", "host", "endpoint", "protocol", "port", "tls", "phase", "result",
	"domain", "check", "roundtrip",
	// Also on endpoint series (SPEC section 3).
	"version", "cipher", "error", "subject", "issuer", "serial", "dns_names",
	"fingerprint_sha256", "mechanism",
	// Every address (SPEC section 6.2).
	"address", "family",
	// Inbound MX posture (SPEC 6.2).
	"variant", "greeting_host", "ehlo_host",
	// On TLS posture series (SPEC 6.2).
	"key_type", "algorithm", "status", "depth",
}

func (p *parser) servers(f field) {
	items, _ := p.list(f)
	first := map[string]int{}
	for _, it := range items {
		s, name := p.server(it)
		if s == nil {
			continue
		}
		if s.Name != "" {
			if l, dup := first[s.Name]; dup {
				p.errorf(name.line, name.path, "duplicate server name %q (first at line %d)", s.Name, l)
			} else {
				first[s.Name] = name.line
			}
		}
		p.cfg.Servers = append(p.cfg.Servers, s)
	}
}

// server reads one item of `servers:` and returns it with its name field.
func (p *parser) server(f field) (*Server, field) {
	fs, ok := p.mapping(f, "name", "host", "tls_server_name", "ca_file", "credential",
		"interval", "labels", "endpoints", "addresses",
		"relay_test", "relay_test_recipient", "posture")
	if !ok {
		return nil, field{}
	}
	s := &Server{Line: f.line, Labels: map[string]string{}, Posture: true}
	if fs["name"].present() {
		s.Name, _ = p.nonEmpty(fs["name"])
	} else {
		p.errorf(f.line, f.path, "name is required")
	}
	if h := fs["host"]; !h.present() {
		p.errorf(f.line, f.path, "host is required")
	} else if v, ok := p.nonEmpty(h); ok {
		v = hostLiteral(v)
		if !isHost(v) {
			p.errorf(h.line, h.path, "%q is not a DNS name or an IP address", v)
		}
		s.Host = v
	}
	s.TLSServerName = s.Host
	if v, ok := p.str(fs["tls_server_name"]); ok && v != "" {
		if !isHost(v) {
			p.errorf(fs["tls_server_name"].line, fs["tls_server_name"].path, "%q is not a DNS name or an IP address", v)
		}
		s.TLSServerName = v
	}
	s.CAFile = p.caFile(fs["ca_file"])
	if s.CAFile == "" {
		s.CAFile = p.cfg.Global.CAFile
	}
	var cred *Credential
	if c, ok := p.credentialRef(fs["credential"]); ok && c != nil {
		cred, s.Credential = c, c.Name
	}
	s.Addresses = p.addressRule(fs["addresses"], p.cfg.Global.Addresses)
	if a := fs["addresses"]; a.present() {
		p.checkHostRule(s, a)
	} else if fs["host"].present() {
		p.checkHostRule(s, fs["host"])
	}
	if v, ok := p.boolean(fs["posture"]); ok {
		s.Posture = v
	}
	interval := p.duration(fs["interval"], 2, p.interval)
	s.Interval = interval.d
	p.labels(s, fs["labels"])
	own := map[*Endpoint]relaySetting{}
	p.endpoints(s, fs["endpoints"], cred, interval, own)
	p.applyRelay(s, p.relaySetting(fs), own)
	return s, fs["name"]
}

func (p *parser) labels(s *Server, f field) {
	if !f.present() {
		return
	}
	entries, _ := p.pairs(f)
	for _, e := range entries {
		switch {
		case !isLabelName(e.key):
			p.errorf(e.line, e.path, "%q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", e.key)
		case slices.Contains(reservedLabels, e.key):
			p.errorf(e.line, e.path, "label name %q is reserved: the exporter sets it", e.key)
		}
		if !e.present() {
			p.typeErr(e, "a string")
			continue
		}
		if v, ok := p.str(e); ok {
			s.Labels[e.key] = v
		}
	}
}

func (p *parser) endpoints(s *Server, f field, cred *Credential, interval dur, own map[*Endpoint]relaySetting) {
	if !f.present() {
		for _, name := range StandardEndpoints {
			e := p.standardEndpoint(name, cred)
			e.Interval, e.Timeout = interval.d, p.timeout.d
			p.checkTiming(p.timeout, interval)
			s.Endpoints = append(s.Endpoints, e)
		}
		return
	}
	items, ok := p.list(f)
	if ok && len(items) == 0 {
		p.errorf(f.line, f.path, "empty list: give at least one endpoint, or omit endpoints for all seven standard ones")
	}
	first := map[string]int{}
	for _, it := range items {
		e, name := p.endpoint(it, cred, interval, own)
		if e == nil {
			continue
		}
		if l, dup := first[e.Name]; dup {
			p.errorf(name.line, name.path, "duplicate endpoint %q on server %q (first at line %d)", e.Name, s.Name, l)
		} else if e.Name != "" {
			first[e.Name] = e.Line
		}
		s.Endpoints = append(s.Endpoints, e)
	}
}

func (p *parser) standardEndpoint(name string, cred *Credential) *Endpoint {
	std := standard[name]
	e := &Endpoint{Name: name, Protocol: std.protocol, Port: std.port, TLS: std.tls, VerifyCertificate: true}
	if std.login {
		e.Credential = cred
	}
	return e
}

// endpoint reads one item of `endpoints:`, a standard name or a mapping, and
// returns it with the field that names it.
func (p *parser) endpoint(f field, cred *Credential, interval dur, own map[*Endpoint]relaySetting) (*Endpoint, field) {
	if f.val.Kind == yaml.ScalarNode && f.val.ShortTag() == "!!str" {
		if _, ok := standard[f.val.Value]; !ok {
			p.errorf(f.line, f.path, "%q is not a standard endpoint (%s); a custom endpoint is a mapping with name, protocol, port and tls",
				f.val.Value, strings.Join(StandardEndpoints, ", "))
			return nil, f
		}
		e := p.standardEndpoint(f.val.Value, cred)
		e.Line, e.Interval, e.Timeout = f.line, interval.d, p.timeout.d
		p.checkTiming(p.timeout, interval)
		return e, f
	}
	if f.val.Kind != yaml.MappingNode {
		p.typeErr(f, "a standard endpoint name or a mapping")
		return nil, f
	}
	fs, _ := p.mapping(f, "name", "protocol", "port", "tls", "credential", "verify_certificate", "interval", "timeout",
		"relay_test", "relay_test_recipient")
	e := &Endpoint{Line: f.line, VerifyCertificate: true}
	own[e] = p.relaySetting(fs)
	if !fs["name"].present() {
		p.errorf(f.line, f.path, "name is required")
	}
	e.Name, _ = p.nonEmpty(fs["name"])
	std, isStd := standard[e.Name]
	if isStd {
		e.Protocol, e.Port, e.TLS = std.protocol, std.port, std.tls
	} else {
		var missing []string
		for _, k := range []string{"protocol", "port", "tls"} {
			if !fs[k].present() {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 && e.Name != "" {
			p.errorf(f.line, f.path, "custom endpoint %q needs %s (only standard endpoints have defaults)", e.Name, andList(missing))
		}
	}
	if v, ok := p.str(fs["protocol"]); ok {
		e.Protocol = Protocol(v)
		if !slices.Contains([]Protocol{SMTP, IMAP, POP3}, e.Protocol) {
			p.errorf(fs["protocol"].line, fs["protocol"].path, "unknown protocol %q (smtp, imap or pop3)", v)
			e.Protocol = ""
		}
	}
	if v, ok := p.port(fs["port"]); ok {
		e.Port = v
	}
	if v, ok := p.str(fs["tls"]); ok {
		e.TLS = TLSMode(v)
		if !slices.Contains([]TLSMode{TLSImplicit, TLSStartTLS, TLSNone}, e.TLS) {
			p.errorf(fs["tls"].line, fs["tls"].path, "unknown tls mode %q (implicit, starttls or none)", v)
			e.TLS = ""
		}
	}
	switch {
	case fs["credential"].present():
		e.Credential, _ = p.credentialRef(fs["credential"])
	case !isStd || std.login:
		e.Credential = cred
	}
	if v, ok := p.boolean(fs["verify_certificate"]); ok {
		e.VerifyCertificate = v
	}
	iv := p.duration(fs["interval"], 3, interval)
	to := p.duration(fs["timeout"], 3, p.timeout)
	e.Interval, e.Timeout = iv.d, to.d
	p.checkTiming(to, iv)
	if e.TLS == TLSNone && e.Credential != nil {
		p.warnf(f.line, f.path, "endpoint %q has tls: none, so credential %q would log in without TLS", e.Name, e.Credential.Name)
	}
	return e, fs["name"]
}

// andList writes "a", "a and b", "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
