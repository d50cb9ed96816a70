package msgauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Result is a DKIM verification result (RFC 6376 6.1, named as in RFC 8601
// 2.7.1).
type Result string

const (
	ResultNone      Result = "none" // the message carries no DKIM-Signature
	ResultPass      Result = "pass"
	ResultFail      Result = "fail"      // the signature did not verify (body hash or signature)
	ResultPermError Result = "permerror" // unusable signature or key (RFC 6376 PERMFAIL)
	ResultTempError Result = "temperror" // the key could not be fetched (RFC 6376 TEMPFAIL)
)

// MaxSignatures bounds the signatures verified on one message; each may
// cost a DNS lookup and a public-key operation.
const MaxSignatures = 10

// Signature is the verification of one DKIM-Signature field.
type Signature struct {
	Domain   string // d=, the SDID
	Selector string // s=
	Result   Result
	Err      string // why it did not pass ("" for a pass)
	// Aligned: it passed and its domain aligns with the From domain
	// (RFC 7489 3.1.1, in the From domain's adkim mode).
	Aligned bool
}

// verifyDKIM checks every DKIM-Signature of msg (RFC 6376 6), fetching keys
// with r. The order is that of the fields in the header.
func verifyDKIM(ctx context.Context, msg []byte, fields []field, r resolver.Resolver) ([]Signature, error) {
	raw := fieldsNamed(fields, "DKIM-Signature")
	if len(raw) == 0 {
		return nil, nil
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        lookupTXT(ctx, r),
		MaxVerifications: MaxSignatures,
	})
	var note error
	if errors.Is(err, dkim.ErrTooManySignatures) {
		note = fmt.Errorf("%d DKIM-Signature fields: only the first %d were verified", len(raw), MaxSignatures)
	} else if err != nil {
		return nil, fmt.Errorf("DKIM verification: %w", err)
	}
	out := make([]Signature, 0, len(vs))
	for i, v := range vs {
		s := Signature{Domain: strings.ToLower(v.Domain), Result: classify(v.Err)}
		if v.Err != nil {
			s.Err = v.Err.Error()
		}
		// The library reports no selector: take it from the same field,
		// which is the i-th DKIM-Signature as the library counts them too.
		if i < len(raw) && len(vs) <= len(raw) {
			if tags, err := tagList(raw[i]); err == nil {
				s.Selector = strings.ToLower(stripWSP(tags["s"]))
				if s.Domain == "" {
					s.Domain = strings.ToLower(stripWSP(tags["d"]))
				}
			}
		}
		out = append(out, s)
	}
	return out, note
}

// classify maps the library's error kinds onto RFC 8601 results: a
// signature that did not verify is "fail" (RFC 6376 6.3), a permanent
// problem with the signature or the key record "permerror", a key that
// could not be fetched "temperror".
func classify(err error) Result {
	switch {
	case err == nil:
		return ResultPass
	case dkim.IsTempFail(err):
		return ResultTempError
	case dkim.IsPermFail(err):
		return ResultPermError
	}
	return ResultFail
}

// lookupTXT adapts the resolver to the library: a lookup that got no usable
// answer becomes a temporary error (TEMPFAIL, RFC 6376 6.1.2 step 3); a name
// that does not exist a permanent one (PERMFAIL "no key for signature").
func lookupTXT(ctx context.Context, r resolver.Resolver) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		if r == nil {
			return nil, tempError{errors.New("no DNS resolver")}
		}
		txts, a, err := resolver.TXT(ctx, r, name)
		if err != nil {
			return nil, tempError{err}
		}
		if a.NXDomain() {
			return nil, fmt.Errorf("%s: NXDOMAIN", name)
		}
		return txts, nil
	}
}

// tempError is how the library recognises a temporary DNS failure: a
// net.Error whose Temporary() is true.
type tempError struct{ err error }

func (e tempError) Error() string   { return e.err.Error() }
func (e tempError) Unwrap() error   { return e.err }
func (e tempError) Timeout() bool   { return false }
func (e tempError) Temporary() bool { return true }

func stripWSP(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
