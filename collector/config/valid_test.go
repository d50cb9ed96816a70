package config

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func load(t *testing.T, file string) *Config {
	t.Helper()
	cfg, err := Load(file, WithGetenv(testEnv))
	if err != nil {
		t.Fatalf("Load(%s): %v", file, err)
	}
	return cfg
}

// ep is the comparable part of an Endpoint.
type ep struct {
	Name     string
	Protocol Protocol
	Port     int
	TLS      TLSMode
	Cred     string // credential name, "" = none
	Verify   bool
	Interval time.Duration
	Timeout  time.Duration
}

func endpoints(s *Server) []ep {
	var out []ep
	for _, e := range s.Endpoints {
		c := ""
		if e.Credential != nil {
			c = e.Credential.Name
		}
		out = append(out, ep{e.Name, e.Protocol, e.Port, e.TLS, c, e.VerifyCertificate, e.Interval, e.Timeout})
	}
	return out
}

func TestEmpty(t *testing.T) {
	want := Global{Interval: time.Minute, Timeout: 15 * time.Second, DNSInterval: 15 * time.Minute,
		RoundtripInterval: 5 * time.Minute, Concurrency: 64, HostConcurrency: 4, Addresses: AddressesAll,
		ProbeMaxInFlight: 4, PostureInterval: 6 * time.Hour}
	for _, file := range []string{"testdata/valid-empty.yaml", "testdata/valid-comments.yaml"} {
		cfg := load(t, file)
		if cfg.Global != want || len(cfg.Servers)+len(cfg.Domains)+len(cfg.Roundtrips)+len(cfg.Credentials) != 0 {
			t.Errorf("%s: %+v", file, cfg)
		}
	}
	if _, err := Parse(nil, "empty.yaml"); err != nil {
		t.Errorf("Parse(nil): %v", err)
	}
}

func TestStandardEndpoints(t *testing.T) {
	cfg := load(t, "testdata/valid-minimal.yaml")
	s := cfg.Servers[0]
	if s.TLSServerName != "mail.example.com" || s.CAFile != "" || s.Credential != "" || s.Line != 2 {
		t.Errorf("server = %+v", s)
	}
	m, f := time.Minute, 15*time.Second
	want := []ep{
		{"smtp", SMTP, 25, TLSStartTLS, "", true, m, f},
		{"submission", SMTP, 587, TLSStartTLS, "", true, m, f},
		{"submissions", SMTP, 465, TLSImplicit, "", true, m, f},
		{"imap", IMAP, 143, TLSStartTLS, "", true, m, f},
		{"imaps", IMAP, 993, TLSImplicit, "", true, m, f},
		{"pop3", POP3, 110, TLSStartTLS, "", true, m, f},
		{"pop3s", POP3, 995, TLSImplicit, "", true, m, f},
	}
	if got := endpoints(s); !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints:\n got %+v\nwant %+v", got, want)
	}
}

