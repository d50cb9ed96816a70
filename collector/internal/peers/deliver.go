package peers

import (
	"fmt"
	"net/smtp"
	"testing"
)

// Deliver hands a message for the default user to Postfix on the smtp port,
// in plaintext and without login, as another MTA would (net/smtp's SendMail
// would insist on STARTTLS against the system roots). headers are extra
// header lines, each ending in CRLF.
func (m *Mail) Deliver(t testing.TB, headers, body string) {
	t.Helper()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", m.Ports["smtp"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("sender@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(m.User); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: sender@example.org\r\nTo: %s\r\nSubject: test\r\n%s\r\n%s", m.User, headers, body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
}
