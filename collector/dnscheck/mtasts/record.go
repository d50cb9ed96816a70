// Package mtasts checks SMTP MTA Strict Transport Security, RFC 8461: the
// "_mta-sts" TXT record (3.1), the policy fetched over HTTPS (3.2, 3.3), and
// whether every MX host is covered by the policy (4.1).
package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRecordSyntax is wrapped by TXT record parse errors (RFC 8461 3.1).
var ErrRecordSyntax = errors.New("mta-sts record syntax error")

// Record is a parsed "_mta-sts" TXT record.
type Record struct {
	ID         string
	Extensions []Extension
}

// Extension is an sts-extension field.
type Extension struct{ Name, Value string }

// IsRecord reports whether a TXT record is an MTA-STS record: records not
// beginning with "v=STSv1;" are discarded (RFC 8461 3.1).
func IsRecord(txt string) bool { return strings.HasPrefix(txt, "v=STSv1;") }

// ParseRecord parses the TXT record (RFC 8461 3.1 ABNF):
//
//	sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
//	sts-version     = %s"v=STSv1"
//	sts-sep         = *WSP %x3B *WSP
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-extension   = sts-ext-name "=" sts-ext-value
func ParseRecord(txt string) (*Record, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimRight(fields[0], " \t") != "v=STSv1" {
		return nil, fmt.Errorf(`%w: must start with "v=STSv1;"`, ErrRecordSyntax)
	}
	r := &Record{}
	nfields := 0
	for i, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		if f == "" {
			if i == len(fields)-2 && nfields > 0 {
				break // the optional trailing sts-sep
			}
			return nil, fmt.Errorf("%w: empty field", ErrRecordSyntax)
		}
		nfields++
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%w: field %q has no '='", ErrRecordSyntax, f)
		}
		if name == "id" {
			if r.ID != "" {
				continue // RFC 8461 3.2: repeated fields after the first are ignored
			}
			if !isID(value) {
				return nil, fmt.Errorf("%w: id must be 1 to 32 letters and digits", ErrRecordSyntax)
			}
			r.ID = value
			continue
		}
		if !isExtName(name) || !isExtValue(value) {
			return nil, fmt.Errorf("%w: bad field %q", ErrRecordSyntax, f)
		}
		r.Extensions = append(r.Extensions, Extension{name, value})
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: no id field", ErrRecordSyntax)
	}
	return r, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// isExtName checks (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func isExtName(s string) bool {
	if s == "" || len(s) > 32 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isExtValue checks 1*(%x21-3A / %x3C / %x3E-7E).
func isExtValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}
