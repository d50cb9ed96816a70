package msgauth

import (
	"context"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

type sigWant struct {
	domain, selector string
	result           Result
	aligned          bool
	err              string // substring of Err
}

func TestVerifyDKIM(t *testing.T) {
	strictDMARC := `_dmarc.football.example.com. 300 IN TXT "v=DMARC1; p=reject; adkim=s"`
	for _, c := range []struct {
		name      string
		msg       string
		records   []string
		fail      []string
		signature []sigWant
		aligned   bool
		mode      Mode
	}{
		{name: "RFC 6376 A.2, relaxed alignment of example.com with football.example.com",
			msg: rfc6376Message, records: []string{rfc6376Key},
			signature: []sigWant{{"example.com", "brisbane", ResultPass, true, ""}}, aligned: true, mode: Relaxed},
		{name: "RFC 6376 A.2 under adkim=s: passes, not aligned",
			msg: rfc6376Message, records: []string{rfc6376Key, strictDMARC},
			signature: []sigWant{{"example.com", "brisbane", ResultPass, false, ""}}, mode: Strict},
		{name: "RFC 8463 A.3, Ed25519 and RSA",
			msg: rfc8463Message, records: []string{rfc8463Ed25519Key, rfc8463RSAKey, strictDMARC},
			signature: []sigWant{{"football.example.com", "brisbane", ResultPass, true, ""}, {"football.example.com", "test", ResultPass, true, ""}},
			aligned:   true, mode: Strict},
		{name: "key in DNS is not the signing key",
			msg: rfc6376Message, records: []string{strings.Replace(rfc8463RSAKey, "test._domainkey.football.", "brisbane._domainkey.", 1)},
			signature: []sigWant{{"example.com", "brisbane", ResultFail, false, "signature did not verify"}}, mode: Relaxed},
		{name: "Ed25519 key swapped for another Ed25519 key",
			msg: rfc8463Message, records: []string{strings.Replace(rfc8463Ed25519Key, "11qY", "22qY", 1), rfc8463RSAKey},
			signature: []sigWant{{"football.example.com", "brisbane", ResultFail, false, "signature"}, {"football.example.com", "test", ResultPass, true, ""}},
			aligned:   true, mode: Relaxed},
		{name: "body changed in transit",
			msg: strings.Replace(rfc6376Message, "We lost", "We won", 1), records: []string{rfc6376Key},
			signature: []sigWant{{"example.com", "brisbane", ResultFail, false, "body hash did not verify"}}, mode: Relaxed},
		{name: "no key record (NXDOMAIN)",
			msg:       rfc6376Message,
			signature: []sigWant{{"example.com", "brisbane", ResultPermError, false, "no key for signature"}}, mode: Relaxed},
		{name: "revoked key (empty p=)",
			msg: rfc6376Message, records: []string{`brisbane._domainkey.example.com. 300 IN TXT "v=DKIM1; p="`},
			signature: []sigWant{{"example.com", "brisbane", ResultPermError, false, "key revoked"}}, mode: Relaxed},
		{name: "resolver fails (SERVFAIL)",
			msg: rfc6376Message, fail: []string{"brisbane._domainkey.example.com"},
			signature: []sigWant{{"example.com", "brisbane", ResultTempError, false, "key unavailable"}}, mode: Relaxed},
		{name: "signature without b= and bh=",
			msg:       "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=From\r\n" + unsignedMessage,
			signature: []sigWant{{"example.com", "sel", ResultPermError, false, "missing required tag"}}, mode: Relaxed},
		{name: "signature of version 2",
			msg:       "DKIM-Signature: v=2; a=rsa-sha256; d=example.com; s=sel\r\n" + unsignedMessage,
			signature: []sigWant{{"example.com", "sel", ResultPermError, false, "version"}}, mode: Relaxed},
		{name: "unsigned", msg: unsignedMessage, mode: Relaxed},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := resolver.NewMock(c.records...).Fail(c.fail...)
			rep := Verify(context.Background(), crlf(c.msg), Options{Resolver: r})
			if len(rep.Signatures) != len(c.signature) {
				t.Fatalf("%d signatures, want %d: %+v", len(rep.Signatures), len(c.signature), rep.Signatures)
			}
			for i, w := range c.signature {
				s := rep.Signatures[i]
				if s.Domain != w.domain || s.Selector != w.selector || s.Result != w.result || s.Aligned != w.aligned || !strings.Contains(s.Err, w.err) {
					t.Errorf("signature %d: %+v, want %+v", i, s, w)
				}
				if (s.Result == ResultPass) != (s.Err == "") {
					t.Errorf("signature %d: result %s with error %q", i, s.Result, s.Err)
				}
			}
			if rep.Aligned != c.aligned || rep.Alignment != c.mode || rep.FromDomain != "football.example.com" {
				t.Errorf("aligned %v mode %s from %q, want %v %s football.example.com", rep.Aligned, rep.Alignment, rep.FromDomain, c.aligned, c.mode)
			}
			t.Logf("%+v problems %q", rep.Signatures, rep.Problems)
		})
	}
}

