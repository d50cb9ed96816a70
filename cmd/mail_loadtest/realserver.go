package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// mailpeersInfo is what collector/internal/peers/mailpeers writes: a real
// Dovecot + Postfix pair on loopback.
type mailpeersInfo struct {
	Host         string         `json:"host"`
	Ports        map[string]int `json:"ports"`
	ServerName   string         `json:"server_name"`
	CAFile       string         `json:"ca_file"`
	User         string         `json:"user"`
	PasswordFile string         `json:"password_file"`
	Cert         string         `json:"cert"`
}

// useRealServer points every side at a real server instead of the farm:
// each of the N endpoints is the real Postfix's submission port (STARTTLS,
// AUTH PLAIN through Dovecot's SASL), so the exporter, the floor and
// blackbox_exporter all do the same dialogue with the same server at the
// same rate. It writes the farm.json that the floor reads. The servers'
// CPU is theirs: none of it is counted as a prober's.
func (o *loadOpts) useRealServer() error {
	b, err := os.ReadFile(o.realServer)
	if err != nil {
		return err
	}
	var mp mailpeersInfo
	if err := json.Unmarshal(b, &mp); err != nil {
		return fmt.Errorf("%s: %w", o.realServer, err)
	}
	port := mp.Ports["submission"]
	if mp.Host == "" || port == 0 || mp.CAFile == "" || mp.PasswordFile == "" {
		return fmt.Errorf("%s: host, ports.submission, ca_file and password_file are required", o.realServer)
	}
	if o.implicitShare > 0 {
		return fmt.Errorf("--implicit-share applies to the farm only")
	}
	fi := farmInfo{
		CAFile: mp.CAFile, StartTLS: slices.Repeat([]int{port}, slices.Max(o.sizes)),
		Started: time.Now().Format(time.RFC3339),
		Host:    mp.Host, ServerName: mp.ServerName, User: mp.User, PasswordFile: mp.PasswordFile,
	}
	out, _ := json.Marshal(fi)
	path := filepath.Join(o.workdir, "farm.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	if o.farm, err = readFarmInfo(path); err != nil {
		return err
	}
	o.cert = mp.Cert
	logf("real server: Postfix submission on %s:%d (%s certificate), every endpoint", mp.Host, port, mp.Cert)
	return os.WriteFile(filepath.Join(o.workdir, "password"), []byte(o.farm.Password+"\n"), 0o600)
}
