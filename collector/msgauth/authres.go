package msgauth

import (
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// MaxAuthResults bounds the method results kept from one message: they
// become label sets.
const MaxAuthResults = 20

// AuthResult is one method's result in a trusted Authentication-Results
// field (RFC 8601 2.2): e.g. mx.example.com, dkim, pass.
type AuthResult struct {
	AuthservID, Method, Result string
}

// authResults parses the Authentication-Results fields whose authserv-id is
// trusted. Others are skipped unparsed: anyone on the path, the sender
// included, can add one, and only the receiver's own say anything (RFC 8601
// 5, 7.2). Comments are removed first (RFC 5322 3.2.2; RFC 8601 2.2 allows
// CFWS everywhere), which the library does not do. A method result repeated
// (two dkim=pass for two signatures) is kept once.
func authResults(fields []field, trusted []string) ([]AuthResult, []error) {
	var out []AuthResult
	var problems []error
	seen := map[AuthResult]bool{}
	for _, v := range fieldsNamed(fields, "Authentication-Results") {
		clean, err := stripComments(unfold(v))
		if err != nil {
			if isTrusted(authservID(v), trusted) {
				problems = append(problems, fmt.Errorf("Authentication-Results: %w", err))
			}
			continue
		}
		id := authservID(clean)
		if !isTrusted(id, trusted) {
			continue
		}
		_, results, err := authres.Parse(clean)
		if err != nil {
			problems = append(problems, fmt.Errorf("Authentication-Results from %s: %w: %v", id, ErrMalformedHeader, err))
		}
		for _, res := range results {
			method, value := methodResult(res)
			ar := AuthResult{AuthservID: strings.ToLower(id), Method: method, Result: value}
			if !isToken(method) || !isToken(value) || seen[ar] {
				continue
			}
			if len(out) == MaxAuthResults {
				problems = append(problems, fmt.Errorf("more than %d Authentication-Results method results: the rest are ignored", MaxAuthResults))
				return out, problems
			}
			seen[ar] = true
			out = append(out, ar)
		}
	}
	return out, problems
}

// authservID is the first word of the field (RFC 8601 2.2: authserv-id
// [CFWS authres-version]).
func authservID(v string) string {
	id, _, _ := strings.Cut(strings.TrimSpace(unfold(v)), ";")
	if f := strings.Fields(id); len(f) > 0 {
		return f[0]
	}
	return ""
}

// isTrusted compares authserv-ids case-insensitively: in practice they are
// host names.
func isTrusted(id string, trusted []string) bool {
	for _, t := range trusted {
		if id != "" && strings.EqualFold(id, t) {
			return true
		}
	}
	return false
}

func methodResult(r authres.Result) (method, value string) {
	var v authres.ResultValue
	switch r := r.(type) {
	case *authres.AuthResult:
		method, v = "auth", r.Value
	case *authres.DKIMResult:
		method, v = "dkim", r.Value
	case *authres.DomainKeysResult:
		method, v = "domainkeys", r.Value
	case *authres.IPRevResult:
		method, v = "iprev", r.Value
	case *authres.SenderIDResult:
		method, v = "sender-id", r.Value
	case *authres.SPFResult:
		method, v = "spf", r.Value
	case *authres.DMARCResult:
		method, v = "dmarc", r.Value
	case *authres.ARCResult:
		method, v = "arc", r.Value
	case *authres.GenericResult:
		method, v = r.Method, r.Value
	}
	return strings.ToLower(method), strings.ToLower(string(v))
}

// isToken accepts what a method or result name can be (RFC 8601 2.2:
// Keyword, letters digits and hyphens), at most 32 characters.
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}
