package probe

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

// hostile servers: each must end the probe within its timeout plus a small
// margin, with the right result, without the attacker's bytes growing the
// heap, and with no goroutine left (TestMain runs goleak).

const hostileTimeout = 1500 * time.Millisecond

// flood writes chunk until the peer goes away.
func flood(c net.Conn, chunk string) {
	b := []byte(chunk)
	for {
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}

func smtpUntilStartTLS(c net.Conn, r *bufio.Reader) bool {
	c.Write([]byte("220 hostile ESMTP\r\n"))
	if !expect(r, "EHLO") {
		return false
	}
	c.Write([]byte("250-hostile\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"))
	return expect(r, "STARTTLS")
}

type hostileCase struct {
	name   string
	proto  config.Protocol
	mode   config.TLSMode
	server func(p *testPKI) func(net.Conn, *bufio.Reader)
	want   Reason
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{"accepts and never speaks", config.SMTP, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) { r.ReadByte() }
		}, ReasonTimeout},
		{"greets one byte at a time forever", config.SMTP, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				for {
					if _, err := c.Write([]byte("2")); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}, ReasonTimeout},
		{"a 100 MB reply line", config.SMTP, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("220 "))
				flood(c, strings.Repeat("A", 64<<10)) // stops when the probe hangs up
			}
		}, ReasonGreeting},
		{"endless multi-line reply", config.SMTP, config.TLSStartTLS, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("220 hostile\r\n"))
				if expect(r, "EHLO") {
					flood(c, "250-PIPELINING\r\n")
				}
			}
		}, ReasonProtocol},
		{"garbage instead of a TLS handshake", config.SMTP, config.TLSStartTLS, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				if smtpUntilStartTLS(c, r) {
					c.Write([]byte("220 go ahead\r\n"))
					r.ReadByte() // the ClientHello
					c.Write([]byte("this is not TLS at all\r\n"))
				}
			}
		}, ReasonTLSHandshake},
		{"STARTTLS answered with 454", config.SMTP, config.TLSStartTLS, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				if smtpUntilStartTLS(c, r) {
					c.Write([]byte("454 4.7.0 TLS not available\r\n"))
					expect(r, "QUIT")
				}
			}
		}, ReasonStartTLSUnsupported},
		{"TLS server stalls mid-handshake", config.SMTP, config.TLSImplicit, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				// Swallow the ClientHello and say nothing, until the probe hangs up.
				for {
					if _, err := r.ReadByte(); err != nil {
						return
					}
				}
			}
		}, ReasonTimeout},
		{"resets the connection mid-login", config.SMTP, config.TLSImplicit, func(p *testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, _ *bufio.Reader) {
				tc := tls.Server(c, p.ServerConfig())
				r := bufio.NewReader(tc)
				tc.Write([]byte("220 hostile\r\n"))
				if expect(r, "EHLO") {
					tc.Write([]byte("250-hostile\r\n250 AUTH PLAIN\r\n"))
				}
				if expect(r, "AUTH") {
					c.(*net.TCPConn).SetLinger(0) // RST, not FIN
				}
			}
		}, ReasonProtocol},
		{"421 greeting", config.SMTP, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, _ *bufio.Reader) { c.Write([]byte("421 4.3.2 shutting down\r\n")) }
		}, ReasonTempfail},
		{"IMAP BYE at greeting", config.IMAP, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, _ *bufio.Reader) { c.Write([]byte("* BYE overloaded\r\n")) }
		}, ReasonGreeting},
		{"IMAP literal of 4294967295 bytes", config.IMAP, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("* OK ready\r\n"))
				if expect(r, "") { // whatever the client sends first
					c.Write([]byte("* CAPABILITY {4294967295}\r\n"))
					flood(c, strings.Repeat("x", 64<<10))
				}
			}
		}, ReasonProtocol},
		{"POP3 -ERR to everything", config.POP3, config.TLSNone, func(*testPKI) func(net.Conn, *bufio.Reader) {
			return func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("-ERR nothing works\r\n"))
				for expect(r, "") {
					c.Write([]byte("-ERR nothing works\r\n"))
				}
			}
		}, ReasonGreeting},
	}
}

func TestHostileServers(t *testing.T) {
	p := newPKI(t, fakes.CertOptions{})
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			port := script(t, tc.server(p))
			tg := target(p, tc.proto, tc.mode, port, cred())
			tg.Endpoint.Timeout = hostileTimeout
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			r := Run(t.Context(), tg)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%-36s result=%-21s took=%-8v allocated=%.1f MiB err=%q", tc.name, r.Reason,
				took.Round(time.Millisecond), float64(alloc)/(1<<20), r.Error)
			if r.Reason != tc.want || r.Success {
				t.Errorf("result %s, want %s", r.Reason, tc.want)
			}
			if took > hostileTimeout+250*time.Millisecond {
				t.Errorf("probe took %v, timeout %v", took, hostileTimeout)
			}
			// The read limit is 1 MiB; whatever the attacker sends, the
			// probe may not allocate much more than that.
			if alloc > 8<<20 {
				t.Errorf("probe allocated %d bytes", alloc)
			}
			if strings.Contains(r.Error, testPass) {
				t.Error("error leaks the password")
			}
		})
	}
}

func TestReadLimitIsPerProbe(t *testing.T) {
	// The limit is what bounds memory: check it is enforced on raw bytes.
	port := script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220-"))
		flood(c, strings.Repeat("B", 1000)+"\r\n220-")
	})
	tg := target(nil, config.SMTP, config.TLSNone, port, nil)
	tg.ReadLimit = 64 << 10
	r := Run(t.Context(), tg)
	if r.Reason != ReasonGreeting || !strings.Contains(r.Error, fmt.Sprint(64<<10)) && !strings.Contains(r.Error, "too many lines") {
		t.Errorf("got %s %q", r.Reason, r.Error)
	}
}
