// Command mailpeers runs the tests' real Dovecot + Postfix pair (package peers) outside a
// test, until SIGINT or SIGTERM, for measurements against real servers (cmd/mail_loadtest
// --real-server). It writes what a client needs to a JSON file: the address, every port,
// the CA file, the login and the file holding its password (the password itself is never
// printed).
//
//	go run ./collector/internal/peers/mailpeers --cert=rsa2048-chain --out=/tmp/peers.json
//
// It needs root and Debian's dovecot-imapd, dovecot-pop3d, dovecot-lmtpd and postfix,
// like the tests. Everything listens on 127.0.0.1 and 127.0.0.2 only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// Info is the JSON written to --out.
type Info struct {
	Host         string         `json:"host"` // 127.0.0.2; every port also listens on 127.0.0.1
	Ports        map[string]int `json:"ports"`
	ServerName   string         `json:"server_name"`
	CAFile       string         `json:"ca_file"`
	User         string         `json:"user"`
	PasswordFile string         `json:"password_file"`
	Cert         string         `json:"cert"`
	Dir          string         `json:"dir"`
	PID          int            `json:"pid"`
}

func main() {
	cert := flag.String("cert", string(peers.CertRSAChain), fmt.Sprintf("certificate case %v", peers.CertCases))
	out := flag.String("out", "", "write the servers' JSON description here (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mailpeers: --out is required")
		os.Exit(2)
	}
	if err := run(peers.CertCase(*cert), *out); err != nil {
		fmt.Fprintln(os.Stderr, "mailpeers:", err)
		os.Exit(1)
	}
}

func run(cert peers.CertCase, out string) error {
	chain, err := peers.NewChain(cert)
	if err != nil {
		return err
	}
	m, err := peers.Start(func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
		peers.WithCert(chain.ChainPEM, chain.KeyPEM))
	if err != nil {
		return err
	}
	defer m.Stop()
	info := Info{Host: m.Host, Ports: m.Ports, ServerName: m.ServerName, User: m.User,
		Cert: string(cert), Dir: m.Dir, PID: os.Getpid(),
		CAFile: filepath.Join(m.Dir, "loadtest-ca.pem"), PasswordFile: filepath.Join(m.Dir, "loadtest-password")}
	if err := os.WriteFile(info.CAFile, chain.RootPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(info.PasswordFile, []byte(m.Password+"\n"), 0o600); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mailpeers: Dovecot+Postfix on %s, ports %v (%s); stop with SIGTERM\n", m.Host, m.Ports, out)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
