package probe

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// pop3Server is a small scripted POP3 server: CAPA, STLS, AUTH PLAIN,
// USER/PASS, QUIT. It is enough to drive the prober through every path.
func pop3Server(p *testPKI, implicit bool, capa []string) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, r *bufio.Reader) {
		if implicit {
			tc := tls.Server(c, p.serverConfig())
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
				tc := tls.Server(c, p.serverConfig())
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
				if len(f) == 2 && f[1] == testPass {
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

func TestPOP3(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	cases := []struct {
		name     string
		mode     config.TLSMode
		capa     []string
		password string
		want     Reason
		mechs    string
	}{
		{"stls sasl", config.TLSStartTLS, []string{"STLS", "SASL PLAIN", "USER"}, testPass, ReasonOK, "PLAIN,USER"},
		{"stls user/pass", config.TLSStartTLS, []string{"STLS", "USER"}, testPass, ReasonOK, "USER"},
		{"implicit", config.TLSImplicit, []string{"SASL PLAIN"}, testPass, ReasonOK, "PLAIN"},
		{"wrong password", config.TLSImplicit, []string{"USER"}, "bad", ReasonAuth, "USER"},
		{"no stls", config.TLSStartTLS, []string{"USER"}, testPass, ReasonStartTLSUnsupported, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := script(t, pop3Server(p, tc.mode == config.TLSImplicit, tc.capa))
			c := cred()
			c.Password = config.Secret(tc.password)
			r := run(t, target(p, config.POP3, tc.mode, port, c))
			if r.Reason != tc.want {
				t.Fatalf("got %s (%s), want %s", r.Reason, r.Error, tc.want)
			}
			if got := strings.Join(r.AuthMechanisms, ","); got != tc.mechs {
				t.Errorf("mechanisms %q, want %q", got, tc.mechs)
			}
			if tc.mode == config.TLSStartTLS && (r.PlaintextAuthOffered == nil || !*r.PlaintextAuthOffered) {
				t.Error("USER before STLS must read as plaintext login offered")
			}
		})
	}
}

func TestPOP3Hostile(t *testing.T) {
	cases := []struct {
		name   string
		server func(net.Conn, *bufio.Reader)
		want   Reason
	}{
		{"-ERR greeting", func(c net.Conn, _ *bufio.Reader) { c.Write([]byte("-ERR go away\r\n")) }, ReasonGreeting},
		{"-ERR to everything", func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("+OK hi\r\n"))
			for {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				c.Write([]byte("-ERR no\r\n"))
			}
		}, ReasonAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := script(t, tc.server)
			r := run(t, target(nil, config.POP3, config.TLSNone, port, cred()))
			if r.Reason != tc.want {
				t.Errorf("got %s (%s), want %s", r.Reason, r.Error, tc.want)
			}
		})
	}
}
