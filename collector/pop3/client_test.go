package pop3

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// wantPOP3Err checks that err is a -ERR reply to cmd with the given code.
func wantPOP3Err(t *testing.T, err error, cmd, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *Error", err)
	}
	if e.Command != cmd || e.Code != code {
		t.Fatalf("got Command %q Code %q, want %q %q", e.Command, e.Code, cmd, code)
	}
	return e
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got %v, want %v", err, target)
	}
}

// transcript records Trace lines as "C: ..." and "S: ...".
func transcript(c *Client) *[]string {
	var lines []string
	c.Trace = func(dir byte, line string) { lines = append(lines, string(dir)+": "+line) }
	return &lines
}

func TestGreeting(t *testing.T) {
	c, _ := serve(t, (&pop3d{}).serve)
	text, err := c.Greeting()
	if err != nil || text != "fake POP3 ready <1.2@example.org>" {
		t.Fatalf("Greeting() = %q, %v", text, err)
	}
}

func TestGreetingErr(t *testing.T) {
	c, _ := serve(t, func(s *fakeConn) { s.send("-ERR [SYS/TEMP] too busy") })
	_, err := c.Greeting()
	e := wantPOP3Err(t, err, "", "SYS/TEMP")
	if got, want := e.Error(), "pop3: greeting: -ERR [SYS/TEMP] too busy"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// -ERR text is escaped for display; the response code still parses.
func TestErrTextEscaped(t *testing.T) {
	c, _ := serve(t, func(s *fakeConn) { s.send("-ERR [in-use] \x1b[31mlocked\x00") })
	_, err := c.Greeting()
	e := wantPOP3Err(t, err, "", "IN-USE")
	if want := `[in-use] \x1b[31mlocked\x00`; e.Text != want {
		t.Errorf("Text = %q, want %q", e.Text, want)
	}
}

func TestGreetingGarbage(t *testing.T) {
	for _, greeting := range []string{
		"HTTP/1.1 400 Bad Request",
		"* OK [CAPABILITY IMAP4rev1] ready",
		"220 smtp.example.org ESMTP",
		"+OKAY",
		"\x1b[2J\x00evil",
		"",
	} {
		c, _ := serve(t, func(s *fakeConn) { s.send(greeting) })
		_, err := c.Greeting()
		wantIs(t, err, ErrProtocol)
		if strings.ContainsAny(err.Error(), "\x1b\x00") {
			t.Errorf("error for %q carries raw control bytes: %q", greeting, err)
		}
	}
}

func TestGreetingEOF(t *testing.T) {
	c, _ := serve(t, func(s *fakeConn) { s.sendRaw("+OK half a line") })
	_, err := c.Greeting()
	wantIs(t, err, io.ErrUnexpectedEOF)
}

func TestCapa(t *testing.T) {
	d := &pop3d{caps: []string{"TOP", "USER", "SASL PLAIN login", "RESP-CODES", "..dotted"}}
	c, _ := serve(t, d.serve)
	if _, err := c.Greeting(); err != nil {
		t.Fatal(err)
	}
	caps, err := c.Capa()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"TOP", "USER", "SASL PLAIN login", "RESP-CODES", ".dotted"}
	if !reflect.DeepEqual(caps, want) {
		t.Errorf("Capa() = %q, want %q", caps, want)
	}
	if got := SASLMechanisms(caps); !reflect.DeepEqual(got, []string{"PLAIN", "LOGIN"}) {
		t.Errorf("SASLMechanisms = %q", got)
	}
	if !HasCapability(caps, "user") || HasCapability(caps, "STLS") {
		t.Errorf("HasCapability wrong for %q", caps)
	}
}

func TestCapaErr(t *testing.T) {
	c, _ := serve(t, func(s *fakeConn) {
		s.send("+OK old server")
		s.recv()
		s.send("-ERR what?")
		s.recv()
		s.send("+OK bye")
	})
	c.Greeting()
	_, err := c.Capa()
	wantPOP3Err(t, err, "CAPA", "")
	// A -ERR leaves the dialogue in step: the next command still works.
	if err := c.Quit(); err != nil {
		t.Fatalf("Quit after -ERR: %v", err)
	}
}

