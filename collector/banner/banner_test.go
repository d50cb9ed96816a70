package banner

import (
	"testing"
)

var hostCases = []struct{ in, want string }{
	{"mail.example.com ESMTP Postfix", "mail.example.com"},
	{"MX1.Example.COM. ESMTP", "mx1.example.com"},
	{"mx.example.net", "mx.example.net"},
	{"  mx.example.net  hello", "mx.example.net"},
	{"localhost ESMTP", "localhost"},
	{"[192.0.2.1] ready", "[192.0.2.1]"},
	{"[IPv6:2001:DB8::1] ready", "[IPv6:2001:db8::1]"},
	{"[ipv6:2001:db8:0::2] ready", "[IPv6:2001:db8::2]"},
	{"[2001:db8::1] x", ""},
	{"[IPv6:192.0.2.1] x", ""},
	{"", ""},
	{"ESMTP ready", "esmtp"}, // a one-label word reads as a name: what the server said
	{"* ESMTP", ""},
	{"-bad.example.com x", ""},
	{"bad-.example.com x", ""},
	{"a..b x", ""},
	{"mail_1.example.com x", ""},
	{"[192.0.2.300] x", ""},
	{"[fe80::1%eth0] x", ""},
	{"[192.0.2.1 x", ""},
	{"m\xc3\xa4il.example.com x", ""},
}

func TestHost(t *testing.T) {
	for _, tc := range hostCases {
		if got := Host(tc.in); got != tc.want {
			t.Errorf("Host(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	f := Facts{GreetingHost: "mail.example.com", PTRChecked: true, PTRNames: NormalizeNames([]string{"Other.Example.com.", "mail.example.com."})}
	if !f.MatchesPTR() {
		t.Errorf("MatchesPTR false for %v", f.PTRNames)
	}
	if !SameName(f.GreetingHost, "MAIL.example.com.") || SameName(f.GreetingHost, "mx.example.com") || SameName("", "") {
		t.Error("SameName compares names without case and trailing dot, and never matches an empty host")
	}
	f.PTRNames = []string{"other.example.com"}
	if f.MatchesPTR() {
		t.Error("MatchesPTR true without a matching name")
	}
	if !f.IsPTRName("other.example.com") || f.IsPTRName("mail.example.com") {
		t.Error("IsPTRName judges the name it is given")
	}
	if (&Facts{PTRNames: []string{""}}).MatchesPTR() {
		t.Error("an empty greeting host matched")
	}
}

func FuzzHost(f *testing.F) {
	for _, tc := range hostCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := Host(s)
		if len(h) > maxName+2 {
			t.Fatalf("Host(%q) = %q: too long", s, h)
		}
		if h != "" && Host(h) != h {
			t.Fatalf("Host(%q) = %q, but Host of that is %q", s, h, Host(h))
		}
	})
}
