package config

import "strings"

// authentication reads the message-authentication keys of a roundtrip
// (dkim_domain, trusted_authserv_ids); it runs after receive is resolved.
func (p *parser) authentication(r *Roundtrip, fs fields) {
	if f := fs["dkim_domain"]; f.present() {
		if v, ok := p.nonEmpty(f); ok {
			r.DKIMDomain = normalizeDomain(v)
			if !isDNSName(r.DKIMDomain) || isIP(r.DKIMDomain) {
				p.errorf(f.line, f.path, "%q is not a valid domain name", v)
			}
		}
	}
	f := fs["trusted_authserv_ids"]
	if !f.present() {
		if s := r.Receive.Server; s != nil && s.Host != "" {
			r.TrustedAuthservIDs = []string{normalizeDomain(s.Host)}
		}
		return
	}
	if items, ok := p.list(f); ok && len(items) == 0 {
		p.errorf(f.line, f.path, "must list at least one authserv-id (omit it to trust the receive server's host)")
		return
	}
	r.TrustedAuthservIDs = p.names(f, "authserv-id", isAuthservID, true)
}

// isAuthservID accepts an authserv-id as receivers write them (RFC 8601
// 2.5: a "value", in practice a host name): printable, no space, none of
// the characters that end it in the header field.
func isAuthservID(s string) bool {
	return s != "" && len(s) <= 255 && !strings.ContainsAny(s, " \t;()\"\\") &&
		strings.IndexFunc(s, func(r rune) bool { return r < 33 || r > 126 }) < 0
}
