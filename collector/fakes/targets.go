package fakes

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// Targets starts four fake servers (submissions, submission, imaps,
// pop3s, all with a login) and writes a targets.yaml probing them as the
// server "fake", followed by extra (more `servers:` items). It returns the
// file's path.
func Targets(t testing.TB, extra string) string {
	t.Helper()
	pki := NewPKI(t, peers.CertOptions{})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pki.CA.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	smtps := SMTP(t, pki, true)
	submission := SMTP(t, pki, false)
	imaps := IMAP(t, pki, true)
	pop3s := POP3(t, pki, true, []string{"USER", "SASL PLAIN"})
	y := fmt.Sprintf(`
global: {interval: 1m, timeout: 5s, ca_file: %s, ehlo_name: probe.example.test}
credentials:
  monitor: {username: %s, password_file: %s}
servers:
  - name: fake
    host: 127.0.0.1
    tls_server_name: %s
    credential: monitor
    labels: {site: lab}
    endpoints:
      - {name: submissions, port: %d}
      - {name: submission, port: %d}
      - {name: imaps, port: %d}
      - {name: pop3s, port: %d}
%s`, caFile, User, pwFile, Name, smtps, submission, imaps, pop3s, extra)
	path := filepath.Join(dir, "targets.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
