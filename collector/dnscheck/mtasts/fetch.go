package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

// Fetch failures (RFC 8461 3.3).
var (
	ErrFetch       = errors.New("policy fetch failed")                  // 3.3
	ErrCertificate = errors.New("policy host certificate is not valid") // 3.3: a valid certificate for mta-sts.<domain>
	ErrHTTPStatus  = errors.New("policy fetch did not answer 200 OK")   // 3.3: 200 only, redirects not followed
	ErrContentType = errors.New("policy media type is not text/plain")  // 3.2
	ErrTooLarge    = errors.New("policy is larger than the size limit") // 3.3: senders cap the size
)

// MaxPolicySize is the largest policy read (RFC 8461 3.3 suggests 64 KiB).
const MaxPolicySize = 64 << 10

// PolicyURL is where domain's policy lives (RFC 8461 3.2).
func PolicyURL(domain string) string {
	return "https://mta-sts." + strings.TrimSuffix(strings.ToLower(domain), ".") + "/.well-known/mta-sts.txt"
}

// NewHTTPClient returns a client for policy fetches: TLS verified against
// roots (nil = the system pool), no redirects followed, no proxy, no
// keep-alive, names resolved by dial (nil = the system's dialer).
func NewHTTPClient(roots *x509.CertPool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:            dial,
			TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DisableKeepAlives:      true,
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  10 * time.Second,
			MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: noRedirect,
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Fetch gets and parses domain's policy. Whatever client is given, redirects
// are not followed (RFC 8461 3.3). Errors wrap the sentinels above, or
// ErrPolicySyntax; the returned text is the body read, for diagnostics.
func Fetch(ctx context.Context, client *http.Client, domain string) (*Policy, string, error) {
	c := *client
	c.CheckRedirect = noRedirect
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, PolicyURL(domain), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrFetch, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		if isCertError(err) {
			return nil, "", fmt.Errorf("%w: %v", ErrCertificate, err)
		}
		return nil, "", fmt.Errorf("%w: %v", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%w: %s", ErrHTTPStatus, resp.Status)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" {
		return nil, "", fmt.Errorf("%w: %q", ErrContentType, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return nil, "", fmt.Errorf("%w: reading body: %v", ErrFetch, err)
	}
	if len(body) > MaxPolicySize {
		return nil, "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxPolicySize)
	}
	p, err := ParsePolicy(string(body))
	return p, string(body), err
}

// isCertError reports whether a TLS handshake failed on the certificate.
func isCertError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		he   x509.HostnameError
		ci   x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}
