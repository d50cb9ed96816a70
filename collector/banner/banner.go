// Package banner reads the host name an SMTP server calls itself, in its
// 220 greeting (RFC 5321 4.2, 4.3.1: "220 " Domain / address-literal
// [SP textstring]) and in the first line of its EHLO reply (RFC 5321
// 4.1.1.1: "250" SP Domain [SP ehlo-greet]), and compares it with the
// reverse-DNS (PTR) names of the address dialled and with the MX name.
//
// Receivers compare these names: a banner that no PTR name matches is a
// common spam-score point and a sign of a NAT or a forgotten myhostname.
// It is a warning, not a failure: forward-confirmed reverse DNS (iprev,
// RFC 8601 3) is checked by the ptr domain check and is not changed here.
package banner

import (
	"net/netip"
	"slices"
	"strings"
)

// maxName bounds a name taken from a reply (RFC 1035 2.3.4: 255 octets).
const maxName = 255

// Host returns the host name at the start of a reply line's text (the
// part after "220 " or "250-"), lower case without a trailing dot, or ""
// when the text does not start with a domain or an address literal.
func Host(text string) string {
	word, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	if len(word) == 0 || len(word) > maxName {
		return ""
	}
	if inner, ok := strings.CutPrefix(word, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		// RFC 5321 4.1.3: [192.0.2.1] or [IPv6:2001:db8::1] (the tag is
		// case-insensitive, RFC 5234 2.3).
		tag := ""
		if len(inner) > 5 && strings.EqualFold(inner[:5], "IPv6:") {
			tag, inner = "IPv6:", inner[5:]
		}
		a, err := netip.ParseAddr(inner)
		if !ok || err != nil || a.Zone() != "" || (tag == "") != a.Is4() {
			return ""
		}
		return "[" + tag + a.String() + "]"
	}
	name := strings.ToLower(strings.TrimSuffix(word, "."))
	if !isDomain(name) {
		return ""
	}
	return name
}

// isDomain accepts RFC 5321 4.1.2 Domain: dot-separated labels of letters,
// digits and hyphens, no label starting or ending with a hyphen. Servers
// name themselves with one label at times ("localhost"): accepted too.
func isDomain(s string) bool {
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Facts are the banner names of one probe and how they compare.
type Facts struct {
	GreetingHost string // "" when the greeting names no host
	EHLOHost     string // "" when EHLO was not answered or names no host
	// PTRChecked is set when the PTR names of the address were looked up
	// (PTRNames may then be empty: no PTR record). PTRError says why not.
	PTRChecked bool
	PTRNames   []string
	PTRError   string
}

// MatchesPTR reports whether the greeting's host name is one of the PTR
// names (SPEC: mail_smtp_banner_matches_ptr).
func (f *Facts) MatchesPTR() bool { return f.IsPTRName(f.GreetingHost) }

// IsPTRName reports whether host (a name from the greeting or the EHLO
// reply, as Host returns it) is one of the PTR names.
func (f *Facts) IsPTRName(host string) bool {
	return host != "" && slices.Contains(f.PTRNames, host)
}

// SameName reports whether host (as Host returns it) is name, an MX name
// compared without case and trailing dot.
func SameName(host, name string) bool {
	return host != "" && host == strings.ToLower(strings.TrimSuffix(name, "."))
}

// NormalizeNames lower-cases PTR names and drops trailing dots.
func NormalizeNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
