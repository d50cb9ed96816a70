package pop3

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// Client speaks POP3 over one conn. It is not safe for concurrent use: a
// probe is one sequential dialogue.
type Client struct {
	// Trace, if set, is called for every line sent (dir 'C') and received
	// (dir 'S'), without CRLF. Secrets are already masked ("PASS ****",
	// "AUTH PLAIN ****", "****" for an AUTH continuation response) and
	// control characters escaped, so the lines can go straight into a
	// debug transcript.
	Trace func(dir byte, line string)

	conn net.Conn
	lr   *lineReader
	// err is the first framing or I/O error. After it the dialogue is out
	// of step (half a line read, a reply unread), so every later command
	// fails with it instead of misreading what comes next.
	err error
	// secrets are masked in server lines and -ERR text while a command
	// that sent them is in flight: a hostile server may echo them back.
	secrets []string
}

// NewClient returns a client on conn. It reads nothing: call Greeting next.
func NewClient(conn net.Conn) *Client {
	c := &Client{conn: conn}
	c.lr = newLineReader(conn, c.traceServer)
	return c
}

// Greeting reads the server greeting (RFC 1939 section 4) and returns the
// text after "+OK". A -ERR greeting is returned as *Error with an empty
// Command.
func (c *Client) Greeting() (string, error) {
	r, err := c.readReply("greeting")
	if err != nil {
		return "", err
	}
	if err := c.check("", r); err != nil {
		return "", err
	}
	return c.clean(r.text), nil
}

// Capa sends CAPA (RFC 2449 section 5) and returns the capability lines as
// sent, e.g. "STLS", "USER", "SASL PLAIN LOGIN", dot-unstuffed and with
// control characters escaped. A server without CAPA
// answers -ERR, returned as *Error. After STLS the caller should ask again:
// RFC 2595 section 4 says capabilities learned before TLS must be dropped.
func (c *Client) Capa() ([]string, error) {
	if _, err := c.do("CAPA", "CAPA", "CAPA"); err != nil {
		return nil, err
	}
	lines, err := c.lr.multiLine()
	if err != nil {
		return nil, c.fail("CAPA", err)
	}
	for i, l := range lines {
		lines[i] = printable(l)
	}
	return lines, nil
}

// StartTLS sends STLS (RFC 2595 section 4) and reads the reply. On success
// the caller performs the TLS handshake on its conn and calls Upgrade with
// the TLS conn. If the server sent anything after its +OK line, StartTLS
// fails: those bytes arrived before TLS but would be read as if they came
// after it (the STARTTLS command-injection attack, CVE-2011-0411).
func (c *Client) StartTLS() error {
	if _, err := c.do("STLS", "STLS", "STLS"); err != nil {
		return err
	}
	if n := c.lr.br.Buffered(); n > 0 {
		return c.fail("STLS", fmt.Errorf("%w: %d bytes after the STLS reply, before TLS", ErrProtocol, n))
	}
	return nil
}

// Upgrade continues the dialogue on conn, normally the *tls.Conn wrapped
// around the original one. Any plaintext still buffered is discarded so
// that nothing sent before the handshake is read as if it came after it.
func (c *Client) Upgrade(conn net.Conn) {
	c.conn = conn
	c.lr.br.Reset(conn)
}

// User sends USER (RFC 1939 section 7).
func (c *Client) User(name string) error {
	if err := checkArg("USER", name); err != nil {
		return err
	}
	_, err := c.do("USER", "USER "+name, "USER "+name)
	return err
}

// Pass sends PASS (RFC 1939 section 7). The password goes over the current
// conn as is: make sure that conn is TLS first if it must be protected. It
// never appears in errors or in Trace.
func (c *Client) Pass(password string) error {
	if err := checkArg("PASS", password); err != nil {
		return err
	}
	c.secrets = []string{password}
	defer func() { c.secrets = nil }()
	_, err := c.do("PASS", "PASS "+password, "PASS ****")
	return err
}

