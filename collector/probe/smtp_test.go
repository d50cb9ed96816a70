package probe

import (
	"bufio"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

func TestSMTPStartTLSLogin(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	port := startSMTP(t, p, false)
	r := run(t, target(p, config.SMTP, config.TLSStartTLS, port, cred()))
	if !r.Success || r.Reason != ReasonOK {
		t.Fatalf("want success, got %s: %s", r.Reason, r.Error)
	}
	want := []Phase{PhaseResolve, PhaseConnect, PhaseGreeting, PhaseCapabilities, PhaseStartTLS, PhaseTLSHandshake, PhaseAuth, PhaseLogout}
	if got := phases(r); !reflect.DeepEqual(got, want) {
		t.Errorf("phases = %v, want %v", got, want)
	}
	if r.TLS == nil || !r.TLS.Verified || r.TLS.VerifyError != "" {
		t.Fatalf("TLS facts = %+v", r.TLS)
	}
	if !r.TLS.NotAfter.Equal(p.Leaf.NotAfter) || r.TLS.Version != "TLS 1.3" {
		t.Errorf("TLS facts = %+v, leaf expires %v", r.TLS, p.Leaf.NotAfter)
	}
	if r.StartTLSOffered == nil || !*r.StartTLSOffered {
		t.Error("StartTLSOffered not true")
	}
	// go-smtp's server without AllowInsecureAuth hides AUTH before TLS.
	if r.PlaintextAuthOffered == nil || *r.PlaintextAuthOffered {
		t.Error("PlaintextAuthOffered not false")
	}
	if !reflect.DeepEqual(r.AuthMechanisms, []string{"PLAIN"}) || r.AuthSuccess == nil || !*r.AuthSuccess {
		t.Errorf("mechanisms %v auth %v", r.AuthMechanisms, r.AuthSuccess)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	port := startSMTP(t, p, true)
	r := run(t, target(p, config.SMTP, config.TLSImplicit, port, cred()))
	if !r.Success {
		t.Fatalf("want success, got %s: %s", r.Reason, r.Error)
	}
	if got := phases(r); got[2] != PhaseTLSHandshake || got[3] != PhaseGreeting {
		t.Errorf("implicit TLS must handshake before the greeting: %v", got)
	}
	if r.StartTLSOffered != nil || r.PlaintextAuthOffered != nil {
		t.Error("STARTTLS facts set on an implicit endpoint")
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	port := startSMTP(t, p, false)
	c := cred()
	c.Password = "wrong-password"
	r := run(t, target(p, config.SMTP, config.TLSStartTLS, port, c))
	if r.Success || r.Reason != ReasonAuth || r.AuthSuccess == nil || *r.AuthSuccess {
		t.Fatalf("want auth failure, got %s auth=%v", r.Reason, r.AuthSuccess)
	}
	if strings.Contains(r.Error, "wrong-password") {
		t.Error("error text leaks the password")
	}
}

func TestSMTPStartTLSNotOffered(t *testing.T) {
	port := startSMTP(t, nil, false) // no TLSConfig: no STARTTLS
	r := run(t, target(nil, config.SMTP, config.TLSStartTLS, port, cred()))
	if r.Reason != ReasonStartTLSUnsupported || r.StartTLSOffered == nil || *r.StartTLSOffered {
		t.Fatalf("got %s offered=%v", r.Reason, r.StartTLSOffered)
	}
	if r.AuthSuccess != nil {
		t.Error("login attempted without TLS on a starttls endpoint")
	}
}

func TestSMTPPlaintextNoLogin(t *testing.T) {
	port := startSMTP(t, nil, false)
	r := run(t, target(nil, config.SMTP, config.TLSNone, port, nil))
	if !r.Success || r.TLS != nil {
		t.Fatalf("got %s tls=%v", r.Reason, r.TLS)
	}
}

func TestCertificateFailures(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name string
		opts peers.CertOptions
		// otherCA: the client trusts a different CA (self-signed/unknown)
		otherCA    bool
		serverName string
		want       VerifyError
	}{
		{name: "expired", opts: peers.CertOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}, want: VerifyExpired},
		{name: "not yet valid", opts: peers.CertOptions{NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)}, want: VerifyNotYetValid},
		{name: "wrong name", opts: peers.CertOptions{DNSNames: []string{"other.example.test"}}, want: VerifyHostnameMismatch},
		{name: "unknown CA", otherCA: true, want: VerifyUnknownAuthority},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t, tc.opts)
			port := startSMTP(t, p, true)
			client := p
			if tc.otherCA {
				client = newPKI(t, peers.CertOptions{})
			}
			for _, verify := range []bool{true, false} {
				tg := target(client, config.SMTP, config.TLSImplicit, port, nil)
				tg.Endpoint.VerifyCertificate = verify
				r := run(t, tg)
				if r.TLS == nil || r.TLS.Verified || r.TLS.VerifyError != tc.want {
					t.Fatalf("verify=%v: TLS facts %+v, want error %s", verify, r.TLS, tc.want)
				}
				if !r.TLS.NotAfter.Equal(p.Leaf.NotAfter) || r.TLS.Fingerprint == "" {
					t.Errorf("certificate facts missing: %+v", r.TLS)
				}
				if verify && (r.Success || r.Reason != ReasonCertificate) {
					t.Errorf("verify=true: got %s, want certificate failure", r.Reason)
				}
				if !verify && !r.Success {
					t.Errorf("verify=false: got %s, want success", r.Reason)
				}
			}
		})
	}
}

