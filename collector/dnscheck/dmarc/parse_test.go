package dmarc

import (
	"errors"
	"reflect"
	"testing"
)

var goodRecords = []string{
	"v=DMARC1",
	"v=DMARC1;",
	"v=DMARC1; p=reject",
	"v=DMARC1;p=none;",
	"v=DMARC1 ; p = quarantine ; sp=reject",
	"v=DMARC1; p=reject; sp=quarantine; np=reject; psd=n; t=y; adkim=s; aspf=r; fo=1:d:s",
	"v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@example.net; ruf=mailto:f@example.com",
	"v=DMARC1; p=reject; rua=mailto:a@example.com!10m",
	"v=DMARC1; p=reject; rua=https://reports.example.com/dmarc",
	"v=DMARC1; p=REJECT",
	"v=DMARC1; p=reject; future=thing",
	"v=DMARC1; p=reject; pct=50",
	"v=DMARC1; rua=mailto:a@example.com; p=bogus",
	"v=DMARC1; p=reject; adkim=x",
	"v=DMARC1; p=reject; rua=notauri",
	"v=DMARC1; psd=y",
}

var badRecords = []string{
	"",
	";",
	"v=DMARC2; p=reject",
	"v=dmarc1; p=reject",
	"p=reject; v=DMARC1",
	"v=DMARC1 p=reject",
	"V=DMARC1; p=reject",
	"v=DMARC1;; p=reject",
	"v=DMARC1; p=reject; p=none",
	"v=DMARC1; p=",
	"v=DMARC1; =reject",
	"v=DMARC1; p1=reject",
	"v=DMARC1; p=bogus",
	"v=DMARC1; sp=bogus; p=reject",
	"v=DMARC1; p=re\x00ject",
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
		_, err := Parse(s)
		if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax or ErrInvalidPolicy", s, err)
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
	r, err := Parse("v=DMARC1; p=Reject; sp=none; np=quarantine; psd=n; t=y; adkim=s; aspf=s; fo=0:d; rua=mailto:a@example.com; ruf=mailto:f@example.net")
	if err != nil {
		t.Fatal(err)
	}
	want := &Record{Policy: "reject", SubdomainPolicy: "none", NonexistentPolicy: "quarantine", PSD: "n", Testing: true,
		ADKIM: "s", ASPF: "s", FO: "0:d", RUA: []string{"mailto:a@example.com"}, RUF: []string{"mailto:f@example.net"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
}

func TestParseProblems(t *testing.T) {
	for s, want := range map[string]error{
		"v=DMARC1; p=reject; pct=50":                        ErrObsoleteTag,
		"v=DMARC1; p=reject; adkim=x":                       ErrInvalidTag,
		"v=DMARC1; p=reject; fo=0:1":                        ErrInvalidTag,
		"v=DMARC1; p=reject; rua=notauri":                   ErrInvalidURI,
		"v=DMARC1; p=reject; rua=mailto:nobody":             ErrInvalidURI,
		"v=DMARC1; p=bogus; rua=mailto:a@example.com":       ErrInvalidPolicy,
		"v=DMARC1; p=reject; np=bogus; rua=mailto:a@x.test": ErrInvalidPolicy,
	} {
		r, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if len(r.Problems) != 1 || !errors.Is(r.Problems[0], want) {
			t.Errorf("Parse(%q) problems %v, want %v", s, r.Problems, want)
		}
	}
	// RFC 9989 4.10.1: an invalid policy with a valid rua is read as p=none.
	r, _ := Parse("v=DMARC1; p=bogus; rua=mailto:a@example.com")
	if r.Policy != "none" {
		t.Errorf("policy %q, want none", r.Policy)
	}
}

func TestURIHost(t *testing.T) {
	for in, want := range map[string]string{
		"mailto:a@Example.COM":     "example.com",
		"mailto:a@example.com!10m": "example.com",
		"https://r.example.net/x":  "r.example.net",
		"mailto:broken":            "",
	} {
		if got := URIHost(in); got != want {
			t.Errorf("URIHost(%q) = %q, want %q", in, got, want)
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
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		switch r.Policy {
		case "", "none", "quarantine", "reject":
		default:
			t.Fatalf("policy %q", r.Policy)
		}
	})
}
