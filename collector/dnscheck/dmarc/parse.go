// Package dmarc checks a domain's DMARC policy as RFC 9989 (May 2026, which
// obsoletes RFC 7489 and RFC 9091) defines it: the record at "_dmarc.<domain>"
// (4.7), found by the DNS Tree Walk when the domain has none (4.10), exactly
// one record per name (4.10 step 2), "v=DMARC1" first, the tags p sp np psd t
// rua ruf adkim aspf fo (4.7, 4.8), and the authorisation of external report
// destinations (RFC 9990 4, RFC 9991 5).
package dmarc

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// Parse errors and findings.
var (
	ErrSyntax        = errors.New("dmarc syntax error")      // RFC 9989 4.8
	ErrInvalidPolicy = errors.New("invalid policy tag")      // RFC 9989 4.10.1
	ErrInvalidTag    = errors.New("invalid tag value")       // RFC 9989 4.8: ignored, default used
	ErrObsoleteTag   = errors.New("tag removed by RFC 9989") // RFC 9989 C.5.2: pct, rf, ri
	ErrInvalidURI    = errors.New("invalid report URI")      // RFC 9989 4.6, 4.8
)

// Record is a parsed DMARC Policy Record. Absent tags are "" (or nil).
type Record struct {
	Policy            string   // p: none, quarantine, reject
	SubdomainPolicy   string   // sp
	NonexistentPolicy string   // np
	PSD               string   // psd: y, n, u ("" = u)
	Testing           bool     // t=y
	RUA, RUF          []string // report URIs as written
	ADKIM, ASPF       string   // r or s
	FO                string
	// Problems are the non-fatal findings: invalid values that receivers
	// replace by defaults, obsolete tags, bad URIs, an invalid policy.
	Problems []error

	badPolicy bool
}

// IsCandidate reports whether a TXT record at _dmarc looks like a DMARC record
// at all; records that do not are not DMARC records (RFC 9989 4.10 step 2).
func IsCandidate(txt string) bool {
	t := strings.TrimLeft(txt, " \t")
	return len(t) >= 1 && (t[0] == 'v' || t[0] == 'V') &&
		strings.HasPrefix(strings.ToUpper(strings.ReplaceAll(t, " ", "")), "V=DMARC")
}

