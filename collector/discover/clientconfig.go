package discover

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// ErrSyntax is wrapped by every clientConfig parse error.
var ErrSyntax = errors.New("not a valid clientConfig document")

// ClientConfig is the part of an autoconfig file (Thunderbird's clientConfig
// format, draft-ietf-mailmaint-autoconfig "Data format") that says where mail
// clients connect.
type ClientConfig struct {
	Version string
	// Servers are the imap and pop3 incomingServers and the smtp
	// outgoingServers, in document order (the first of a kind is the one the
	// provider prefers). Other types (jmap, ews, activesync, ...) are ignored,
	// as the format requires of clients that do not support them.
	Servers []Server
}

// Server is one incomingServer or outgoingServer.
type Server struct {
	Outgoing       bool
	Protocol       config.Protocol // imap, pop3 (incoming) or smtp (outgoing)
	Hostname       string          // lower-case, no trailing dot, %EMAILDOMAIN% replaced
	Port           int
	SocketType     string   // "SSL", "STARTTLS" or "plain"
	Authentication []string // as written, in order of preference
}

// TLS is the endpoint TLS mode of the server's socketType.
func (s Server) TLS() config.TLSMode {
	switch s.SocketType {
	case "SSL":
		return config.TLSImplicit
	case "STARTTLS":
		return config.TLSStartTLS
	}
	return config.TLSNone
}

// String names the server for details: element, type, host:port, socketType.
func (s Server) String() string {
	el := "incomingServer"
	if s.Outgoing {
		el = "outgoingServer"
	}
	return fmt.Sprintf("%s %s %s %s", el, s.Protocol, hostPort(s.Hostname, s.Port), s.SocketType)
}

// cleartextAuth reports whether the server's login sends the password as it
// is: password-cleartext (or its legacy name "plain"), or no authentication
// element at all, which is taken as a password login.
func (s Server) cleartextAuth() bool {
	if len(s.Authentication) == 0 {
		return true
	}
	for _, a := range s.Authentication {
		if strings.EqualFold(a, "password-cleartext") || strings.EqualFold(a, "plain") {
			return true
		}
	}
	return false
}

// The XML as decoded; single-valued elements are slices so that a repeated
// one is seen, not silently overwritten.
type xmlClientConfig struct {
	XMLName   xml.Name      `xml:"clientConfig"`
	Version   string        `xml:"version,attr"`
	Providers []xmlProvider `xml:"emailProvider"`
}

type xmlProvider struct {
	Incoming []xmlServer `xml:"incomingServer"`
	Outgoing []xmlServer `xml:"outgoingServer"`
}

type xmlServer struct {
	Type           string   `xml:"type,attr"`
	Hostname       []string `xml:"hostname"`
	Port           []string `xml:"port"`
	SocketType     []string `xml:"socketType"`
	Authentication []string `xml:"authentication"`
}

// ParseClientConfig parses an autoconfig file served for domain. The XML
// must be well-formed (encoding/xml in strict mode: no undeclared entities,
// no external ones, which it never loads), UTF-8 (or declared US-ASCII or
// ISO-8859-1), with one clientConfig root and nothing but comments after it.
// Unknown elements and server types are ignored, as the format requires.
//
// A server section of type imap, pop3 (incoming) or smtp (outgoing) must
// have exactly one hostname (a host name or IP address; %EMAILDOMAIN% is
// replaced by domain, other placeholders cannot name a host), one port
// (1-65535) and one socketType (SSL, STARTTLS or plain; "TLS" is read as SSL,
// case does not matter). A document whose XML is broken returns a nil
// config; one with broken server sections returns the valid ones along with
// the error. Every error wraps ErrSyntax.
func ParseClientConfig(data []byte, domain string) (*ClientConfig, error) {
	var doc xmlClientConfig
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) { // a BOM, which some editors write
		data = data[3:]
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if err := trailer(dec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if len(doc.Providers) == 0 {
		return nil, fmt.Errorf("%w: no emailProvider element", ErrSyntax)
	}
	cfg := &ClientConfig{Version: doc.Version}
	var errs []error
	sections := 0
	for _, p := range doc.Providers {
		for _, dir := range []struct {
			outgoing bool
			servers  []xmlServer
		}{{false, p.Incoming}, {true, p.Outgoing}} {
			for _, x := range dir.servers {
				sections++
				s, ok, err := parseServer(x, dir.outgoing, domain)
				if err != nil {
					errs = append(errs, err)
				} else if ok {
					cfg.Servers = append(cfg.Servers, s)
				}
			}
		}
	}
	if sections == 0 {
		errs = append(errs, errors.New("no incomingServer or outgoingServer"))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%w: %w", ErrSyntax, errors.Join(errs...))
	}
	return cfg, nil
}

// trailer reads what follows the root element: only white space, comments,
// processing instructions and directives may.
func trailer(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("element <%s> after the root element", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the root element")
			}
		}
	}
}

