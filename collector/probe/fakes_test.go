package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

const (
	testUser = "monitor@example.test"
	testPass = "s3cret-Pa55word"
	testName = "mail.example.test"
)

// testPKI is a CA and a certificate for testName (and 127.0.0.1).
type testPKI struct {
	ca   *peers.CA
	cert tls.Certificate
	leaf *x509.Certificate
}

func newPKI(t *testing.T, opts peers.CertOptions) *testPKI {
	t.Helper()
	ca := peers.NewCA(t)
	if opts.DNSNames == nil {
		opts.DNSNames = []string{testName}
		opts.IPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	certPEM, keyPEM, leaf := ca.Issue(t, opts)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, cert: cert, leaf: leaf}
}

func (p *testPKI) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.cert}}
}

func cred() *config.Credential {
	return &config.Credential{Name: "monitor", Username: testUser, Password: config.Secret(testPass)}
}

// target builds a Target for a server on 127.0.0.1:port.
func target(p *testPKI, proto config.Protocol, mode config.TLSMode, port int, c *config.Credential) Target {
	var roots *x509.CertPool
	if p != nil {
		roots = p.ca.Pool()
	}
	return Target{
		Server: "test", Host: "127.0.0.1", ServerName: testName, RootCAs: roots, EHLOName: "probe.example.test",
		Endpoint: &config.Endpoint{Name: "ep", Protocol: proto, Port: port, TLS: mode, Credential: c,
			VerifyCertificate: true, Timeout: 5 * time.Second, Interval: time.Minute},
	}
}

func portOf(t *testing.T, l net.Listener) int {
	t.Helper()
	return l.Addr().(*net.TCPAddr).Port
}

// --- SMTP: go-smtp's own server -------------------------------------------

type smtpBackend struct{}

func (smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{}, nil }

type smtpSession struct{}

func (*smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (*smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user == testUser && pass == testPass {
			return nil
		}
		return errors.New("bad credentials")
	}), nil
}
func (*smtpSession) Reset()                               { /* no transaction state */ }
func (*smtpSession) Logout() error                        { return nil }
func (*smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*smtpSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }

// startSMTP serves go-smtp on loopback; implicit selects TLS from the start.
func startSMTP(t *testing.T, p *testPKI, implicit bool) int {
	t.Helper()
	s := smtp.NewServer(smtpBackend{})
	s.Domain = testName
	s.AllowInsecureAuth = false
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	var l net.Listener
	var err error
	if p != nil {
		s.TLSConfig = p.serverConfig()
	}
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return portOf(t, l)
}

// --- IMAP: go-imap's in-memory server ---------------------------------------

func startIMAP(t *testing.T, p *testPKI, implicit bool) int {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	s := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:      imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		TLSConfig: p.serverConfig(),
	})
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", p.serverConfig())
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return portOf(t, l)
}

// --- scripted servers for what real ones won't do ---------------------------

// script runs fn for every connection to a loopback listener. fn gets a
// line reader and the raw conn; it must return when the conn fails.
func script(t *testing.T, fn func(c net.Conn, r *bufio.Reader)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				fn(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	return portOf(t, l)
}

// expect reads one line and checks its prefix (case-insensitive).
func expect(r *bufio.Reader, prefix string) bool {
	line, err := r.ReadString('\n')
	return err == nil && strings.HasPrefix(strings.ToUpper(line), strings.ToUpper(prefix))
}

func run(t *testing.T, tg Target) *Result {
	t.Helper()
	r := Run(context.Background(), tg)
	t.Logf("result=%s success=%v err=%q duration=%v phases=%v", r.Reason, r.Success, r.Error, r.Duration, r.Phases)
	return r
}

func phases(r *Result) []Phase {
	var ps []Phase
	for _, p := range r.Phases {
		ps = append(ps, p.Phase)
	}
	return ps
}
