package discover

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
	"net/url"
	"slices"
	"strings"
	"syscall"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// MaxAutoconfigSize is the largest autoconfig file read. Real ones are a few
// kilobytes; the cap keeps a hostile server from growing the exporter.
const MaxAutoconfigSize = 256 << 10

// maxRedirects is how many redirects to the same host are followed.
const maxRedirects = 3

// AutoconfigURLs are where mail clients fetch domain's file, in order of
// preference (draft-ietf-mailmaint-autoconfig "Mail provider", 1.1 and 1.2).
// The plain-HTTP variant (1.3) is not read: a file fetched over HTTP can be
// forged on the way, and a monitor should not bless it. The emailaddress
// query parameter is omitted: there is no address to give, and a provider
// serves one configuration to all its users.
func AutoconfigURLs(domain string) []string {
	return []string{
		"https://autoconfig." + domain + "/mail/config-v1.1.xml",
		"https://" + domain + "/.well-known/autoconfig/mail/config-v1.1.xml",
	}
}

// newHTTPClient is the default autoconfig client: TLS verified against roots
// (nil = the system pool), names resolved by dial, no proxy, no keep-alive.
func newHTTPClient(roots *x509.CertPool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:            dial,
			TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: sameHostRedirect,
	}
}

// errRedirect marks a redirect that was not followed.
var errRedirect = errors.New("redirect not followed")

// sameHostRedirect follows a few redirects within the same https host and
// none elsewhere: the file decides where clients send their passwords, so it
// must come from the host that was asked, as MTA-STS policies must (RFC 8461
// 3.3).
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects || req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		return http.ErrUseLastResponse
	}
	return nil
}

// fetched is what one URL gave.
type fetched struct {
	body      []byte // a document was served (status 200)
	absent    string // nothing is served here, and why
	err       error  // the host answers but does not serve the file
	lookupErr error  // DNS failure: we cannot tell what clients get
}

// fetch gets one autoconfig URL. Absent: the host has no address, refuses
// the connection, answers 404 or 410, or serves an HTML page (a web site's
// catch-all, not a configuration).
func (d *discovery) fetch(ctx context.Context, rawURL string) fetched {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fetched{err: err}
	}
	host := u.Hostname()
	addrs, _, _, err := resolver.Addrs(ctx, d.opt.Resolver, host)
	if err != nil {
		return fetched{lookupErr: fmt.Errorf("%s: %w", host, err)}
	}
	if len(addrs) == 0 {
		return fetched{absent: host + " has no address"}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fetched{err: err}
	}
	req.Header.Set("Accept", "text/xml, application/xml;q=0.9, */*;q=0.1")
	req.Header.Set("User-Agent", "mail_exporter (autoconfig check)")
	c := *d.client
	c.CheckRedirect = sameHostRedirect
	resp, err := c.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return fetched{absent: host + " refuses connections on port 443"}
		case errors.Is(err, resolver.ErrDNS):
			return fetched{lookupErr: err}
		case expired(parent):
			// The discovery ran out of time: that says nothing of the host.
			return fetched{lookupErr: fmt.Errorf("%s not fetched: %w", rawURL, context.DeadlineExceeded)}
		}
		return fetched{err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fetched{absent: rawURL + ": " + resp.Status}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fetched{err: fmt.Errorf("%w: %s to %q", errRedirect, resp.Status, resp.Header.Get("Location"))}
	case resp.StatusCode != http.StatusOK:
		return fetched{err: fmt.Errorf("HTTP status %s", resp.Status)}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return fetched{absent: rawURL + " serves an HTML page"}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAutoconfigSize+1))
	if err != nil {
		return fetched{err: fmt.Errorf("reading the body: %w", err)}
	}
	if len(body) > MaxAutoconfigSize {
		return fetched{err: fmt.Errorf("larger than %d bytes", MaxAutoconfigSize)}
	}
	return fetched{body: body}
}

// acRead is the autoconfig source of one domain.
type acRead struct {
	url      string        // where cfg came from
	cfg      *ClientConfig // nil when no usable document was found
	found    bool          // a document was served, usable or not
	problems []dnscheck.Problem
	err      error // DNS failure
}

