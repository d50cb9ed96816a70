package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testEnv is the environment the fixtures in testdata/ expect.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"MAIL_PASSWORD":  "env-pass-3Kd",
		"OTHER_PASSWORD": "other-pass-8Hm",
		"EMPTY_PASSWORD": "",
	}[name]
	return v, ok
}

// invalid maps each testdata/invalid-*.yaml to its exact error text.
var invalid = map[string]string{
	"unknown-key":          `3: serverz: unknown key (did you mean servers?)`,
	"unknown-key-endpoint": `6: servers[0].endpoints[0].prot: unknown key (did you mean port?)`,
	"type-port":            `6: servers[0].endpoints[0].port: expected an integer, got a string`,
	"type-list-for-map":    `1: global: expected a mapping, got a list`,
	"type-map-for-list":    `1: servers: expected a list, got a mapping`,
	"duration":             `2: global.interval: invalid duration "5 minutes" (use Go syntax: 30s, 5m, 1h)`,
	"duration-zero":        `2: global.timeout: 0s must be greater than 0`,
	"duration-no-unit":     `2: global.dns_interval: 30 has no unit (write e.g. 30s)`,
	"global-timeout":       `3: global.timeout: 2m must be less than the interval 1m (global.interval)`,
	"endpoint-timeout":     `7: servers[0].endpoints[1].interval: 10s must be greater than the timeout 15s (the default)`,
	"server-interval":      `5: servers[0].interval: 10s must be greater than the timeout 15s (the default)`,
	"domain-interval":      `5: domains[0].interval: 30s must be greater than the timeout 30s (global.timeout)`,
	"roundtrip-timeout":    `2: global.roundtrip_interval: 1m must be greater than the timeout 2m (the default)`,
	"concurrency":          `2: global.concurrency: must be at least 1, got 0`,
	"host-concurrency":     `3: global.host_concurrency: must be at least 1, got 0`,
	"posture-interval":     `2: global.posture_interval: 10s must be greater than the timeout 15s (the default)`,
	"posture-type":         `4: servers[0].posture: expected a boolean (true or false), got a string`,
	"duplicate-server":     `4: servers[1].name: duplicate server name "mx1" (first at line 2)`,
	"duplicate-endpoint":   `7: servers[0].endpoints[2].name: duplicate endpoint "imaps" on server "mx1" (first at line 5)`,
	"duplicate-domain":     `3: domains[1].domain: duplicate domain "example.com" (first at line 2)`,
	"duplicate-roundtrip":  `9: roundtrips[1].name: duplicate roundtrip name "loop" (first at line 6)`,
	"duplicate-key":        `4: servers[0].host: duplicate key (first at line 3)`,
	"unknown-credential":   `6: servers[0].credential: unknown credential "monitr" (defined: monitor)`,
	"unknown-endpoint-credential": `6: servers[0].endpoints[0].credential: unknown credential "monitor" ` +
		`(no credentials are defined)`,
	"credential-no-password": `2: credentials.monitor: one of password_file, password_env or password is required`,
	"credential-two-passwords": `5: credentials.monitor.password_env: only one of password_file, password_env ` +
		`or password may be given (password_file is set too)`,
	"credential-no-username": `2: credentials.monitor: username is required`,
	"credential-none":        `2: credentials.none: "none" is reserved: it means no login`,
	"password-file-missing": `4: credentials.monitor.password_file: cannot read testdata/secrets/missing: ` +
		`no such file or directory`,
	"password-file-empty":   `4: credentials.monitor.password_file: password file testdata/secrets/empty is empty`,
	"password-env-unset":    `4: credentials.monitor.password_env: environment variable UNSET_PASSWORD is not set`,
	"password-env-empty":    `4: credentials.monitor.password_env: environment variable EMPTY_PASSWORD is empty`,
	"password-inline-empty": `4: credentials.monitor.password: must not be empty`,
	"password-key-typo": `2: credentials.monitor: one of password_file, password_env or password is required` + "\n" +
		`@4: credentials.monitor.pasword: unknown key (did you mean password?)`,
	"password-type": `5: credentials.monitor.password: expected a string, got a list`,
	"port":          `9: servers[0].endpoints[1].port: 70000 is out of range 1-65535`,
	"protocol":      `5: servers[0].endpoints[0].protocol: unknown protocol "smtps" (smtp, imap or pop3)`,
	"tls":           `5: servers[0].endpoints[0].tls: unknown tls mode "ssl" (implicit, starttls or none)`,
	"custom-endpoint": `5: servers[0].endpoints[0]: custom endpoint "smtp-alt" needs protocol and tls ` +
		`(only standard endpoints have defaults)`,
	"standard-endpoint": `4: servers[0].endpoints[1]: "imap4" is not a standard endpoint (smtp, submission, ` +
		`submissions, imap, imaps, pop3, pop3s); a custom endpoint is a mapping with name, protocol, port and tls`,
	"empty-endpoints": `4: servers[0].endpoints: empty list: give at least one endpoint, or omit endpoints ` +
		`for all seven standard ones`,
	"verify-certificate": `5: servers[0].endpoints[0].verify_certificate: expected a boolean (true or false), ` +
		`got a string`,
	"relay-test-type":     `4: servers[0].relay_test: expected a boolean (true or false), got a string`,
	"relay-test-protocol": `6: servers[0].endpoints[0].relay_test: endpoint "imaps" speaks imap: the relay test needs an smtp-protocol endpoint`,
	"relay-test-recipient": `11: servers[0].endpoints[1].relay_test_recipient: "user%other.example@example.invalid" is not an email ` +
		`address at a DNS name (local@domain, without %, : or !)`,
	"relay-test-no-smtp": `4: servers[0].relay_test: server "mx1" has no smtp-protocol endpoint to run the relay test on`,
	"host-missing":       `2: servers[0]: host is required`,
	"host":               `3: servers[0].host: "mail_server.example.com" is not a DNS name or an IP address`,
	"label-name": `5: servers[0].labels.1site: "1site" is not a valid label name ` +
		`([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`,
	"label-reserved": `4: servers[0].labels.endpoint: label name "endpoint" is reserved: the exporter sets it`,
	"domain-name":    `2: domains[0].domain: "exa mple.com" is not a valid domain name`,
	"check": `3: domains[0].checks[2]: unknown check "dmrac" ` +
		`(mx, spf, dmarc, dkim, mta_sts, tls_rpt, dane, ptr, dnsbl, autoconfig, srv)`,
	"dkim-no-selectors":          `3: domains[0].checks[1]: dkim needs dkim_selectors (DKIM keys cannot be discovered)`,
	"dnsbl-no-zones":             `3: domains[0].checks[1]: dnsbl needs dnsbl_zones`,
	"smtp-port":                  `3: domains[0].smtp_port: 0 is out of range 1-65535`,
	"roundtrip-unknown-server":   `7: roundtrips[0].send.server: unknown server "mx9"`,
	"roundtrip-unknown-endpoint": `11: roundtrips[0].receive.endpoint: server "mx1" has no endpoint "imap"`,
	"roundtrip-send-not-smtp": `7: roundtrips[0].send.endpoint: endpoint "imaps" on server "mx1" speaks imap; ` +
		`send needs an smtp endpoint`,
	"roundtrip-receive-not-imap": `8: roundtrips[0].receive.endpoint: endpoint "pop3s" on server "mx1" speaks pop3; ` +
		`receive needs an imap endpoint`,
	"roundtrip-receive-no-credential": `6: roundtrips[0].receive.endpoint: endpoint "imaps" on server "mx1" ` +
		`has no credential: receive needs a login`,
	"roundtrip-dkim-domain": `9: roundtrips[0].dkim_domain: "exa mple.com" is not a valid domain name`,
	"roundtrip-authserv-id": `11: roundtrips[0].trusted_authserv_ids[1]: "mx.example.com; dkim=pass" is not a valid authserv-id` + "\n" +
		`@12: roundtrips[0].trusted_authserv_ids[2]: duplicate authserv-id "mx.example.com"`,
	"roundtrip-authserv-empty": `9: roundtrips[0].trusted_authserv_ids: must list at least one authserv-id ` +
		`(omit it to trust the receive server's host)`,
	"roundtrip-address": `10: roundtrips[0].send.from: "monitor" is not an email address (local@domain)` + "\n" +
		`@11: roundtrips[0].send.to: "Monitor <monitor@example.com>" is not an email address (local@domain)`,
	"resolver":        `2: global.resolver: "8.8.8.8" is not host:port (e.g. 127.0.0.1:53)`,
	"ehlo-name":       `2: global.ehlo_name: "probe host" is not a DNS name or an address literal like [192.0.2.1]`,
	"ca-file":         `2: global.ca_file: testdata/not-a-cert.pem holds no PEM certificate`,
	"ca-file-missing": `4: servers[0].ca_file: cannot read testdata/missing-ca.pem: no such file or directory`,
	"syntax":          `3: invalid YAML: mapping values are not allowed in this context`,
	"root-list":       `1: expected a mapping, got a list`,
	"two-documents":   `3: a second YAML document (---): the file must hold one`,
	"addresses":       `2: global.addresses: unknown value "both" (all, ipv4, ipv6 or first)`,
	"addresses-literal": `4: servers[0].addresses: "ipv6" never matches host 192.0.2.25 (an ipv4 address)` +
		"\n@" + `7: servers[1].addresses: "ipv4" never matches host 2001:db8::25 (an ipv6 address)`,
	"addresses-global": `5: servers[0].host: "ipv6" never matches host 192.0.2.25 (an ipv4 address)`,
	"many": `3: global.timeout: invalid duration "1 minute" (use Go syntax: 30s, 5m, 1h)
@4: global.concurrency: expected an integer, got a string
@8: servers[0].credential: unknown credential "nobody" (no credentials are defined)
@10: servers[0].endpoints[0]: custom endpoint "smtp-alt" needs protocol and tls (only standard endpoints have defaults)
@11: servers[0].endpoints[0].port: 0 is out of range 1-65535
@12: servers[1]: host is required
@12: servers[1].name: duplicate server name "mx1" (first at line 6)
@15: domains[0].checks[0]: dkim needs dkim_selectors (DKIM keys cannot be discovered)
@15: domains[0].checks[1]: unknown check "nope" (mx, spf, dmarc, dkim, mta_sts, tls_rpt, dane, ptr, dnsbl, autoconfig, srv)`,

	// probe_min_spacing, probe_max_in_flight (SPEC 6.1)
	"probe-min-spacing":         `2: global.probe_min_spacing: 0s must be greater than 0`,
	"probe-min-spacing-no-unit": `2: global.probe_min_spacing: 60 has no unit (write e.g. 60s)`,
	"probe-max-in-flight":       `2: global.probe_max_in_flight: must be at least 1, got 0`,
	"probe-max-in-flight-type":  `2: global.probe_max_in_flight: expected an integer, got a string`,
}

