package main

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// exampleConfig is the targets.yaml shipped at the repository root.
const exampleConfig = "../../targets.yaml"

// TestExampleConfig: the shipped example loads as it is (no environment
// needed), probes public client endpoints without logging in, and its
// commented block for one's own servers is valid once uncommented. Nothing
// here dials anything.
func TestExampleConfig(t *testing.T) {
	cfg, err := config.Load(exampleConfig, config.WithGetenv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Servers) < 4 || len(cfg.Domains) == 0 {
		t.Errorf("%d servers, %d domains: the example should show a few of each", len(cfg.Servers), len(cfg.Domains))
	}
	if len(cfg.Credentials) != 0 || len(cfg.Roundtrips) != 0 {
		t.Error("the live part of the example must not log in or send mail")
	}
	for _, s := range cfg.Servers {
		if net.ParseIP(s.Host) != nil || !strings.Contains(s.Host, ".") || strings.HasSuffix(s.Host, "example.com") {
			t.Errorf("server %s: host %q is not a public mail service", s.Name, s.Host)
		}
		for _, ep := range s.Endpoints {
			if ep.Credential != nil {
				t.Errorf("%s/%s logs in", s.Name, ep.Name)
			}
			if ep.Port == 25 {
				t.Errorf("%s/%s: port 25 is blocked outbound on many networks", s.Name, ep.Name)
			}
			if ep.TLS == config.TLSNone {
				t.Errorf("%s/%s: no TLS", s.Name, ep.Name)
			}
		}
	}
	if out, err := runConfigCheck(exampleConfig); err != nil {
		t.Errorf("--config.check %s: %v\n%s", exampleConfig, err, out)
	}

	// The commented block, uncommented, with its password file made up.
	raw := readFile(t, exampleConfig)
	i := strings.Index(raw, "\n# credentials:\n")
	if i < 0 {
		t.Fatal("no commented credentials block in the example")
	}
	var own []string
	for _, l := range strings.Split(raw[i+1:], "\n") {
		own = append(own, strings.TrimPrefix(strings.TrimPrefix(l, "#"), " "))
	}
	text := strings.ReplaceAll(strings.Join(own, "\n"), "/run/secrets/monitor", "pw")
	cfg, err = config.Parse([]byte(text), "own.yaml", config.WithReadFile(func(string) ([]byte, error) { return []byte("secret\n"), nil }))
	if err != nil {
		t.Fatalf("the commented block, uncommented: %v\n%s", err, text)
	}
	if len(cfg.Roundtrips) != 1 || len(cfg.Credentials) != 1 {
		t.Errorf("the commented block should show a credential and a roundtrip: %d, %d", len(cfg.Credentials), len(cfg.Roundtrips))
	}
}

func runConfigCheck(path string) ([]byte, error) {
	cmd := exec.Command(binary, "--config.check", "--config.file="+path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no password variables: none is needed
	return cmd.CombinedOutput()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
