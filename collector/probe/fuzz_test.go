package probe

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadSMTPReply feeds arbitrary server bytes to the bounded reply
// reader: it must never panic, and never return more than the limits allow.
func FuzzReadSMTPReply(f *testing.F) {
	for _, s := range []string{
		"220 ok\r\n", "220-a\r\n220-b\r\n220 c\r\n", "250\r\n", "421 busy\r\n", "220-a\r\n250 b\r\n",
		"2\r\n", "abc\r\n", "220x\r\n", "", "220 " + strings.Repeat("x", 9000) + "\r\n", "220-\n220 \n",
		strings.Repeat("250-x\r\n", 300),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := newLineReader(bytes.NewReader(data))
		code, lines, err := lr.readSMTPReply()
		if err != nil {
			return
		}
		if code < 200 || code > 599 || len(lines) == 0 || len(lines) > maxReplyLines {
			t.Fatalf("code %d with %d lines accepted", code, len(lines))
		}
		for _, l := range lines {
			if len(l) > maxLineBytes {
				t.Fatalf("line of %d bytes accepted", len(l))
			}
		}
	})
}

// FuzzMaskCommand checks that whatever a client line looks like, a login
// command's secret argument never survives masking.
func FuzzMaskCommand(f *testing.F) {
	for _, s := range []string{"AUTH PLAIN secret", "PASS secret", "a LOGIN user secret", "a AUTHENTICATE PLAIN secret", "EHLO x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		out := maskCommand(line)
		f := strings.Fields(line)
		isLogin := (len(f) >= 3 && strings.EqualFold(f[0], "AUTH")) || (len(f) >= 2 && strings.EqualFold(f[0], "PASS")) ||
			(len(f) >= 4 && (strings.EqualFold(f[1], "LOGIN") || strings.EqualFold(f[1], "AUTHENTICATE")))
		if isLogin && !strings.HasSuffix(out, "****") {
			t.Fatalf("maskCommand(%q) = %q", line, out)
		}
	})
}

// FuzzTranscript feeds arbitrary bytes through the tap's line splitter
// and the transcript: bounded output, no panic, secrets masked.
func FuzzTranscript(f *testing.F) {
	f.Add([]byte("S: 334 VXNlcm5hbWU6\r\nhunter2\r\n"), []byte("AUTH LOGIN\r\nhunter2\r\n"))
	f.Add([]byte(strings.Repeat("x", 20000)), []byte("PASS hunter2\n"))
	f.Fuzz(func(t *testing.T, server, client []byte) {
		tr := NewTranscript("hunter2")
		splitLines(server, tr.serverLine)
		splitLines(client, tr.clientLine)
		out := tr.String()
		if len(out) > transcriptLimit+1024 {
			t.Fatalf("transcript of %d bytes", len(out))
		}
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret in transcript:\n%s", out)
		}
	})
}
