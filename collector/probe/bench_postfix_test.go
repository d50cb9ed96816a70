package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// BenchmarkRealPostfix probes real Postfix submission (STARTTLS, then AUTH
// PLAIN through Dovecot's SASL) on loopback, once per iteration, with the
// exporter's prober and with the floor: a minimal correct client doing the
// same dialogue. Both report cpu-us/op, the CPU this process spent per
// probe (getrusage: user + system, GC included), which is what the
// exporter costs; the servers run in their own processes and are not
// counted. ns/op is mostly the servers' latency.
//
//	MAIL_EXPORTER_REAL_PEERS=1 go test ./collector/probe -run '^$' -bench BenchmarkRealPostfix -benchtime 400x
//
// Certificate cases: rsa2048-chain (an RSA-2048 leaf sent with its RSA-2048
// intermediate under an RSA-2048 root, the shape of most public CAs) and
// ecdsa-p256 (a P-256 leaf straight from a P-256 root).
func BenchmarkRealPostfix(b *testing.B) {
	for _, kind := range peers.CertCases {
		b.Run(string(kind), func(b *testing.B) {
			chain, err := peers.NewChain(kind)
			if err != nil {
				b.Fatal(err)
			}
			roots := chain.Roots
			m := peers.StartMail(b, peers.WithCert(chain.ChainPEM, chain.KeyPEM))
			port := m.Ports["submission"]
			cred := &config.Credential{Name: "monitor", Username: m.User, Password: config.Secret(m.Password)}
			tg := Target{
				Server: "bench", Host: m.Host, ServerName: m.ServerName, RootCAs: roots, EHLOName: "probe.example.test",
				Endpoint: &config.Endpoint{Name: "submission", Protocol: config.SMTP, Port: port, TLS: config.TLSStartTLS,
					Credential: cred, VerifyCertificate: true, Timeout: 10 * time.Second, Interval: time.Minute},
			}
			if r := Run(context.Background(), tg); !r.Success {
				b.Fatalf("exporter probe: %s: %s", r.Reason, r.Error)
			}
			addr := net.JoinHostPort(m.Host, strconv.Itoa(port))
			fcfg := &tls.Config{RootCAs: roots, ServerName: m.ServerName}
			auth := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+m.User+"\x00"+m.Password)) + "\r\n"
			if err := floorSubmission(addr, fcfg, auth); err != nil {
				b.Fatalf("floor probe: %v", err)
			}
			exporter := func() error {
				if r := Run(context.Background(), tg); !r.Success {
					return fmt.Errorf("%s: %s", r.Reason, r.Error)
				}
				return nil
			}
			floor := func() error { return floorSubmission(addr, fcfg, auth) }
			b.Run("exporter", func(b *testing.B) { b.ReportAllocs(); measureCPU(b, exporter) })
			b.Run("floor", func(b *testing.B) { b.ReportAllocs(); measureCPU(b, floor) })
			b.Run("paired", func(b *testing.B) { measurePaired(b, exporter, floor) })
		})
	}
}

// pairBlock is how many probes of one kind run before the other kind's
// turn in measurePaired: long enough that GC work started by one block
// mostly ends inside it, short enough that drift in the machine's speed
// (other load, frequency) reaches both kinds alike.
const pairBlock = 20

// measurePaired alternates blocks of exporter and floor probes and reports
// each one's CPU per probe and their ratio: a like-with-like comparison on
// a machine whose speed drifts. b.N counts probes of both kinds.
func measurePaired(b *testing.B, exporter, floor func() error) {
	var cpu [2]time.Duration
	var n [2]int
	i := 0
	for b.Loop() {
		k := (i / pairBlock) % 2
		probe := exporter
		if k == 1 {
			probe = floor
		}
		before := processCPU()
		if err := probe(); err != nil {
			b.Fatal(err)
		}
		cpu[k] += processCPU() - before
		n[k]++
		i++
	}
	if n[0] == 0 || n[1] == 0 {
		return
	}
	ours := float64(cpu[0].Microseconds()) / float64(n[0])
	base := float64(cpu[1].Microseconds()) / float64(n[1])
	b.ReportMetric(ours, "exporter-cpu-us/op")
	b.ReportMetric(base, "floor-cpu-us/op")
	b.ReportMetric(ours/base, "ratio")
}

// measureCPU runs probe b.N times and reports this process's CPU per probe.
func measureCPU(b *testing.B, probe func() error) {
	before := processCPU()
	for b.Loop() {
		if err := probe(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-before).Microseconds())/float64(b.N), "cpu-us/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorSubmission is the dialogue written as plainly as a minimal correct
// client can be: no phases, no metrics, no transcript, no library.
func floorSubmission(addr string, cfg *tls.Config, auth string) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	steps := []struct{ send, want string }{{"", "220"}, {"EHLO probe.example.test\r\n", "250"}, {"STARTTLS\r\n", "220"}}
	for _, s := range steps {
		if err := floorCommand(c, r, s.send, s.want); err != nil {
			return err
		}
	}
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	r = bufio.NewReader(tc)
	for _, s := range []struct{ send, want string }{{"EHLO probe.example.test\r\n", "250"}, {auth, "235"}, {"QUIT\r\n", "221"}} {
		if err := floorCommand(tc, r, s.send, s.want); err != nil {
			return err
		}
	}
	return nil
}

func floorCommand(c net.Conn, r *bufio.Reader, send, want string) error {
	if send != "" {
		if _, err := c.Write([]byte(send)); err != nil {
			return err
		}
	}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || string(line[:3]) != want {
			return fmt.Errorf("unexpected reply %q, want %s", line, want)
		}
		if line[3] != '-' {
			return nil
		}
	}
}
