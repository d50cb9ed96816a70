package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with every testdata file:
// it must never panic, and a config it accepts must hold what it promises.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	ca, err := os.ReadFile("testdata/ca.pem")
	if err != nil {
		f.Fatal(err)
	}
	const fileSecret, envSecret = "fuzz-file-secret", "fuzz-env-secret"
	read := func(name string) ([]byte, error) {
		switch {
		case strings.HasSuffix(name, ".pem"):
			return ca, nil
		case strings.Contains(name, "missing"):
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(fileSecret + "\n"), nil
	}
	env := func(name string) (string, bool) { return envSecret, !strings.Contains(name, "UNSET") }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", WithReadFile(read), WithGetenv(env))
		if err != nil {
			msg := err.Error()
			for line := range strings.SplitSeq(msg, "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Errorf("error line without the file name: %q", line)
				}
			}
			if strings.Contains(msg, fileSecret) || strings.Contains(msg, envSecret) {
				t.Errorf("error shows a password: %s", msg)
			}
			if cfg != nil {
				t.Error("a config returned with an error")
			}
			return
		}
		check(t, cfg)
	})
}

// check asserts the promises of a loaded config: everything resolved.
func check(t *testing.T, cfg *Config) {
	g := cfg.Global
	if g.Timeout <= 0 || g.Timeout >= g.Interval || g.Concurrency < 1 {
		t.Errorf("global = %+v", g)
	}
	for _, s := range cfg.Servers {
		if s.Name == "" || s.Host == "" || s.TLSServerName == "" || len(s.Endpoints) == 0 {
			t.Errorf("server = %+v", s)
		}
		for _, e := range s.Endpoints {
			if e.Name == "" || e.Protocol == "" || e.TLS == "" || e.Port < 1 || e.Port > 65535 ||
				e.Timeout <= 0 || e.Timeout >= e.Interval {
				t.Errorf("endpoint = %+v", e)
			}
			if e.Credential != nil && (e.Credential.Username == "" || e.Credential.Password == "") {
				t.Errorf("credential = %+v", e.Credential)
			}
		}
	}
	for _, d := range cfg.Domains {
		if d.Domain == "" || d.SMTPPort < 1 || d.Timeout >= d.Interval {
			t.Errorf("domain = %+v", d)
		}
	}
	for _, r := range cfg.Roundtrips {
		if r.Send.Endpoint == nil || r.Send.Endpoint.Protocol != SMTP || r.Receive.Endpoint == nil ||
			r.Receive.Endpoint.Protocol != IMAP || r.Receive.Endpoint.Credential == nil ||
			r.Receive.Mailbox == "" || r.Timeout >= r.Interval {
			t.Errorf("roundtrip = %+v", r)
		}
	}
}

// TestAliasExpansion: a small file whose aliases expand to millions of
// endpoints is refused quickly instead of keeping the loader busy.
func TestAliasExpansion(t *testing.T) {
	var b strings.Builder
	b.WriteString("x: &e [")
	for i := range 3000 {
		fmt.Fprintf(&b, "{name: e%d, protocol: smtp, port: 25, tls: none},", i)
	}
	b.WriteString("]\nservers:\n  - &s {name: a, host: a.example, endpoints: *e}\n")
	for range 3000 {
		b.WriteString("  - *s\n")
	}
	start := time.Now()
	_, err := Parse([]byte(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "expands to more than 500000 values") {
		t.Errorf("Parse = %.300v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Parse took %v", d)
	}
}