// charsetReader accepts the declared encodings that are UTF-8 or trivially
// convertible to it.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	case "iso-8859-1", "latin1", "latin-1":
		b, err := io.ReadAll(io.LimitReader(r, MaxAutoconfigSize))
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (use UTF-8)", charset)
}

// parseServer validates one server section; ok is false for a type that
// is not probed (not an error).
func parseServer(x xmlServer, outgoing bool, domain string) (s Server, ok bool, err error) {
	el := "incomingServer"
	if outgoing {
		el = "outgoingServer"
	}
	typ := strings.ToLower(strings.TrimSpace(x.Type))
	switch {
	case !outgoing && typ == "imap":
		s.Protocol = config.IMAP
	case !outgoing && typ == "pop3":
		s.Protocol = config.POP3
	case outgoing && typ == "smtp":
		s.Protocol = config.SMTP
	default:
		return s, false, nil
	}
	s.Outgoing = outgoing
	where := fmt.Sprintf("%s type=%q", el, x.Type)
	one := func(name string, vals []string) (string, error) {
		if len(vals) != 1 {
			return "", fmt.Errorf("%s: %d <%s> elements, want one", where, len(vals), name)
		}
		v := strings.TrimSpace(vals[0])
		if v == "" {
			return "", fmt.Errorf("%s: empty <%s>", where, name)
		}
		return v, nil
	}
	host, err := one("hostname", x.Hostname)
	if err != nil {
		return s, false, err
	}
	if s.Hostname, err = hostname(host, domain); err != nil {
		return s, false, fmt.Errorf("%s: hostname %q: %v", where, host, err)
	}
	port, err := one("port", x.Port)
	if err != nil {
		return s, false, err
	}
	if s.Port, err = strconv.Atoi(port); err != nil || s.Port < 1 || s.Port > 65535 {
		return s, false, fmt.Errorf("%s: port %q is not a number from 1 to 65535", where, port)
	}
	st, err := one("socketType", x.SocketType)
	if err != nil {
		return s, false, err
	}
	switch strings.ToUpper(st) {
	case "SSL", "TLS":
		s.SocketType = "SSL"
	case "STARTTLS":
		s.SocketType = "STARTTLS"
	case "PLAIN":
		s.SocketType = "plain"
	default:
		return s, false, fmt.Errorf("%s: socketType %q is not SSL, STARTTLS or plain", where, st)
	}
	for _, a := range x.Authentication {
		if a = strings.TrimSpace(a); a != "" {
			s.Authentication = append(s.Authentication, a)
		}
	}
	return s, true, nil
}

// hostname replaces %EMAILDOMAIN% and checks that the result is a host name
// (letters, digits, hyphens; labels of 1 to 63, 253 in all) or an IP
// address.
func hostname(h, domain string) (string, error) {
	h = strings.ReplaceAll(h, "%EMAILDOMAIN%", domain)
	if strings.Contains(h, "%") {
		return "", errors.New("a placeholder other than %EMAILDOMAIN% cannot name a host")
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return ip.String(), nil
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if len(h) == 0 || len(h) > 253 {
		return "", errors.New("not a host name")
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("not a host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", errors.New("not a host name (letters, digits and hyphens; IDNs in their xn-- form)")
			}
		}
	}
	return h, nil
}
