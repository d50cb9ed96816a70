package pop3

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Status lines the parser accepts, shared with FuzzReadReply's seeds.
var goodReplies = []struct {
	line string
	want reply
}{
	{"+OK", reply{statusOK, ""}},
	{"+OK ", reply{statusOK, ""}},
	{"+OK POP3 ready <1896.697170952@dbc.mit.edu>", reply{statusOK, "POP3 ready <1896.697170952@dbc.mit.edu>"}},
	{"+ok lower case", reply{statusOK, "lower case"}},
	{"+Ok  two spaces", reply{statusOK, "two spaces"}},
	{"+OK 2 320", reply{statusOK, "2 320"}},
	{"-ERR", reply{statusErr, ""}},
	{"-ERR [AUTH] Authentication failed.", reply{statusErr, "[AUTH] Authentication failed."}},
	{"-err no such message", reply{statusErr, "no such message"}},
	{"+", reply{statusCont, ""}},
	{"+ ", reply{statusCont, ""}},
	{"+ dGVzdA==", reply{statusCont, "dGVzdA=="}},
	{"+OK \x00\x1b[31m", reply{statusOK, "\x00\x1b[31m"}}, // escaped later, not here
}

// Status lines the parser refuses, shared with FuzzReadReply's seeds.
var badReplies = []string{
	"",
	" +OK",
	"OK",
	"+OKAY",
	"+OK\tfoo",
	"-ERROR",
	"-",
	"-E",
	"+Oops",
	"* OK IMAP4rev1",
	"220 mail.example.org ESMTP",
	"HTTP/1.1 400 Bad Request",
	"\x00",
}

func TestParseStatus(t *testing.T) {
	for _, tc := range goodReplies {
		got, err := parseStatus(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("parseStatus(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	for _, line := range badReplies {
		if got, err := parseStatus(line); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseStatus(%q) = %+v, %v; want ErrProtocol", line, got, err)
		}
	}
}

// Multi-line bodies as they come off the wire, after the +OK line; shared
// with FuzzReadMultiLine's seeds.
var goodBodies = []struct {
	wire string
	want []string
}{
	{".\r\n", nil},
	{"TOP\r\nUSER\r\n.\r\n", []string{"TOP", "USER"}},
	{"TOP\nUSER\n.\n", []string{"TOP", "USER"}},
	{"..\r\n...x\r\n.y\r\n.\r\n", []string{".", "..x", "y"}},
	{"\r\nSASL PLAIN\r\n.\r\n", []string{"", "SASL PLAIN"}},
	{"a\r\r\n.\r\n", []string{"a\r"}},
	{"IMPLEMENTATION x\r\n.\r\ntrailing\r\n", []string{"IMPLEMENTATION x"}},
	{strings.Repeat("X\r\n", MaxLines) + ".\r\n", slicesRepeat("X", MaxLines)},
}

var badBodies = []struct {
	wire string
	want error
}{
	{"", io.ErrUnexpectedEOF},
	{"TOP\r\nUSER\r\n", io.ErrUnexpectedEOF},
	{"TOP\r\n. \r\n", io.ErrUnexpectedEOF},
	{"TOP\r\n.", io.ErrUnexpectedEOF},
	{strings.Repeat("X\r\n", MaxLines+1) + ".\r\n", ErrTooManyLines},
	{strings.Repeat(strings.Repeat("Y", 999)+"\r\n", 100) + ".\r\n", ErrTooManyLines},
	{strings.Repeat("Z", MaxLineLength+1) + "\r\n.\r\n", ErrLineTooLong},
	{strings.Repeat("Z", 3*MaxLineLength), ErrLineTooLong},
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestMultiLine(t *testing.T) {
	for _, tc := range goodBodies {
		got, err := newLineReader(strings.NewReader(tc.wire), nil).multiLine()
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("multiLine(%.40q) = %q, %v; want %q", tc.wire, got, err, tc.want)
		}
	}
	for _, tc := range badBodies {
		got, err := newLineReader(strings.NewReader(tc.wire), nil).multiLine()
		if !errors.Is(err, tc.want) || got != nil {
			t.Errorf("multiLine(%.40q) = %d lines, %v; want %v", tc.wire, len(got), err, tc.want)
		}
	}
}

func FuzzReadReply(f *testing.F) {
	for _, tc := range goodReplies {
		f.Add([]byte(tc.line + "\r\n"))
	}
	for _, line := range badReplies {
		f.Add([]byte(line + "\r\n"))
	}
	f.Add([]byte("+OK a\r\n-ERR b\n+ c\r\n"))
	f.Add([]byte("+OK " + strings.Repeat("A", MaxLineLength) + "\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := newLineReader(bytes.NewReader(data), nil)
		for {
			r, line, err := lr.reply()
			if err != nil {
				return
			}
			if len(line) > MaxLineLength || strings.ContainsRune(line, '\n') {
				t.Fatalf("line %q escaped the framing", line)
			}
			if r.status > statusCont || !strings.HasSuffix(line, r.text) {
				t.Fatalf("reply %+v does not come from %q", r, line)
			}
			if p := printable(r.text); strings.ContainsAny(p, "\r\n\x00\x1b") || !utf8.ValidString(p) {
				t.Fatalf("printable(%q) = %q", r.text, p)
			}
		}
	})
}

func FuzzReadMultiLine(f *testing.F) {
	for _, tc := range goodBodies {
		f.Add([]byte(tc.wire))
	}
	for _, tc := range badBodies {
		f.Add([]byte(tc.wire))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := newLineReader(bytes.NewReader(data), nil).multiLine()
		if err != nil {
			if lines != nil {
				t.Fatal("lines returned with an error")
			}
			return
		}
		total := 0
		for _, l := range lines {
			total += len(l)
			if strings.ContainsRune(l, '\n') {
				t.Fatalf("line %q contains LF", l)
			}
		}
		if len(lines) > MaxLines || total > MaxReplyBytes {
			t.Fatalf("%d lines, %d octets: over the limits", len(lines), total)
		}
	})
}
