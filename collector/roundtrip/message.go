package roundtrip

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// message builds the probe message: a plain, well-formed RFC 5322 message
// (Date, Message-ID, From, To, Subject) marked as automatic (RFC 3834) so
// that vacation responders stay quiet, with nothing a spam filter hates.
func message(c Check, token string, now time.Time) []byte {
	domain := "mail-exporter.invalid"
	if i := strings.LastIndexByte(c.From, '@'); i >= 0 {
		domain = c.From[i+1:]
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("Date", now.Format(time.RFC1123Z))
	h("From", "mail_exporter <"+c.From+">")
	h("To", "<"+c.To+">")
	h("Subject", "mail_exporter delivery check "+c.Name)
	h("Message-ID", "<"+token+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=us-ascii")
	h("Content-Transfer-Encoding", "7bit")
	h("Auto-Submitted", "auto-generated")
	h(headerRoundtrip, roundtripTag(c.Name))
	h(headerToken, token)
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "This message was sent by mail_exporter to measure how long mail takes\r\n"+
		"to arrive (roundtrip %q). It is deleted as soon as it is seen.\r\n", c.Name)
	return b.Bytes()
}

// submit sends msg on a logged-in SMTP client.
func submit(c *smtp.Client, from, to string, msg []byte) error {
	if err := c.Mail(from, nil); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}
