package dkim

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// rsaKey returns a base64 SubjectPublicKeyInfo of an RSA key with a modulus
// of the given length (not a real key: only its size matters here).
func rsaKey(bits int) string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(0x10001))
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func pkcs1Key(bits int) string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(0x10001))
	return base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: n, E: 65537}))
}

func edKey() string {
	return base64.StdEncoding.EncodeToString(make([]byte, ed25519.PublicKeySize))
}

func goodRecords() []string {
	k := rsaKey(2048)
	return []string{
		"v=DKIM1; k=rsa; p=" + k,
		"p=" + k,
		"v=DKIM1; p=" + k + ";",
		"v=DKIM1; k=rsa; h=sha256; s=email; t=s; n=notes; p=" + k,
		"v=DKIM1; p=" + k[:40] + " " + k[40:],
		"v=DKIM1; k=ed25519; p=" + edKey(),
		"v=DKIM1; p=",
		"k=rsa; p=" + pkcs1Key(2048),
		"v=DKIM1; k=rsa ; p = " + k + " ; x_future=1",
	}
}

var badRecords = []string{
	"",
	"v=DKIM1",
	"v=DKIM1; k=rsa",
	"k=rsa; v=DKIM1; p=",
	"v=DKIM2; p=",
	"v=DKIM1; p=; p=",
	"v=DKIM1;; p=",
	"v=DKIM1; 1p=",
	"v=DKIM1; p=!!!",
	"v=DKIM1; p",
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
		if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrBadKey) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax or ErrBadKey", s, err)
		}
	}
	for _, s := range goodRecords() {
		good(s)
	}
	for _, s := range badRecords {
		bad(s)
	}
}

func TestKeyBits(t *testing.T) {
	for _, c := range []struct {
		rec  string
		bits int
		err  error
	}{
		{"p=" + rsaKey(2048), 2048, nil},
		{"p=" + rsaKey(1024), 1024, nil},
		{"p=" + pkcs1Key(4096), 4096, nil},
		{"k=ed25519; p=" + edKey(), 256, nil},
		{"p=", 0, nil},
		{"k=ed25519; p=" + rsaKey(2048), 0, ErrBadKey},
		{"k=rsa; p=" + edKey(), 0, ErrBadKey},
		{"k=dsa; p=" + edKey(), 0, ErrUnknownKeyType},
	} {
		r, err := Parse(c.rec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.rec, err)
		}
		bits, err := r.KeyBits()
		if bits != c.bits || !errors.Is(err, c.err) {
			t.Errorf("%.40s: %d bits, %v; want %d, %v", c.rec, bits, err, c.bits, c.err)
		}
	}
}

func TestCheck(t *testing.T) {
	rec := func(s string) string {
		// split like a zone file must: strings of at most 255 characters
		var parts []string
		for len(s) > 200 {
			parts = append(parts, fmt.Sprintf("%q", s[:200]))
			s = s[200:]
		}
		parts = append(parts, fmt.Sprintf("%q", s))
		return "s1._domainkey.ex.test. 300 IN TXT " + strings.Join(parts, " ")
	}
	for _, c := range []struct {
		name    string
		records []string
		keyType string
		bits    int
		want    []error
	}{
		{"good rsa", []string{rec("v=DKIM1; k=rsa; p=" + rsaKey(2048))}, "rsa", 2048, nil},
		{"good ed25519", []string{rec("v=DKIM1; k=ed25519; p=" + edKey())}, "ed25519", 256, nil},
		{"weak", []string{rec("v=DKIM1; p=" + rsaKey(1024))}, "rsa", 1024, []error{ErrKeyWeak}},
		{"too short", []string{rec("v=DKIM1; p=" + rsaKey(768))}, "rsa", 768, []error{ErrKeyTooShort}},
		{"revoked", []string{rec("v=DKIM1; p=")}, "rsa", 0, []error{ErrRevoked}},
		{"missing", nil, "", 0, []error{ErrNoRecord}},
		{"multiple", []string{rec("p=" + edKey()), rec("p=")}, "", 0, []error{ErrMultipleRecords}},
		{"syntax", []string{rec("v=DKIM1; p=; p=")}, "", 0, []error{ErrSyntax}},
		{"sha1 only", []string{rec("v=DKIM1; h=sha1; p=" + rsaKey(2048))}, "rsa", 2048, []error{ErrSHA1Only}},
		{"testing", []string{rec("v=DKIM1; t=y:s; p=" + rsaKey(2048))}, "rsa", 2048, []error{ErrTesting}},
		{"not email", []string{rec("v=DKIM1; s=other; p=" + rsaKey(2048))}, "rsa", 2048, []error{ErrNotForEmail}},
		{"unknown type", []string{rec("v=DKIM1; k=dsa; p=" + edKey())}, "dsa", 0, []error{ErrUnknownKeyType}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := Check(context.Background(), resolver.NewMock(c.records...), "ex.test", "s1")
			if err != nil {
				t.Fatal(err)
			}
			if k.KeyType != c.keyType || k.Bits != c.bits {
				t.Errorf("key %q %d, want %q %d", k.KeyType, k.Bits, c.keyType, c.bits)
			}
			if len(k.Problems) != len(c.want) {
				t.Fatalf("problems %v, want %v", k.Problems, c.want)
			}
			for i, w := range c.want {
				if !errors.Is(k.Problems[i], w) {
					t.Errorf("problem %d: %v, want %v", i, k.Problems[i], w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range append(goodRecords(), badRecords...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrBadKey) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		bits, err := r.KeyBits()
		if err == nil && bits < 0 {
			t.Fatalf("negative size")
		}
	})
}