func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(invalid) {
		t.Errorf("%d testdata/invalid-*.yaml files, %d cases in the table", len(files), len(invalid))
	}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "invalid-"), ".yaml")
		t.Run(name, func(t *testing.T) {
			want, ok := invalid[name]
			if !ok {
				t.Fatalf("no expected error for %s", file)
			}
			// "@" stands for the file name at the start of each line.
			want = file + ":" + strings.ReplaceAll(want, "\n@", "\n"+file+":")
			cfg, err := Load(file, WithGetenv(testEnv))
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want error", file, cfg)
			}
			if cfg != nil {
				t.Errorf("Load(%s) returned a config with its error", file)
			}
			if got := err.Error(); got != want {
				t.Errorf("Load(%s) error:\n got: %s\nwant: %s", file, got, want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != file || e.Line == 0 {
				t.Errorf("errors.As(*Error) = %+v", e)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error text shows a password: %s", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	want := "testdata/does-not-exist.yaml: cannot read config file: no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("Load = %v, want %s", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "t.yaml", Line: 9, Key: "servers[0].port", Msg: "bad"}, "t.yaml:9: servers[0].port: bad"},
		{Error{File: "t.yaml", Line: 3, Msg: "invalid YAML: x"}, "t.yaml:3: invalid YAML: x"},
		{Error{File: "t.yaml", Msg: "cannot read"}, "t.yaml: cannot read"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

// TestOptions checks that the injected file reader and environment are the
// only way out: the config itself, password files and CA files.
func TestOptions(t *testing.T) {
	files := map[string]string{
		"/etc/mail/targets.yaml": "global: {ca_file: ca.pem}\n" +
			"credentials: {a: {username: u, password_file: pw}, b: {username: u, password_env: X}}\n",
		"/etc/mail/pw": "from-fake-fs\r\n",
	}
	ca, err := os.ReadFile("testdata/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	files["/etc/mail/ca.pem"] = string(ca)
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	env := func(k string) (string, bool) { return "from-fake-env", k == "X" }
	cfg, err := Load("/etc/mail/targets.yaml", WithReadFile(read), WithGetenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Credentials["a"].Password.Reveal(); got != "from-fake-fs" {
		t.Errorf("password_file = %q", got)
	}
	if got := cfg.Credentials["b"].Password.Reveal(); got != "from-fake-env" {
		t.Errorf("password_env = %q", got)
	}
	if cfg.Global.CAFile != "/etc/mail/ca.pem" {
		t.Errorf("ca_file = %q", cfg.Global.CAFile)
	}
}
