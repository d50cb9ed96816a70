package peers

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMail starts one instance and talks to each of its ports the way a probe would.
func TestMail(t *testing.T) {
	t.Parallel()
	m := StartMail(t)
	t.Logf("start-up took %v", m.StartupTime.Round(time.Millisecond))

	for _, name := range PortNames {
		if m.Ports[name] == 0 {
			t.Fatalf("no port %q in %v", name, m.Ports)
		}
	}
	if fi, err := os.Stat(m.Dir); err != nil || fi.Mode().Perm()&0o005 != 0o005 {
		t.Errorf("Dir %s is not world-traversable: %v %v", m.Dir, fi.Mode(), err)
	}
	if !strings.HasPrefix(m.Dir, "/tmp/") {
		t.Errorf("Dir %s is not under /tmp", m.Dir)
	}
	ca, err := os.ReadFile(m.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("CAFile holds no certificate")
	}
	for _, name := range []string{m.ServerName, "localhost", "127.0.0.1", "127.0.0.2"} {
		if _, err := m.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("leaf does not verify for %s with CAFile: %v", name, err)
		}
	}

	tlsCfg := m.TLSConfig()
	checkLeaf := func(t *testing.T, st tls.ConnectionState) {
		t.Helper()
		if !st.PeerCertificates[0].Equal(m.Leaf) {
			t.Errorf("server presented %s, want Mail.Leaf", st.PeerCertificates[0].Subject)
		}
	}

	t.Run("smtp", func(t *testing.T) {
		c := dialRaw(t, m.Addr("smtp"), nil)
		c.smtp("220")
		c.send("EHLO probe.example.test")
		ehlo := c.smtp("250")
		if !ehloHas(ehlo, "STARTTLS") {
			t.Fatalf("no STARTTLS in %q", ehlo)
		}
		if ehloHas(ehlo, "AUTH") {
			t.Errorf("port 25-like smtp offers AUTH: %q", ehlo)
		}
		c.send("STARTTLS")
		c.smtp("220")
		checkLeaf(t, c.handshake(tlsCfg))
		c.send("EHLO probe.example.test")
		if ehlo := c.smtp("250"); ehloHas(ehlo, "AUTH") {
			t.Errorf("port 25-like smtp offers AUTH after TLS: %q", ehlo)
		}
		c.send("QUIT")
		c.smtp("221")
	})

	t.Run("submission", func(t *testing.T) {
		c := dialRaw(t, m.Addr("submission"), nil)
		c.smtp("220")
		c.send("EHLO probe.example.test")
		ehlo := c.smtp("250")
		if !ehloHas(ehlo, "STARTTLS") {
			t.Fatalf("no STARTTLS in %q", ehlo)
		}
		if ehloHas(ehlo, "AUTH") {
			t.Errorf("submission offers AUTH before STARTTLS: %q", ehlo)
		}
		c.send("STARTTLS")
		c.smtp("220")
		checkLeaf(t, c.handshake(tlsCfg))
		c.send("EHLO probe.example.test")
		ehlo = c.smtp("250")
		if !ehloHas(ehlo, "AUTH") || !hasWord(ehlo, "PLAIN") || !hasWord(ehlo, "LOGIN") {
			t.Errorf("submission does not offer AUTH PLAIN LOGIN after TLS: %q", ehlo)
		}
		c.send("AUTH PLAIN %s", plainAuth(m.User, "wrong-password"))
		c.smtp("535")
		c.send("AUTH PLAIN %s", plainAuth(m.User, m.Password))
		c.smtp("235")
		c.send("QUIT")
		c.smtp("221")
	})

	t.Run("submissions", func(t *testing.T) {
		c := dialRaw(t, m.Addr("submissions"), tlsCfg)
		checkLeaf(t, c.c.(*tls.Conn).ConnectionState())
		c.smtp("220")
		c.send("EHLO probe.example.test")
		ehlo := c.smtp("250")
		if !ehloHas(ehlo, "AUTH") {
			t.Errorf("submissions does not offer AUTH: %q", ehlo)
		}
		if ehloHas(ehlo, "STARTTLS") {
			t.Errorf("submissions offers STARTTLS inside TLS: %q", ehlo)
		}
		c.send("AUTH PLAIN %s", plainAuth(m.User, m.Password))
		c.smtp("235")
		c.send("QUIT")
		c.smtp("221")
	})

	t.Run("imap", func(t *testing.T) {
		c := dialRaw(t, m.Addr("imap"), nil)
		if g := c.line(); !strings.HasPrefix(g, "* OK") {
			t.Fatalf("greeting %q", g)
		}
		caps := c.imapOK("CAPABILITY")
		if !hasWord(caps, "STARTTLS") {
			t.Fatalf("no STARTTLS in %q", caps)
		}
		if !hasWord(caps, "LOGINDISABLED") {
			t.Errorf("IMAP on %s does not advertise LOGINDISABLED before STARTTLS: %q", m.Host, caps)
		}
		if _, st := c.imap("LOGIN %s %s", m.User, m.Password); strings.HasPrefix(st, "OK") {
			t.Errorf("plaintext LOGIN before STARTTLS succeeded")
		}
		c.imapOK("STARTTLS")
		checkLeaf(t, c.handshake(tlsCfg))
		caps = c.imapOK("CAPABILITY")
		if hasWord(caps, "LOGINDISABLED") {
			t.Errorf("LOGINDISABLED after STARTTLS: %q", caps)
		}
		c.imapOK("LOGIN %s %s", m.User, m.Password)
		c.imapOK("SELECT INBOX")
		c.imapOK("LOGOUT")
	})

	t.Run("imap-127.0.0.1", func(t *testing.T) {
		// The pitfall that makes Host 127.0.0.2: documented, not asserted.
		c := dialRaw(t, net.JoinHostPort("127.0.0.1", itoa(m.Ports["imap"])), nil)
		c.line()
		caps := c.imapOK("CAPABILITY")
		t.Logf("IMAP on 127.0.0.1 advertises LOGINDISABLED: %v", hasWord(caps, "LOGINDISABLED"))
		c.imapOK("LOGOUT")
	})

	t.Run("imaps", func(t *testing.T) {
		c := dialRaw(t, m.Addr("imaps"), tlsCfg)
		checkLeaf(t, c.c.(*tls.Conn).ConnectionState())
		if g := c.line(); !strings.HasPrefix(g, "* OK") {
			t.Fatalf("greeting %q", g)
		}
		if _, st := c.imap("LOGIN %s %s", m.User, "wrong-password"); strings.HasPrefix(st, "OK") {
			t.Errorf("LOGIN with a wrong password succeeded")
		}
		c.imapOK("AUTHENTICATE PLAIN %s", plainAuth(m.User, m.Password))
		c.imapOK("LOGOUT")
	})

	t.Run("pop3", func(t *testing.T) {
		c := dialRaw(t, m.Addr("pop3"), nil)
		if g := c.line(); !strings.HasPrefix(g, "+OK") {
			t.Fatalf("greeting %q", g)
		}
		if st := c.pop3("CAPA"); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("CAPA: %q", st)
		}
		capa := c.pop3Multi()
		if !hasWord(capa, "STLS") {
			t.Fatalf("no STLS in %q", capa)
		}
		if st := c.pop3("USER %s", m.User); strings.HasPrefix(st, "+OK") {
			if st := c.pop3("PASS %s", m.Password); strings.HasPrefix(st, "+OK") {
				t.Fatalf("plaintext login before STLS succeeded")
			}
		}
		if st := c.pop3("STLS"); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("STLS: %q", st)
		}
		checkLeaf(t, c.handshake(tlsCfg))
		if st := c.pop3("USER %s", m.User); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("USER: %q", st)
		}
		if st := c.pop3("PASS %s", m.Password); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("PASS: %q", st)
		}
		if st := c.pop3("QUIT"); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("QUIT: %q", st)
		}
	})

	t.Run("pop3s", func(t *testing.T) {
		c := dialRaw(t, m.Addr("pop3s"), tlsCfg)
		checkLeaf(t, c.c.(*tls.Conn).ConnectionState())
		if g := c.line(); !strings.HasPrefix(g, "+OK") {
			t.Fatalf("greeting %q", g)
		}
		if st := c.pop3("AUTH PLAIN %s", plainAuth(m.User, m.Password)); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("AUTH PLAIN: %q", st)
		}
		if st := c.pop3("STAT"); !strings.HasPrefix(st, "+OK") {
			t.Fatalf("STAT: %q", st)
		}
		c.pop3("QUIT")
	})

	t.Run("lmtp", func(t *testing.T) {
		c := dialRaw(t, m.Addr("lmtp"), nil)
		c.smtp("220")
		c.send("LHLO probe.example.test")
		c.smtp("250")
		c.send("QUIT")
		c.smtp("221")
	})

	t.Run("delivery", func(t *testing.T) {
		token := "peers-" + randomHex(8)
		sendMail(t, m, "submission", m.User, token)
		msgs := m.WaitMessages(t, m.User, 1, 15*time.Second)
		body := readAll(t, msgs...)
		if !strings.Contains(body, token) {
			t.Fatalf("delivered mail does not hold %s:\n%s", token, body)
		}
		// And it is visible over IMAP, as a roundtrip check would see it.
		c := dialRaw(t, m.Addr("imaps"), tlsCfg)
		c.line()
		c.imapOK("LOGIN %s %s", m.User, m.Password)
		c.imapOK("SELECT INBOX")
		u := c.imapOK("SEARCH SUBJECT %s", token)
		if !strings.Contains(strings.Join(u, " "), "SEARCH 1") {
			t.Errorf("IMAP SEARCH for the message: %q", u)
		}
		c.imapOK("LOGOUT")
	})

	t.Run("delivery-broken", func(t *testing.T) {
		before, _ := m.Messages(m.User)
		if err := m.StopLMTP(); err != nil {
			t.Fatal(err)
		}
		token := "peers-" + randomHex(8)
		sendMail(t, m, "submissions", m.User, token) // accepted: Postfix queues it
		time.Sleep(1500 * time.Millisecond)
		if now, _ := m.Messages(m.User); len(now) != len(before) {
			t.Fatalf("mail delivered while LMTP was stopped (%d -> %d)", len(before), len(now))
		}
		if !strings.Contains(m.Logs(50), "status=deferred") {
			t.Errorf("Postfix did not log a deferral:\n%s", m.Logs(20))
		}
		if err := m.StartLMTP(); err != nil {
			t.Fatal(err)
		}
		msgs := m.WaitMessages(t, m.User, len(before)+1, 15*time.Second)
		if body := readAll(t, msgs...); !strings.Contains(body, token) {
			t.Fatalf("deferred mail not delivered after StartLMTP")
		}
	})
}