// Parse parses a DMARC Policy Record. A record whose first tag is not exactly
// "v=DMARC1" (case-sensitive value) is an error: receivers ignore it entirely
// (RFC 9989 4.7 "v").
func Parse(txt string) (*Record, error) {
	parts := strings.Split(txt, ";")
	r := &Record{}
	seen := map[string]bool{}
	for i, part := range parts {
		part = strings.Trim(part, " \t")
		if part == "" {
			if i == len(parts)-1 && i > 0 {
				break // dmarc-record ends in an optional dmarc-sep
			}
			return nil, fmt.Errorf("%w: empty tag", ErrSyntax)
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.Trim(name, " \t")
		value = strings.Trim(value, " \t")
		if !ok || !isAlpha(name) || value == "" || !isPrintable(value) {
			if i == 0 {
				return nil, fmt.Errorf(`%w: first tag must be "v=DMARC1"`, ErrSyntax)
			}
			return nil, fmt.Errorf("%w: bad tag %q", ErrSyntax, part)
		}
		if i == 0 {
			if name != "v" || value != "DMARC1" {
				return nil, fmt.Errorf(`%w: first tag must be "v=DMARC1"`, ErrSyntax)
			}
			continue
		}
		name = strings.ToLower(name)
		if seen[name] {
			return nil, fmt.Errorf("%w: tag %s appears twice", ErrSyntax, name)
		}
		seen[name] = true
		r.set(name, value)
	}
	if r.badPolicy {
		// RFC 9989 4.10.1: an invalid p, sp or np means p=none when a valid
		// rua is present, and no DMARC processing at all otherwise.
		if len(r.RUA) == 0 {
			return r, fmt.Errorf("%w and no valid rua: receivers apply no DMARC", ErrInvalidPolicy)
		}
		r.Policy, r.SubdomainPolicy, r.NonexistentPolicy = "none", "", ""
	}
	return r, nil
}

func (r *Record) invalid(name, value string) {
	r.Problems = append(r.Problems, fmt.Errorf("%w: %s=%s", ErrInvalidTag, name, value))
}

// set applies one tag (RFC 9989 4.7 and the value rules of 4.8, table 2).
// Unknown tags are ignored (4.7).
func (r *Record) set(name, value string) {
	switch name {
	case "p", "sp", "np":
		v := strings.ToLower(value)
		if v != "none" && v != "quarantine" && v != "reject" {
			r.Problems = append(r.Problems, fmt.Errorf("%w: %s=%s", ErrInvalidPolicy, name, value))
			r.badPolicy = true
			return
		}
		switch name {
		case "p":
			r.Policy = v
		case "sp":
			r.SubdomainPolicy = v
		default:
			r.NonexistentPolicy = v
		}
	case "psd":
		if v := strings.ToLower(value); v == "y" || v == "n" || v == "u" {
			r.PSD = v
		} else {
			r.invalid(name, value)
		}
	case "t":
		switch strings.ToLower(value) {
		case "y":
			r.Testing = true
		case "n":
		default:
			r.invalid(name, value)
		}
	case "adkim", "aspf":
		v := strings.ToLower(value)
		if v != "r" && v != "s" {
			r.invalid(name, value)
			return
		}
		if name == "adkim" {
			r.ADKIM = v
		} else {
			r.ASPF = v
		}
	case "fo":
		if !validFO(value) {
			r.invalid(name, value)
			return
		}
		r.FO = value
	case "rua", "ruf":
		var uris []string
		for _, u := range strings.Split(value, ",") {
			u = strings.Trim(u, " \t")
			if err := checkURI(u); err != nil {
				r.Problems = append(r.Problems, fmt.Errorf("%w: %s %q: %v", ErrInvalidURI, name, u, err))
				continue
			}
			uris = append(uris, u)
		}
		if name == "rua" {
			r.RUA = uris
		} else {
			r.RUF = uris
		}
	case "pct", "rf", "ri":
		r.Problems = append(r.Problems, fmt.Errorf("%w: %s", ErrObsoleteTag, name))
	}
}

// validFO checks dmarc-fo: "0" and "1" exclusive, "d" and "s" at most once.
func validFO(v string) bool {
	seen := map[string]bool{}
	for _, o := range strings.Split(v, ":") {
		o = strings.Trim(o, " \t")
		if o != "0" && o != "1" && o != "d" && o != "s" || seen[o] {
			return false
		}
		seen[o] = true
	}
	return !(seen["0"] && seen["1"])
}

// checkURI validates a DMARC reporting URI (RFC 9989 4.6, 4.8): an absolute
// URI, an obsolete "!size" suffix tolerated; mailto: needs an address.
func checkURI(s string) error {
	if i := strings.LastIndexByte(s, '!'); i > 0 {
		s = s[:i] // obs-dmarc-report-size, ignored by reporters
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return errors.New("not an absolute URI")
	}
	if strings.EqualFold(u.Scheme, "mailto") {
		if _, err := mail.ParseAddress(u.Opaque); err != nil {
			return errors.New("bad mailto address")
		}
	}
	return nil
}

// URIHost returns the destination host of a report URI: the domain of a
// mailto: address, the host of other URIs.
func URIHost(s string) string {
	if i := strings.LastIndexByte(s, '!'); i > 0 {
		s = s[:i]
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if strings.EqualFold(u.Scheme, "mailto") {
		addr, err := mail.ParseAddress(u.Opaque)
		if err != nil {
			return ""
		}
		_, host, _ := strings.Cut(addr.Address, "@")
		return strings.ToLower(host)
	}
	return strings.ToLower(u.Hostname())
}

func isAlpha(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// isPrintable checks dmarc-value = %x20-3A / %x3C-7E.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
