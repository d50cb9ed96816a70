package probe

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
)

// mxServer is a scripted plaintext SMTP server: greeting, then for each
// command the reply of the longest matching prefix in replies (default
// "250 ok"; "" = never answer). It records the commands it got.
type mxServer struct {
	greeting string
	replies  map[string]string
	mu       sync.Mutex
	got      []string
}

func (m *mxServer) handle(c net.Conn, r *bufio.Reader) {
	c.Write([]byte(m.greeting))
	if !strings.HasPrefix(m.greeting, "220") {
		r.ReadString('\n')
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		m.mu.Lock()
		m.got = append(m.got, line)
		m.mu.Unlock()
		reply, best := "250 ok\r\n", -1
		if strings.HasPrefix(line, "EHLO") {
			reply = "250-mx2.example.net Hello\r\n250 8BITMIME\r\n"
		}
		if strings.HasPrefix(line, "QUIT") {
			reply = "221 bye\r\n"
		}
		for p, rp := range m.replies {
			if strings.HasPrefix(line, p) && len(p) > best {
				reply, best = rp, len(p)
			}
		}
		if reply == "" {
			continue
		}
		c.Write([]byte(reply))
		if strings.HasPrefix(reply, "221") || strings.HasPrefix(reply, "421") {
			return
		}
	}
}

func (m *mxServer) commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

func runMX(t *testing.T, m *mxServer, relay bool, ptr func(context.Context, netip.Addr) ([]string, error)) *Result {
	t.Helper()
	port := script(t, m.handle)
	tg := target(nil, config.SMTP, config.TLSNone, port, nil)
	tg.Endpoint.Timeout = hostileTimeout
	if relay {
		tg.RelayTest = &relaytest.Config{Recipient: relaytest.DefaultRecipient}
	}
	tg.LookupPTR = ptr
	return run(t, tg)
}

func TestSMTPTempfailGreeting(t *testing.T) {
	m := &mxServer{greeting: "421-4.7.0 mx.example.net Error: too many connections\r\n421 4.7.0 from 127.0.0.1\r\n"}
	r := runMX(t, m, true, nil)
	if r.Success || r.Reason != ReasonTempfail {
		t.Fatalf("got %s success=%v, want tempfail", r.Reason, r.Success)
	}
	if !strings.Contains(r.Error, "421 4.7.0 mx.example.net Error: too many connections 4.7.0 from 127.0.0.1") {
		t.Errorf("error %q lacks the server's text", r.Error)
	}
	if r.Relay != nil || r.Banner != nil {
		t.Errorf("relay %+v banner %+v after a 421 greeting", r.Relay, r.Banner)
	}
}

func TestSMTPRelayTest(t *testing.T) {
	cases := []struct {
		name    string
		replies map[string]string
		reason  Reason
		verdict relaytest.Verdict
	}{
		{"open relay", nil, ReasonOK, relaytest.Open},
		{"refused", map[string]string{"RCPT": "554 5.7.1 Relay access denied\r\n"}, ReasonOK, relaytest.Refused},
		{"greylisted, multi-line", map[string]string{"RCPT": "450-4.2.0 Greylisted\r\n450 4.2.0 come back in 5 minutes\r\n"}, ReasonTempfail, relaytest.Inconclusive},
		{"421 at MAIL", map[string]string{"MAIL": "421 4.3.2 shutting down\r\n"}, ReasonTempfail, relaytest.Inconclusive},
		{"garbage at RCPT", map[string]string{"RCPT": "ok whatever\r\n"}, ReasonProtocol, relaytest.Inconclusive},
		{"silent at RCPT", map[string]string{"RCPT": ""}, ReasonTimeout, relaytest.Inconclusive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &mxServer{greeting: "220 mx.example.net ESMTP\r\n", replies: tc.replies}
			r := runMX(t, m, true, nil)
			if r.Reason != tc.reason || r.Success != (tc.reason == ReasonOK) {
				t.Fatalf("got %s success=%v (%s), want %s", r.Reason, r.Success, r.Error, tc.reason)
			}
			if r.Relay == nil || r.Relay.Verdict != tc.verdict {
				t.Fatalf("relay %+v, want verdict %s", r.Relay, tc.verdict)
			}
			if _, ok := r.PhaseDuration(PhaseTransaction); !ok {
				t.Error("no transaction phase")
			}
			cmds := m.commands()
			for _, c := range cmds {
				if strings.HasPrefix(c, "DATA") {
					t.Errorf("DATA sent: %v", cmds)
				}
			}
			if tc.reason == ReasonOK || tc.name == "greylisted, multi-line" {
				// go-smtp says EHLO again after RSET (RFC 5321 4.1.4 allows it).
				n := len(cmds)
				if n < 3 || cmds[n-3] != "RSET" || !strings.HasPrefix(cmds[n-2], "EHLO") || cmds[n-1] != "QUIT" {
					t.Errorf("commands end %v, want RSET, EHLO, QUIT", cmds)
				}
			}
			if tc.reason == ReasonTempfail && !strings.Contains(r.Error, "4.") {
				t.Errorf("error %q lacks the server's text", r.Error)
			}
		})
	}
}

func TestSMTPRelayTestNotByDefault(t *testing.T) {
	m := &mxServer{greeting: "220 mx.example.net ESMTP\r\n"}
	r := runMX(t, m, false, nil)
	if !r.Success || r.Relay != nil {
		t.Fatalf("got %s relay %+v", r.Reason, r.Relay)
	}
	for _, c := range m.commands() {
		if strings.HasPrefix(c, "MAIL") || strings.HasPrefix(c, "RCPT") {
			t.Errorf("sent %q without a relay test", c)
		}
	}
	if _, ok := r.PhaseDuration(PhaseTransaction); ok {
		t.Error("transaction phase without a transaction")
	}
}

func TestSMTPBanner(t *testing.T) {
	ptrOf := func(names ...string) func(context.Context, netip.Addr) ([]string, error) {
		return func(_ context.Context, ip netip.Addr) ([]string, error) {
			if ip != netip.MustParseAddr("127.0.0.1") {
				return nil, errors.New("asked for " + ip.String())
			}
			return names, nil
		}
	}
	cases := []struct {
		name     string
		ptr      func(context.Context, netip.Addr) ([]string, error)
		checked  bool
		matches  bool
		ptrError string
	}{
		{"matches", ptrOf("MX.example.net."), true, true, ""},
		{"mismatch", ptrOf("localhost."), true, false, ""},
		{"no PTR", ptrOf(), true, false, ""},
		{"lookup fails", func(context.Context, netip.Addr) ([]string, error) { return nil, errors.New("SERVFAIL") }, false, false, "SERVFAIL"},
		{"no lookup", nil, false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &mxServer{greeting: "220-mx.example.net ESMTP\r\n220 more text\r\n"}
			r := runMX(t, m, false, tc.ptr)
			b := r.Banner
			if !r.Success || b == nil {
				t.Fatalf("got %s, banner %+v", r.Reason, b)
			}
			if b.GreetingHost != "mx.example.net" || b.EHLOHost != "mx2.example.net" {
				t.Errorf("hosts %q %q", b.GreetingHost, b.EHLOHost)
			}
			if b.PTRChecked != tc.checked || b.MatchesPTR() != tc.matches || b.PTRError != tc.ptrError {
				t.Errorf("banner %+v, want checked=%v matches=%v error=%q", b, tc.checked, tc.matches, tc.ptrError)
			}
		})
	}
}
