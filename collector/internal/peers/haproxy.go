package peers

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	haproxyBin = "/usr/sbin/haproxy"
	opensslBin = "/usr/bin/openssl"
)

// HAProxy is a haproxy terminating implicit TLS in front of one plaintext
// port of a Mail (Dovecot and Postfix cannot staple OCSP; haproxy can, from
// FILE.pem.ocsp beside its certificate). It cannot do STARTTLS.
type HAProxy struct {
	Port int    // the TLS port, on Mail.Host
	Dir  string // its folder, inside the Mail's
	d    *daemon
}

// HAProxyOptions say what haproxy presents.
type HAProxyOptions struct {
	Backend string // a key of Mail.Ports to forward to (plaintext), e.g. "imap"
	CertPEM []byte // leaf first, then any intermediates
	KeyPEM  []byte
	Issuer  *CA    // the leaf's issuer: haproxy checks the OCSP response against it
	OCSPDER []byte // the response to staple; nil = none
	Name    string // a folder name for this instance (several per Mail are allowed)
}

// StartHAProxy runs haproxy in the foreground (-db), stopped by PID at
// cleanup, and waits until its port accepts connections.
func (m *Mail) StartHAProxy(t testing.TB, o HAProxyOptions) *HAProxy {
	t.Helper()
	requireOrSkip(t, []string{haproxyBin})
	dir := m.path("haproxy-" + o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("peers: haproxy dir: %v", err)
	}
	crt := filepath.Join(dir, "crt.pem")
	must := func(err error) {
		if err != nil {
			t.Fatalf("peers: haproxy files: %v", err)
		}
	}
	must(os.WriteFile(crt, append(append([]byte{}, o.CertPEM...), o.KeyPEM...), 0o600))
	if o.Issuer != nil {
		must(os.WriteFile(crt+".issuer", o.Issuer.PEM(), 0o644))
	}
	if o.OCSPDER != nil {
		must(os.WriteFile(crt+".ocsp", o.OCSPDER, 0o644))
	}
	ports, err := pickPorts(1)
	if err != nil {
		t.Fatalf("peers: haproxy port: %v", err)
	}
	backend, ok := m.Ports[o.Backend]
	if !ok {
		t.Fatalf("peers: no port %q", o.Backend)
	}
	conf := fmt.Sprintf(`# Written by collector/internal/peers for one test.
global
  maxconn 64
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend tls
  bind %s:%d ssl crt %s
  default_backend plain
backend plain
  server s1 127.0.0.1:%d
`, m.Host, ports[0], crt, backend)
	cf := filepath.Join(dir, "haproxy.cfg")
	must(os.WriteFile(cf, []byte(conf), 0o644))
	d, err := startDaemon("haproxy", filepath.Join(dir, "haproxy.stderr"), haproxyBin, "-db", "-f", cf, "-p", filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	h := &HAProxy{Port: ports[0], Dir: dir, d: d}
	t.Cleanup(func() {
		if err := d.stop(5 * time.Second); err != nil {
			t.Errorf("peers: stop haproxy: %v", err)
		}
	})
	addr := net.JoinHostPort(m.Host, strconv.Itoa(h.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return h
		}
		if d.exited() || time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "haproxy.stderr"))
			t.Fatalf("peers: haproxy on %s did not start: %v\n%s", addr, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// OCSPStatus is the status an OCSPResponse reports.
type OCSPStatus string

const (
	OCSPGood    OCSPStatus = "V" // as in openssl ca's index.txt
	OCSPRevoked OCSPStatus = "R"
)

// OCSPResponse makes a DER OCSP response for leaf, signed by ca, with
// `openssl ocsp` (an index.txt holding the leaf with status, a request,
// and the responder answering it), valid for a day.
func (ca *CA) OCSPResponse(t testing.TB, leaf *x509.Certificate, status OCSPStatus) []byte {
	t.Helper()
	requireOrSkip(t, []string{opensslBin})
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	must := func(err error) {
		if err != nil {
			t.Fatalf("peers: OCSP files: %v", err)
		}
	}
	must(os.WriteFile(p("ca.pem"), ca.PEM(), 0o644))
	must(os.WriteFile(p("ca.key"), ca.KeyPEM(t), 0o600))
	must(os.WriteFile(p("leaf.pem"), pemCert(leaf), 0o644))
	exp := leaf.NotAfter.UTC().Format("060102150405Z")
	rev := ""
	if status == OCSPRevoked {
		rev = time.Now().Add(-time.Hour).UTC().Format("060102150405Z")
	}
	// index.txt: status, expiry, revocation time, serial (hex), file, subject.
	line := strings.Join([]string{string(status), exp, rev, strings.ToUpper(leaf.SerialNumber.Text(16)), "unknown", "/CN=" + leaf.Subject.CommonName}, "\t") + "\n"
	must(os.WriteFile(p("index.txt"), []byte(line), 0o644))
	run := func(args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, opensslBin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("peers: openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der")
	run("ocsp", "-index", "index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem",
		"-reqin", "req.der", "-respout", "resp.der", "-ndays", "1")
	der, err := os.ReadFile(p("resp.der"))
	if err != nil || len(der) == 0 {
		t.Fatalf("peers: OCSP response: %v", errors.Join(err, errors.New("empty")))
	}
	return der
}
