package probe

import (
	"strings"
	"testing"
)

func TestMaskCommand(t *testing.T) {
	cases := map[string]string{
		"AUTH PLAIN AG1vbml0b3IAcGFzcw==": "AUTH PLAIN ****",
		"auth login dXNlcg==":             "auth login ****",
		"PASS hunter2":                    "PASS ****",
		"a1 LOGIN monitor hunter2":        "a1 LOGIN monitor ****",
		`a1 LOGIN "monitor" "hunter 2"`:   `a1 LOGIN "monitor" ****`,
		"a2 AUTHENTICATE PLAIN AGZvbwBi":  "a2 AUTHENTICATE PLAIN ****",
		"EHLO probe.example":              "EHLO probe.example",
		"USER monitor":                    "USER monitor",
		"AUTH PLAIN":                      "AUTH PLAIN",
	}
	for in, want := range cases {
		if got := maskCommand(in); got != want {
			t.Errorf("maskCommand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTranscriptMasksSASLContinuations(t *testing.T) {
	tr := NewTranscript("hunter2")
	tr.clientLine("AUTH LOGIN")
	tr.serverLine("334 VXNlcm5hbWU6")
	tr.clientLine("bW9uaXRvcg==")
	tr.serverLine("334 UGFzc3dvcmQ6")
	tr.clientLine("aHVudGVyMg==")
	tr.serverLine("235 ok")
	tr.clientLine("a1 LOGIN monitor {7}")
	tr.serverLine("+ go ahead")
	tr.clientLine("hunter2")
	tr.add("#", "log line mentioning hunter2 by mistake")
	out := tr.String()
	for _, leak := range []string{"hunter2", "aHVudGVyMg==", "bW9uaXRvcg=="} {
		if strings.Contains(out, leak) {
			t.Errorf("transcript leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "C: AUTH LOGIN") || !strings.Contains(out, "S: 235 ok") {
		t.Errorf("transcript lost ordinary lines:\n%s", out)
	}
}

func TestTranscriptBounded(t *testing.T) {
	tr := NewTranscript()
	for i := 0; i < 10000; i++ {
		tr.serverLine(strings.Repeat("x", 200))
	}
	if n := len(tr.String()); n > transcriptLimit+200 {
		t.Fatalf("transcript grew to %d bytes", n)
	}
	if !strings.Contains(tr.String(), "truncated") {
		t.Error("truncation not said")
	}
}

func TestSplitLinesBounded(t *testing.T) {
	var got []string
	rest := splitLines([]byte(strings.Repeat("y", 3*maxLineBytes)), func(s string) { got = append(got, s) })
	if len(rest) != 0 || len(got) != 1 {
		t.Fatalf("an endless line must be emitted in pieces: %d pieces, %d left", len(got), len(rest))
	}
}
