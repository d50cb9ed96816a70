package relaytest_test

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
	"github.com/mail-exporter/mail_exporter/collector/report"
)

// The relay test, the banner check and temporary failures against real
// Postfix, configured by each test. The verdicts are the ones `mail_exporter
// check` prints; every test logs its check lines (go test -v).

// mxProbe probes m's port-25 service ("smtp", STARTTLS) at host, as the
// exporter does for an endpoint with relay_test: true.
func mxProbe(t *testing.T, m *peers.Mail, host string, relay bool, ptr func(context.Context, netip.Addr) ([]string, error)) (*config.Endpoint, *probe.Result, *probe.Transcript) {
	t.Helper()
	ep := &config.Endpoint{Name: "smtp", Protocol: config.SMTP, Port: m.Ports["smtp"], TLS: config.TLSStartTLS,
		VerifyCertificate: true, Timeout: 10 * time.Second, Interval: time.Minute,
		RelayTest: relay, RelayTestRecipient: relaytest.DefaultRecipient}
	tg := probe.Target{Server: "mx", Host: host, ServerName: m.ServerName, Endpoint: ep, RootCAs: m.CAPool,
		EHLOName: "probe.example.org", LookupPTR: ptr, Transcript: probe.NewTranscript()}
	if relay {
		tg.RelayTest = &relaytest.Config{Recipient: ep.RelayTestRecipient}
	}
	r := probe.Run(context.Background(), tg)
	t.Logf("result=%s success=%v err=%q phases=%v", r.Reason, r.Success, r.Error, r.Phases)
	return ep, r, tg.Transcript
}

// checkLines renders r as `mail_exporter check` does and logs it.
func checkLines(t *testing.T, host string, ep *config.Endpoint, r *probe.Result) report.Item {
	t.Helper()
	it := report.Endpoint(host, ep, r, time.Now())
	rep := report.New("smtp://"+net.JoinHostPort(host, strconv.Itoa(ep.Port)), r.Start)
	rep.Add(report.EndpointSection(ep), it)
	rep.Finish(r.Start.Add(r.Duration))
	var b strings.Builder
	if err := report.Text(&b, rep, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("mail_exporter check lines:\n%s", b.String())
	return it
}

func hasFinding(it report.Item, code string, st report.Status) bool {
	for _, f := range it.Findings {
		if f.Code == code && f.Status == st {
			return true
		}
	}
	return false
}

// assertNothingQueued checks Postfix's queue (its folders, and postqueue -p) and
// the mailbox: a relay test must never leave a message anywhere.
func assertNothingQueued(t *testing.T, m *peers.Mail) {
	t.Helper()
	time.Sleep(300 * time.Millisecond) // a message, had one been accepted, would be in incoming/ by now
	files, err := m.QueueFiles()
	if err != nil || len(files) > 0 {
		t.Errorf("queue files %v (err %v), want none", files, err)
	}
	out, err := m.PostQueue()
	if err != nil || !strings.Contains(out, "Mail queue is empty") {
		t.Errorf("postqueue -p: %q (err %v), want an empty queue", out, err)
	}
	msgs, err := m.Messages(peers.DefaultUser)
	if err != nil || len(msgs) > 0 {
		t.Errorf("mailbox holds %v (err %v), want nothing", msgs, err)
	}
}

func commands(tr *probe.Transcript) []string {
	var out []string
	for _, l := range strings.Split(tr.String(), "\n") {
		for _, c := range []string{"DATA", "RSET", "QUIT", "MAIL FROM", "RCPT TO"} {
			if strings.Contains(l, "C: "+c) || strings.Contains(l, "> "+c) {
				out = append(out, c)
			}
		}
	}
	return out
}

func TestRealOpenRelay(t *testing.T) {
	m := peers.StartMail(t, peers.WithOpenRelay())
	ep, r, tr := mxProbe(t, m, m.Host, true, nil)
	it := checkLines(t, m.Host, ep, r)
	if !r.Success || r.Relay == nil || r.Relay.Verdict != relaytest.Open {
		t.Fatalf("result %s, relay %+v: want an open relay found by a successful probe", r.Reason, r.Relay)
	}
	for _, v := range relaytest.Variants {
		if !r.Relay.Accepted(v) {
			t.Errorf("variant %s not accepted by smtpd_relay_restrictions = permit: %+v", v, r.Relay.Rcpts)
		}
	}
	if _, ok := r.PhaseDuration(probe.PhaseTransaction); !ok {
		t.Error("no transaction phase")
	}
	if it.Status != report.Critical || !hasFinding(it, report.CodeOpenRelay, report.Critical) {
		t.Errorf("check item %s %+v, want critical open_relay", it.Status, it.Findings)
	}
	cmds := commands(tr)
	if strings.Contains(strings.Join(cmds, " "), "DATA") || !strings.Contains(strings.Join(cmds, " "), "RSET") {
		t.Errorf("commands %v: want RSET and no DATA\n%s", cmds, tr.String())
	}
	assertNothingQueued(t, m)
}

func TestRealNotARelay(t *testing.T) {
	cases := []struct {
		name string
		opts []peers.MailOption
		code int // the RCPT reply Postfix gives a relay attempt
	}{
		{"debian default", []peers.MailOption{peers.WithDebianRelayDefaults()}, 454}, // defer_unauth_destination
		{"reject_unauth_destination", nil, 554},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := peers.StartMail(t, tc.opts...)
			ep, r, _ := mxProbe(t, m, m.Host, true, nil)
			it := checkLines(t, m.Host, ep, r)
			if !r.Success || r.Reason != probe.ReasonOK || r.Relay == nil || r.Relay.Verdict != relaytest.Refused {
				t.Fatalf("result %s, relay %+v: want refused, probe ok", r.Reason, r.Relay)
			}
			for _, rp := range r.Relay.Rcpts {
				if rp.Code != tc.code || !strings.Contains(rp.Text, "Relay access denied") {
					t.Errorf("%s: %d %s, want %d ... Relay access denied", rp.Variant, rp.Code, rp.Text, tc.code)
				}
			}
			if it.Status != report.OK {
				t.Errorf("check item %s %+v, want ok", it.Status, it.Findings)
			}
			assertNothingQueued(t, m)
		})
	}
}

