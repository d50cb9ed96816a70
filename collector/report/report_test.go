package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func imaps() *config.Endpoint {
	return &config.Endpoint{Name: "imaps", Protocol: config.IMAP, Port: 993, TLS: config.TLSImplicit, VerifyCertificate: true}
}

func okResult(notAfter time.Time) *probe.Result {
	return &probe.Result{Success: true, Reason: probe.ReasonOK, Duration: 12 * time.Millisecond,
		Phases: []probe.PhaseTiming{{Phase: probe.PhaseConnect, Duration: time.Millisecond}},
		TLS:    &probe.TLSFacts{Version: "TLS 1.3", NotAfter: notAfter, Verified: true, DNSNames: "mail.example.com"}}
}

func TestEndpointStatus(t *testing.T) {
	cases := []struct {
		name string
		r    *probe.Result
		want Status
		code string
	}{
		{"healthy", okResult(now.Add(90 * 24 * time.Hour)), OK, ""},
		{"expires in 10 days", okResult(now.Add(10 * 24 * time.Hour)), Warning, "cert_expiring"},
		{"expires in 2 days", okResult(now.Add(48 * time.Hour)), Critical, "cert_expiring"},
		{"wrong name", &probe.Result{Reason: probe.ReasonCertificate, TLS: &probe.TLSFacts{Version: "TLS 1.3",
			NotAfter: now.Add(90 * 24 * time.Hour), VerifyError: probe.VerifyHostnameMismatch, DNSNames: "mail.example.com"}}, Critical, "hostname_mismatch"},
		{"refused", &probe.Result{Reason: probe.ReasonConnect, Error: "connection refused"}, Critical, "connect"},
	}
	for _, tc := range cases {
		it := Endpoint("imap.example.com", imaps(), tc.r, now)
		if it.Status != tc.want {
			t.Errorf("%s: status %s, want %s (%+v)", tc.name, it.Status, tc.want, it.Findings)
		}
		if tc.code != "" && (len(it.Findings) == 0 || it.Findings[0].Code != tc.code || it.Findings[0].Advice == "") {
			t.Errorf("%s: findings %+v, want code %s with advice", tc.name, it.Findings, tc.code)
		}
	}
	it := Endpoint("imap.example.com", imaps(), cases[3].r, now)
	if a := it.Findings[0].Advice; !strings.Contains(a, "covers mail.example.com, not imap.example.com") {
		t.Errorf("hostname advice %q does not say which names", a)
	}
}

