package tlsrpt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

var goodRecords = []string{
	"v=TLSRPTv1; rua=mailto:reports@example.com",
	"v=TLSRPTv1;rua=mailto:reports@example.com;",
	"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
	"v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x",
	"v=TLSRPTv1; rua=mailto:a@example.com; ext_1=value",
	"v=TLSRPTv1 ; rua=mailto:a@example.com",
}

var badRecords = []string{
	"",
	"v=TLSRPTv1",
	"v=TLSRPTv1;",
	"v=TLSRPTv2; rua=mailto:a@example.com",
	"v=tlsrptv1; rua=mailto:a@example.com",
	"v=TLSRPTv1; rua=",
	"v=TLSRPTv1; rua=http://r.example.com/x",
	"v=TLSRPTv1; rua=ftp://r.example.com/x",
	"v=TLSRPTv1; rua=mailto:nobody",
	"v=TLSRPTv1; rua=https:///nohost",
	"v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
	"v=TLSRPTv1; rua=mailto:a@example.com;; x=y",
	"v=TLSRPTv1; ext=1",
	"v=TLSRPTv1; rua=mailto:a@example.com; bad name=1",
	"rua=mailto:a@example.com; v=TLSRPTv1",
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
		if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrBadURI) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax or ErrBadURI", s, err)
		}
	}
	for _, s := range goodRecords {
		good(s)
	}
	for _, s := range badRecords {
		bad(s)
	}
	r, _ := Parse(goodRecords[3])
	if want := []string{"mailto:a@example.com", "https://r.example.com/x"}; !reflect.DeepEqual(r.RUA, want) {
		t.Errorf("rua %v, want %v", r.RUA, want)
	}
	if _, err := Parse("v=TLSRPTv1; rua=http://r.example.com/x"); !errors.Is(err, ErrBadURI) {
		t.Errorf("http: %v, want ErrBadURI", err)
	}
}

func TestCheck(t *testing.T) {
	rec := func(s string) string { return fmt.Sprintf("_smtp._tls.ex.test. 300 IN TXT %q", s) }
	for _, c := range []struct {
		name    string
		records []string
		want    error
	}{
		{"good", []string{rec(goodRecords[0]), rec("unrelated")}, nil},
		{"missing", nil, ErrNoRecord},
		{"multiple", []string{rec(goodRecords[0]), rec(goodRecords[2])}, ErrMultipleRecords},
		{"syntax", []string{rec("v=TLSRPTv1;")}, ErrSyntax},
		{"bad uri", []string{rec("v=TLSRPTv1; rua=http://x.example/")}, ErrBadURI},
	} {
		probs, err := Check(context.Background(), resolver.NewMock(c.records...), "ex.test")
		if err != nil {
			t.Fatal(err)
		}
		if c.want == nil && len(probs) != 0 || c.want != nil && (len(probs) != 1 || !errors.Is(probs[0], c.want)) {
			t.Errorf("%s: %v, want %v", c.name, probs, c.want)
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
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(r.RUA) == 0 {
			t.Fatalf("no rua accepted in %q", s)
		}
	})
}
