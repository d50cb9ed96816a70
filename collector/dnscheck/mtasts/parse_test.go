package mtasts

import (
	"errors"
	"reflect"
	"testing"
)

var goodRecords = []string{
	"v=STSv1; id=20160831085700Z;",
	"v=STSv1; id=20160831085700Z",
	"v=STSv1;id=abc",
	"v=STSv1; id=a",
	"v=STSv1; id=12345678901234567890123456789012",
	"v=STSv1; id=abc; ext-1=val.ue",
	"v=STSv1; id=abc; id=def",
}

var badRecords = []string{
	"",
	"v=STSv1",
	"v=STSv1;",
	"v=STSv2; id=abc",
	"v=stsv1; id=abc",
	"v=STSv1; id=",
	"v=STSv1; id=abc-def",
	"v=STSv1; id=123456789012345678901234567890123",
	"v=STSv1; ext=1",
	"v=STSv1; id=abc;; x=y",
	"v=STSv1; id=abc; -x=y",
	"v=STSv1; id=abc; x=y z",
	"v=STSv1; id=abc; novalue",
}

func TestParseRecord(t *testing.T) {
	good := func(s string) {
		t.Helper()
		if _, err := ParseRecord(s); err != nil {
			t.Errorf("ParseRecord(%q): %v", s, err)
		}
	}
	bad := func(s string) {
		t.Helper()
		if _, err := ParseRecord(s); !errors.Is(err, ErrRecordSyntax) {
			t.Errorf("ParseRecord(%q) = %v, want ErrRecordSyntax", s, err)
		}
	}
	for _, s := range goodRecords {
		good(s)
	}
	for _, s := range badRecords {
		bad(s)
	}
	r, _ := ParseRecord("v=STSv1; id=abc; id=def")
	if r.ID != "abc" {
		t.Errorf("repeated id: got %q, want the first", r.ID)
	}
}

var goodPolicies = []string{
	"version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n",
	"version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 86400\r\n",
	"version: STSv1\nmode: none\nmax_age: 0",
	"mode: enforce\nversion: STSv1\nmax_age: 31557600\nmx: mail.example.com",
	"version:STSv1\nmode:enforce\nmax_age:1\nmx:mail.example.com\nfuture_ext: some value\n",
	"version: STSv1\nmode: enforce\nmode: none\nmax_age: 1\nmx: a.example.com\n",
	"version: STSv1 \nmode: enforce\t\nmax_age: 1\nmx: a.example.com\n",
	"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 1\n\n",
}

var badPolicies = []string{
	"",
	"version: STSv1\nmode: enforce\nmx: mail.example.com\n",
	"version: STSv1\nmode: enforce\nmax_age: 86400\n",
	"version: STSv2\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n",
	"version: STSv1\nmode: Enforce\nmx: mail.example.com\nmax_age: 86400\n",
	"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 31557601\n",
	"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: -1\n",
	"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 12345678901\n",
	"version: STSv1\nmode: enforce\nmx: *.*.example.com\nmax_age: 1\n",
	"version: STSv1\nmode: enforce\nmx: mail.*.com\nmax_age: 1\n",
	"version: STSv1\nmode: enforce\nmx: com\nmax_age: 1\n",
	"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 1\ngarbage\n",
	"<html>not found</html>",
	"version: STSv1\n\nmode: enforce\nmx: mail.example.com\nmax_age: 1\n",
}

func TestParsePolicy(t *testing.T) {
	good := func(s string) {
		t.Helper()
		if _, err := ParsePolicy(s); err != nil {
			t.Errorf("ParsePolicy(%q): %v", s, err)
		}
	}
	bad := func(s string) {
		t.Helper()
		if _, err := ParsePolicy(s); !errors.Is(err, ErrPolicySyntax) {
			t.Errorf("ParsePolicy(%q) = %v, want ErrPolicySyntax", s, err)
		}
	}
	for _, s := range goodPolicies {
		good(s)
	}
	for _, s := range badPolicies {
		bad(s)
	}
	p, _ := ParsePolicy(goodPolicies[0])
	want := &Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "*.example.net"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %+v, want %+v", p, want)
	}
	p, _ = ParsePolicy(goodPolicies[5])
	if p.Mode != ModeEnforce {
		t.Errorf("repeated mode: got %q, want the first", p.Mode)
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, host string
		want          bool
	}{
		{"mail.example.com", "mail.example.com", true},
		{"mail.example.com", "MAIL.example.com.", true},
		{"mail.example.com", "mx.example.com", false},
		{"*.example.com", "mx.example.com", true},
		{"*.example.com", "a.b.example.com", false}, // one label only (RFC 8461 4.1)
		{"*.example.com", "example.com", false},
		{"*.example.com", ".example.com", false},
	} {
		if got := Matches(c.pattern, c.host); got != c.want {
			t.Errorf("Matches(%q, %q) = %v", c.pattern, c.host, got)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range append(append([]string{}, goodRecords...), badRecords...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			if !errors.Is(err, ErrRecordSyntax) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if !isID(r.ID) {
			t.Fatalf("bad id %q accepted", r.ID)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range append(append([]string{}, goodPolicies...), badPolicies...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err != nil {
			if !errors.Is(err, ErrPolicySyntax) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if p.MaxAge < 0 || p.MaxAge > MaxMaxAge || p.Version != "STSv1" {
			t.Fatalf("accepted %+v", p)
		}
		for _, m := range p.MX {
			_ = p.Covers(m)
		}
	})
}
