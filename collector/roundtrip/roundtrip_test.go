package roundtrip

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

func checkFor(m *peers.Mail, name string, timeout time.Duration) Check {
	cred := &config.Credential{Name: "monitor", Username: m.User, Password: config.Secret(m.Password)}
	target := func(name string, proto config.Protocol, mode config.TLSMode) probe.Target {
		return probe.Target{
			Server: "real", Host: m.Host, ServerName: m.ServerName, RootCAs: m.CAPool, EHLOName: "probe.example.test",
			Endpoint: &config.Endpoint{Name: name, Protocol: proto, Port: m.Ports[name], TLS: mode,
				Credential: cred, VerifyCertificate: true, Timeout: 10 * time.Second},
		}
	}
	return Check{
		Name:    name,
		Send:    target("submission", config.SMTP, config.TLSStartTLS),
		Receive: target("imaps", config.IMAP, config.TLSImplicit),
		Mailbox: "INBOX", From: m.User, To: m.User, Timeout: timeout,
	}
}

func TestRoundtripRealPeers(t *testing.T) {
	m := peers.StartMail(t)
	// A message of the user's own, and a leftover from an earlier failed run.
	m.Deliver(t, "", "body\r\n")
	m.Deliver(t, "X-Mail-Exporter-Roundtrip: rt=loop;\r\n", "body\r\n")
	m.Deliver(t, "X-Mail-Exporter-Roundtrip: rt=loop2;\r\n", "body\r\n") // another roundtrip's: not ours to touch
	before := m.WaitMessages(t, m.User, 3, 10*time.Second)

	tr := probe.NewTranscript()
	c := checkFor(m, "loop", 30*time.Second)
	c.Transcript = tr
	r := Run(context.Background(), c)
	t.Logf("result %s %q delivery %v cleaned %d", r.Reason, r.Error, r.Delivery, r.Cleaned)
	if !r.Success || r.Delivery <= 0 || r.Delivery > 10*time.Second {
		t.Fatalf("roundtrip: %+v\n%s", r, m.Logs(20))
	}
	if r.Cleaned != 2 {
		t.Errorf("cleaned %d messages, want 2 (the leftover and this run's)", r.Cleaned)
	}
	after, _ := m.Messages(m.User)
	if len(after) != len(before)-1 {
		t.Errorf("mailbox had %d messages, now %d; want only the leftover gone", len(before), len(after))
	}
	if out := tr.String(); strings.Contains(out, m.Password) || !strings.Contains(out, "C: AUTH PLAIN ****") {
		t.Errorf("transcript leaks or lacks the masked login:\n%s", out)
	}
}

func TestRoundtripTwoOnOneMailbox(t *testing.T) {
	m := peers.StartMail(t)
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	for i, name := range []string{"a", "a2"} {
		wg.Go(func() { results[i] = Run(context.Background(), checkFor(m, name, 30*time.Second)) })
	}
	wg.Wait()
	for i, r := range results {
		if !r.Success {
			t.Errorf("roundtrip %d: %s %s", i, r.Reason, r.Error)
		}
		if r.Cleaned != 1 {
			t.Errorf("roundtrip %d removed %d messages: it touched the other's", i, r.Cleaned)
		}
	}
	if msgs, _ := m.Messages(m.User); len(msgs) != 0 {
		t.Errorf("%d messages left behind", len(msgs))
	}
}

func TestRoundtripDeliveryBroken(t *testing.T) {
	m := peers.StartMail(t)
	if err := m.StopLMTP(); err != nil {
		t.Fatal(err)
	}
	const timeout = 4 * time.Second
	start := time.Now()
	r := Run(context.Background(), checkFor(m, "broken", timeout))
	took := time.Since(start)
	t.Logf("result %s %q after %v", r.Reason, r.Error, took)
	if r.Success || r.Reason != ReasonNotDelivered {
		t.Errorf("got %s, want %s", r.Reason, ReasonNotDelivered)
	}
	if took > timeout+2*time.Second {
		t.Errorf("took %v, timeout %v", took, timeout)
	}
}

func TestRoundtripWrongPassword(t *testing.T) {
	m := peers.StartMail(t)
	c := checkFor(m, "pw", 10*time.Second)
	bad := *c.Send.Endpoint
	bad.Credential = &config.Credential{Username: m.User, Password: "wrong"}
	c.Send.Endpoint = &bad
	r := Run(context.Background(), c)
	if r.Reason != ReasonSend || !strings.Contains(r.Error, "auth") {
		t.Errorf("got %s %q, want send/auth", r.Reason, r.Error)
	}
}
