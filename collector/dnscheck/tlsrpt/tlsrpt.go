// Package tlsrpt checks the SMTP TLS Reporting record, RFC 8460 3: one
// "v=TLSRPTv1" TXT record at "_smtp._tls.<domain>" with a "rua" of mailto:
// or https: URIs.
package tlsrpt

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Errors and findings.
var (
	ErrSyntax          = errors.New("tls-rpt record syntax error")      // RFC 8460 3
	ErrBadURI          = errors.New("rua URI is not mailto: or https:") // RFC 8460 3
	ErrNoRecord        = errors.New("no TLS-RPT record")                // RFC 8460 3
	ErrMultipleRecords = errors.New("more than one TLS-RPT record")     // RFC 8460 3: treated as none
)

// Record is a parsed TLS-RPT record.
type Record struct {
	RUA        []string
	Extensions []Extension
}

// Extension is a tlsrpt-extension field.
type Extension struct{ Name, Value string }

// IsRecord reports whether a TXT record is a TLS-RPT record; others are
// discarded (RFC 8460 3).
func IsRecord(txt string) bool {
	return txt == "v=TLSRPTv1" || strings.HasPrefix(txt, "v=TLSRPTv1;") ||
		strings.HasPrefix(txt, "v=TLSRPTv1 ") || strings.HasPrefix(txt, "v=TLSRPTv1\t")
}

// Parse parses the record (RFC 8460 3 ABNF):
//
//	tlsrpt-record  = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//	tlsrpt-version = %s"v=TLSRPTv1"
//	field-delim    = *WSP ";" *WSP
//	tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//
// A URI that is neither mailto: nor https: is an ErrBadURI.
func Parse(txt string) (*Record, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimRight(fields[0], " \t") != "v=TLSRPTv1" {
		return nil, fmt.Errorf(`%w: must start with "v=TLSRPTv1"`, ErrSyntax)
	}
	r := &Record{}
	seen := map[string]bool{}
	n := 0
	for i, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		if f == "" {
			if i == len(fields)-2 && n > 0 {
				break
			}
			return nil, fmt.Errorf("%w: empty field", ErrSyntax)
		}
		n++
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("%w: bad field %q", ErrSyntax, f)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: field %s appears twice", ErrSyntax, name)
		}
		seen[name] = true
		if name != "rua" {
			if !isExtName(name) || !isExtValue(value) {
				return nil, fmt.Errorf("%w: bad field %q", ErrSyntax, f)
			}
			r.Extensions = append(r.Extensions, Extension{name, value})
			continue
		}
		for _, u := range strings.Split(value, ",") {
			u = strings.Trim(u, " \t")
			if err := checkURI(u); err != nil {
				return nil, fmt.Errorf("%w: %q: %v", ErrBadURI, u, err)
			}
			r.RUA = append(r.RUA, u)
		}
	}
	if len(r.RUA) == 0 {
		return nil, fmt.Errorf("%w: no rua field", ErrSyntax)
	}
	return r, nil
}

func checkURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URI")
	}
	switch strings.ToLower(u.Scheme) {
	case "mailto":
		if _, err := mail.ParseAddress(u.Opaque); err != nil {
			return errors.New("bad mailto address")
		}
	case "https":
		if u.Host == "" {
			return errors.New("https URI without a host")
		}
	default:
		return errors.New("scheme must be mailto or https")
	}
	return nil
}

func isExtName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum || !alnum && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return s != ""
}

// Check fetches and checks the record of domain. The error wraps
// resolver.ErrDNS when the lookup failed.
func Check(ctx context.Context, r resolver.Resolver, domain string) ([]error, error) {
	name := "_smtp._tls." + strings.TrimSuffix(domain, ".")
	txts, _, err := resolver.TXT(ctx, r, name)
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if IsRecord(t) {
			recs = append(recs, t)
		}
	}
	switch {
	case len(recs) == 0:
		return []error{fmt.Errorf("%w at %s", ErrNoRecord, name)}, nil
	case len(recs) > 1:
		return []error{fmt.Errorf("%w at %s: %d", ErrMultipleRecords, name, len(recs))}, nil
	}
	if _, err := Parse(recs[0]); err != nil {
		return []error{fmt.Errorf("at %s: %w", name, err)}, nil
	}
	return nil, nil
}
