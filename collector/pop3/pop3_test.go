package pop3

import (
	"reflect"
	"strings"
	"testing"
)

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Command: "PASS", Text: "[AUTH] Authentication failed."}, "pop3: PASS: -ERR [AUTH] Authentication failed."},
		{Error{Command: "STAT"}, "pop3: STAT: -ERR"},
		{Error{Text: "busy"}, "pop3: greeting: -ERR busy"},
		{Error{Command: "CAPA", Text: strings.Repeat("é", 400)}, "pop3: CAPA: -ERR " + strings.Repeat("é", 256) + "..."},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestResponseCode(t *testing.T) {
	good := func(text, want string) {
		t.Helper()
		if got := responseCode(text); got != want {
			t.Errorf("responseCode(%q) = %q, want %q", text, got, want)
		}
	}
	bad := func(text string) { t.Helper(); good(text, "") }
	good("[AUTH] Authentication failed.", "AUTH")
	good("[in-use] mailbox locked", "IN-USE")
	good("[SYS/TEMP] try later", "SYS/TEMP")
	good("[LOGIN-DELAY]", "LOGIN-DELAY")
	bad("")
	bad("Authentication failed [AUTH]")
	bad("[] empty")
	bad("[AUTH no end")
	bad("[A B] space")
	bad("[A[B] bracket")
	bad("[A\x1bB] control")
	bad("[" + strings.Repeat("X", 100) + "] too long")
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text <a@b>": "plain text <a@b>",
		"tab\there":        `tab\x09here`,
		"\x1b[2Jclear":     `\x1b[2Jclear`,
		"nul\x00":          `nul\x00`,
		"bad \xff utf8":    `bad \xff utf8`,
		"ünïcödé ✓":        "ünïcödé ✓",
		"bidi \u202e":      `bidi \u202e`,
		"del\x7f":          `del\x7f`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSASLMechanisms(t *testing.T) {
	for _, tc := range []struct {
		caps []string
		want []string
	}{
		{nil, nil},
		{[]string{"USER", "TOP"}, nil},
		{[]string{"SASL"}, nil},
		{[]string{"SASL PLAIN LOGIN"}, []string{"PLAIN", "LOGIN"}},
		{[]string{"sasl  plain\tcram-md5 "}, []string{"PLAIN", "CRAM-MD5"}},
		{[]string{"SASL PLAIN", "SASL XOAUTH2"}, []string{"PLAIN", "XOAUTH2"}},
		{[]string{"SASLX PLAIN"}, nil},
	} {
		if got := SASLMechanisms(tc.caps); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SASLMechanisms(%q) = %q, want %q", tc.caps, got, tc.want)
		}
	}
}

func TestHasCapability(t *testing.T) {
	caps := []string{"STLS", "user", "SASL PLAIN", "", "EXPIRE 60"}
	for name, want := range map[string]bool{
		"STLS": true, "stls": true, "USER": true, "SASL": true, "EXPIRE": true,
		"PLAIN": false, "TOP": false, "": false, "EXPIRE 60": false,
	} {
		if got := HasCapability(caps, name); got != want {
			t.Errorf("HasCapability(%q) = %v, want %v", name, got, want)
		}
	}
}
