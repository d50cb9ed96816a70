package pop3

import (
	"strings"
	"testing"
)

// A line longer than MaxLineLength fails once the buffer is full, whether
// or not it ever ends.
func TestLineTooLong(t *testing.T) {
	for name, handler := range map[string]func(*fakeConn){
		"long greeting":   func(s *fakeConn) { s.send("+OK " + strings.Repeat("A", MaxLineLength)) },
		"endless line":    func(s *fakeConn) { s.sendRaw("+OK "); s.flood(strings.Repeat("A", 4096)) },
		"long bare-LF":    func(s *fakeConn) { s.sendRaw("+OK " + strings.Repeat("A", MaxLineLength-3) + "\n") },
		"endless CAPA ln": func(s *fakeConn) { s.send("+OK hi"); s.recv(); s.sendRaw("+OK\r\nX"); s.flood("XXXXXXXX") },
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := serve(t, handler)
			_, err := c.Greeting()
			if err == nil {
				_, err = c.Capa()
			}
			wantIs(t, err, ErrLineTooLong)
			// The stream is out of step now; nothing more is sent.
			wantIs(t, c.Quit(), ErrLineTooLong)
		})
	}
}

// Exactly MaxLineLength octets of line is still fine.
func TestLineAtLimit(t *testing.T) {
	text := strings.Repeat("A", MaxLineLength-4)
	c, _ := serve(t, func(s *fakeConn) { s.send("+OK " + text) })
	got, err := c.Greeting()
	if err != nil || got != text {
		t.Fatalf("Greeting() = %d octets, %v", len(got), err)
	}
}

func TestEndlessCapa(t *testing.T) {
	for name, line := range map[string]string{
		"many short lines": "X\r\n",
		"many long lines":  strings.Repeat("Y", 1000) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := serve(t, func(s *fakeConn) {
				s.send("+OK hi")
				s.recv()
				s.sendRaw("+OK\r\n")
				s.flood(strings.Repeat(line, 16))
			})
			c.Greeting()
			_, err := c.Capa()
			wantIs(t, err, ErrTooManyLines)
		})
	}
}

// STLS followed by plaintext in the same packet is the command-injection
// attack: StartTLS must refuse, and the client stays unusable.
func TestSTLSInjection(t *testing.T) {
	d := &pop3d{tls: &testTLS(t).server, stlsExtra: "+OK injected\r\n"}
	c, _ := serve(t, d.serve)
	c.Greeting()
	wantIs(t, c.StartTLS(), ErrProtocol)
	wantIs(t, c.Quit(), ErrProtocol)
}
