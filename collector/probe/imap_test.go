package probe

import (
	"bufio"
	"net"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

func TestIMAPStartTLSAndImplicit(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	for _, mode := range []config.TLSMode{config.TLSStartTLS, config.TLSImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			port := startIMAP(t, p, mode == config.TLSImplicit)
			r := run(t, target(p, config.IMAP, mode, port, cred()))
			if !r.Success {
				t.Fatalf("got %s: %s", r.Reason, r.Error)
			}
			if r.AuthSuccess == nil || !*r.AuthSuccess || r.TLS == nil || !r.TLS.Verified {
				t.Errorf("auth %v tls %+v", r.AuthSuccess, r.TLS)
			}
			if mode == config.TLSStartTLS && (r.StartTLSOffered == nil || !*r.StartTLSOffered) {
				t.Error("STARTTLS not seen")
			}
		})
	}
}

func TestIMAPWrongPassword(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	port := startIMAP(t, p, true)
	c := cred()
	c.Password = "nope"
	r := run(t, target(p, config.IMAP, config.TLSImplicit, port, c))
	if r.Reason != ReasonAuth || r.AuthSuccess == nil || *r.AuthSuccess {
		t.Fatalf("got %s auth=%v", r.Reason, r.AuthSuccess)
	}
}

func TestIMAPHostile(t *testing.T) {
	cases := []struct {
		name   string
		server func(c net.Conn, r *bufio.Reader)
		want   Reason
	}{
		{"BYE at greeting", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("* BYE go away\r\n")) }, ReasonGreeting},
		{"STARTTLS refused", func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("* OK hi\r\n"))
			if expect(r, "C1 CAPABILITY") {
				c.Write([]byte("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nC1 OK done\r\n"))
			}
			if expect(r, "C2 STARTTLS") {
				c.Write([]byte("C2 NO not now\r\n"))
			}
		}, ReasonStartTLSUnsupported},
		{"huge literal", func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("* OK hi\r\n"))
			if expect(r, "C1 CAPABILITY") {
				c.Write([]byte("* CAPABILITY {4294967295}\r\n"))
				for i := 0; i < 4096; i++ {
					if _, err := c.Write(make([]byte, 1024)); err != nil {
						return
					}
				}
			}
		}, ReasonProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := script(t, tc.server)
			r := run(t, target(nil, config.IMAP, config.TLSStartTLS, port, cred()))
			if r.Reason != tc.want {
				t.Errorf("got %s (%s), want %s", r.Reason, r.Error, tc.want)
			}
		})
	}
}
