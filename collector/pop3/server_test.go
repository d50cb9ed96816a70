package pop3

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeConn is the server side of one test connection.
type fakeConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// send writes lines, each with CRLF, in a single Write so that they arrive
// together (the STLS injection test depends on it).
func (s *fakeConn) send(lines ...string) {
	s.sendRaw(strings.Join(lines, "\r\n") + "\r\n")
}

func (s *fakeConn) sendRaw(data string) {
	if _, err := s.conn.Write([]byte(data)); err != nil {
		s.t.Errorf("server write: %v", err)
	}
}

// flood writes chunk until the client hangs up: a server that never stops.
func (s *fakeConn) flood(chunk string) {
	for {
		if _, err := s.conn.Write([]byte(chunk)); err != nil {
			return
		}
	}
}

// recv reads one command line; false once the client has gone.
func (s *fakeConn) recv() (string, bool) {
	line, err := s.br.ReadString('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(line, "\r\n"), true
}

// serve runs handler as the server for one connection and returns a client
// connected to it, plus the client's raw conn for a TLS upgrade. Like the
// prober, the test sets one deadline on the conn; cleanup closes it and
// waits for the handler, so goleak sees no stray goroutine.
func serve(t *testing.T, handler func(s *fakeConn)) (*Client, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		s := &fakeConn{t: t, conn: conn, br: bufio.NewReader(conn)}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		handler(s)
		s.conn.Close()
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		ln.Close()
		<-done
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := NewClient(conn)
	t.Cleanup(func() {
		c.Close()
		conn.Close()
		<-done
	})
	return c, conn
}

// pop3d is a tiny well-behaved POP3 server: enough of RFC 1939, 2449, 2595
// and 5034 for the client's happy and refused paths.
type pop3d struct {
	caps      []string    // CAPA lines; "STLS" is added while tls is usable
	tls       *tls.Config // offer STLS when set
	stlsExtra string      // injected right behind the STLS +OK, then hang up
	user      string
	pass      string
	ignoreIR  bool   // answer "AUTH PLAIN <ir>" with "+ " like a pre-RFC 5034 server
	echo      bool   // put the received password into -ERR text (hostile)
	challenge string // challenge text to send instead of an empty one
}

func (d *pop3d) serve(s *fakeConn) {
	s.send("+OK fake POP3 ready <1.2@example.org>")
	inTLS, user, authed := false, "", false
	for {
		line, ok := s.recv()
		if !ok {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "CAPA":
			lines := append([]string{"+OK capability list follows"}, d.caps...)
			if d.tls != nil && !inTLS {
				lines = append(lines, "STLS")
			}
			s.send(append(lines, ".")...)
		case "STLS":
			if d.tls == nil || inTLS {
				s.send("-ERR STLS not available")
				continue
			}
			s.sendRaw("+OK Begin TLS negotiation\r\n" + d.stlsExtra)
			if d.stlsExtra != "" {
				return
			}
			tc := tls.Server(s.conn, d.tls)
			if err := tc.Handshake(); err != nil {
				s.t.Errorf("server handshake: %v", err)
				return
			}
			s.conn, s.br, inTLS = tc, bufio.NewReader(tc), true
		case "USER":
			user = arg
			s.send("+OK")
		case "PASS":
			authed = d.login(s, user, arg)
		case "AUTH":
			authed = d.auth(s, arg)
		case "STAT":
			if !authed {
				s.send("-ERR not authenticated")
				continue
			}
			s.send("+OK 2 320")
		case "QUIT":
			s.send("+OK bye")
			return
		default:
			s.send("-ERR unknown command")
		}
	}
}

func (d *pop3d) login(s *fakeConn, user, pass string) bool {
	if user == d.user && pass == d.pass {
		s.send("+OK logged in")
		return true
	}
	if d.echo {
		s.send("-ERR [AUTH] wrong password " + pass)
		return false
	}
	s.send("-ERR [AUTH] Authentication failed.")
	return false
}

func (d *pop3d) auth(s *fakeConn, arg string) bool {
	mech, ir, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		s.send("-ERR unsupported mechanism")
		return false
	}
	if ir == "" || d.ignoreIR || d.challenge != "" {
		s.send("+ " + d.challenge)
		var ok bool
		if ir, ok = s.recv(); !ok {
			return false
		}
		if ir == "*" {
			s.send("-ERR AUTH cancelled")
			return false
		}
	}
	raw, err := base64.StdEncoding.DecodeString(ir)
	if err != nil {
		s.send("-ERR bad base64")
		return false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) == 3 && parts[1] == d.user && parts[2] == d.pass {
		s.send("+OK logged in")
		return true
	}
	if d.echo {
		s.send("-ERR [AUTH] bad credentials " + ir)
		return false
	}
	s.send("-ERR [AUTH] Authentication failed.")
	return false
}
