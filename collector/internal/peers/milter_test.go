package peers

import (
	"fmt"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
)

// sendFrom hands Postfix a message from an example.test author on the smtp port.
func sendFrom(t *testing.T, m *Mail, from string) {
	t.Helper()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", m.Ports["smtp"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		t.Fatalf("MAIL FROM: %v\n%s", err, m.Logs(30))
	}
	if err := c.Rcpt(m.User); err != nil {
		t.Fatalf("RCPT TO: %v\n%s", err, m.Logs(30))
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: signed\r\nDate: Wed, 02 Dec 2026 20:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nbody\r\n", from, m.User)
	if err := w.Close(); err != nil {
		t.Fatalf("end of DATA: %v\n%s", err, m.Logs(30))
	}
	_ = c.Quit()
}

// TestOpenDKIMSignAndVerify: a signer followed by a verifier on one Postfix; the
// delivered message carries the signature and the verifier's dkim=pass.
func TestOpenDKIMSignAndVerify(t *testing.T) {
	key := NewDKIMKey(t, Domain, "sel")
	dns := dnstest.Start(t, dnstest.Zone{Name: Domain, Records: key.Record + "\n"})
	signer := StartOpenDKIM(t, OpenDKIMOptions{Sign: key})
	verifier := StartOpenDKIM(t, OpenDKIMOptions{Resolver: dns.Resolver, AuthservID: ServerName})
	m := StartMail(t, WithMilters(signer.Milter, verifier.Milter))
	sendFrom(t, m, "author@"+Domain)
	files := m.WaitMessages(t, m.User, 1, 15*time.Second)
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg := string(data)
	t.Logf("delivered:\n%s", msg)
	if !strings.Contains(msg, "DKIM-Signature:") || !strings.Contains(msg, "d="+Domain) || !strings.Contains(msg, "s=sel") {
		t.Error("no DKIM-Signature by example.test, selector sel")
	}
	if !strings.Contains(msg, "Authentication-Results: "+ServerName) || !strings.Contains(msg, "dkim=pass") {
		t.Error("no Authentication-Results with dkim=pass from the verifier")
	}
}