func TestSMTPMultiLineGreeting(t *testing.T) {
	early := make(chan bool, 1)
	port := script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220-mx.example.test ESMTP postscreen\r\n220-please wait\r\n"))
		// A client that speaks before the last greeting line is what
		// postscreen punishes: nothing may arrive now.
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := r.ReadByte()
		early <- err == nil
		c.SetReadDeadline(time.Time{})
		c.Write([]byte("220 mx.example.test ready\r\n"))
		if !expect(r, "EHLO") {
			return
		}
		c.Write([]byte("250-mx.example.test\r\n250 PIPELINING\r\n"))
		if expect(r, "QUIT") {
			c.Write([]byte("221 bye\r\n"))
		}
	})
	r := run(t, target(nil, config.SMTP, config.TLSNone, port, nil))
	if <-early {
		t.Fatal("client sent data before the last greeting line")
	}
	if !r.Success {
		t.Fatalf("got %s: %s", r.Reason, r.Error)
	}
	if d, _ := r.PhaseDuration(PhaseGreeting); d < 250*time.Millisecond {
		t.Errorf("greeting phase %v does not cover the whole multi-line greeting", d)
	}
}

func TestSMTPHostileGreetings(t *testing.T) {
	cases := []struct {
		name   string
		server func(c net.Conn, r *bufio.Reader)
		want   Reason
	}{
		{"never greets", func(c net.Conn, r *bufio.Reader) { r.ReadByte() }, ReasonTimeout},
		{"slams the door", func(c net.Conn, r *bufio.Reader) {}, ReasonGreeting},
		{"421 greeting", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("421 too busy\r\n")) }, ReasonTempfail}, // SPEC 6.2: 4xx greeting is tempfail, not down
		{"554 greeting", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("554 go away\r\n")) }, ReasonGreeting},
		{"garbage greeting", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("HTTP/1.1 400 Bad Request\r\n")) }, ReasonGreeting},
		{"over-long line", func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("220 " + strings.Repeat("x", 100<<10) + "\r\n"))
		}, ReasonGreeting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := script(t, tc.server)
			tg := target(nil, config.SMTP, config.TLSNone, port, nil)
			tg.Endpoint.Timeout = 500 * time.Millisecond
			start := time.Now()
			r := run(t, tg)
			if r.Reason != tc.want || r.Success {
				t.Errorf("got %s (%s), want %s", r.Reason, r.Error, tc.want)
			}
			if el := time.Since(start); el > tg.Endpoint.Timeout+500*time.Millisecond {
				t.Errorf("probe took %v, timeout %v", el, tg.Endpoint.Timeout)
			}
		})
	}
}
