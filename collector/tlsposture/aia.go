package tlsposture

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Bounds of AIA fetching: a certificate is a few kilobytes, a chain a few
// levels deep, and a server's certificate must not make us fetch at will.
const (
	maxAIASize  = 64 << 10
	maxAIAFetch = 4
	maxAIADepth = 3
)

var errAIA = errors.New("AIA fetch failed")

// fetchIssuers follows the caIssuers URLs (RFC 5280 4.2.2.1) from the last
// certificate sent upwards, fetching at most maxAIAFetch certificates over
// http or https, until one is self-signed or no URL is left.
func fetchIssuers(ctx context.Context, hc *http.Client, leaf *x509.Certificate, sent []*x509.Certificate) ([]*x509.Certificate, error) {
	cur := leaf
	if len(sent) > 0 {
		cur = sent[len(sent)-1]
	}
	var out []*x509.Certificate
	var errs []error
	fetches := 0
	for depth := 0; depth < maxAIADepth; depth++ {
		var next *x509.Certificate
		for _, u := range cur.IssuingCertificateURL {
			if fetches >= maxAIAFetch {
				break
			}
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				continue
			}
			fetches++
			c, err := fetchCert(ctx, hc, u)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			next = c
			break
		}
		if next == nil {
			break
		}
		out = append(out, next)
		if string(next.RawSubject) == string(next.RawIssuer) {
			break
		}
		cur = next
	}
	return out, errors.Join(errs...)
}

// fetchCert GETs one certificate, DER (RFC 5280 4.2.2.1: "a single DER
// encoded certificate") or, as some CAs serve it, PEM.
func fetchCert(ctx context.Context, hc *http.Client, url string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errAIA, url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errAIA, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: HTTP %d", errAIA, url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAIASize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errAIA, url, err)
	}
	if len(body) > maxAIASize {
		return nil, fmt.Errorf("%w: %s: over %d bytes", errAIA, url, maxAIASize)
	}
	if b, _ := pem.Decode(body); b != nil && b.Type == "CERTIFICATE" {
		body = b.Bytes
	}
	c, err := x509.ParseCertificate(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errAIA, url, err)
	}
	return c, nil
}

// NewHTTPClient is the AIA client the exporter uses: names resolved by res
// (global.resolver), no proxy, no keep-alives, at most two redirects, each
// fetch bounded by timeout.
func NewHTTPClient(res *net.Resolver, timeout time.Duration) *http.Client {
	d := &net.Dialer{Resolver: res, Timeout: timeout}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: d.DialContext, DisableKeepAlives: true,
			ResponseHeaderTimeout: timeout, MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > 2 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}
