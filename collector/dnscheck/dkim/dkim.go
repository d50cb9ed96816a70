// Package dkim checks DKIM public key records, RFC 6376 3.6.1: the record at
// "<selector>._domainkey.<domain>" (3.6.2.1), its tag-list syntax (3.2), the
// key type (rsa, RFC 6376; ed25519, RFC 8463 4.2) and the key strength
// (RFC 8301 3.2: RSA keys of at least 1024 bits, 2048 recommended; SHA-1 is
// no longer acceptable, RFC 8301 3.1).
package dkim

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Errors and findings.
var (
	ErrSyntax          = errors.New("dkim key record syntax error")    // RFC 6376 3.2, 3.6.1
	ErrNoRecord        = errors.New("no DKIM key record")              // RFC 6376 3.6.2.2
	ErrMultipleRecords = errors.New("more than one DKIM key record")   // RFC 6376 3.6.2.2
	ErrRevoked         = errors.New("key revoked (empty p=)")          // RFC 6376 3.6.1 p
	ErrBadKey          = errors.New("public key does not decode")      // RFC 6376 3.6.1 p
	ErrUnknownKeyType  = errors.New("unknown key type")                // RFC 6376 3.6.1 k
	ErrKeyTooShort     = errors.New("RSA key shorter than 1024 bits")  // RFC 8301 3.2
	ErrKeyWeak         = errors.New("RSA key shorter than 2048 bits")  // RFC 8301 3.2
	ErrSHA1Only        = errors.New("h= does not allow sha256")        // RFC 8301 3.1
	ErrTesting         = errors.New("t=y: the domain is testing DKIM") // RFC 6376 3.6.1 t
	ErrNotForEmail     = errors.New("s= excludes the email service")   // RFC 6376 3.6.1 s
)

// Record is a parsed DKIM key record.
type Record struct {
	Version  string   // v, "" when absent
	Hashes   []string // h, nil = all
	KeyType  string   // k, "rsa" when absent
	Services []string // s, nil = "*"
	Flags    []string // t
	Key      []byte   // p, decoded; empty when revoked
}

// ParseTags parses a tag-list (RFC 6376 3.2): tag=value pairs separated by
// ";", whitespace around both ignored, a trailing ";" allowed, no duplicate
// tags. Tag names are case-sensitive.
func ParseTags(s string) (map[string]string, []string, error) {
	tags := map[string]string{}
	var order []string
	parts := strings.Split(s, ";")
	for i, p := range parts {
		p = strings.Trim(p, " \t\r\n")
		if p == "" {
			if i == len(parts)-1 {
				break
			}
			return nil, nil, errors.New("empty tag")
		}
		name, value, ok := strings.Cut(p, "=")
		name = strings.Trim(name, " \t\r\n")
		if !ok || !isTagName(name) {
			return nil, nil, fmt.Errorf("bad tag %q", p)
		}
		if _, dup := tags[name]; dup {
			return nil, nil, fmt.Errorf("tag %s appears twice", name)
		}
		value = strings.Trim(value, " \t\r\n")
		for j := 0; j < len(value); j++ {
			if c := value[j]; c != ' ' && c != '\t' && c != '\r' && c != '\n' && (c < 0x21 || c > 0x7e || c == ';') {
				return nil, nil, fmt.Errorf("bad character in tag %s", name)
			}
		}
		tags[name] = value
		order = append(order, name)
	}
	return tags, order, nil
}

