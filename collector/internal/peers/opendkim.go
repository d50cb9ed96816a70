package peers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// opendkimBin is Debian's opendkim (package opendkim).
var opendkimBin = "/usr/sbin/opendkim"

// DKIMKey is an RSA signing key and the TXT record that publishes it.
type DKIMKey struct {
	Domain, Selector string
	PEM              []byte // the private key, PKCS #8
	// Record is the zone-file line, relative to the domain's apex, that publishes the
	// public key ("sel._domainkey TXT ..."), split into strings of at most 255 characters
	// (RFC 1035 3.3.14, RFC 6376 3.6.2.2).
	Record string
}

// NewDKIMKey makes a 2048-bit RSA key for selector._domainkey.domain.
func NewDKIMKey(t testing.TB, domain, selector string) *DKIMKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	txt := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	var parts []string
	for len(txt) > 0 {
		n := min(255, len(txt))
		parts = append(parts, `"`+txt[:n]+`"`)
		txt = txt[n:]
	}
	return &DKIMKey{
		Domain: domain, Selector: selector,
		PEM:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		Record: selector + "._domainkey 300 IN TXT " + strings.Join(parts, " "),
	}
}

// OpenDKIMOptions configure one OpenDKIM milter.
type OpenDKIMOptions struct {
	// Sign, when set, makes it a signer (Mode s) of mail From Sign.Domain, from any
	// client (InternalHosts 0.0.0.0/0), with Sign's key.
	Sign *DKIMKey
	// Otherwise it is a verifier (Mode v): it checks every signature, asking the DNS
	// server Resolver ("127.0.0.1:port", e.g. the tests' unbound) for the keys, and adds
	// Authentication-Results with AuthservID, also to unsigned mail.
	Resolver   string
	AuthservID string
}

// OpenDKIM is a running opendkim.
type OpenDKIM struct {
	Milter string // the Postfix milter address, "unix:DIR/milter.sock"
	Dir    string
	d      *daemon
}

// StartOpenDKIM runs opendkim in the foreground (-f -x CONF) on a UNIX socket and stops it
// at cleanup. It logs nowhere: it logs only to syslog, and there is no /dev/log.
func StartOpenDKIM(t testing.TB, o OpenDKIMOptions) *OpenDKIM {
	t.Helper()
	requireOrSkip(t, []string{opendkimBin})
	dir, err := os.MkdirTemp("/tmp", "opendkim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv(EnvKeepPeers) != "1" {
			_ = removeAllRetry(dir)
		}
	})
	// Postfix's smtpd (user postfix) reaches the socket through this folder.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A UNIX socket in the test's own folder: no port that another test, or another
	// package's tests running in parallel, could take between a check and the bind.
	sock := filepath.Join(dir, "milter.sock")
	od := &OpenDKIM{Milter: "unix:" + sock, Dir: dir}
	conf := fmt.Sprintf(`# Written by collector/internal/peers for one test.
Background no
Syslog no
PidFile %[1]s/opendkim.pid
Socket local:%[2]s
UMask 000
Canonicalization relaxed/simple
`, dir, sock)
	if k := o.Sign; k != nil {
		keyFile := filepath.Join(dir, "key.pem")
		if err := os.WriteFile(keyFile, k.PEM, 0o600); err != nil {
			t.Fatal(err)
		}
		name := k.Selector + "._domainkey." + k.Domain
		write(t, filepath.Join(dir, "keytable"), fmt.Sprintf("%s %s:%s:%s\n", name, k.Domain, k.Selector, keyFile))
		write(t, filepath.Join(dir, "signingtable"), fmt.Sprintf("%s %s\n", k.Domain, name))
		write(t, filepath.Join(dir, "internal"), "0.0.0.0/0\n")
		conf += fmt.Sprintf(`Mode s
KeyTable file:%[1]s/keytable
SigningTable file:%[1]s/signingtable
InternalHosts file:%[1]s/internal
RequireSafeKeys no
`, dir)
	} else {
		// libunbound's configuration: only the tests' resolver, never the machine's.
		write(t, filepath.Join(dir, "unbound.conf"), fmt.Sprintf(`server:
    do-not-query-localhost: no
    local-zone: "test." nodefault
forward-zone:
    name: "."
    forward-addr: %s
`, strings.Replace(o.Resolver, ":", "@", 1)))
		// Nothing is internal: every message is verified, none signed.
		write(t, filepath.Join(dir, "internal"), "192.0.2.254\n")
		conf += fmt.Sprintf(`Mode v
AuthservID %[2]s
AlwaysAddARHeader yes
InternalHosts file:%[1]s/internal
ResolverConfiguration %[1]s/unbound.conf
`, dir, o.AuthservID)
	}
	write(t, filepath.Join(dir, "opendkim.conf"), conf)
	od.d, err = startDaemon("opendkim", filepath.Join(dir, "opendkim.stderr"), opendkimBin, "-f", "-x", filepath.Join(dir, "opendkim.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// SIGTERM costs 5 s (libmilter waits that long for its worker threads);
	// opendkim keeps no state worth a clean shutdown, so it is killed.
	t.Cleanup(func() {
		_ = syscall.Kill(-od.d.cmd.Process.Pid, syscall.SIGKILL)
		<-od.d.done
		if out, _ := os.ReadFile(filepath.Join(dir, "opendkim.stderr")); t.Failed() && len(out) > 0 {
			t.Logf("peers: opendkim %s stderr:\n%s", dir, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := milterHello(sock, 10*time.Second)
		if err == nil {
			return od
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			// It listens but does not answer as a milter should: a later try would
			// find its resolver set up without the configuration (see milterHello).
			t.Fatalf("peers: opendkim on %s: %v", sock, err)
		}
		select {
		case <-od.d.done:
			out, _ := os.ReadFile(filepath.Join(dir, "opendkim.stderr"))
			t.Fatalf("peers: opendkim exited during start-up (%v): %s", od.d.child.Err(), out)
		case <-ctx.Done():
			t.Fatalf("peers: opendkim not listening on %s: %v", sock, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
