package probe

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// ehloCases are pre-TLS EHLO replies (the lines after the greeting line)
// with the mechanisms expected and whether a plaintext login is offered.
var ehloCases = []struct {
	lines     []string
	mechs     string
	plaintext bool
}{
	// bad: the password could cross the wire
	{[]string{"AUTH PLAIN LOGIN"}, "LOGIN,PLAIN", true},
	{[]string{"AUTH LOGIN"}, "LOGIN", true},
	{[]string{"AUTH plain"}, "PLAIN", true},
	{[]string{"AUTH CRAM-MD5 PLAIN"}, "CRAM-MD5,PLAIN", true},
	{[]string{"AUTH=LOGIN"}, "LOGIN", true},                                       // pre-standard form for old clients
	{[]string{"AUTH CRAM-MD5", "AUTH=LOGIN PLAIN"}, "CRAM-MD5,LOGIN,PLAIN", true}, // both forms
	// good: nothing, or a proof derived from the password
	{[]string{"AUTH "}, "", false}, // a bare AUTH line: "538 5.7.11 authentication requires tls" to any AUTH
	{[]string{"AUTH"}, "", false},
	{[]string{"AUTH CRAM-MD5 SCRAM-SHA-256"}, "CRAM-MD5,SCRAM-SHA-256", false},
	{[]string{"AUTH DIGEST-MD5 NTLM GSSAPI"}, "DIGEST-MD5,GSSAPI,NTLM", false},
	{[]string{"AUTH SCRAM-SHA-1 SCRAM-SHA-1-PLUS"}, "SCRAM-SHA-1,SCRAM-SHA-1-PLUS", false},
	{[]string{"STARTTLS", "PIPELINING"}, "", false},
	{[]string{"X-AUTH PLAIN", "AUTHX PLAIN"}, "", false}, // other keywords
	{nil, "", false},
}

func ehloExt(lines []string) map[string]string {
	ext := map[string]string{}
	for _, l := range lines { // as smtpEHLO splits them
		k, v, _ := strings.Cut(l, " ")
		ext[strings.ToUpper(k)] = v
	}
	return ext
}

func TestSMTPPlaintextRule(t *testing.T) {
	for _, c := range ehloCases {
		mechs := smtpMechanisms(ehloExt(c.lines))
		if got := strings.Join(mechs, ","); got != c.mechs || anyPlaintext(mechs) != c.plaintext {
			t.Errorf("EHLO %q: mechanisms %q plaintext %v, want %q %v", c.lines, got, anyPlaintext(mechs), c.mechs, c.plaintext)
		}
	}
}

func TestIMAPPlaintextRule(t *testing.T) {
	cases := []struct {
		caps      string
		mechs     string
		plaintext bool
	}{
		// bad
		{"IMAP4rev1 STARTTLS", "", true}, // LOGIN allowed
		{"IMAP4rev1 STARTTLS AUTH=PLAIN AUTH=LOGIN", "LOGIN,PLAIN", true},
		{"IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN", "PLAIN", true},
		{"IMAP4rev1 STARTTLS LOGINDISABLED AUTH=LOGIN", "LOGIN", true},
		{"IMAP4rev1 STARTTLS AUTH=CRAM-MD5", "CRAM-MD5", true}, // CRAM-MD5, but LOGIN too
		// good
		{"IMAP4rev1 STARTTLS LOGINDISABLED", "", false},
		{"IMAP4rev1 STARTTLS LOGINDISABLED AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5", "CRAM-MD5,SCRAM-SHA-1,SCRAM-SHA-256", false},
		{"IMAP4rev1 STARTTLS LOGINDISABLED AUTH=DIGEST-MD5 AUTH=NTLM AUTH=GSSAPI", "DIGEST-MD5,GSSAPI,NTLM", false},
		{"IMAP4rev1 STARTTLS LOGINDISABLED AUTH=", "", false},
		{"IMAP4rev1 STARTTLS LOGINDISABLED AUTH-PLAIN XAUTH=PLAIN", "", false},
	}
	for _, c := range cases {
		caps := map[string]bool{}
		for _, a := range strings.Fields(c.caps) {
			caps[strings.ToUpper(a)] = true
		}
		mechs, plain := imapPreTLS(caps)
		if got := strings.Join(mechs, ","); got != c.mechs || plain != c.plaintext {
			t.Errorf("CAPABILITY %s: mechanisms %q plaintext %v, want %q %v", c.caps, got, plain, c.mechs, c.plaintext)
		}
	}
}