// isTagName checks tag-name = ALPHA *ALNUMPUNC.
func isTagName(s string) bool {
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !alpha || !alpha && !(c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

func list(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ":") {
		if x = strings.Trim(x, " \t\r\n"); x != "" {
			out = append(out, strings.ToLower(x))
		}
	}
	return out
}

// Parse parses a DKIM key record (RFC 6376 3.6.1). A revoked key (empty p=)
// parses, with an empty Key.
func Parse(txt string) (*Record, error) {
	tags, order, err := ParseTags(txt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	r := &Record{KeyType: "rsa"}
	if v, ok := tags["v"]; ok {
		// v= is optional, but when present it MUST be first and "DKIM1".
		if order[0] != "v" || v != "DKIM1" {
			return nil, fmt.Errorf(`%w: v= must be first and "DKIM1"`, ErrSyntax)
		}
		r.Version = v
	}
	p, ok := tags["p"]
	if !ok {
		return nil, fmt.Errorf("%w: no p= tag", ErrSyntax)
	}
	if k, ok := tags["k"]; ok {
		r.KeyType = strings.ToLower(k)
	}
	if h, ok := tags["h"]; ok {
		r.Hashes = list(h)
	}
	if s, ok := tags["s"]; ok {
		r.Services = list(s)
	}
	if t, ok := tags["t"]; ok {
		r.Flags = list(t)
	}
	b64 := strings.Map(func(c rune) rune {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			return -1 // FWS may appear inside base64string (RFC 6376 3.6.1)
		}
		return c
	}, p)
	if b64 != "" {
		if r.Key, err = base64.StdEncoding.DecodeString(b64); err != nil || len(r.Key) == 0 {
			return nil, fmt.Errorf("%w: p= is not base64", ErrBadKey)
		}
	}
	return r, nil
}

// Revoked reports whether the key has been revoked.
func (r *Record) Revoked() bool { return len(r.Key) == 0 }

// KeyBits returns the key size: the RSA modulus length, or 256 for Ed25519.
// The key data is a SubjectPublicKeyInfo for RSA (RFC 6376 3.6.1; a bare
// RSAPublicKey is accepted too, as verifiers do) and the raw 32-byte key for
// Ed25519 (RFC 8463 4.2).
func (r *Record) KeyBits() (int, error) {
	if r.Revoked() {
		return 0, nil
	}
	switch r.KeyType {
	case "rsa":
		if pub, err := x509.ParsePKIXPublicKey(r.Key); err == nil {
			if k, ok := pub.(*rsa.PublicKey); ok {
				return k.N.BitLen(), nil
			}
			return 0, fmt.Errorf("%w: k=rsa but the key is %T", ErrBadKey, pub)
		}
		if k, err := x509.ParsePKCS1PublicKey(r.Key); err == nil {
			return k.N.BitLen(), nil
		}
		return 0, fmt.Errorf("%w: not an RSA public key", ErrBadKey)
	case "ed25519":
		if len(r.Key) != ed25519.PublicKeySize {
			return 0, fmt.Errorf("%w: ed25519 key of %d bytes", ErrBadKey, len(r.Key))
		}
		return 256, nil
	}
	return 0, fmt.Errorf("%w: k=%s", ErrUnknownKeyType, r.KeyType)
}

// Key is the outcome of checking one selector.
type Key struct {
	Selector string
	KeyType  string // rsa, ed25519 or what k= says
	Bits     int    // 0 when revoked or unreadable
	Problems []error
}

// Check fetches and checks the key at <selector>._domainkey.<domain>. The
// error wraps resolver.ErrDNS when the lookup failed.
func Check(ctx context.Context, res resolver.Resolver, domain, selector string) (*Key, error) {
	k := &Key{Selector: selector}
	name := selector + "._domainkey." + strings.TrimSuffix(domain, ".")
	txts, _, err := resolver.TXT(ctx, res, name)
	if err != nil {
		return k, err
	}
	var recs []string
	for _, t := range txts {
		if strings.Contains(t, "p=") || strings.HasPrefix(strings.TrimSpace(t), "v=DKIM1") {
			recs = append(recs, t)
		}
	}
	switch {
	case len(recs) == 0:
		k.Problems = append(k.Problems, fmt.Errorf("%w at %s", ErrNoRecord, name))
		return k, nil
	case len(recs) > 1:
		k.Problems = append(k.Problems, fmt.Errorf("%w at %s: %d", ErrMultipleRecords, name, len(recs)))
		return k, nil
	}
	r, err := Parse(recs[0])
	if err != nil {
		k.Problems = append(k.Problems, fmt.Errorf("at %s: %w", name, err))
		return k, nil
	}
	k.KeyType = r.KeyType
	if r.Revoked() {
		k.Problems = append(k.Problems, fmt.Errorf("%w at %s", ErrRevoked, name))
		return k, nil
	}
	if k.Bits, err = r.KeyBits(); err != nil {
		k.Problems = append(k.Problems, fmt.Errorf("at %s: %w", name, err))
		return k, nil
	}
	k.Problems = append(k.Problems, r.findings(name, k.Bits)...)
	return k, nil
}

func (r *Record) findings(name string, bits int) []error {
	var out []error
	if r.KeyType == "rsa" {
		switch {
		case bits < 1024:
			out = append(out, fmt.Errorf("%w: %d bits at %s", ErrKeyTooShort, bits, name))
		case bits < 2048:
			out = append(out, fmt.Errorf("%w: %d bits at %s", ErrKeyWeak, bits, name))
		}
	}
	if len(r.Hashes) > 0 && !contains(r.Hashes, "sha256") {
		out = append(out, fmt.Errorf("%w: h=%s at %s", ErrSHA1Only, strings.Join(r.Hashes, ":"), name))
	}
	if contains(r.Flags, "y") {
		out = append(out, fmt.Errorf("%w at %s", ErrTesting, name))
	}
	if r.Services != nil && !contains(r.Services, "*") && !contains(r.Services, "email") {
		out = append(out, fmt.Errorf("%w at %s", ErrNotForEmail, name))
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