// TestMailOptions runs a second instance at the same time as TestMail, with quota, an extra
// user and an expired certificate from a caller's CA.
func TestMailOptions(t *testing.T) {
	t.Parallel()
	ca := NewCA(t)
	certPEM, keyPEM, leaf := ca.Issue(t, CertOptions{
		DNSNames:  []string{ServerName},
		NotBefore: time.Now().Add(-48 * time.Hour),
		NotAfter:  time.Now().Add(-24 * time.Hour),
		KeyType:   KeyRSA2048,
	})
	m := StartMail(t, WithQuota("10M"), WithUsers(map[string]string{"alice": "alice-pw"}),
		WithCA(ca), WithCert(certPEM, keyPEM))
	t.Logf("start-up took %v", m.StartupTime.Round(time.Millisecond))
	if !m.Leaf.Equal(leaf) || m.CA != ca {
		t.Fatal("Leaf/CA are not the caller's")
	}

	t.Run("expired", func(t *testing.T) {
		c, err := net.DialTimeout("tcp4", m.Addr("imaps"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = tls.Client(c, m.TLSConfig()).Handshake()
		var inv x509.CertificateInvalidError
		if !errors.As(err, &inv) || inv.Reason != x509.Expired {
			t.Fatalf("handshake error %v, want an expired certificate", err)
		}
		rc := dialRaw(t, m.Addr("submissions"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the expired leaf
		if got := rc.c.(*tls.Conn).ConnectionState().PeerCertificates[0]; !got.Equal(leaf) {
			t.Errorf("submissions presented %s", got.Subject)
		}
	})

	t.Run("quota", func(t *testing.T) {
		out, err := m.Doveadm("quota", "get", "-u", m.User)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "STORAGE") || !strings.Contains(out, "10240") {
			t.Errorf("doveadm quota get:\n%s", out)
		}
		c := dialRaw(t, m.Addr("imaps"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // expired on purpose
		c.line()
		c.imapOK("LOGIN %s %s", "alice@example.test", "alice-pw")
		caps := c.imapOK("CAPABILITY")
		if !hasWord(caps, "QUOTA") {
			t.Errorf("no QUOTA capability: %q", caps)
		}
		u := c.imapOK("GETQUOTAROOT INBOX")
		if !strings.Contains(strings.Join(u, "\n"), "STORAGE 0 10240") {
			t.Errorf("GETQUOTAROOT: %q", u)
		}
		c.imapOK("LOGOUT")
	})

	t.Run("extra-user-delivery", func(t *testing.T) {
		token := "peers-" + randomHex(8)
		sendMail(t, m, "submission", "alice@example.test", token)
		msgs := m.WaitMessages(t, "alice", 1, 15*time.Second)
		if !strings.Contains(readAll(t, msgs...), token) {
			t.Fatal("alice's mail lacks the token")
		}
		if !strings.HasPrefix(m.MaildirOf("alice"), m.Dir) {
			t.Errorf("MaildirOf(alice) = %s", m.MaildirOf("alice"))
		}
	})
}

// sendMail submits one message with AUTH over submission (STARTTLS) or submissions.
func sendMail(t *testing.T, m *Mail, port, to, subject string) {
	t.Helper()
	cfg := m.TLSConfig()
	if time.Now().After(m.Leaf.NotAfter) {
		cfg.InsecureSkipVerify = true
	}
	var c *rawConn
	if port == "submissions" {
		c = dialRaw(t, m.Addr(port), cfg)
		c.smtp("220")
	} else {
		c = dialRaw(t, m.Addr(port), nil)
		c.smtp("220")
		c.send("EHLO probe.example.test")
		c.smtp("250")
		c.send("STARTTLS")
		c.smtp("220")
		c.handshake(cfg)
	}
	c.send("EHLO probe.example.test")
	c.smtp("250")
	c.send("AUTH PLAIN %s", plainAuth(m.User, m.Password))
	c.smtp("235")
	c.send("MAIL FROM:<%s>", m.User)
	c.smtp("250")
	c.send("RCPT TO:<%s>", to)
	c.smtp("250")
	c.send("DATA")
	c.smtp("354")
	c.send("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@example.test>\r\n\r\nbody %s\r\n.",
		m.User, to, subject, time.Now().Format(time.RFC1123Z), subject, subject)
	c.smtp("250")
	c.send("QUIT")
	c.smtp("221")
}

func readAll(t *testing.T, files ...string) string {
	t.Helper()
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestMailPortTaken gives the first attempt ports of which one is already taken, for
// Dovecot and then for Postfix: StartMail must notice and start again on other ports.
func TestMailPortTaken(t *testing.T) {
	t.Parallel()
	for _, victim := range []string{"imaps", "submission"} {
		t.Run(victim, func(t *testing.T) {
			ln, err := net.Listen("tcp4", "127.0.0.2:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			taken := ln.Addr().(*net.TCPAddr).Port
			calls := 0
			pick := func(n int) ([]int, error) {
				calls++
				ports, err := pickPorts(n)
				if err == nil && calls == 1 {
					for i, name := range PortNames {
						if name == victim {
							ports[i] = taken
						}
					}
				}
				return ports, err
			}
			m := StartMail(t, func(c *mailConfig) { c.pick = pick })
			if calls != 2 {
				t.Errorf("port picker called %d times, want 2", calls)
			}
			if m.Ports[victim] == taken {
				t.Errorf("%s still on the taken port", victim)
			}
			c := dialRaw(t, m.Addr("smtp"), nil)
			c.smtp("220")
		})
	}
}

// TestMailStalledAttempt: an instance whose smtp port accepts and does not greet
// (here: a greeting delay longer than an attempt) is given up after its share of
// the deadline and a fresh one is tried; the last attempt's error lists the
// processes' states.
func TestMailStalledAttempt(t *testing.T) {
	requireOrSkip(t, requiredMailFS)
	t.Parallel()
	var retries []string
	start := time.Now()
	_, err := Start(func(format string, args ...any) { retries = append(retries, fmt.Sprintf(format, args...)) },
		WithStartTimeout(9*time.Second), WithGreetingDelay(30*time.Second))
	if err == nil {
		t.Fatal("started although the smtp port never greets in time")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %v for a 9 s deadline", took)
	}
	// Stopping a stalled instance takes time too, so the last attempt may find the
	// whole deadline gone: one retry at least. The first attempt had its share, and
	// its error says where the instance stood.
	if len(retries) == 0 {
		t.Fatal("no attempt was retried")
	}
	for _, want := range []string{"retrying with a fresh instance", "ports not ready: smtp", "--- postfix's processes (pid name state wchan) ---", " master ", " smtpd "} {
		if !strings.Contains(retries[0], want) {
			t.Errorf("first attempt's error lacks %q:\n%s", want, retries[0])
		}
	}
	if !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("error %v, want the deadline", err)
	}
}
