package msgauth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformedHeader is wrapped by every error about the header section or
// a header field's syntax.
var ErrMalformedHeader = errors.New("malformed header")

// field is one header field as it arrived: its name and its raw value, with
// the folding line breaks kept (RFC 5322 2.2, 2.2.3).
type field struct {
	name, value string
}

// headerFields splits the header section of msg (everything before the
// first empty line; the whole message when there is none) into fields, in
// order. A line that starts with a space or tab continues the field before
// it; any other line must hold a colon after a non-empty name of printable
// characters (RFC 5322 2.2, 3.6.8). Bare LF line ends are accepted.
func headerFields(msg []byte) ([]field, error) {
	var out []field
	for n := 1; len(msg) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			line, msg = msg, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // the end of the header section
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: line %d continues no field", ErrMalformedHeader, n)
			}
			out[len(out)-1].value += "\r\n" + string(line)
			continue
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok || !validFieldName(name) {
			return nil, fmt.Errorf("%w: line %d is not a header field: %.40q", ErrMalformedHeader, n, line)
		}
		out = append(out, field{name: name, value: value})
	}
	return out, nil
}

// validFieldName: ftext is printable US-ASCII except the colon (RFC 5322 3.6.8).
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// fieldsNamed returns the values of the fields called name (case-insensitive).
func fieldsNamed(fs []field, name string) []string {
	var out []string
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// tagList parses a DKIM tag-list (RFC 6376 3.2): "name=value" pairs
// separated by semicolons, whitespace and folding around them ignored; a
// trailing semicolon is allowed, a duplicate tag is not.
func tagList(s string) (map[string]string, error) {
	tags := map[string]string{}
	parts := strings.Split(s, ";")
	for i, p := range parts {
		p = strings.TrimSpace(unfold(p))
		if p == "" && i == len(parts)-1 {
			break
		}
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: tag %.40q has no name=value", ErrMalformedHeader, p)
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("%w: tag %q appears twice", ErrMalformedHeader, k)
		}
		tags[k] = strings.TrimSpace(v)
	}
	return tags, nil
}

func unfold(s string) string {
	return strings.NewReplacer("\r\n", "", "\n", "").Replace(s)
}

// stripComments removes RFC 5322 comments (3.2.2: parenthesised, nested,
// with quoted-pairs) outside quoted strings (3.2.4), replacing each by a
// space, so that a ";" inside a comment such as OpenDKIM's "(2048-bit key;
// unprotected)" does not split an Authentication-Results field.
func stripComments(s string) (string, error) {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (depth > 0 || quoted):
			if i+1 >= len(s) {
				return "", fmt.Errorf("%w: a backslash ends the field", ErrMalformedHeader)
			}
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case quoted:
			b.WriteByte(c)
			if c == '"' {
				quoted = false
			}
		case c == '(':
			if depth == 0 {
				b.WriteByte(' ')
			}
			depth++
		case c == ')':
			if depth == 0 {
				return "", fmt.Errorf("%w: unbalanced ')'", ErrMalformedHeader)
			}
			depth--
		case depth > 0:
		case c == '"':
			quoted = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if depth > 0 || quoted {
		return "", fmt.Errorf("%w: unterminated comment or quoted string", ErrMalformedHeader)
	}
	return b.String(), nil
}
