package spf

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func txt(name, s string) string { return fmt.Sprintf("%s 300 IN TXT %q", name, s) }

func TestCheck(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name          string
		records       []string
		lookups, void int
		want          []error
	}{
		{"good", []string{
			txt("ex.test.", "v=spf1 mx include:_spf.ex.test -all"),
			"ex.test. 300 IN MX 10 mx.ex.test.",
			txt("_spf.ex.test.", "v=spf1 ip4:192.0.2.0/24 a:mx.ex.test ~all"),
			"mx.ex.test. 300 IN A 192.0.2.1",
			txt("ex.test.", "some-verification=abc"),
		}, 3, 0, nil},
		{"missing", []string{txt("ex.test.", "google-site-verification=x")}, 0, 0, []error{ErrNoRecord}},
		{"multiple", []string{txt("ex.test.", "v=spf1 -all"), txt("ex.test.", "v=spf1 mx -all")}, 0, 0, []error{ErrMultipleRecords}},
		{"syntax", []string{txt("ex.test.", "v=spf1 ip4:1.2.3 -all")}, 0, 0, []error{ErrSyntax}},
		{"plus all", []string{txt("ex.test.", "v=spf1 +all")}, 0, 0, []error{ErrPassAll}},
		{"neutral all", []string{txt("ex.test.", "v=spf1 ip4:192.0.2.1 ?all")}, 0, 0, []error{ErrNeutralAll}},
		{"no all", []string{txt("ex.test.", "v=spf1 ip4:192.0.2.1")}, 0, 0, []error{ErrNoAll}},
		{"ptr", []string{txt("ex.test.", "v=spf1 ptr -all")}, 1, 0, []error{ErrPTR}},
		{"redirect all", []string{
			txt("ex.test.", "v=spf1 redirect=_spf.ex.test"),
			txt("_spf.ex.test.", "v=spf1 ip4:192.0.2.1 +all"),
		}, 1, 0, []error{ErrPassAll}},
		{"redirect ignored with all", []string{
			txt("ex.test.", "v=spf1 -all redirect=_spf.ex.test"),
		}, 0, 0, nil},
		{"include missing", []string{txt("ex.test.", "v=spf1 include:nothing.ex.test -all")}, 1, 1, []error{ErrIncludeNoRecord}},
		{"void lookups", []string{txt("ex.test.", "v=spf1 a:a.ex.test a:b.ex.test mx:c.ex.test -all")}, 3, 3, []error{ErrTooManyVoidLookups}},
		{"aaaa not void", []string{txt("ex.test.", "v=spf1 a:a.ex.test a:a.ex.test a:a.ex.test -all"), "a.ex.test. 300 IN AAAA 2001:db8::1"}, 3, 0, nil},
		{"eleven lookups", append([]string{
			txt("ex.test.", "v=spf1 include:i1.ex.test include:i2.ex.test include:i3.ex.test -all"),
			txt("i1.ex.test.", "v=spf1 include:i4.ex.test include:i5.ex.test include:i6.ex.test -all"),
			txt("i2.ex.test.", "v=spf1 include:i7.ex.test include:i8.ex.test -all"),
			txt("i3.ex.test.", "v=spf1 include:i9.ex.test include:i10.ex.test include:i11.ex.test -all"),
		}, leaves(4, 11)...), 11, 0, []error{ErrTooManyLookups}},
		{"ten lookups", append([]string{
			txt("ex.test.", "v=spf1 include:i1.ex.test include:i2.ex.test include:i3.ex.test -all"),
			txt("i1.ex.test.", "v=spf1 include:i4.ex.test include:i5.ex.test include:i6.ex.test -all"),
			txt("i2.ex.test.", "v=spf1 include:i7.ex.test include:i8.ex.test -all"),
			txt("i3.ex.test.", "v=spf1 include:i9.ex.test include:i10.ex.test -all"),
		}, leaves(4, 10)...), 10, 0, nil},
		{"loop", []string{
			txt("ex.test.", "v=spf1 include:a.ex.test -all"),
			txt("a.ex.test.", "v=spf1 include:ex.test -all"),
		}, 11, 0, []error{ErrTooManyLookups}},
		{"macros not expanded", []string{txt("ex.test.", "v=spf1 exists:%{i}.bl.ex.test include:%{d}.x.ex.test -all")}, 2, 0, nil},
		{"many mx", append([]string{txt("ex.test.", "v=spf1 mx -all")}, mxs(11)...), 1, 0, []error{ErrTooManyMXNames}},
		{"include syntax", []string{
			txt("ex.test.", "v=spf1 include:a.ex.test -all"),
			txt("a.ex.test.", "v=spf1 ip4:nope -all"),
		}, 1, 0, []error{ErrSyntax}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Check(ctx, resolver.NewMock(c.records...), "ex.test")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Lookups != c.lookups || rep.VoidLookups != c.void {
				t.Errorf("lookups %d void %d, want %d %d", rep.Lookups, rep.VoidLookups, c.lookups, c.void)
			}
			if len(rep.Problems) != len(c.want) {
				t.Fatalf("problems %v, want %v", rep.Problems, c.want)
			}
			for i, w := range c.want {
				if !errors.Is(rep.Problems[i], w) {
					t.Errorf("problem %d: %v, want %v", i, rep.Problems[i], w)
				}
			}
		})
	}
}

func TestCheckDNSError(t *testing.T) {
	m := resolver.NewMock(txt("ex.test.", "v=spf1 include:a.ex.test -all")).Fail("a.ex.test TXT")
	_, err := Check(context.Background(), m, "ex.test")
	if !errors.Is(err, resolver.ErrDNS) {
		t.Fatalf("err %v, want ErrDNS", err)
	}
}

func leaves(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, txt(fmt.Sprintf("i%d.ex.test.", i), "v=spf1 ip4:192.0.2.1 -all"))
	}
	return out
}

func mxs(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("ex.test. 300 IN MX %d mx%d.ex.test.", i, i))
	}
	return out
}
