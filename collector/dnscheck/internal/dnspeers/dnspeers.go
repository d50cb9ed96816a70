// Package dnspeers starts real DNS servers on loopback for tests: knotd as the
// authoritative server (signing the zones marked Signed) and unbound as a
// validating resolver in front of it, trusting the signed zones' keys.
//
// Nothing leaves the machine: unbound refuses every name outside the zones
// given (local-zone "." refuse) and reaches knot through stub zones.
package dnspeers

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/internal/childproc"
)

// EnvRequire makes missing binaries a failure instead of a skip (CI sets it).
const EnvRequire = "MAIL_EXPORTER_REAL_PEERS"

// Zone is one zone served by knot.
type Zone struct {
	Name    string // e.g. "good.test"
	Signed  bool   // knot signs it (ECDSA P-256 CSK) and unbound trusts its key
	Records string // zone-file lines relative to the apex; SOA and NS are added
	// Refused: knot does not serve the name; unbound answers REFUSED for it and
	// everything below it (local-zone refuse), also inside a served zone.
	Refused bool
	// Serial is the SOA serial (0 = 1); Peers.Reload needs a higher one.
	Serial uint32
}

// Peers are the running servers.
type Peers struct {
	Resolver string // unbound, "127.0.0.1:port": the one every check queries
	Auth     string // knot, "127.0.0.1:port"
	Dir      string // configs, zones and logs
}

// Binaries returns the paths of knotd and unbound, or an error naming the
// missing one.
func Binaries() (knotd, unbound string, err error) {
	look := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found (apt-get install knot unbound)", name)
	}
	if knotd, err = look("knotd"); err != nil {
		return "", "", err
	}
	if unbound, err = look("unbound"); err != nil {
		return "", "", err
	}
	return knotd, unbound, nil
}

// Require skips the test when the binaries are missing, or fails it when
// MAIL_EXPORTER_REAL_PEERS=1.
func Require(t testing.TB) (knotd, unbound string) {
	t.Helper()
	knotd, unbound, err := Binaries()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("real peers required (%s=1): %v", EnvRequire, err)
		}
		t.Skipf("real peers unavailable: %v (set %s=1 to require them)", err, EnvRequire)
	}
	return knotd, unbound
}

// Start runs knot and unbound for the zones and stops them when the test ends.
func Start(t testing.TB, zones ...Zone) *Peers {
	t.Helper()
	knotd, unbound := Require(t)
	dir, err := os.MkdirTemp("", "dnspeers-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("dnspeers: configs and logs kept in %s", dir)
		}
	})
	p := &Peers{Dir: dir}

	authPort := freePort(t)
	p.Auth = fmt.Sprintf("127.0.0.1:%d", authPort)
	for _, sub := range []string{"db", "zones"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	served := zones[:0:0]
	for _, z := range zones {
		if !z.Refused {
			served = append(served, z)
		}
	}
	for _, z := range served {
		if err := os.WriteFile(filepath.Join(dir, "zones", fqdn(z.Name)+"zone"), []byte(zoneFile(z)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "knot.conf"), knotConf(dir, authPort, served))
	start(t, dir, "knot", knotd, "-c", filepath.Join(dir, "knot.conf"))

	anchors := make([]string, 0, len(zones))
	for _, z := range served {
		waitSOA(t, p.Auth, z.Name)
		if z.Signed {
			anchors = append(anchors, trustAnchor(t, p.Auth, z.Name))
		}
	}

	resPort := freePort(t)
	p.Resolver = fmt.Sprintf("127.0.0.1:%d", resPort)
	writeFile(t, filepath.Join(dir, "unbound.conf"), unboundConf(dir, resPort, authPort, zones, anchors))
	start(t, dir, "unbound", unbound, "-d", "-c", filepath.Join(dir, "unbound.conf"))
	for _, z := range served {
		waitSOA(t, p.Resolver, z.Name)
	}
	return p
}

func fqdn(s string) string { return dns.Fqdn(strings.ToLower(s)) }

func zoneFile(z Zone) string {
	n := fqdn(z.Name)
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 300\n", n)
	fmt.Fprintf(&b, "@ SOA ns.dnspeers.invalid. hostmaster.%s %d 3600 600 86400 60\n", n, max(z.Serial, 1))
	fmt.Fprintf(&b, "@ NS ns.dnspeers.invalid.\n")
	b.WriteString(z.Records)
	b.WriteString("\n")
	return b.String()
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// lockedBuffer collects a daemon's output for the failure log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs a daemon in the foreground and stops it (by its PID) at cleanup.
func start(t testing.TB, dir, name, bin string, args ...string) {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Forked from a thread that lives as long as the daemon: an ordinary fork dies when
	// its thread ends (a peers daemon's locked thread did that to unbound mid-test).
	c, err := childproc.Start(cmd, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := c.Done
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
		os.WriteFile(filepath.Join(dir, name+".log"), []byte(out.String()), 0o644)
	})
	select {
	case <-done:
		t.Fatalf("%s exited at once:\n%s", name, out.String())
	case <-time.After(50 * time.Millisecond):
	}
}

func query(server, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(fqdn(name), qtype)
	m.SetEdns0(1232, false)
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, _, err := c.ExchangeContext(ctx, m, server)
	return r, err
}

// waitSOA polls until server answers the zone's SOA.
func waitSOA(t testing.TB, server, zone string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		r, err := query(server, zone, dns.TypeSOA)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = dns.RcodeToString[r.Rcode]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered SOA %s: %s", server, zone, last)
}

// trustAnchor returns the zone's key-signing key (flag 257) as an unbound
// trust-anchor line, waiting for knot to have signed the zone.
func trustAnchor(t testing.TB, server, zone string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r, err := query(server, zone, dns.TypeDNSKEY)
		if err == nil {
			for _, rr := range r.Answer {
				if k, ok := rr.(*dns.DNSKEY); ok && k.Flags == 257 {
					return fmt.Sprintf("%s DNSKEY %d %d %d %s", fqdn(zone), k.Flags, k.Protocol, k.Algorithm, k.PublicKey)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("knot never published a KSK for %s", zone)
	return ""
}
