package spf

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

var goodRecords = []string{
	"v=spf1",
	"v=spf1 -all",
	"V=SPF1 -ALL",
	"v=spf1  mx  -all  ",
	"v=spf1 a mx ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all",
	"v=spf1 a:mail.example.com/24//64 mx:example.com//48 ?all",
	"v=spf1 include:_spf.example.com -all",
	"v=spf1 exists:%{i}._spf.%{d} -all",
	"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
	"v=spf1 ptr -all",
	"v=spf1 ptr:example.com -all",
	"v=spf1 redirect=_spf.example.com",
	"v=spf1 -all exp=explain._spf.%{d}",
	"v=spf1 -all foo=bar",
	"v=spf1 ip4:192.0.2.1 ip6:::1 +all",
	"v=spf1 a:example.com. -all",
	"v=spf1 include:%{d}.%%.%_.%-.example.com -all",
	"v=spf1 a/0 -all",
	"v=spf1 mx//0 -all",
	"v=spf1 include:xn--bcher-kva.example -all",
}

var badRecords = []string{
	"",
	"v=spf",
	"v=spf10",
	"spf1 -all",
	"v=spf1 -foo",
	"v=spf1 all:x",
	"v=spf1 include",
	"v=spf1 include:",
	"v=spf1 include:com",
	"v=spf1 include:example.123",
	"v=spf1 ip4",
	"v=spf1 ip4:",
	"v=spf1 ip4:300.1.1.1",
	"v=spf1 ip4:192.0.2.0/33",
	"v=spf1 ip4:192.0.2.0/024",
	"v=spf1 ip4:2001:db8::1",
	"v=spf1 ip6:192.0.2.1",
	"v=spf1 ip6:2001:db8::/129",
	"v=spf1 a/33",
	"v=spf1 a//129",
	"v=spf1 a:example.com/",
	"v=spf1 redirect=a.example.com redirect=b.example.com",
	"v=spf1 exp=a.example.com exp=b.example.com",
	"v=spf1 redirect=",
	"v=spf1 exists:%{x}.example.com",
	"v=spf1 exists:%{d",
	"v=spf1 exists:%example.com",
	"v=spf1 exists:%{d5q}.example.com",
	"v=spf1 1foo=bar",
	"v=spf1 -all foo=b\x01r",
	"v=spf1 ptr/24",
	"v=spf1 +",
	"v=spf1 include:bücher.example -all",
}

func TestParse(t *testing.T) {
	good := func(s string) {
		t.Helper()
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	bad := func(s string) {
		t.Helper()
		if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax", s, err)
		}
	}
	for _, s := range goodRecords {
		good(s)
	}
	for _, s := range badRecords {
		bad(s)
	}
}

func TestParseFields(t *testing.T) {
	r, err := Parse("v=spf1 -a:ex.example/24//64 ~ip4:192.0.2.0/24 redirect=r.example exp=e.example x-y=z")
	if err != nil {
		t.Fatal(err)
	}
	want := &Record{
		Directives: []Directive{
			{Qualifier: '-', Mechanism: "a", Domain: "ex.example", CIDR4: 24, CIDR6: 64},
			{Qualifier: '~', Mechanism: "ip4", Network: netip.MustParsePrefix("192.0.2.0/24"), CIDR4: -1, CIDR6: -1},
		},
		Redirect:    "r.example",
		Explanation: "e.example",
		Unknown:     []Modifier{{"x-y", "z"}},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
}

func TestIsSPF(t *testing.T) {
	for s, want := range map[string]bool{
		"v=spf1": true, "v=spf1 -all": true, "V=SpF1 a": true,
		"v=spf10": false, "v=spf1\t-all": false, " v=spf1": false, "": false,
	} {
		if got := IsSPF(s); got != want {
			t.Errorf("IsSPF(%q) = %v", s, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range append(append([]string{}, goodRecords...), badRecords...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		if !IsSPF(s) {
			t.Fatalf("parsed %q which is not an SPF record", s)
		}
		for _, d := range r.Directives {
			if d.Mechanism == "" {
				t.Fatalf("empty mechanism in %q", s)
			}
		}
	})
}