func TestPOP3PlaintextRule(t *testing.T) {
	cases := []struct {
		capa      []string
		mechs     string
		plaintext bool
	}{
		// bad
		{[]string{"STLS", "USER"}, "USER", true},
		{[]string{"STLS", "SASL PLAIN"}, "PLAIN", true},
		{[]string{"STLS", "SASL LOGIN CRAM-MD5"}, "CRAM-MD5,LOGIN", true},
		{[]string{"STLS", "user", "SASL SCRAM-SHA-256"}, "SCRAM-SHA-256,USER", true},
		// good
		{[]string{"STLS", "SASL"}, "", false}, // Dovecot with disable_plaintext_auth and only plain mechanisms
		{[]string{"STLS", "SASL CRAM-MD5 SCRAM-SHA-256"}, "CRAM-MD5,SCRAM-SHA-256", false},
		{[]string{"STLS", "SASL DIGEST-MD5 NTLM"}, "DIGEST-MD5,NTLM", false},
		{[]string{"STLS", "TOP", "UIDL", "RESP-CODES"}, "", false},
		{[]string{"STLS", "USERS", "XSASL PLAIN"}, "", false},
		{nil, "", false}, // CAPA answered -ERR: nothing advertised
	}
	for _, c := range cases {
		mechs, plain := pop3PreTLS(c.capa)
		if got := strings.Join(mechs, ","); got != c.mechs || plain != c.plaintext {
			t.Errorf("CAPA %q: mechanisms %q plaintext %v, want %q %v", c.capa, got, plain, c.mechs, c.plaintext)
		}
	}
}

// FuzzSMTPMechanisms: whatever the EHLO lines, the rule never panics, the
// list is upper case without empty names, and plaintext means PLAIN or
// LOGIN is in it.
func FuzzSMTPMechanisms(f *testing.F) {
	for _, c := range ehloCases {
		f.Add(strings.Join(c.lines, "\n"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		mechs := smtpMechanisms(ehloExt(strings.Split(s, "\n")))
		for _, m := range mechs {
			if m == "" || m != strings.ToUpper(m) {
				t.Fatalf("mechanism %q", m)
			}
		}
		if anyPlaintext(mechs) != (hasFold(mechs, "PLAIN") || hasFold(mechs, "LOGIN")) {
			t.Fatalf("plaintext verdict for %q", mechs)
		}
	})
}

// A submission server whose pre-TLS EHLO has a bare "250-AUTH " line and
// that answers AUTH there with 538 offers no plaintext login; after TLS it
// offers PLAIN, and the probe logs in only then.
func TestSMTPBareAuthLine(t *testing.T) {
	p := newPKI(t, peers.CertOptions{})
	port := script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 mx.example.test ESMTP\r\n"))
		if !expect(r, "EHLO") {
			return
		}
		c.Write([]byte("250-mx.example.test\r\n250-AUTH \r\n250-STARTTLS\r\n250 8BITMIME\r\n"))
		if !expect(r, "STARTTLS") {
			return
		}
		c.Write([]byte("220 go ahead\r\n"))
		// The TLS part is not needed: the pre-TLS verdict is what is tested.
	})
	r := run(t, target(p, config.SMTP, config.TLSStartTLS, port, nil))
	if r.StartTLSOffered == nil || !*r.StartTLSOffered {
		t.Fatal("STARTTLS not seen")
	}
	if r.PlaintextAuthOffered == nil || *r.PlaintextAuthOffered {
		t.Errorf("bare AUTH line read as plaintext login offered (%v)", r.PlaintextAuthOffered)
	}
	if len(r.PreTLSAuthMechanisms) != 0 {
		t.Errorf("pre-TLS mechanisms %v, want none", r.PreTLSAuthMechanisms)
	}
}
