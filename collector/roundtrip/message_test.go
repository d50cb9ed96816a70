package roundtrip

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestMessageIsWellFormed(t *testing.T) {
	msg := message(Check{Name: "loop", From: "monitor@example.com", To: "inbox@example.org"}, "0123abcd", time.Unix(1790000000, 0))
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Date", "Message-Id", "From", "To", "Subject", "Mime-Version", "Content-Type", "Auto-Submitted"} {
		if m.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if a, err := m.Header.AddressList("From"); err != nil || a[0].Address != "monitor@example.com" {
		t.Errorf("From: %v %v", a, err)
	}
	if id := m.Header.Get("Message-Id"); id != "<0123abcd@example.com>" {
		t.Errorf("Message-ID %q", id)
	}
	if m.Header.Get(headerRoundtrip) != "rt=loop;" || m.Header.Get(headerToken) != "0123abcd" {
		t.Error("probe headers missing")
	}
	for _, line := range strings.Split(string(msg), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line over 78 characters (RFC 5322 2.1.1): %q", line)
		}
	}
	if strings.Contains(strings.ReplaceAll(string(msg), "\r\n", ""), "\n") {
		t.Error("bare LF in the message")
	}
}
