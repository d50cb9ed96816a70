package probe

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

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
			port := script(t, fakes.POP3Handler(p, tc.mode == config.TLSImplicit, tc.capa))
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
