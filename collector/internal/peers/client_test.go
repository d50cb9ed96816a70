package peers

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawConn is a minimal line client for the tests' dialogues.
type rawConn struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialRaw(t testing.TB, addr string, tlsCfg *tls.Config) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { rc.c.Close() })
	if tlsCfg != nil {
		rc.handshake(tlsCfg)
	}
	return rc
}

// handshake switches to TLS and checks that the chain verified against the config.
func (rc *rawConn) handshake(cfg *tls.Config) tls.ConnectionState {
	rc.t.Helper()
	if rc.r.Buffered() > 0 {
		rc.t.Fatalf("%d bytes buffered before the TLS handshake", rc.r.Buffered())
	}
	tc := tls.Client(rc.c, cfg)
	if err := tc.Handshake(); err != nil {
		rc.t.Fatalf("TLS handshake: %v", err)
	}
	rc.c = tc
	rc.r = bufio.NewReader(tc)
	st := tc.ConnectionState()
	if !cfg.InsecureSkipVerify && len(st.VerifiedChains) == 0 {
		rc.t.Fatalf("TLS up without a verified chain")
	}
	return st
}

func (rc *rawConn) send(format string, args ...any) {
	rc.t.Helper()
	if _, err := fmt.Fprintf(rc.c, format+"\r\n", args...); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

func (rc *rawConn) line() string {
	rc.t.Helper()
	l, err := readLine(rc.r)
	if err != nil {
		rc.t.Fatalf("read (got %q): %v", l, err)
	}
	return l
}

// smtp reads one reply and fails unless its code is want.
func (rc *rawConn) smtp(want string) []string {
	rc.t.Helper()
	lines, err := ReadSMTPReply(rc.r)
	if err != nil {
		rc.t.Fatalf("SMTP reply %q: %v", lines, err)
	}
	if !strings.HasPrefix(lines[0], want) {
		rc.t.Fatalf("SMTP reply %q, want %s", lines, want)
	}
	return lines
}

// imap sends a tagged command and returns the untagged lines and the tagged status line.
func (rc *rawConn) imap(format string, args ...any) (untagged []string, status string) {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("t%d", rc.tag)
	rc.send(tag+" "+format, args...)
	for {
		l := rc.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

func (rc *rawConn) imapOK(format string, args ...any) []string {
	rc.t.Helper()
	u, st := rc.imap(format, args...)
	if !strings.HasPrefix(st, "OK") {
		rc.t.Fatalf("IMAP %q: %s (untagged %q)", strings.Fields(format)[0], st, u)
	}
	return u
}

// pop3 sends a command and returns its status line.
func (rc *rawConn) pop3(format string, args ...any) string {
	rc.t.Helper()
	rc.send(format, args...)
	return rc.line()
}

// pop3Multi reads the lines of a multi-line POP3 answer up to the lone ".".
func (rc *rawConn) pop3Multi() []string {
	rc.t.Helper()
	var out []string
	for {
		l := rc.line()
		if l == "." {
			return out
		}
		out = append(out, l)
	}
}

func hasWord(lines []string, word string) bool {
	for _, l := range lines {
		for _, f := range strings.Fields(strings.ToUpper(l)) {
			f = strings.Trim(f, "[]")
			if f == word {
				return true
			}
		}
	}
	return false
}

// ehloHas tells whether an EHLO reply advertises keyword (e.g. "STARTTLS", "AUTH").
func ehloHas(lines []string, keyword string) bool {
	for _, l := range lines[1:] {
		f := strings.Fields(strings.ToUpper(l[4:]))
		if len(f) > 0 && f[0] == keyword {
			return true
		}
	}
	return false
}

func plainAuth(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}
