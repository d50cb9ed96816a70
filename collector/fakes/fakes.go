// Package fakes holds small in-process mail servers on loopback for tests
// and benchmarks: go-smtp's and go-imap's own servers for the ordinary
// paths, a scripted POP3 server, and Script for hostile behaviour that real
// servers will not show.
package fakes

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

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

const (
	User     = "monitor@example.test"
	Password = "s3cret-Pa55word"
	Name     = "mail.example.test"
)

// PKI is a CA and a certificate for Name (and 127.0.0.1).
type PKI struct {
	CA   *peers.CA
	Cert tls.Certificate
	Leaf *x509.Certificate
}

func NewPKI(t testing.TB, opts peers.CertOptions) *PKI {
	t.Helper()
	ca := peers.NewCA(t)
	if opts.DNSNames == nil {
		opts.DNSNames = []string{Name}
		opts.IPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	certPEM, keyPEM, leaf := ca.Issue(t, opts)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{CA: ca, Cert: cert, Leaf: leaf}
}

func (p *PKI) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Cert}}
}

func portOf(t testing.TB, l net.Listener) int {
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
		if user == User && pass == Password {
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
func SMTP(t testing.TB, p *PKI, implicit bool) int {
	t.Helper()
	s := smtp.NewServer(smtpBackend{})
	s.Domain = Name
	s.AllowInsecureAuth = false
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	var l net.Listener
	var err error
	if p != nil {
		s.TLSConfig = p.ServerConfig()
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

func IMAP(t testing.TB, p *PKI, implicit bool) int {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(User, Password)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	s := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:      imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		TLSConfig: p.ServerConfig(),
	})
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", p.ServerConfig())
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
func Script(t testing.TB, fn func(c net.Conn, r *bufio.Reader)) int {
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
func Expect(r *bufio.Reader, prefix string) bool {
	line, err := r.ReadString('\n')
	return err == nil && strings.HasPrefix(strings.ToUpper(line), strings.ToUpper(prefix))
}

// POP3Handler is a small scripted POP3 server: CAPA, STLS, AUTH PLAIN,
// USER/PASS, QUIT. It is enough to drive the prober through every path.
func POP3Handler(p *PKI, implicit bool, capa []string) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, r *bufio.Reader) {
		if implicit {
			tc := tls.Server(c, p.ServerConfig())
			c, r = tc, bufio.NewReader(tc)
		}
		c.Write([]byte("+OK POP3 ready\r\n"))
		tlsUp := implicit
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			switch strings.ToUpper(f[0]) {
			case "CAPA":
				c.Write([]byte("+OK\r\n"))
				for _, l := range capa {
					if l == "STLS" && tlsUp {
						continue
					}
					c.Write([]byte(l + "\r\n"))
				}
				c.Write([]byte(".\r\n"))
			case "STLS":
				c.Write([]byte("+OK begin TLS\r\n"))
				tc := tls.Server(c, p.ServerConfig())
				c, r, tlsUp = tc, bufio.NewReader(tc), true
			case "AUTH":
				// "\x00user\x00pass" in base64
				if len(f) == 3 && f[2] == "AG1vbml0b3JAZXhhbXBsZS50ZXN0AHMzY3JldC1QYTU1d29yZA==" {
					c.Write([]byte("+OK logged in\r\n"))
				} else {
					c.Write([]byte("-ERR [AUTH] invalid\r\n"))
				}
			case "USER":
				c.Write([]byte("+OK\r\n"))
			case "PASS":
				if len(f) == 2 && f[1] == Password {
					c.Write([]byte("+OK logged in\r\n"))
				} else {
					c.Write([]byte("-ERR [AUTH] invalid\r\n"))
				}
			case "QUIT":
				c.Write([]byte("+OK bye\r\n"))
				return
			default:
				c.Write([]byte("-ERR unknown\r\n"))
			}
		}
	}
}

// POP3 serves POP3Handler on loopback.
func POP3(t testing.TB, p *PKI, implicit bool, capa []string) int {
	return Script(t, POP3Handler(p, implicit, capa))
}

// CertOptions describes a test certificate (see NewPKI).
type CertOptions = peers.CertOptions
