package collector

import (
	"fmt"
	"net/smtp"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// deliverPlain delivers a message to the test user over port 25 without
// TLS, as another MTA would.
func deliverPlain(t *testing.T, m *peers.Mail, body string) {
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
	fmt.Fprintf(w, "From: sender@example.org\r\nTo: %s\r\nSubject: filler\r\n\r\n%s", m.User, body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
}
