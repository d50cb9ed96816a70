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
		// psd=y below the public suffix ("test" here, the list's "*" rule)
		{"psd=y: org domain below it", "a.b.c.ex.test", []string{
			txt("_dmarc.c.ex.test.", "v=DMARC1; p=quarantine"),
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject; psd=y"),
		}, "quarantine", "quarantine", "c.ex.test", nil},
		{"psd=y: a record between org domain and author is not used", "a.b.c.ex.test", []string{
			txt("_dmarc.b.c.ex.test.", "v=DMARC1; p=quarantine"),
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject; psd=y"),
		}, "reject", "reject", "ex.test", nil},
		{"psd=y policy when org has none", "a.c.ex.test", []string{
			txt("_dmarc.ex.test.", "v=DMARC1; p=reject; psd=y"),
		}, "reject", "reject", "ex.test", nil},
		// the walk stops at the public suffix (RFC 7489 6.6.3)
		{"record at the public suffix not used", "mail.ex.test", []string{
			txt("_dmarc.test.", "v=DMARC1; p=reject; psd=y"),
		}, "", "", "", []error{ErrNoRecord}},
		{"record at a listed public suffix not used", "mail.example.co.uk", []string{
			txt("_dmarc.co.uk.", "v=DMARC1; p=reject"),
		}, "", "", "", []error{ErrNoRecord}},
		{"org domain under a listed suffix", "mail.example.co.uk", []string{
			txt("_dmarc.example.co.uk.", "v=DMARC1; p=reject"),
		}, "reject", "reject", "example.co.uk", nil},
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
	for _, c := range []struct {
		domain string
		want   []string
	}{
		// RFC 9989 4.10's example, without the public suffix "com"
		{"a.b.c.d.e.f.g.h.i.j.mail.example.com", []string{"a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com",
			"h.i.j.mail.example.com", "i.j.mail.example.com", "j.mail.example.com", "mail.example.com", "example.com"}},
		{"mail.127.in-addr.arpa", []string{"mail.127.in-addr.arpa", "127.in-addr.arpa"}}, // never _dmarc.in-addr.arpa
		{"a.b.example.co.uk", []string{"a.b.example.co.uk", "b.example.co.uk", "example.co.uk"}},
		{"example.com", []string{"example.com"}},
		{"good.test", []string{"good.test"}}, // unlisted TLD: "test" is the suffix
		{"co.uk", []string{"co.uk"}},         // a public suffix itself: only its own record
		{"com", []string{"com"}},
	} {
		if got := walkTargets(c.domain); !reflect.DeepEqual(got, c.want) {
			t.Errorf("walkTargets(%s) = %v, want %v", c.domain, got, c.want)
		}
	}
}

// A failed lookup anywhere in the walk (SERVFAIL, REFUSED, timeout) is a
// lookup failure, never a finding; names at or above the public suffix are
// not asked, so their failures do not count.
func TestCheckDNSError(t *testing.T) {
	for _, c := range []struct{ domain, fail string }{
		{"ex.test", "_dmarc.ex.test"},
		{"mail.ex.test", "_dmarc.ex.test"}, // during the tree walk
	} {
		rep, err := Check(context.Background(), resolver.NewMock().Fail(c.fail), c.domain)
		if !errors.Is(err, resolver.ErrDNS) {
			t.Errorf("%s, %s failing: err %v", c.domain, c.fail, err)
		}
		if len(rep.Problems) != 0 {
			t.Errorf("%s: a failed lookup reported as findings %v", c.domain, rep.Problems)
		}
	}
	rep, err := Check(context.Background(), resolver.NewMock().Fail("_dmarc.in-addr.arpa", "_dmarc.arpa"), "mail.127.in-addr.arpa")
	if err != nil || len(rep.Problems) != 1 || !errors.Is(rep.Problems[0], ErrNoRecord) {
		t.Errorf("mail.127.in-addr.arpa: err %v problems %v, want only dmarc_missing", err, rep.Problems)
	}
}