func TestRealBannerPTR(t *testing.T) {
	// PTR of 127.0.0.1 is the banner name, PTR of 127.0.0.2 another one.
	dns := dnstest.Start(t, dnstest.Zone{Name: "127.in-addr.arpa", Records: "1.0.0 PTR mx-banner.example.test.\n2.0.0 PTR mail.example.test.\n"})
	m := peers.StartMail(t, peers.WithMyHostname("mx-banner.example.test"))
	lookup := banner.PTRLookup(dns.Resolver)

	ep, r, _ := mxProbe(t, m, "127.0.0.2", false, lookup)
	it := checkLines(t, "127.0.0.2", ep, r)
	b := r.Banner
	if !r.Success || b == nil || b.GreetingHost != "mx-banner.example.test" || b.EHLOHost != "mx-banner.example.test" {
		t.Fatalf("result %s banner %+v", r.Reason, b)
	}
	if !b.PTRChecked || b.MatchesPTR() || strings.Join(b.PTRNames, ",") != "mail.example.test" {
		t.Errorf("banner %+v: want PTR mail.example.test, not matching", b)
	}
	if it.Status != report.Warning || !hasFinding(it, report.CodeBannerPTR, report.Warning) {
		t.Errorf("check item %s %+v, want warning banner_ptr_mismatch", it.Status, it.Findings)
	}

	_, r, _ = mxProbe(t, m, "127.0.0.1", false, lookup)
	if b := r.Banner; !r.Success || b == nil || !b.PTRChecked || !b.MatchesPTR() {
		t.Errorf("127.0.0.1: result %s banner %+v: want the PTR to match", r.Reason, r.Banner)
	}
}

func TestRealGreylisting(t *testing.T) {
	m := peers.StartMail(t, peers.WithGreylisting())
	ep, r, tr := mxProbe(t, m, m.Host, true, nil)
	it := checkLines(t, m.Host, ep, r)
	if r.Success || r.Reason != probe.ReasonTempfail || r.Relay == nil || r.Relay.Verdict != relaytest.Inconclusive {
		t.Fatalf("result %s success %v relay %+v: want tempfail, inconclusive", r.Reason, r.Success, r.Relay)
	}
	if !strings.Contains(r.Error, "450 4.2.0 <unknown[127.0.0.1]>: Client host rejected: Greylisted") || !strings.Contains(tr.String(), "Greylisted, see https://greylisting.example.test/") {
		t.Errorf("error %q / transcript lack the server's text:\n%s", r.Error, tr.String())
	}
	if r.TLS == nil || !r.TLS.Verified {
		t.Errorf("TLS facts %+v: the rest of the probe must have run", r.TLS)
	}
	if it.Status != report.Warning || !hasFinding(it, string(probe.ReasonTempfail), report.Warning) || !hasFinding(it, report.CodeRelayUnknown, report.Warning) {
		t.Errorf("check item %s %+v, want warnings tempfail and relay_test_inconclusive", it.Status, it.Findings)
	}
	if cmds := strings.Join(commands(tr), " "); !strings.HasSuffix(cmds, "RSET QUIT") {
		t.Errorf("commands %s, want RSET then QUIT at the end", cmds)
	}
	assertNothingQueued(t, m)
}

func TestRealTooManyConnections(t *testing.T) {
	m := peers.StartMail(t, peers.WithConnectionLimit(1))
	hold, err := net.Dial("tcp", m.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if l, err := bufio.NewReader(hold).ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("first connection: %q %v", l, err)
	}
	ep, r, tr := mxProbe(t, m, m.Host, false, nil)
	it := checkLines(t, m.Host, ep, r)
	if r.Success || r.Reason != probe.ReasonTempfail {
		t.Fatalf("result %s success %v, want tempfail", r.Reason, r.Success)
	}
	if !strings.Contains(r.Error, "421 4.7.0") || !strings.Contains(r.Error, "too many connections") || !strings.Contains(tr.String(), "too many connections") {
		t.Errorf("error %q lacks the server's text:\n%s", r.Error, tr.String())
	}
	if it.Status != report.Warning {
		t.Errorf("check item %s, want warning (not down)", it.Status)
	}
}
