// Package pop3 is a small POP3 client for probing servers, not for
// downloading mail: greeting, CAPA, STLS, USER/PASS, AUTH PLAIN, STAT, QUIT.
//
// It implements RFC 1939 (POP3), RFC 2449 (CAPA, response codes, line
// lengths), RFC 2595 section 4 (STLS) and RFC 5034 (AUTH) with SASL PLAIN
// (RFC 4616).
//
// The server is assumed hostile. Every read is bounded (MaxLineLength,
// MaxLines, MaxReplyBytes), so memory stays bounded whatever it sends. Text
// that comes back from the server (greeting, -ERR text, capabilities, trace
// lines) has control characters and invalid UTF-8 escaped, so it is safe to
// log or show. The client never sets deadlines and never starts goroutines:
// the caller sets one deadline on the conn for the whole probe.
//
// Sending a password is the caller's decision: Pass and AuthPlain send
// whatever they are given over whatever conn the client has, TLS or not.
// Check the connection first (for example that Upgrade was called with a
// *tls.Conn) if credentials must never cross the network in plaintext.
package pop3

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what the client accepts from a server.
const (
	// MaxLineLength is the longest reply line accepted, without its CRLF.
	// RFC 2449 section 4 caps the first line of a response at 512 octets
	// including CRLF; real servers overshoot it, so we allow generous slack.
	MaxLineLength = 8 << 10
	// MaxLines is the most lines accepted in a multi-line reply body.
	MaxLines = 1000
	// MaxReplyBytes is the most octets accepted in a multi-line reply body,
	// so that MaxLines long lines cannot add up to megabytes per probe.
	MaxReplyBytes = 64 << 10
	// maxCommandLength is RFC 2449 section 4's limit on a command line,
	// including the terminating CRLF.
	maxCommandLength = 255
)

// Sentinel errors, wrapped with %w; test with errors.Is. Every error the
// Client returns starts with "pop3: VERB:" (or "pop3: greeting:").
var (
	// ErrLineTooLong: a reply line exceeded MaxLineLength.
	ErrLineTooLong = errors.New("reply line too long")
	// ErrTooManyLines: a multi-line reply exceeded MaxLines or MaxReplyBytes.
	ErrTooManyLines = errors.New("multi-line reply too long")
	// ErrProtocol: the server said something POP3 does not allow here.
	ErrProtocol = errors.New("protocol error")
	// ErrInvalidArgument: an argument would break the command line (CR, LF
	// or NUL) and was not sent.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Error is a -ERR reply (RFC 1939 section 3).
type Error struct {
	// Command is the verb that was refused ("PASS", "AUTH"), never its
	// arguments; it is empty for a -ERR greeting.
	Command string
	// Code is the RFC 2449 section 8 response code without brackets,
	// upper-cased ("AUTH", "IN-USE", "SYS/TEMP"), or empty.
	Code string
	// Text is everything after "-ERR ", escaped for display, with any
	// secret the server echoed back masked as "****".
	Text string
}

// maxErrorText bounds Error() so a hostile 8 KiB -ERR line does not end up
// verbatim in every log line and metric; Text keeps the whole line.
const maxErrorText = 512

func (e *Error) Error() string {
	cmd := e.Command
	if cmd == "" {
		cmd = "greeting"
	}
	text := e.Text
	if len(text) > maxErrorText {
		text = truncate(text, maxErrorText) + "..."
	}
	if text == "" {
		return "pop3: " + cmd + ": -ERR"
	}
	return "pop3: " + cmd + ": -ERR " + text
}

// responseCode extracts an RFC 2449 section 8 response code ("[IN-USE]")
// from the start of a reply text. The grammar (section 3) allows levels of
// printable non-space characters separated by "/".
func responseCode(text string) string {
	if !strings.HasPrefix(text, "[") {
		return ""
	}
	end := strings.IndexByte(text, ']')
	if end < 2 || end > 64 {
		return ""
	}
	code := text[1:end]
	for i := 0; i < len(code); i++ {
		if c := code[i]; c <= ' ' || c >= 0x7f || c == '[' {
			return ""
		}
	}
	return strings.ToUpper(code)
}

// HasCapability reports whether a CAPA result lists the capability name
// (the first word of a line). Names are case-insensitive (RFC 2449 sec. 5).
func HasCapability(caps []string, name string) bool {
	for _, line := range caps {
		if f := strings.Fields(line); len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// SASLMechanisms returns the mechanisms of the "SASL" capability line(s)
// (RFC 2449 section 6.3, updated by RFC 5034), upper-cased: mechanism names
// are case-insensitive and upper case is their canonical form (RFC 4422).
func SASLMechanisms(caps []string) []string {
	var mechs []string
	for _, line := range caps {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.EqualFold(f[0], "SASL") {
			continue
		}
		for _, m := range f[1:] {
			mechs = append(mechs, strings.ToUpper(m))
		}
	}
	return mechs
}

// printable escapes control characters, other non-printing runes and
// invalid UTF-8 as \xNN or \uNNNN, so a server cannot inject terminal
// escapes, newlines or broken UTF-8 into logs, labels or transcripts.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < utf8.RuneSelf && !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
