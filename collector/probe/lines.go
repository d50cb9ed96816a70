package probe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The pre-TLS part of every dialogue (greeting, capabilities, STARTTLS) is
// read by this small bounded reader rather than by the client libraries:
// they hide the pre-TLS capabilities and fold the TLS handshake into other
// steps, and the greeting is where hostile servers do their worst.

// Limits on what one reply may be. RFC 5321 4.5.3.1.5 caps an SMTP reply line
// at 512 octets and RFC 2449 does the same for POP3; IMAP capability lines are
// longer in practice. The slack is generous; the point is that it is finite.
const (
	maxLineBytes  = 8 << 10
	maxReplyLines = 200
)

var (
	ErrLineTooLong  = errors.New("reply line too long")
	ErrTooManyLines = errors.New("reply has too many lines")
	// errServerClosed is a connection that ended where a reply should start.
	errServerClosed = errors.New("connection closed by server")
)

type lineReader struct {
	br *bufio.Reader
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, maxLineBytes)}
}

// reset makes lr read from r, keeping its buffer: after STARTTLS the same
// bounded reader reads the TLS connection. Whatever the server sent after its
// reply to STARTTLS, before the handshake, is dropped: nothing learnt before TLS
// is kept (RFC 3207 4.2), and plaintext must not pass as protected (RFC 3207 6).
func (lr *lineReader) reset(r io.Reader) { lr.br.Reset(r) }

// readLine returns one line without its CRLF. A line that does not fit the
// buffer is an error: it is never accumulated.
func (lr *lineReader) readLine() (string, error) {
	b, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", protocolError("%w (over %d bytes)", ErrLineTooLong, maxLineBytes)
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(b) == 0 {
			return "", fail(ReasonProtocol, errServerClosed)
		}
		return "", err
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}

// readSMTPReply reads one possibly multi-line SMTP reply (RFC 5321 4.2.1):
// "250-first", "250-more", "250 last". Nothing may be sent before the last
// line, which is why a multi-line greeting is read whole here.
func (lr *lineReader) readSMTPReply() (code int, lines []string, err error) {
	for i := 0; ; i++ {
		if i == maxReplyLines {
			return 0, nil, protocolError("%w (over %d)", ErrTooManyLines, maxReplyLines)
		}
		line, err := lr.readLine()
		if err != nil {
			return 0, nil, err
		}
		c, text, more, err := parseSMTPLine(line)
		if err != nil {
			return 0, nil, err
		}
		if i > 0 && c != code {
			return 0, nil, protocolError("reply code changed from %d to %d mid-reply", code, c)
		}
		code = c
		lines = append(lines, text)
		if !more {
			return code, lines, nil
		}
	}
}

func parseSMTPLine(line string) (code int, text string, more bool, err error) {
	if len(line) < 3 {
		return 0, "", false, protocolError("malformed SMTP reply %q", clip(line))
	}
	code, convErr := strconv.Atoi(line[:3])
	if convErr != nil || code < 200 || code > 599 {
		return 0, "", false, protocolError("malformed SMTP reply %q", clip(line))
	}
	if len(line) == 3 {
		return code, "", false, nil
	}
	switch line[3] {
	case '-':
		return code, line[4:], true, nil
	case ' ':
		return code, line[4:], false, nil
	}
	return 0, "", false, protocolError("malformed SMTP reply %q", clip(line))
}

// clip keeps server text in errors short and printable.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

func writeLine(w io.Writer, format string, args ...any) error {
	_, err := fmt.Fprintf(w, format+"\r\n", args...)
	return err
}
