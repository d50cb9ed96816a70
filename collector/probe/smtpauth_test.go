package probe

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

// smtpAfterTLS runs an implicit-TLS SMTP server that greets, answers EHLO
// with ehlo, and hands the rest of the dialogue to rest. What the client
// sent is reported on got, line by line, once rest returns.
func smtpAfterTLS(p *testPKI, ehlo string, got chan<- []string, rest func(c net.Conn, r *bufio.Reader, said *[]string)) func(net.Conn, *bufio.Reader) {
	return func(raw net.Conn, _ *bufio.Reader) {
		tc := tls.Server(raw, p.ServerConfig())
		r := bufio.NewReader(tc)
		var said []string
		defer func() { got <- said }()
		tc.Write([]byte("220 mx.example.test ESMTP\r\n"))
		if !expect(r, "EHLO") {
			return
		}
		tc.Write([]byte(ehlo))
		rest(tc, r, &said)
	}
}

// readLine reads one client line into said.
func readLine(r *bufio.Reader, said *[]string) (string, bool) {
	l, err := r.ReadString('\n')
	if err != nil {
		return "", false
	}
	l = strings.TrimRight(l, "\r\n")
	*said = append(*said, l)
	return l, true
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSMTPAuthOnProbeReader(t *testing.T) {
	p := newPKI(t, fakes.CertOptions{})
	const plainAndLogin = "250-mx.example.test Hello\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n"
	cases := []struct {
		name  string
		ehlo  string
		rest  func(c net.Conn, r *bufio.Reader, said *[]string)
		want  Reason
		err   string   // the error, exactly ("" when the probe succeeds)
		lines []string // what the client sent after EHLO
		mechs string
	}{
		{"PLAIN with the initial response", plainAndLogin, func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("235 2.7.0 Authentication successful\r\n"))
			readLine(r, said)
			c.Write([]byte("221 2.0.0 Bye\r\n"))
		}, ReasonOK, "", []string{"AUTH PLAIN " + b64("\x00"+testUser+"\x00"+testPass), "QUIT"}, "LOGIN,PLAIN"},

		// go-sasl's LOGIN sends the user name as the initial response.
		{"LOGIN: the password's challenge", "250-mx.example.test\r\n250 AUTH LOGIN\r\n", func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("334 " + b64("Password:") + "\r\n"))
			readLine(r, said)
			c.Write([]byte("235 ok\r\n"))
			readLine(r, said)
			c.Write([]byte("221 bye\r\n"))
		}, ReasonOK, "", []string{"AUTH LOGIN " + b64(testUser), b64(testPass), "QUIT"}, "LOGIN"},

		{"keyword in lower case", "250-mx.example.test\r\n250 auth plain\r\n", func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("235 ok\r\n"))
			readLine(r, said)
			c.Write([]byte("221 bye\r\n"))
		}, ReasonOK, "", []string{"AUTH PLAIN " + b64("\x00"+testUser+"\x00"+testPass), "QUIT"}, "PLAIN"},

		{"535 with an enhanced status code", plainAndLogin, func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("535 5.7.8 Authentication credentials invalid\r\n"))
			readLine(r, said)
		}, ReasonAuth, "AUTH refused: 535 Authentication credentials invalid", []string{"AUTH PLAIN " + b64("\x00"+testUser+"\x00"+testPass)}, "LOGIN,PLAIN"},

		{"asks for the password forever", "250-mx.example.test\r\n250 AUTH LOGIN\r\n", func(c net.Conn, r *bufio.Reader, said *[]string) {
			for {
				if l, ok := readLine(r, said); !ok || l == "*" {
					return
				}
				c.Write([]byte("334 " + b64("Password:") + "\r\n"))
			}
		}, ReasonAuth, "AUTH: over 4 challenges", []string{"AUTH LOGIN " + b64(testUser), b64(testPass), b64(testPass), b64(testPass), b64(testPass), "*"}, "LOGIN"},

		{"a challenge LOGIN does not know", "250-mx.example.test\r\n250 AUTH LOGIN\r\n", func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("334 " + b64("Token:") + "\r\n"))
			readLine(r, said)
			c.Write([]byte("501 cancelled\r\n"))
			readLine(r, said)
		}, ReasonAuth, "AUTH: sasl: unexpected server challenge", []string{"AUTH LOGIN " + b64(testUser), "*"}, "LOGIN"},

		{"challenge that is not base64", "250-mx.example.test\r\n250 AUTH LOGIN\r\n", func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("334 not base64!\r\n"))
			readLine(r, said) // the "*" that cancels (RFC 4954 4)
			c.Write([]byte("501 5.7.0 cancelled\r\n"))
			readLine(r, said)
		}, ReasonAuth, `AUTH: the server's challenge is not base64: "not base64!"`, []string{"AUTH LOGIN " + b64(testUser), "*"}, "LOGIN"},

		{"no mechanism the probe speaks", "250-mx.example.test\r\n250 AUTH SCRAM-SHA-256\r\n", func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
		}, ReasonAuth, "no supported AUTH mechanism offered (have [SCRAM-SHA-256])", nil, "SCRAM-SHA-256"},

		{"hangs up instead of 221", plainAndLogin, func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("235 ok\r\n"))
			readLine(r, said)
		}, ReasonOK, "", []string{"AUTH PLAIN " + b64("\x00"+testUser+"\x00"+testPass), "QUIT"}, "LOGIN,PLAIN"},

		{"QUIT answered with 500", plainAndLogin, func(c net.Conn, r *bufio.Reader, said *[]string) {
			readLine(r, said)
			c.Write([]byte("235 ok\r\n"))
			readLine(r, said)
			c.Write([]byte("500 5.5.1 what\r\n"))
			readLine(r, said)
		}, ReasonProtocol, "QUIT refused: 500 what", []string{"AUTH PLAIN " + b64("\x00"+testUser+"\x00"+testPass), "QUIT"}, "LOGIN,PLAIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []string, 1)
			port := script(t, smtpAfterTLS(p, tc.ehlo, got, tc.rest))
			tg := target(p, config.SMTP, config.TLSImplicit, port, cred())
			tg.Endpoint.Timeout = 2 * time.Second
			r := run(t, tg)
			if r.Reason != tc.want || r.Error != tc.err {
				t.Errorf("got %s %q, want %s %q", r.Reason, r.Error, tc.want, tc.err)
			}
			if m := strings.Join(r.AuthMechanisms, ","); m != tc.mechs {
				t.Errorf("mechanisms %q, want %q", m, tc.mechs)
			}
			if r.Banner == nil || r.Banner.EHLOHost != "mx.example.test" {
				t.Errorf("EHLO host %+v, want mx.example.test", r.Banner)
			}
			said := <-got
			if tc.lines != nil && strings.Join(said, "\n") != strings.Join(tc.lines, "\n") {
				t.Errorf("client sent %q, want %q", said, tc.lines)
			}
		})
	}
}

