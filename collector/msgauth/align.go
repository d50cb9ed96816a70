package msgauth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dmarc"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Mode is a DMARC identifier alignment mode (RFC 7489 3.1, tag adkim 6.3).
type Mode string

const (
	Relaxed Mode = "relaxed" // the default
	Strict  Mode = "strict"
)

// ErrFrom is wrapped when the From field does not name exactly one author
// domain; DMARC cannot be applied to such a message (RFC 7489 6.6.1).
var ErrFrom = errors.New("no single From domain")

// Aligned reports whether a DKIM signing domain (d=) aligns with the From
// domain (RFC 7489 3.1.1): in strict mode the two are the same name, in
// relaxed mode they have the same Organizational Domain.
func Aligned(sdid, from string, m Mode) bool {
	sdid, from = canonical(sdid), canonical(from)
	if sdid == "" || from == "" {
		return false
	}
	if sdid == from {
		return true
	}
	return m != Strict && OrgDomain(sdid) == OrgDomain(from)
}

// OrgDomain is the Organizational Domain of a name (RFC 7489 3.2): its
// public suffix (the Public Suffix List, golang.org/x/net/publicsuffix)
// plus one label. A name that is itself a public suffix is its own.
func OrgDomain(name string) string {
	name = canonical(name)
	if org, err := publicsuffix.EffectiveTLDPlusOne(name); err == nil {
		return org
	}
	return name
}

func canonical(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// alignmentMode is the adkim of the DMARC record that applies to domain
// (RFC 7489 6.3: relaxed when absent, and without a record).
func alignmentMode(ctx context.Context, r resolver.Resolver, domain string) (Mode, error) {
	if r == nil {
		return Relaxed, errors.New("no DNS resolver")
	}
	rep, err := dmarc.Check(ctx, r, domain)
	if err != nil {
		return Relaxed, fmt.Errorf("DMARC record of %s: %w", domain, err)
	}
	if rep.DKIMAlignment == "s" {
		return Strict, nil
	}
	return Relaxed, nil
}

// fromDomain returns the domain of the single author in the single From
// field (RFC 5322 3.6, RFC 7489 6.6.1).
func fromDomain(fields []field) (string, error) {
	froms := fieldsNamed(fields, "From")
	if len(froms) != 1 {
		return "", fmt.Errorf("%w: %d From fields", ErrFrom, len(froms))
	}
	v := unfold(froms[0])
	if clean, err := stripComments(v); err == nil {
		v = clean // net/mail rejects some comments RFC 5322 allows
	}
	addrs, err := mail.ParseAddressList(v)
	if err != nil {
		return "", fmt.Errorf("%w: From: %w", ErrFrom, err)
	}
	if len(addrs) != 1 {
		return "", fmt.Errorf("%w: %d authors", ErrFrom, len(addrs))
	}
	at := strings.LastIndexByte(addrs[0].Address, '@')
	if at < 0 || at == len(addrs[0].Address)-1 {
		return "", fmt.Errorf("%w: %q has no domain", ErrFrom, addrs[0].Address)
	}
	return canonical(addrs[0].Address[at+1:]), nil
}
