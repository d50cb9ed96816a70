package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// status is the kind of a reply's first line.
type status int8

const (
	statusOK   status = iota // "+OK"
	statusErr                // "-ERR"
	statusCont               // "+" or "+ challenge", only inside AUTH (RFC 5034 section 4)
)

// reply is one parsed status line.
type reply struct {
	status status
	text   string // after the indicator and its space(s); raw, not yet escaped
}

// parseStatus parses the first line of a reply. RFC 1939 section 3 spells
// the indicators "+OK" and "-ERR" in upper case; we accept any case because
// being lenient here costs nothing and some servers are sloppy. The
// indicator must end the line or be followed by a space, so "+OKAY" and
// "-ERROR" are protocol errors rather than guesses.
func parseStatus(line string) (reply, error) {
	var r reply
	var rest string
	switch {
	case hasPrefixFold(line, "+OK"):
		r.status, rest = statusOK, line[3:]
	case hasPrefixFold(line, "-ERR"):
		r.status, rest = statusErr, line[4:]
	case strings.HasPrefix(line, "+"):
		// RFC 5034 section 4: a challenge is "+" SP base64. Some servers
		// send a bare "+" for an empty challenge.
		r.status, rest = statusCont, line[1:]
	default:
		return reply{}, fmt.Errorf("%w: reply is not +OK or -ERR", ErrProtocol)
	}
	if rest != "" && rest[0] != ' ' {
		return reply{}, fmt.Errorf("%w: no space after status indicator", ErrProtocol)
	}
	r.text = strings.TrimLeft(rest, " ")
	return r, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// bufSize lets a line of exactly MaxLineLength octets plus CRLF fit in the
// bufio.Reader: ReadSlice then never needs more than one buffer, which is
// what bounds memory.
const bufSize = MaxLineLength + 2

// lineReader reads lines with a fixed-size buffer and reports each one to
// trace, so the Client can keep a transcript without owning the framing.
type lineReader struct {
	br    *bufio.Reader
	trace func(line string) // may be nil
}

func newLineReader(r io.Reader, trace func(string)) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, bufSize), trace: trace}
}

// line returns the next line without its terminator. RFC 1939 section 3
// says CRLF; a bare LF is accepted as well. A line that does not fit in the
// buffer is an error at once: ReadSlice stops at a full buffer, so the rest
// of the line is never read or stored.
func (lr *lineReader) line() (string, error) {
	b, err := lr.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("%w (more than %d octets)", ErrLineTooLong, MaxLineLength)
	case err == io.EOF:
		// A reply is always expected when we read, so EOF (with or
		// without a partial line) means the server went away mid-dialogue.
		return "", io.ErrUnexpectedEOF
	case err != nil:
		return "", err
	}
	b = bytes.TrimSuffix(b[:len(b)-1], []byte("\r"))
	if len(b) > MaxLineLength {
		return "", fmt.Errorf("%w (more than %d octets)", ErrLineTooLong, MaxLineLength)
	}
	s := string(b)
	if lr.trace != nil {
		lr.trace(s)
	}
	return s, nil
}

// reply reads and parses one status line. On a parse error the raw line is
// returned too, so the caller can quote it (masked) in the error.
func (lr *lineReader) reply() (reply, string, error) {
	line, err := lr.line()
	if err != nil {
		return reply{}, "", err
	}
	r, err := parseStatus(line)
	return r, line, err
}

// multiLine reads the body of a multi-line reply after its +OK line, up to
// the terminating ".", and removes dot-stuffing (RFC 1939 section 3: a line
// starting with "." has had another "." prepended). Both the number of
// lines and their total size are capped so a server cannot make us hold
// more than MaxReplyBytes of body.
func (lr *lineReader) multiLine() ([]string, error) {
	var lines []string
	total := 0
	for {
		l, err := lr.line()
		if err != nil {
			return nil, err
		}
		if l == "." {
			return lines, nil
		}
		if len(lines) >= MaxLines {
			return nil, fmt.Errorf("%w (more than %d lines)", ErrTooManyLines, MaxLines)
		}
		if total += len(l); total > MaxReplyBytes {
			return nil, fmt.Errorf("%w (more than %d octets)", ErrTooManyLines, MaxReplyBytes)
		}
		lines = append(lines, strings.TrimPrefix(l, "."))
	}
}