var enhancedCodeCases = []struct {
	in   string
	want bool
}{
	{"2.0.0", true}, {"5.7.8", true}, {"4.4.2", true}, {"5.123.456", true},
	{"3.0.0", false}, {"5.7", false}, {"5.7.8.1", false}, {"5..8", false}, {"5.7.8a", false},
	{"55.7.8", false}, {"5.1234.8", false}, {"", false}, {"x.y.z", false}, {"5.7.", false},
}

func TestIsEnhancedCode(t *testing.T) {
	for _, c := range enhancedCodeCases {
		if got := isEnhancedCode(c.in); got != c.want {
			t.Errorf("isEnhancedCode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func FuzzReplyText(f *testing.F) {
	for _, c := range enhancedCodeCases {
		f.Add(c.in + " some text")
	}
	f.Fuzz(func(t *testing.T, line string) {
		text := replyText([]string{line})
		if !strings.HasSuffix(line, text) {
			t.Fatalf("replyText(%q) = %q: not a tail of the line", line, text)
		}
		if text != line && !isEnhancedCode(strings.TrimSuffix(line, " "+text)) {
			t.Fatalf("replyText(%q) cut %q, which is no enhanced code", line, strings.TrimSuffix(line, " "+text))
		}
	})
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestSMTPSendsCloseNotify: after QUIT the probe ends TLS with a close_notify
// alert (RFC 8446 6.1), a record of its own, rather than just hanging up.
func TestSMTPSendsCloseNotify(t *testing.T) {
	p := newPKI(t, fakes.CertOptions{})
	after := make(chan int64, 1)
	port := script(t, func(raw net.Conn, _ *bufio.Reader) {
		cc := &countingConn{Conn: raw}
		tc := tls.Server(cc, p.ServerConfig())
		r := bufio.NewReader(tc)
		tc.Write([]byte("220 mx.example.test ESMTP\r\n"))
		if !expect(r, "EHLO") {
			after <- -1
			return
		}
		tc.Write([]byte("250 mx.example.test\r\n"))
		if !expect(r, "QUIT") {
			after <- -1
			return
		}
		tc.Write([]byte("221 bye\r\n"))
		before := cc.n.Load()
		_, err := r.ReadByte() // EOF, after the alert if one came
		if err != io.EOF {
			t.Errorf("server read %v after 221, want EOF", err)
		}
		after <- cc.n.Load() - before
	})
	if r := run(t, target(p, config.SMTP, config.TLSImplicit, port, nil)); !r.Success {
		t.Fatalf("%s: %s", r.Reason, r.Error)
	}
	// A TLS 1.3 alert record: 5 bytes of header, the alert and its inner
	// type, a 16-byte tag.
	if n := <-after; n < 24 {
		t.Errorf("the server got %d bytes after 221, want a close_notify record", n)
	}
}
