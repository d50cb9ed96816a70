package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestCertNames(t *testing.T) {
	ten := "a.example.com,b.example.com,c.example.com,mail.example.com,e.example.com,f.example.com,g.example.com,h.example.com,i.example.com,j.example.com"
	for _, tc := range []struct {
		names, host string
		max         int
		want        string
	}{
		{"mail.example.com", "mail.example.com", 2, "mail.example.com"},
		{"mail.example.com,mx.example.com", "x.example.com", 2, "mail.example.com, mx.example.com"},
		{ten, "mail.example.com", 2, "mail.example.com and 9 more"},
		{ten, "MAIL.example.com.", 2, "mail.example.com and 9 more"},
		{ten, "other.example.org", 2, "a.example.com and 9 more"},
		{ten, "mail.example.com", 4, "mail.example.com, b.example.com, c.example.com and 7 more"},
		{"example.com,*.example.com,x.test", "imap.example.com", 2, "*.example.com and 2 more"},
		{"example.com,*.example.com,x.test", "a.b.example.com", 2, "example.com and 2 more"},
	} {
		if got := certNames(&probe.TLSFacts{DNSNames: tc.names}, tc.host, tc.max); got != tc.want {
			t.Errorf("certNames(%q, %q, %d) = %q, want %q", tc.names, tc.host, tc.max, got, tc.want)
		}
	}
	if got := certNames(&probe.TLSFacts{Subject: "CN=mail"}, "mail", 2); got != "CN=mail" {
		t.Errorf("no SANs: %q", got)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		tokens []string
		sep    string
		width  int
		want   []string
	}{
		{[]string{"a", "b", "c"}, " ", 0, []string{"a b c"}},
		{[]string{"aaa", "bbb", "ccc"}, " ", 7, []string{"aaa bbb", "ccc"}},
		{[]string{"aaa", "bbb", "ccc"}, ", ", 8, []string{"aaa, bbb,", "ccc"}},
		{[]string{"https://very.long.example/url", "x"}, " ", 10, []string{"https://very.long.example/url", "x"}},
		{[]string{"✘✘✘", "✔✔✔"}, " ", 7, []string{"✘✘✘ ✔✔✔"}}, // runes, not bytes
	} {
		got := wrap(tc.tokens, tc.sep, "", "", tc.width)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.tokens, tc.width, got, tc.want)
		}
	}
}

// TestTextWidth: at 80 columns every line of the report fits, apart from
// a token that cannot be broken; with no width each item is one line.
func TestTextWidth(t *testing.T) {
	r := New("example.com", now)
	many := &probe.Result{Success: true, Reason: probe.ReasonOK, Duration: 48 * time.Millisecond,
		Phases: []probe.PhaseTiming{{Phase: probe.PhaseConnect, Duration: 1200 * time.Microsecond},
			{Phase: probe.PhaseTLSHandshake, Duration: 9 * time.Millisecond}, {Phase: probe.PhaseGreeting, Duration: 3 * time.Millisecond},
			{Phase: probe.PhaseCapabilities, Duration: 2 * time.Millisecond}, {Phase: probe.PhaseLogout, Duration: time.Millisecond}},
		TLS: &probe.TLSFacts{Version: "TLS 1.3", NotAfter: now.Add(60 * 24 * time.Hour), Verified: true,
			DNSNames: "a.example.com,b.example.com,c.example.com,mail.example.com,e.example.com,f.example.com,g.example.com,h.example.com,i.example.com,j.example.com"}}
	r.Add("incoming", Endpoint("mail.example.com", imaps(), many, now))
	wrong := *many
	wrong.Success, wrong.Reason = false, probe.ReasonCertificate
	tf := *many.TLS
	tf.Verified, tf.VerifyError, tf.VerifyDetail = false, probe.VerifyHostnameMismatch, "x509: certificate is valid for a.example.com, b.example.com, c.example.com, mail.example.com, e.example.com, f.example.com, g.example.com, h.example.com, i.example.com, j.example.com, not imap.example.org"
	wrong.TLS = &tf
	r.Add("incoming", Endpoint("imap.example.org", &config.Endpoint{Name: "imap", Protocol: config.IMAP, Port: 143, TLS: config.TLSStartTLS, VerifyCertificate: true}, &wrong, now))
	r.Finish(now)

	var b bytes.Buffer
	Text(&b, r, TextOptions{Width: 80})
	for _, l := range strings.Split(b.String(), "\n") {
		if cols(l) > 80 && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("line of %d columns: %q", cols(l), l)
		}
	}
	if !strings.Contains(b.String(), "mail.example.com and 9 more") {
		t.Error("the SAN list is not shortened")
	}
	golden(t, "text-80.txt", b.String())

	b.Reset()
	Text(&b, r, TextOptions{})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if n := len(lines); n != 7 { // header, blank, title, two items, one finding: message and advice
		t.Errorf("unwrapped report has %d lines, want 7:\n%s", n, b.String())
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(got), 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s", name, got)
	}
}