func TestReportExitCodes(t *testing.T) {
	r := New("example.com", now)
	r.Finish(now)
	if r.ExitCode != 3 {
		t.Errorf("an empty report exits %d, want 3 (unknown)", r.ExitCode)
	}
	r = New("example.com", now)
	r.Add("incoming", Endpoint("mail.example.com", imaps(), okResult(now.Add(90*24*time.Hour)), now))
	r.Finish(now)
	if r.ExitCode != 0 {
		t.Errorf("healthy exits %d", r.ExitCode)
	}
	r.Add("dns", CheckItem("dmarc", &dnscheck.CheckResult{LookupSuccess: true, Valid: true,
		Problems: []dnscheck.Problem{{Code: "dmarc_policy_none", Severity: dnscheck.SeverityWarning, Detail: "p=none"}}}, "p=none"))
	r.Finish(now)
	if r.ExitCode != 1 {
		t.Errorf("a warning exits %d", r.ExitCode)
	}
	// Nothing to check is not a failure.
	na := CheckItem("dane", &dnscheck.CheckResult{LookupSuccess: true, NotApplicable: "no MX host"}, "")
	if na.Status != NotApplicable || len(na.Findings) != 0 || na.Summary != "not applicable: no MX host" {
		t.Errorf("not applicable item: %+v", na)
	}
	r.Add("dns", na)
	r.Finish(now)
	if r.ExitCode != 1 || r.Status != Warning {
		t.Errorf("a warning and a not-applicable check exit %d (%s)", r.ExitCode, r.Status)
	}
	// A failed lookup is no finding about the records: the check could not
	// judge them (unknown), worse than a warning, not as bad as a failure.
	lf := CheckItem("dmarc", &dnscheck.CheckResult{LookupSuccess: false, Error: "_dmarc.example.com TXT: REFUSED"}, "")
	if lf.Status != Unknown || len(lf.Findings) != 1 || lf.Findings[0].Code != CodeLookupFailed || lf.Findings[0].Status != Unknown {
		t.Errorf("failed lookup item: %+v", lf)
	}
	r.Add("dns", lf)
	r.Finish(now)
	if r.ExitCode != 3 || r.Status != Unknown {
		t.Errorf("a failed lookup exits %d (%s), want 3 (unknown)", r.ExitCode, r.Status)
	}
	r.Add("dns", CheckItem("spf", &dnscheck.CheckResult{LookupSuccess: true, Problems: []dnscheck.Problem{{Code: "spf_missing", Severity: dnscheck.SeverityError}}}, ""))
	r.Finish(now)
	if r.ExitCode != 2 || r.Status != Critical {
		t.Errorf("a failure beside a failed lookup exits %d (%s), want 2", r.ExitCode, r.Status)
	}
	var text bytes.Buffer
	Text(&text, r, TextOptions{})
	for _, want := range []string{"(1 ok, 1 warning, 1 critical, 1 unknown, 1 not applicable)", "  – DANE  not applicable: no MX host\n", "  ? DMARC\n      ? lookup_failed: "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
}

// The PTR line names the PTR name through which an address was confirmed.
func TestPTRSummary(t *testing.T) {
	r := &dnscheck.Result{PTR: []dnscheck.PTRResult{
		{MX: "mx.bad.test", IP: "127.0.0.2", Valid: true, Names: []string{"mx.good.test"}, Confirmed: "mx.good.test"},
		{MX: "mx.bad.test", IP: "127.0.0.3", Names: []string{"a.test", "b.test"}},
		{MX: "mx.bad.test", IP: "127.0.0.4"},
	}}
	want := "mx.bad.test 127.0.0.2 confirmed by PTR mx.good.test; mx.bad.test 127.0.0.3 not confirmed (PTR a.test, b.test); mx.bad.test 127.0.0.4 has no PTR"
	if got := dnsSummary("ptr", r); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// The plaintext warning names what sends the password; challenge-response
// mechanisms before TLS are mentioned on the line, without a warning.
func TestPlaintextWording(t *testing.T) {
	yes, no := true, false
	ep := func(p config.Protocol) *config.Endpoint {
		return &config.Endpoint{Name: "x", Protocol: p, Port: 143, TLS: config.TLSStartTLS, VerifyCertificate: true}
	}
	res := func(plain *bool, mechs ...string) *probe.Result {
		r := okResult(now.Add(90 * 24 * time.Hour))
		r.StartTLSOffered, r.PlaintextAuthOffered, r.PreTLSAuthMechanisms = &yes, plain, mechs
		return r
	}
	for _, c := range []struct {
		proto   config.Protocol
		r       *probe.Result
		status  Status
		message string // of the plaintext finding, or a part of the summary
	}{
		{config.SMTP, res(&yes, "LOGIN", "PLAIN"), Warning, "password login offered before STARTTLS: AUTH LOGIN, AUTH PLAIN"},
		{config.POP3, res(&yes, "USER"), Warning, "password login offered before STARTTLS: USER/PASS"},
		{config.IMAP, res(&yes, "LOGIN", "PLAIN"), Warning, "password login offered before STARTTLS: AUTH=LOGIN, AUTH=PLAIN"},
		{config.IMAP, res(&yes), Warning, "password login offered before STARTTLS: the LOGIN command (no LOGINDISABLED)"},
		{config.IMAP, res(&yes, "CRAM-MD5"), Warning, "password login offered before STARTTLS: the LOGIN command (no LOGINDISABLED)"},
		{config.IMAP, res(&no, "CRAM-MD5", "SCRAM-SHA-256"), OK, "before STARTTLS only challenge-response login (CRAM-MD5, SCRAM-SHA-256), no password in the clear"},
		{config.SMTP, res(&no), OK, ""},
	} {
		it := Endpoint("mail.example.com", ep(c.proto), c.r, now)
		got := it.Summary
		if len(it.Findings) > 0 {
			got = it.Findings[0].Message
		}
		if it.Status != c.status || !strings.Contains(got, c.message) || c.message == "" && strings.Contains(got, "before STARTTLS") {
			t.Errorf("%s %v: status %s, %q; want %s, %q", c.proto, c.r.PreTLSAuthMechanisms, it.Status, got, c.status, c.message)
		}
	}
}

func TestRenderings(t *testing.T) {
	r := New("example.com", now)
	r.Add("incoming", Endpoint("mail.example.com", imaps(), okResult(now.Add(10*24*time.Hour)), now))
	r.Finish(now)
	var text, colour, js bytes.Buffer
	Text(&text, r, TextOptions{})
	Text(&colour, r, TextOptions{Color: true})
	if strings.Contains(text.String(), "\x1b[") || !strings.Contains(colour.String(), "\x1b[33m") {
		t.Error("colour only when asked")
	}
	for _, want := range []string{"WARNING", "Incoming (IMAP/POP3)", "⚠ imaps mail.example.com:993", "→ Renew the certificate soon"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Schema != 1 || back.ExitCode != 1 ||
		back.Sections[0].Items[0].Figures["cert_days_left"] != 10 {
		t.Errorf("JSON does not read back: %v %+v", err, back)
	}
}
