// Package spf checks a domain's Sender Policy Framework record, RFC 7208:
// exactly one "v=spf1" TXT record (4.5), its syntax (12), the DNS lookup and
// void lookup limits over the whole include/redirect tree (4.6.4), and the
// practices the RFC discourages ("+all", "?all", no "all", "ptr").
package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every parse error (RFC 7208 12 ABNF; 4.6 says a
// syntax error is a permerror).
var ErrSyntax = errors.New("spf syntax error")

// Directive is one mechanism with its qualifier (RFC 7208 4.6.2, 5).
type Directive struct {
	Qualifier byte         // '+', '-', '~' or '?'; '+' when omitted
	Mechanism string       // all, include, a, mx, ptr, ip4, ip6, exists (lower case)
	Domain    string       // the domain-spec, "" when absent
	Network   netip.Prefix // ip4 and ip6
	CIDR4     int          // a and mx: -1 when absent
	CIDR6     int          // a and mx: -1 when absent
}

// Modifier is a name=value term other than redirect and exp (RFC 7208 6).
type Modifier struct{ Name, Value string }

// Record is a parsed SPF record.
type Record struct {
	Directives  []Directive
	Redirect    string // redirect= (RFC 7208 6.1), "" when absent
	Explanation string // exp= (RFC 7208 6.2), "" when absent
	Unknown     []Modifier
}

// IsSPF reports whether a TXT record is an SPF record: its version section is
// exactly "v=spf1", ended by a space or the end (RFC 7208 4.5).
func IsSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// Parse parses an SPF record (RFC 7208 4.6.1, 12).
func Parse(txt string) (*Record, error) {
	if !IsSPF(txt) {
		return nil, fmt.Errorf(`%w: does not start with "v=spf1"`, ErrSyntax)
	}
	r := &Record{}
	seen := map[string]bool{}
	for _, term := range strings.Split(txt[6:], " ") {
		if term == "" { // terms = *( 1*SP ( directive / modifier ) ), record ends in *SP
			continue
		}
		if err := r.addTerm(term, seen); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Record) addTerm(term string, seen map[string]bool) error {
	// A modifier is name "=" ...; a mechanism name never contains "=" before
	// its ":" or "/" (RFC 7208 4.6.1).
	if i := strings.IndexAny(term, "=:/"); i > 0 && term[i] == '=' {
		name, value := strings.ToLower(term[:i]), term[i+1:]
		if !isName(name) {
			return fmt.Errorf("%w: bad modifier name %q", ErrSyntax, term[:i])
		}
		switch name {
		case "redirect", "exp":
			// RFC 7208 6: these MUST NOT appear more than once.
			if seen[name] {
				return fmt.Errorf("%w: %s appears twice", ErrSyntax, name)
			}
			seen[name] = true
			if err := checkDomainSpec(value); err != nil {
				return fmt.Errorf("%w: %s=%s: %v", ErrSyntax, name, value, err)
			}
			if name == "redirect" {
				r.Redirect = value
			} else {
				r.Explanation = value
			}
		default:
			if err := checkMacroString(value); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrSyntax, term, err)
			}
			r.Unknown = append(r.Unknown, Modifier{name, value})
		}
		return nil
	}
	d, err := parseDirective(term)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrSyntax, term, err)
	}
	r.Directives = append(r.Directives, d)
	return nil
}

func parseDirective(term string) (Directive, error) {
	d := Directive{Qualifier: '+', CIDR4: -1, CIDR6: -1}
	switch term[0] {
	case '+', '-', '~', '?':
		d.Qualifier = term[0]
		term = term[1:]
	}
	name, arg := term, ""
	if i := strings.IndexAny(term, ":/"); i >= 0 {
		name, arg = term[:i], term[i:]
	}
	d.Mechanism = strings.ToLower(name)
	switch d.Mechanism {
	case "all":
		if arg != "" {
			return d, errors.New("all takes no argument")
		}
	case "include", "exists":
		if !strings.HasPrefix(arg, ":") {
			return d, fmt.Errorf("%s needs a domain", d.Mechanism)
		}
		d.Domain = arg[1:]
		return d, checkDomainSpec(d.Domain)
	case "ptr":
		if arg == "" {
			return d, nil
		}
		if !strings.HasPrefix(arg, ":") {
			return d, errors.New("ptr takes no cidr length")
		}
		d.Domain = arg[1:]
		return d, checkDomainSpec(d.Domain)
	case "a", "mx":
		return d, d.parseDualCIDR(arg)
	case "ip4", "ip6":
		return d, d.parseNetwork(arg)
	default:
		return d, errors.New("unknown mechanism")
	}
	return d, nil
}

// parseDualCIDR parses [ ":" domain-spec ] [ ip4-cidr-length ] [ "/" ip6-cidr-length ].
func (d *Directive) parseDualCIDR(arg string) error {
	spec := arg
	cidr := ""
	if i := strings.Index(arg, "/"); i >= 0 {
		spec, cidr = arg[:i], arg[i:]
	}
	if spec != "" {
		if !strings.HasPrefix(spec, ":") {
			return errors.New("expected ':'")
		}
		d.Domain = spec[1:]
		if err := checkDomainSpec(d.Domain); err != nil {
			return err
		}
	}
	if cidr == "" {
		return nil
	}
	v4, v6, dual := cidr, "", false
	if i := strings.Index(cidr, "//"); i >= 0 {
		v4, v6, dual = cidr[:i], cidr[i+2:], true
	}
	var err error
	if v4 != "" {
		if d.CIDR4, err = cidrLength(v4[1:], 32); err != nil {
			return err
		}
	}
	if dual {
		if d.CIDR6, err = cidrLength(v6, 128); err != nil {
			return err
		}
	}
	return nil
}

func (d *Directive) parseNetwork(arg string) error {
	if !strings.HasPrefix(arg, ":") {
		return errors.New("needs an address")
	}
	addr, length := arg[1:], ""
	if i := strings.Index(addr, "/"); i >= 0 {
		addr, length = addr[:i], addr[i+1:]
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return errors.New("bad address")
	}
	if d.Mechanism == "ip4" != ip.Is4() {
		return fmt.Errorf("%s with a wrong-family address", d.Mechanism)
	}
	bits := ip.BitLen()
	if length != "" {
		if bits, err = cidrLength(length, ip.BitLen()); err != nil {
			return err
		}
	}
	d.Network = netip.PrefixFrom(ip, bits)
	return nil
}

// cidrLength parses "0" / %x31-39 0*nDIGIT within 0..max.
func cidrLength(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || (len(s) > 1 && s[0] == '0') || s[0] == '+' || n < 0 || n > max {
		return 0, fmt.Errorf("bad cidr length %q", s)
	}
	return n, nil
}

// isName checks name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
func isName(s string) bool {
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !alpha || !alpha && !(c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}
