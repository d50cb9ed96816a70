package spf

import (
	"errors"
	"strings"
)

// checkMacroString validates macro-string = *( macro-expand / macro-literal )
// (RFC 7208 7.1, 12).
func checkMacroString(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				return errors.New("invalid character")
			}
			continue
		}
		if i+1 >= len(s) {
			return errors.New("dangling %")
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return errors.New("bad macro")
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return errors.New("unterminated macro")
		}
		if err := checkMacroBody(s[i+2 : i+end]); err != nil {
			return err
		}
		i += end
	}
	return nil
}

// checkMacroBody validates macro-letter transformers *delimiter.
func checkMacroBody(b string) error {
	if b == "" || !strings.ContainsRune("slodiphcrtvSLODIPHCRTV", rune(b[0])) {
		return errors.New("bad macro letter")
	}
	b = b[1:]
	for b != "" && b[0] >= '0' && b[0] <= '9' {
		b = b[1:]
	}
	if b != "" && (b[0] == 'r' || b[0] == 'R') {
		b = b[1:]
	}
	for _, c := range b {
		if !strings.ContainsRune(".-+,/_=", c) {
			return errors.New("bad macro delimiter")
		}
	}
	return nil
}

// hasMacro reports whether a domain-spec needs macro expansion, which this
// static check cannot do.
func hasMacro(s string) bool { return strings.Contains(s, "%{") }

// checkDomainSpec validates domain-spec = macro-string domain-end, where
// domain-end = ( "." toplabel [ "." ] ) / macro-expand (RFC 7208 7.1).
func checkDomainSpec(s string) error {
	if s == "" {
		return errors.New("empty domain")
	}
	if err := checkMacroString(s); err != nil {
		return err
	}
	if strings.HasSuffix(s, "}") {
		return nil // ends in macro-expand
	}
	t := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return errors.New("domain needs at least two labels")
	}
	if !isTopLabel(t[i+1:]) {
		return errors.New("bad top-level label")
	}
	for _, l := range strings.Split(t[:i], ".") {
		if l == "" && !strings.Contains(t[:i], "%") {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return errors.New("label too long")
		}
	}
	return nil
}

// isTopLabel checks toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	alpha := false
	for _, c := range l {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			alpha = true
		case c >= '0' && c <= '9':
		case c == '-':
			alpha = true // the hyphenated form needs no letter
		default:
			return false
		}
	}
	return alpha
}