func TestUserPassStatQuit(t *testing.T) {
	c, _ := serve(t, (&pop3d{user: "probe", pass: "s3cret"}).serve)
	c.Greeting()
	if err := c.User("probe"); err != nil {
		t.Fatal(err)
	}
	if err := c.Pass("s3cret"); err != nil {
		t.Fatal(err)
	}
	n, size, err := c.Stat()
	if err != nil || n != 2 || size != 320 {
		t.Fatalf("Stat() = %d, %d, %v", n, size, err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestPassErr(t *testing.T) {
	c, _ := serve(t, (&pop3d{user: "probe", pass: "s3cret"}).serve)
	c.Greeting()
	c.User("probe")
	err := c.Pass("wrong-pw")
	wantPOP3Err(t, err, "PASS", "AUTH")
	if got, want := err.Error(), "pop3: PASS: -ERR [AUTH] Authentication failed."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if _, _, err := c.Stat(); err == nil {
		t.Error("STAT succeeded without login")
	}
}

// A hostile server echoing the password must not get it into errors or
// the transcript.
func TestPassEchoMasked(t *testing.T) {
	c, _ := serve(t, (&pop3d{user: "probe", pass: "x", echo: true}).serve)
	tr := transcript(c)
	c.Greeting()
	c.User("probe")
	err := c.Pass("hunter2")
	wantPOP3Err(t, err, "PASS", "AUTH")
	all := err.Error() + strings.Join(*tr, "\n")
	if strings.Contains(all, "hunter2") {
		t.Errorf("password leaked:\n%s", all)
	}
	if got := (*tr)[len(*tr)-1]; got != "S: -ERR [AUTH] wrong password ****" {
		t.Errorf("last trace line %q", got)
	}
}

func TestStatGarbage(t *testing.T) {
	for _, reply := range []string{"+OK", "+OK lots", "+OK 1", "+OK -1 5", "+OK 1 99999999999999999999"} {
		c, _ := serve(t, func(s *fakeConn) {
			s.send("+OK hi")
			s.recv()
			s.send(reply)
		})
		c.Greeting()
		_, _, err := c.Stat()
		wantIs(t, err, ErrProtocol)
	}
}

func TestQuitErr(t *testing.T) {
	c, _ := serve(t, func(s *fakeConn) {
		s.send("+OK hi")
		s.recv()
		s.send("-ERR some deleted messages not removed")
	})
	c.Greeting()
	wantPOP3Err(t, c.Quit(), "QUIT", "")
}

// Arguments that would end the line early are refused before anything is
// sent: USER "x\r\nDELE 1" must not delete a message.
func TestInvalidArgument(t *testing.T) {
	c, _ := serve(t, (&pop3d{}).serve)
	tr := transcript(c)
	c.Greeting()
	wantIs(t, c.User("probe\r\nDELE 1"), ErrInvalidArgument)
	wantIs(t, c.Pass("pw\nDELE 1"), ErrInvalidArgument)
	wantIs(t, c.AuthPlain("", "probe", "pw\x00x"), ErrInvalidArgument)
	if len(*tr) != 1 {
		t.Errorf("sent something: %q", *tr)
	}
}

// A continuation outside AUTH leaves the server waiting for input, so the
// client is broken afterwards and says so without touching the conn.
func TestUnexpectedContinuation(t *testing.T) {
	c, _ := serve(t, func(s *fakeConn) {
		s.send("+OK hi")
		s.recv()
		s.send("+ ")
	})
	c.Greeting()
	_, _, err := c.Stat()
	wantIs(t, err, ErrProtocol)
	err = c.Quit()
	wantIs(t, err, ErrProtocol)
	if !strings.Contains(err.Error(), "earlier failure") {
		t.Errorf("Quit error %q", err)
	}
}