func TestDKIMDomain(t *testing.T) {
	r := resolver.NewMock(rfc6376Key, rfc8463Ed25519Key, rfc8463RSAKey)
	for _, c := range []struct {
		msg, domain string
		ok          bool
		why         string
	}{
		{rfc6376Message, "", true, ""},
		{rfc6376Message, "example.com", true, ""},
		{rfc6376Message, "football.example.com", true, ""}, // relaxed: same organisational domain
		{rfc6376Message, "example.org", false, "d=example.com s=brisbane: pass, but not aligned with example.org (relaxed)"},
		{strings.Replace(rfc6376Message, "We lost", "We won", 1), "example.com", false, "d=example.com s=brisbane: fail (dkim: body hash did not verify)"},
		{rfc8463Message, "football.example.com", true, ""},
		{unsignedMessage, "example.com", false, "the message carries no DKIM-Signature (dkim_domain example.com)"},
		{"no colon here\r\n\r\nbody\r\n", "example.com", false, "d= s=: permerror (malformed header: line 1 is not a header field"},
	} {
		rep := Verify(context.Background(), crlf(c.msg), Options{Resolver: r, DKIMDomain: c.domain})
		if rep.DKIMDomainOK != c.ok || !strings.Contains(rep.DKIMDomainWhy, c.why) || (c.ok && rep.DKIMDomainWhy != "") {
			t.Errorf("dkim_domain %q: ok %v %q, want %v %q", c.domain, rep.DKIMDomainOK, rep.DKIMDomainWhy, c.ok, c.why)
		}
	}
}

func TestAligned(t *testing.T) {
	for _, c := range []struct {
		sdid, from string
		mode       Mode
		want       bool
	}{
		{"example.com", "example.com", Strict, true},
		{"Example.COM.", "example.com", Strict, true},
		{"mail.example.com", "example.com", Strict, false},
		{"mail.example.com", "example.com", Relaxed, true},
		{"example.com", "news.example.com", Relaxed, true},
		{"example.net", "example.com", Relaxed, false},
		{"a.example.co.uk", "b.example.co.uk", Relaxed, true},
		{"example.co.uk", "other.co.uk", Relaxed, false}, // co.uk is a public suffix
		{"co.uk", "example.co.uk", Relaxed, false},
		{"", "example.com", Relaxed, false},
		{"mail.example.test", "example.test", Relaxed, true},
	} {
		if got := Aligned(c.sdid, c.from, c.mode); got != c.want {
			t.Errorf("Aligned(%q, %q, %s) = %v, want %v", c.sdid, c.from, c.mode, got, c.want)
		}
	}
}

func TestFromDomain(t *testing.T) {
	good := map[string]string{
		"From: a@Example.COM\r\n\r\n":                              "example.com",
		"From: \"Joe; (not a comment)\" <joe@example.org>\r\n\r\n": "example.org",
		"from: (c) joe@example.org\r\n\r\n":                        "example.org",
		"From: Joe\r\n <joe@example.net>\r\n\r\n":                  "example.net",
	}
	for msg, want := range good {
		fs, err := headerFields([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fromDomain(fs); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", msg, got, err, want)
		}
	}
	for _, msg := range []string{
		"To: a@example.com\r\n\r\n",
		"From: a@example.com\r\nFrom: b@example.com\r\n\r\n",
		"From: a@example.com, b@example.com\r\n\r\n",
		"From: not an address\r\n\r\n",
		"From: <a@>\r\n\r\n",
	} {
		fs, _ := headerFields([]byte(msg))
		if d, err := fromDomain(fs); err == nil {
			t.Errorf("%q: domain %q, want an error", msg, d)
		}
	}
}
