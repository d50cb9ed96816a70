package dmarc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

func txt(name, s string) string { return fmt.Sprintf("%s 300 IN TXT %q", name, s) }

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, domain string
		records      []string
		policy, sub  string
		recordDomain string
		want         []error
	}{
		{"own record", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject; sp=quarantine")}, "reject", "quarantine", "ex.test", nil},
		{"sp defaults to p", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject")}, "reject", "reject", "ex.test", nil},
		{"absent p is none", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; rua=mailto:d@ex.test")}, "none", "none", "ex.test", []error{ErrPolicyNone}},
		{"inherited sp", "mail.ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject; sp=quarantine")}, "quarantine", "quarantine", "ex.test", nil},
		{"inherited p", "a.b.ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject")}, "reject", "reject", "ex.test", nil},
		{"fewest labels wins", "a.b.ex.test", []string{
			txt("_dmarc.b.ex.test.", "v=DMARC1; p=none"),
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject"),
		}, "reject", "reject", "ex.test", nil},
		{"psd=n stops the walk", "a.b.ex.test", []string{
			txt("_dmarc.b.ex.test.", "v=DMARC1; p=quarantine; psd=n"),
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject"),
		}, "quarantine", "quarantine", "b.ex.test", nil},
		{"psd=y: org domain below it", "a.b.ex.test", []string{
			txt("_dmarc.ex.test.", "v=DMARC1; p=quarantine"),
			txt("_dmarc.test.", "v=DMARC1; p=reject; psd=y"),
		}, "quarantine", "quarantine", "ex.test", nil},
		{"psd=y: a record between org domain and author is not used", "a.b.ex.test", []string{
			txt("_dmarc.b.ex.test.", "v=DMARC1; p=quarantine"),
			txt("_dmarc.test.", "v=DMARC1; p=reject; psd=y"),
		}, "reject", "reject", "test", nil},
		{"psd=y policy when org has none", "a.ex.test", []string{
			txt("_dmarc.test.", "v=DMARC1; p=reject; psd=y"),
		}, "reject", "reject", "test", nil},
		{"missing", "ex.test", []string{txt("ex.test.", "v=spf1 -all")}, "", "", "", []error{ErrNoRecord}},
		{"other txt ignored", "ex.test", []string{txt("_dmarc.ex.test.", "hello"), txt("_dmarc.ex.test.", "v=DMARC1; p=reject")}, "reject", "reject", "ex.test", nil},
		{"multiple", "ex.test", []string{
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject"),
			txt("_dmarc.ex.test.", "v=DMARC1; p=none"),
		}, "", "", "", []error{ErrMultipleRecords}},
		{"multiple, parent applies", "mail.ex.test", []string{
			txt("_dmarc.mail.ex.test.", "v=DMARC1; p=reject"),
			txt("_dmarc.mail.ex.test.", "v=DMARC1; p=none"),
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject"),
		}, "reject", "reject", "ex.test", []error{ErrMultipleRecords}},
		{"syntax", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1 p=reject")}, "", "", "", []error{ErrSyntax}},
		{"none", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=none")}, "none", "none", "ex.test", []error{ErrPolicyNone}},
		{"testing", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject; t=y")}, "reject", "reject", "ex.test", []error{ErrTesting}},
		{"internal rua", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject; rua=mailto:d@reports.ex.test")}, "reject", "reject", "ex.test", nil},
		{"authorised rua", "ex.test", []string{
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject; rua=mailto:d@other.test; ruf=mailto:f@other.test"),
			txt("ex.test._report._dmarc.other.test.", "v=DMARC1;"),
		}, "reject", "reject", "ex.test", nil},
		{"unauthorised rua", "ex.test", []string{
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject; rua=mailto:d@other.test"),
		}, "reject", "reject", "ex.test", []error{ErrReportUnauthorized}},
		{"obsolete tag", "ex.test", []string{txt("_dmarc.ex.test.", "v=DMARC1; p=reject; pct=100")}, "reject", "reject", "ex.test", []error{ErrObsoleteTag}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Check(context.Background(), resolver.NewMock(c.records...), c.domain)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Policy != c.policy || rep.SubdomainPolicy != c.sub || rep.RecordDomain != c.recordDomain {
				t.Errorf("policy %q/%q at %q, want %q/%q at %q", rep.Policy, rep.SubdomainPolicy, rep.RecordDomain, c.policy, c.sub, c.recordDomain)
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

func TestWalkTargets(t *testing.T) {
	got := walkTargets("a.b.c.d.e.f.g.h.i.j.mail.example.com")
	want := []string{"a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
		"i.j.mail.example.com", "j.mail.example.com", "mail.example.com", "example.com", "com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v (RFC 9989 4.10 example)", got, want)
	}
}

func TestCheckDNSError(t *testing.T) {
	m := resolver.NewMock().Fail("_dmarc.ex.test")
	if _, err := Check(context.Background(), m, "ex.test"); !errors.Is(err, resolver.ErrDNS) {
		t.Fatalf("err %v", err)
	}
}
