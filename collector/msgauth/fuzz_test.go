package msgauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// The seeds are the messages of the table tests, good and bad.
var fuzzSeeds = []string{
	rfc6376Message, rfc8463Message, unsignedMessage,
	strings.Replace(rfc6376Message, "We lost", "We won", 1),
	"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=From\r\n" + unsignedMessage,
	"DKIM-Signature: v=2; a=rsa-sha256; d=example.com; s=sel\r\n" + unsignedMessage,
	"DKIM-Signature: v=1; v=1; d=\r\n s=;;;\r\n\r\n",
	"DKIM-Signature: v=1; a=ed25519-sha256; d=football.example.com; s=brisbane; h=from; bh=; b=!!\r\nFrom: a@b\r\n\r\n",
	"Authentication-Results: mx.example.com; dkim=pass (2048-bit key; unprotected) header.d=example.com\r\n" + unsignedMessage,
	"Authentication-Results: mx.example.com; dkim=pass (oops\r\nAuthentication-Results: mx.example.com 2; x\r\n\r\n",
	"Authentication-Results: mx.example.com; none\r\nFrom: \"a (b\" <a@example.com>\r\n\r\n",
	"no colon\r\n\r\nbody",
	" folded first\r\n\r\n",
	"From: a@example.com, b@example.com\r\n\r\n",
	"",
}

// FuzzVerify: no input panics, hangs or yields a result outside the
// documented set, and a pass always has no error.
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(string(crlf(s)))
	}
	r := resolver.NewMock(rfc6376Key, rfc8463Ed25519Key, rfc8463RSAKey,
		`_dmarc.football.example.com. 300 IN TXT "v=DMARC1; p=reject; adkim=s"`)
	valid := map[Result]bool{ResultPass: true, ResultFail: true, ResultPermError: true, ResultTempError: true}
	f.Fuzz(func(t *testing.T, msg string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done := make(chan *Report, 1)
		go func() {
			done <- Verify(ctx, []byte(msg), Options{Resolver: r, TrustedAuthservIDs: []string{"mx.example.com"}, DKIMDomain: "example.com"})
		}()
		var rep *Report
		select {
		case rep = <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("Verify hangs on %q", msg)
		}
		if len(rep.Signatures) > MaxSignatures+1 {
			t.Fatalf("%d signatures", len(rep.Signatures))
		}
		for _, s := range rep.Signatures {
			if !valid[s.Result] || (s.Result == ResultPass) != (s.Err == "") || (s.Aligned && s.Result != ResultPass) {
				t.Fatalf("bad signature %+v", s)
			}
		}
		if len(rep.AuthResults) > MaxAuthResults {
			t.Fatalf("%d auth results", len(rep.AuthResults))
		}
		for _, a := range rep.AuthResults {
			if !isToken(a.Method) || !isToken(a.Result) || a.AuthservID != "mx.example.com" {
				t.Fatalf("bad auth result %+v", a)
			}
		}
		if rep.DKIMDomainOK == (rep.DKIMDomainWhy != "") {
			t.Fatalf("dkim_domain ok %v why %q", rep.DKIMDomainOK, rep.DKIMDomainWhy)
		}
	})
}
