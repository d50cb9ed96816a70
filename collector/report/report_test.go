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
	r.Add("dns", CheckItem("spf", &dnscheck.CheckResult{LookupSuccess: false, Error: "SERVFAIL"}, ""))
	r.Finish(now)
	if r.ExitCode != 2 || r.Status != Critical {
		t.Errorf("a failed lookup exits %d (%s)", r.ExitCode, r.Status)
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
