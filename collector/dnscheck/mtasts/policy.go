package mtasts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// ErrPolicySyntax is wrapped by policy parse errors (RFC 8461 3.2).
var ErrPolicySyntax = errors.New("mta-sts policy syntax error")

// Modes (RFC 8461 5).
const (
	ModeEnforce = "enforce"
	ModeTesting = "testing"
	ModeNone    = "none"
)

// MaxMaxAge is the largest max_age allowed, about one year (RFC 8461 3.2).
const MaxMaxAge = 31557600

// Policy is a parsed MTA-STS policy.
type Policy struct {
	Version    string
	Mode       string
	MaxAge     int64
	MX         []string // patterns: "mail.example.com" or "*.example.net"
	Extensions []Extension
}

// ParsePolicy parses a policy file (RFC 8461 3.2): "key: value" lines ended
// by LF or CRLF; version, mode and max_age required, mx one or more times
// (unless mode is none); a repeated field other than mx keeps its first value;
// unknown fields are ignored.
func ParsePolicy(text string) (*Policy, error) {
	p := &Policy{MaxAge: -1}
	seen := map[string]bool{}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if line == "" && strings.TrimRight(strings.Join(lines[i:], ""), "\r") == "" {
			break // the final line terminator (blank lines after it tolerated)
		}
		line = strings.TrimRight(line, " \t") // *WSP after a field
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line %d has no ':'", ErrPolicySyntax, i+1)
		}
		value = strings.TrimLeft(value, " \t")
		if key != "mx" && seen[key] {
			continue
		}
		seen[key] = true
		if err := p.set(key, value); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrPolicySyntax, i+1, err)
		}
	}
	switch {
	case p.Version == "":
		return nil, fmt.Errorf("%w: no version field", ErrPolicySyntax)
	case p.Mode == "":
		return nil, fmt.Errorf("%w: no mode field", ErrPolicySyntax)
	case p.MaxAge < 0:
		return nil, fmt.Errorf("%w: no max_age field", ErrPolicySyntax)
	case len(p.MX) == 0 && p.Mode != ModeNone:
		return nil, fmt.Errorf("%w: no mx field", ErrPolicySyntax)
	}
	return p, nil
}

func (p *Policy) set(key, value string) error {
	switch key {
	case "version":
		if value != "STSv1" {
			return fmt.Errorf("version %q is not STSv1", value)
		}
		p.Version = value
	case "mode":
		if value != ModeEnforce && value != ModeTesting && value != ModeNone {
			return fmt.Errorf("mode %q is not enforce, testing or none", value)
		}
		p.Mode = value
	case "max_age":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || len(value) > 10 || value[0] < '0' || value[0] > '9' || n > MaxMaxAge {
			return fmt.Errorf("max_age %q is not 0 to %d", value, MaxMaxAge)
		}
		p.MaxAge = n
	case "mx":
		if !validPattern(value) {
			return fmt.Errorf("mx %q is not a host name pattern", value)
		}
		p.MX = append(p.MX, strings.ToLower(value))
	default:
		if !isExtName(key) || value == "" || !isPolicyValue(value) {
			return fmt.Errorf("bad field %q", key)
		}
		p.Extensions = append(p.Extensions, Extension{key, value})
	}
	return nil
}

// validPattern checks ["*."] Domain.
func validPattern(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || strings.ContainsAny(s, "*: \t") || strings.HasSuffix(s, ".") {
		return false
	}
	_, ok := dns.IsDomainName(s)
	return ok && strings.Contains(s, ".")
}

func isPolicyValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// Matches reports whether host is covered by pattern: equal, or for
// "*.suffix" exactly one label followed by suffix (RFC 8461 4.1).
func Matches(pattern, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		label, rest, ok := strings.Cut(host, ".")
		return ok && label != "" && rest == suffix
	}
	return host == pattern
}

// Covers reports whether any of the policy's mx patterns matches host.
func (p *Policy) Covers(host string) bool {
	for _, m := range p.MX {
		if Matches(m, host) {
			return true
		}
	}
	return false
}
