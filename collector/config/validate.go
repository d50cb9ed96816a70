package config

import (
	"net"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
)

// isDNSName reports whether s is a syntactically valid host name (RFC 1123:
// letters, digits and hyphens, labels of 1-63, at most 253 in all; a
// trailing dot is allowed).
func isDNSName(s string) bool {
	return isName(s, false)
}

// isSelector is isDNSName allowing underscores, which DKIM selectors and
// other non-host labels use in the wild.
func isSelector(s string) bool {
	return isName(s, true)
}

func isName(s string, underscore bool) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' ||
				underscore && c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isHost accepts a DNS name or an IP literal (IPv6 without brackets).
func isHost(s string) bool { return isIP(s) || isDNSName(s) }

// isHostPort accepts "host:port" with a numeric port ("[::1]:53" for IPv6).
func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !isHost(host) {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// isEHLOName accepts a DNS name or an address literal ([192.0.2.1],
// [IPv6:2001:db8::1]) as RFC 5321 4.1.3 allows.
func isEHLOName(s string) bool {
	if inner, ok := strings.CutPrefix(s, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		inner = strings.TrimPrefix(inner, "IPv6:")
		return ok && isIP(inner)
	}
	return isDNSName(s)
}

// isLabelName follows the Prometheus label name rules; names starting with
// __ are reserved for Prometheus itself.
func isLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// isAddress accepts a bare address, local@domain, as used in the SMTP
// envelope: no display name, no angle brackets.
func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && isHost(strings.Trim(s[at+1:], "[]"))
}

// normalizeDomain lower-cases a domain and drops a trailing dot.
func normalizeDomain(s string) string {
	return strings.TrimSuffix(strings.ToLower(s), ".")
}
