package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/msgauth"
	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
)

// RoundtripAuth builds the items for the authentication of a roundtrip's
// arrived message: one per DKIM signature (one when unsigned), then one per
// trusted authserv-id with the methods it reported. Nothing when the message
// was not verified.
func RoundtripAuth(name string, r *roundtrip.Result) []Item {
	a := r.Auth
	if a == nil {
		if r.AuthError == "" {
			return nil
		}
		return []Item{{Name: name + " dkim", Status: Warning, Summary: "not verified",
			Findings: []Finding{{Status: Warning, Code: CodeDKIMNotVerified, Message: r.AuthError}}}}
	}
	var out []Item
	if len(a.Signatures) == 0 {
		st := Warning
		if a.DKIMDomain != "" {
			st = Critical
		}
		out = append(out, Item{Name: name + " dkim (unsigned)", Status: st, Summary: "none",
			Findings: []Finding{{Status: st, Code: CodeDKIMNone, Message: "the message carries no DKIM-Signature",
				Advice: "Receivers cannot tie it to " + orDash(a.FromDomain) + ": sign outgoing mail (e.g. OpenDKIM as a milter) with a key published at SELECTOR._domainkey."}}})
	}
	for _, s := range a.Signatures {
		out = append(out, signatureItem(name, a, s))
	}
	out = append(out, authResultItems(name, a)...)
	return out
}

func signatureItem(name string, a *msgauth.Report, s msgauth.Signature) Item {
	it := Item{Name: fmt.Sprintf("%s dkim d=%s s=%s", name, orDash(s.Domain), orDash(s.Selector)), Findings: []Finding{}}
	switch {
	case s.Result == msgauth.ResultPass && s.Aligned:
		it.Status = OK
		it.Summary = fmt.Sprintf("pass, aligned with From %s (%s)", a.FromDomain, a.Alignment)
	case s.Result == msgauth.ResultPass:
		it.Status = Warning
		it.Summary = fmt.Sprintf("pass, not aligned with From %s (%s)", orDash(a.FromDomain), a.Alignment)
		it.Findings = []Finding{{Status: Warning, Code: CodeDKIMNotAligned, Message: it.Summary,
			Advice: "DMARC counts only a signature whose domain matches the From domain: sign with d=" + orDash(a.FromDomain) + " (or its organisational domain under relaxed alignment)."}}
	default:
		it.Status = Critical
		if s.Result == msgauth.ResultTempError {
			it.Status = Warning
		}
		it.Summary = string(s.Result)
		it.Findings = []Finding{{Status: it.Status, Code: signatureCode[s.Result], Message: s.Err, Advice: signatureAdvice[s.Result]}}
	}
	return it
}

var signatureCode = map[msgauth.Result]string{
	msgauth.ResultFail: CodeDKIMFail, msgauth.ResultPermError: CodeDKIMPermError, msgauth.ResultTempError: CodeDKIMTempError,
}

var signatureAdvice = map[msgauth.Result]string{
	msgauth.ResultFail:      "The signature does not verify with the key in DNS: after a key rotation the signer still uses the old key, or the TXT record is truncated, or something changed the message after signing.",
	msgauth.ResultPermError: "The signature or its key record is unusable (missing or malformed TXT record, revoked key, unsupported algorithm): publish the selector's key or fix the signer.",
	msgauth.ResultTempError: "The key could not be fetched (DNS failure): receivers may defer or treat the message as unsigned.",
}

func authResultItems(name string, a *msgauth.Report) []Item {
	by := map[string][]string{}
	for _, ar := range a.AuthResults {
		by[ar.AuthservID] = append(by[ar.AuthservID], ar.Method+"="+ar.Result)
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Item
	for _, id := range ids {
		it := Item{Name: name + " authentication-results " + id, Status: OK, Summary: strings.Join(by[id], " "), Findings: []Finding{}}
		for _, ar := range a.AuthResults {
			if ar.AuthservID == id && (ar.Method == "dkim" || ar.Method == "dmarc" || ar.Method == "spf") && ar.Result != "pass" {
				it.Status = Warning
				it.Findings = append(it.Findings, Finding{Status: Warning, Code: CodeReceiverVerdict,
					Message: fmt.Sprintf("%s reported %s=%s", id, ar.Method, ar.Result)})
			}
		}
		out = append(out, it)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