func TestFull(t *testing.T) {
	cfg := load(t, "testdata/valid-full.yaml")
	g := Global{Interval: time.Minute, Timeout: 15 * time.Second, DNSInterval: 15 * time.Minute,
		RoundtripInterval: 5 * time.Minute, Concurrency: 32, HostConcurrency: 2, Resolver: "127.0.0.1:5353",
		EHLOName: "probe.example.net", CAFile: "testdata/ca.pem", Addresses: AddressesIPv4,
		ProbeMinSpacing: 30 * time.Second, ProbeMaxInFlight: 2, PostureInterval: 12 * time.Hour}
	if cfg.Global != g {
		t.Errorf("global = %+v", cfg.Global)
	}
	mon := cfg.Credentials["monitor"]
	if mon.Username != "monitor@example.com" || mon.Password.Reveal() != "file-pass-7Qz" || mon.Source != "password_file" {
		t.Errorf("monitor = %+v", mon)
	}
	if o := cfg.Credentials["other"]; o.Password.Reveal() != "other-pass-8Hm" || o.Source != "password_env" {
		t.Errorf("other = %+v", o)
	}
	mx1 := cfg.Servers[0]
	if mx1.TLSServerName != "mx.example.com" || mx1.CAFile != "testdata/ca.pem" || mx1.Credential != "monitor" ||
		mx1.Interval != 30*time.Second || !mx1.Posture || !reflect.DeepEqual(mx1.Labels, map[string]string{"site": "fra", "tier": "1"}) {
		t.Errorf("mx1 = %+v", mx1)
	}
	h, f := 30*time.Second, 15*time.Second
	want := []ep{
		{"submission", SMTP, 587, TLSStartTLS, "monitor", true, h, f},
		{"imaps", IMAP, 10993, TLSImplicit, "monitor", true, h, f},
		{"smtp-alt", SMTP, 2525, TLSStartTLS, "", false, 5 * time.Minute, 10 * time.Second},
		{"smtp", SMTP, 25, TLSStartTLS, "other", true, h, f},
	}
	if got := endpoints(mx1); !reflect.DeepEqual(got, want) {
		t.Errorf("mx1 endpoints:\n got %+v\nwant %+v", got, want)
	}
	if mx1.Addresses != AddressesIPv4 {
		t.Errorf("mx1 addresses = %q, want the global ipv4", mx1.Addresses)
	}
	if lines := []int{34, 35, 37, 47}; !slices.EqualFunc(mx1.Endpoints, lines, func(e *Endpoint, l int) bool { return e.Line == l }) {
		t.Errorf("endpoint lines, want %v", lines)
	}
	mx2 := cfg.Servers[1]
	if mx2.Host != "192.0.2.25" || mx2.TLSServerName != "192.0.2.25" || mx2.CAFile != "testdata/ca.pem" ||
		mx2.Interval != time.Minute || len(mx2.Endpoints) != 7 || mx2.Endpoints[0].Credential != nil ||
		mx2.Endpoints[1].Credential != cfg.Credentials["other"] {
		t.Errorf("mx2 = %+v", mx2)
	}
	if mx2.Addresses != AddressesFirst {
		t.Errorf("mx2 addresses = %q, want first", mx2.Addresses)
	}
	if mx3 := cfg.Servers[2]; mx3.Host != "2001:db8::25" || mx3.TLSServerName != "2001:db8::25" || mx3.Addresses != AddressesAll || mx3.Posture {
		t.Errorf("mx3 = %+v, want host 2001:db8::25 without brackets, addresses all", mx3)
	}

	d := cfg.Domains[0]
	wantD := Domain{Domain: "example.com", DKIMSelectors: []string{"s1", "s2048"},
		Checks:     []string{"mx", "spf", "dmarc", "dkim", "mta_sts", "tls_rpt", "dane", "ptr"},
		DNSBLZones: []string{"zen.spamhaus.org"}, SMTPPort: 25, Interval: 15 * time.Minute, Timeout: f, Line: 61}
	if !reflect.DeepEqual(*d, wantD) {
		t.Errorf("domain:\n got %+v\nwant %+v", *d, wantD)
	}
	d = cfg.Domains[1]
	wantD = Domain{Domain: "example.org",
		Checks:     []string{"mx", "spf", "dmarc", "mta_sts", "tls_rpt", "dane", "ptr", "dnsbl", "autoconfig", "srv"},
		DNSBLZones: []string{"zen.spamhaus.org"}, Discover: true, SMTPPort: 2525, Interval: 15 * time.Minute,
		Timeout: f, Line: 68}
	if !reflect.DeepEqual(*d, wantD) {
		t.Errorf("domain:\n got %+v\nwant %+v", *d, wantD)
	}

	r := cfg.Roundtrips[0]
	if r.Send.Server != mx1 || r.Send.Endpoint != mx1.Endpoints[0] || r.Send.From != "monitor@example.com" ||
		r.Send.To != "monitor@example.com" || r.Receive.Server != mx1 || r.Receive.Endpoint != mx1.Endpoints[1] ||
		r.Receive.Mailbox != "INBOX" || r.Interval != 5*time.Minute || r.Timeout != 2*time.Minute ||
		r.DKIMDomain != "example.com" || !reflect.DeepEqual(r.TrustedAuthservIDs, []string{"mx1.example.com", "mx.example.net"}) {
		t.Errorf("roundtrip = %+v", r)
	}
	r = cfg.Roundtrips[1]
	if r.Send.Endpoint.Name != "smtp" || r.Receive.Endpoint.Name != "imap" || r.Receive.Mailbox != "INBOX" ||
		r.Interval != 5*time.Minute || r.Timeout != DefaultRoundtripTimeout || r.DKIMDomain != "" ||
		!reflect.DeepEqual(r.TrustedAuthservIDs, []string{r.Receive.Server.Host}) {
		t.Errorf("roundtrip = %+v", r)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
}

func TestInheritance(t *testing.T) {
	cfg := load(t, "testdata/valid-inherit.yaml")
	mx1 := cfg.Servers[0]
	for _, e := range mx1.Endpoints {
		if e.Interval != 45*time.Second || e.Timeout != 20*time.Second || e.Line != 0 {
			t.Errorf("mx1 %s: interval %v timeout %v line %d", e.Name, e.Interval, e.Timeout, e.Line)
		}
		if logsIn := e.Name != "smtp"; logsIn != (e.Credential != nil) {
			t.Errorf("mx1 %s: credential %v", e.Name, e.Credential)
		}
	}
	want := []ep{
		{"smtp", SMTP, 2525, TLSNone, "", true, 2 * time.Minute, 20 * time.Second},
		{"imaps", IMAP, 993, TLSImplicit, "", true, 10 * time.Minute, time.Minute},
		{"imap-custom", IMAP, 1143, TLSImplicit, "monitor", true, 2 * time.Minute, 20 * time.Second},
	}
	if got := endpoints(cfg.Servers[1]); !reflect.DeepEqual(got, want) {
		t.Errorf("mx2 endpoints:\n got %+v\nwant %+v", got, want)
	}
	d := cfg.Domains[0]
	if d.Interval != time.Hour || d.Timeout != 20*time.Second || d.SMTPPort != 25 || slices.Contains(d.Checks, "dkim") ||
		len(d.Checks) != 7 {
		t.Errorf("domain = %+v", d)
	}
	r := cfg.Roundtrips[0]
	if r.Interval != 10*time.Minute || r.Timeout != 90*time.Second || r.Receive.Mailbox != "Probes" || r.Line != 22 {
		t.Errorf("roundtrip = %+v", r)
	}
}

func TestPasswords(t *testing.T) {
	cfg := load(t, "testdata/valid-passwords.yaml")
	for name, want := range map[string]string{
		"from-file": "file-pass-7Qz", "from-env": "env-pass-3Kd", "inline": "inline-pass-9Xw", "numeric": "123456",
	} {
		if got := cfg.Credentials[name].Password.Reveal(); got != want {
			t.Errorf("%s: password %q, want %q", name, got, want)
		}
	}
	want := []string{
		"testdata/valid-passwords.yaml:10: credentials.inline.password: inline password in the config file; " +
			"prefer password_file or password_env",
		"testdata/valid-passwords.yaml:13: credentials.numeric.password: inline password in the config file; " +
			"prefer password_file or password_env",
	}
	if !slices.Equal(cfg.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", cfg.Warnings, want)
	}
}

func TestAnchors(t *testing.T) {
	cfg := load(t, "testdata/valid-anchors.yaml")
	if len(cfg.Servers) != 3 {
		t.Fatalf("%d servers", len(cfg.Servers))
	}
	for i, host := range []string{"mail.example.com", "mail2.example.com", "mail3.example.com"} {
		s := cfg.Servers[i]
		names := []string{}
		for _, e := range s.Endpoints {
			names = append(names, e.Name)
		}
		if s.Host != host || !slices.Equal(names, []string{"submission", "imaps"}) {
			t.Errorf("server %d = %+v, endpoints %v", i, s, names)
		}
	}
	if cfg.Servers[1].Name != "mx2" || cfg.Servers[1].Credential != "monitor" || cfg.Servers[2].Credential != "" {
		t.Errorf("merge: %+v %+v", cfg.Servers[1], cfg.Servers[2])
	}
	if cfg.Servers[0].Endpoints[0] == cfg.Servers[1].Endpoints[0] {
		t.Error("aliased endpoints share one *Endpoint")
	}
}

func TestLookups(t *testing.T) {
	cfg := load(t, "testdata/valid-full.yaml")
	if s, e, ok := cfg.Endpoint("mx1", "imaps"); !ok || s.Name != "mx1" || e.Port != 10993 {
		t.Errorf("Endpoint(mx1, imaps) = %v %v %v", s, e, ok)
	}
	if _, _, ok := cfg.Endpoint("mx1", "pop3s"); ok {
		t.Error("Endpoint(mx1, pop3s) found an endpoint mx1 does not have")
	}
	if _, _, ok := cfg.Endpoint("mx9", "smtp"); ok {
		t.Error("Endpoint(mx9, smtp) found")
	}
	if d, ok := cfg.Domain("EXAMPLE.org."); !ok || d.Domain != "example.org" {
		t.Errorf("Domain(EXAMPLE.org.) = %v %v", d, ok)
	}
	if r, ok := cfg.Roundtrip("mx2-loop"); !ok || r.Name != "mx2-loop" {
		t.Errorf("Roundtrip(mx2-loop) = %v %v", r, ok)
	}
	if _, ok := cfg.Roundtrip("nope"); ok {
		t.Error("Roundtrip(nope) found")
	}
	var none *Config
	if _, _, ok := none.Endpoint("a", "b"); ok {
		t.Error("nil Config found an endpoint")
	}
}

// probe_min_spacing: the configured value, else min(interval, 60s).
func TestMinSpacing(t *testing.T) {
	for _, c := range []struct {
		set, interval, want time.Duration
	}{
		{0, time.Minute, time.Minute},
		{0, 5 * time.Minute, time.Minute},
		{0, 20 * time.Second, 20 * time.Second},
		{10 * time.Second, 5 * time.Minute, 10 * time.Second},
		{2 * time.Minute, 20 * time.Second, 2 * time.Minute},
	} {
		if got := (Global{ProbeMinSpacing: c.set}).MinSpacing(c.interval); got != c.want {
			t.Errorf("probe_min_spacing %v, interval %v: %v, want %v", c.set, c.interval, got, c.want)
		}
	}
}