// readAutoconfig fetches the file as a client would: the first URL, then
// the second. The first, autoconfig.<domain>, exists only for this: when it
// answers but fails, that is autoconfig_fetch_failed. The second is the
// domain's web site, which serves many things: there, any failure just means
// the file is not there.
func (d *discovery) readAutoconfig(ctx context.Context) *acRead {
	a := &acRead{}
	var absent []string
	fetchFailed := false
	for i, u := range AutoconfigURLs(d.domain) {
		f := d.fetch(ctx, u)
		switch {
		case f.lookupErr != nil:
			// Clients with a working resolver may get a file here: the
			// source cannot be read this time.
			a.err = f.lookupErr
			return a
		case f.body != nil:
			a.found = true
			cfg, err := ParseClientConfig(f.body, d.domain)
			if err != nil {
				a.problems = append(a.problems, problem("autoconfig_syntax", u+": "+err.Error()))
			}
			if cfg != nil {
				a.url, a.cfg = u, cfg
				return a
			}
		case f.err != nil && i == 0:
			fetchFailed = true
			a.problems = append(a.problems, problem("autoconfig_fetch_failed", u+": "+f.err.Error()))
		case f.err != nil:
			absent = append(absent, u+": "+f.err.Error())
		default:
			absent = append(absent, f.absent)
		}
	}
	if !a.found && !fetchFailed {
		a.problems = append(a.problems, problem("autoconfig_missing", strings.Join(absent, "; ")))
	}
	return a
}

// adverts are the file's imap, pop3 and smtp servers.
func (a *acRead) adverts() []advert {
	if a.cfg == nil {
		return nil
	}
	var out []advert
	for _, s := range a.cfg.Servers {
		family := string(s.Protocol)
		if s.Protocol == "smtp" {
			family = "submission"
		}
		out = append(out, advert{
			ep:     Endpoint{Host: s.Hostname, Protocol: s.Protocol, Port: s.Port, TLS: s.TLS()},
			source: SourceAutoconfig, family: family, where: s.String(),
		})
	}
	return out
}

// view is the set of host:port pairs the file lists for a family.
func (a *acRead) view(family string) map[string]bool {
	set := map[string]bool{}
	for _, ad := range a.adverts() {
		if ad.family == family {
			set[hostPort(ad.ep.Host, ad.ep.Port)] = true
		}
	}
	return set
}

// check builds the autoconfig check.
func (a *acRead) check(outcomes map[string]outcome, srv *srvRead) *dnscheck.CheckResult {
	b := newBuilder()
	if a.err != nil {
		b.fail(a.err)
	}
	b.cr.Problems = append(b.cr.Problems, a.problems...)
	if a.cfg != nil {
		seen := map[string]bool{}
		for _, s := range a.cfg.Servers {
			if s.SocketType != "plain" || seen[s.String()] {
				continue
			}
			seen[s.String()] = true
			if s.cleartextAuth() {
				b.add("autoconfig_plaintext", fmt.Sprintf("%s: socketType plain, authentication %s", s, authList(s)))
			} else {
				b.add("autoconfig_unencrypted", fmt.Sprintf("%s: socketType plain, authentication %s", s, authList(s)))
			}
		}
	}
	verified := map[string]bool{}
	for _, ad := range a.adverts() {
		if verified[ad.ep.Key()] {
			continue
		}
		verified[ad.ep.Key()] = true
		o := outcomes[ad.ep.Key()]
		if o.lookupErr != nil {
			b.fail(o.lookupErr)
			continue
		}
		if code := o.code(SourceAutoconfig); code != "" {
			b.add(code, ad.where+": "+o.detail)
		}
	}
	if srv != nil {
		for _, d := range disagreements(srv, a) {
			b.add("autoconfig_srv_mismatch", d)
		}
	}
	return b.done(a.found)
}

func authList(s Server) string {
	if len(s.Authentication) == 0 {
		return "(none given)"
	}
	return strings.Join(s.Authentication, ", ")
}

// families are what SRV and autoconfig are compared by.
var families = []string{"submission", "imap", "pop3"}

// disagreements compares, per family, the servers SRV prefers with those the
// autoconfig file lists, by host and port only: a wrong security type on the
// same host and port is the probes' finding (*_security_mismatch), not a
// disagreement. Nothing is compared unless both sources were read whole and
// both say something about the family; the file listing fewer families than
// SRV (commonly no POP3) is not a disagreement.
func disagreements(s *srvRead, a *acRead) []string {
	if s.err != nil || a.err != nil || a.cfg == nil {
		return nil
	}
	var out []string
	for _, fam := range families {
		srvSet, notOffered, known := s.view(fam)
		acSet := a.view(fam)
		if !known || len(acSet) == 0 {
			continue
		}
		switch {
		case notOffered:
			out = append(out, fmt.Sprintf("%s: SRV says not offered (target \".\"), autoconfig lists %s", fam, setString(acSet)))
		case !intersects(srvSet, acSet):
			out = append(out, fmt.Sprintf("%s: SRV prefers %s, autoconfig lists %s", fam, setString(srvSet), setString(acSet)))
		}
	}
	return out
}

func intersects(a, b map[string]bool) bool {
	for k := range a {
		if b[k] {
			return true
		}
	}
	return false
}

func setString(m map[string]bool) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, fmt.Sprint(port)) }