// Stat sends STAT (RFC 1939 section 5) and returns the message count and
// the maildrop size in octets. Text after the two numbers is allowed.
func (c *Client) Stat() (count int, size int64, err error) {
	r, err := c.do("STAT", "STAT", "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(r.text)
	if len(f) >= 2 && isDigits(f[0]) && isDigits(f[1]) {
		n, err1 := strconv.Atoi(f[0])
		s, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 == nil && err2 == nil {
			return n, s, nil
		}
	}
	return 0, 0, fmt.Errorf("pop3: STAT: %w: want \"+OK count size\", got %q",
		ErrProtocol, truncate(r.text, 64))
}

// Quit sends QUIT (RFC 1939 sections 4 and 6). It does not close the conn;
// call Close afterwards either way.
func (c *Client) Quit() error {
	_, err := c.do("QUIT", "QUIT", "QUIT")
	return err
}

// Close closes the current conn (the TLS conn after Upgrade, which closes
// the one beneath it too).
func (c *Client) Close() error {
	return c.conn.Close()
}

// do sends one command line and reads its reply, which must be +OK. line is
// what goes on the wire; traced is what Trace sees. verb alone names the
// command in errors, so arguments (secrets) never reach them.
func (c *Client) do(verb, line, traced string) (reply, error) {
	if err := c.send(verb, line, traced); err != nil {
		return reply{}, err
	}
	r, err := c.readReply(verb)
	if err != nil {
		return reply{}, err
	}
	return r, c.check(verb, r)
}

// send writes one command line with CRLF (RFC 1939 section 3).
func (c *Client) send(verb, line, traced string) error {
	if c.err != nil {
		return fmt.Errorf("pop3: %s: not sent after earlier failure: %w", verb, c.err)
	}
	if c.Trace != nil {
		c.Trace('C', printable(traced))
	}
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return c.fail(verb, err)
	}
	return nil
}

// readReply reads one status line; any failure breaks the client.
func (c *Client) readReply(verb string) (reply, error) {
	if c.err != nil {
		return reply{}, fmt.Errorf("pop3: %s: earlier failure: %w", verb, c.err)
	}
	r, line, err := c.lr.reply()
	if err != nil {
		if line != "" {
			err = fmt.Errorf("%w: %q", err, truncate(c.mask(line), 64))
		}
		return reply{}, c.fail(verb, err)
	}
	return r, nil
}

// check turns a -ERR into *Error. A continuation outside AUTH means the
// server waits for input we will not send, so the dialogue is broken.
func (c *Client) check(verb string, r reply) error {
	switch r.status {
	case statusOK:
		return nil
	case statusErr:
		// The code is parsed before escaping: it is plain ASCII or nothing.
		text := c.mask(r.text)
		return &Error{Command: verb, Code: responseCode(text), Text: printable(text)}
	default:
		return c.fail(verbOrGreeting(verb), fmt.Errorf("%w: unexpected continuation", ErrProtocol))
	}
}

// fail records the first framing or I/O error and returns it wrapped.
func (c *Client) fail(verb string, err error) error {
	err = fmt.Errorf("pop3: %s: %w", verb, err)
	if c.err == nil {
		c.err = err
	}
	return err
}

// traceServer is the lineReader hook: it masks and escapes server lines.
func (c *Client) traceServer(line string) {
	if c.Trace != nil {
		c.Trace('S', c.clean(line))
	}
}

// clean makes server text safe to show: secrets masked, then escaped.
func (c *Client) clean(s string) string { return printable(c.mask(s)) }

func (c *Client) mask(s string) string {
	for _, secret := range c.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "****")
		}
	}
	return s
}

// checkArg refuses arguments that would end the command line early and
// smuggle in another command (RFC 1939 section 3: commands end with CRLF).
func checkArg(verb, arg string) error {
	if strings.ContainsAny(arg, "\r\n\x00") {
		return fmt.Errorf("pop3: %s: %w: contains CR, LF or NUL", verb, ErrInvalidArgument)
	}
	return nil
}

func verbOrGreeting(verb string) string {
	if verb == "" {
		return "greeting"
	}
	return verb
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
