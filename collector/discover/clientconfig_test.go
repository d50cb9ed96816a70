package discover

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

func TestParseClientConfigFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.xml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseClientConfig(data, "example.test")
	if err != nil {
		t.Fatal(err)
	}
	want := []Server{
		{false, config.IMAP, "imap.example.test", 993, "SSL", []string{"OAuth2", "password-cleartext"}},
		{false, config.IMAP, "imap.example.test", 143, "STARTTLS", []string{"password-cleartext"}},
		{false, config.POP3, "pop.example.test", 995, "SSL", []string{"password-cleartext"}},
		{true, config.SMTP, "smtp.example.test", 465, "SSL", []string{"password-cleartext"}},
		{true, config.SMTP, "smtp.example.test", 587, "STARTTLS", []string{"password-encrypted"}},
	}
	if cfg.Version != "1.1" || !reflect.DeepEqual(cfg.Servers, want) {
		t.Errorf("got version %q\n%+v\nwant\n%+v", cfg.Version, cfg.Servers, want)
	}
	if cfg.Servers[0].TLS() != config.TLSImplicit || cfg.Servers[1].TLS() != config.TLSStartTLS {
		t.Error("TLS modes")
	}
}

// doc wraps server sections in a minimal clientConfig.
func doc(servers string) string {
	return `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="ex.test">` + servers + `</emailProvider></clientConfig>`
}

func imapServer(host, port, socket string, auth ...string) string {
	var a strings.Builder
	for _, x := range auth {
		fmt.Fprintf(&a, "<authentication>%s</authentication>", x)
	}
	return fmt.Sprintf(`<incomingServer type="imap"><hostname>%s</hostname><port>%s</port><socketType>%s</socketType>%s</incomingServer>`, host, port, socket, a.String())
}

func TestParseClientConfig(t *testing.T) {
	good := func(data string, want ...string) {
		t.Helper()
		cfg, err := ParseClientConfig([]byte(data), "ex.test")
		if err != nil {
			t.Errorf("%s: %v", data, err)
			return
		}
		var got []string
		for _, s := range cfg.Servers {
			got = append(got, s.String())
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("%s:\ngot  %q\nwant %q", data, got, want)
		}
	}
	// bad: the document is rejected; partial lists the servers still read.
	bad := func(data, why string, partial ...string) {
		t.Helper()
		cfg, err := ParseClientConfig([]byte(data), "ex.test")
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: error %v, want ErrSyntax with %q", data, err, why)
			return
		}
		var got []string
		if cfg != nil {
			for _, s := range cfg.Servers {
				got = append(got, s.String())
			}
		}
		if strings.Join(got, "; ") != strings.Join(partial, "; ") {
			t.Errorf("%s: partial %q, want %q", data, got, partial)
		}
	}

	good(doc(imapServer("mail.ex.test", "993", "SSL", "password-cleartext")), "incomingServer imap mail.ex.test:993 SSL")
	good(doc(imapServer(" Mail.EX.test. ", " 143 ", " starttls ")), "incomingServer imap mail.ex.test:143 STARTTLS")
	good(doc(imapServer("%EMAILDOMAIN%", "993", "TLS")), "incomingServer imap ex.test:993 SSL")
	good(doc(imapServer("127.0.0.2", "10993", "ssl")), "incomingServer imap 127.0.0.2:10993 SSL")
	good(doc(imapServer("[::1]", "143", "plain")), "incomingServer imap [::1]:143 plain")
	good(doc(imapServer("xn--bcher-kva.ex.test", "993", "SSL")), "incomingServer imap xn--bcher-kva.ex.test:993 SSL")
	good(doc(`<incomingServer type="POP3"><hostname>pop.ex.test</hostname><port>995</port><socketType>SSL</socketType></incomingServer>`),
		"incomingServer pop3 pop.ex.test:995 SSL")
	good(doc(`<outgoingServer type="smtp"><hostname>smtp.ex.test</hostname><port>587</port><socketType>STARTTLS</socketType></outgoingServer>`),
		"outgoingServer smtp smtp.ex.test:587 STARTTLS")
	// Types a monitor does not probe are ignored, as clients must.
	good(doc(`<incomingServer type="ews"><url>https://x.ex.test/EWS</url></incomingServer>`+
		`<incomingServer type="smtp"><hostname>x</hostname></incomingServer>`+
		`<outgoingServer type="imap"><hostname>x</hostname></outgoingServer>`+imapServer("mail.ex.test", "993", "SSL")),
		"incomingServer imap mail.ex.test:993 SSL")
	// Unknown elements and attributes, comments, namespaces, a BOM, Latin-1.
	good("\xef\xbb\xbf"+`<clientConfig xmlns="urn:x" version="9"><!-- c --><new a="b"><x/></new><emailProvider><incomingServer type="imap" extra="1"><hostname>m.ex.test</hostname><port>993</port><socketType>SSL</socketType><future/></incomingServer></emailProvider></clientConfig><!-- end -->`,
		"incomingServer imap m.ex.test:993 SSL")
	good(`<?xml version="1.0" encoding="ISO-8859-1"?>`+"<clientConfig><emailProvider><displayName>M\xfcller</displayName>"+imapServer("m.ex.test", "993", "SSL")+"</emailProvider></clientConfig>",
		"incomingServer imap m.ex.test:993 SSL")
	good(doc(`<incomingServer type="jmap"><url>https://j.ex.test/</url></incomingServer>`)) // nothing to probe, not an error

	bad("", "EOF")
	bad("not xml", "EOF")
	bad(`<html><body>hi</body></html>`, "expected element type <clientConfig>")
	bad(`<clientConfig><emailProvider>`, "unexpected EOF")
	bad(`<clientConfig></clientConfig>`, "no emailProvider")
	bad(`<clientConfig><emailProvider></emailProvider></clientConfig>`, "no incomingServer or outgoingServer")
	bad(doc(imapServer("m.ex.test", "993", "SSL"))+"<clientConfig/>", "after the root element")
	bad(doc(imapServer("m.ex.test", "993", "SSL"))+"junk", "text after the root element")
	bad(`<!DOCTYPE clientConfig [<!ENTITY h "m.ex.test">]>`+doc(imapServer("&h;", "993", "SSL")), "invalid character entity &h;")
	bad(`<?xml version="1.0" encoding="UTF-16"?>`+doc(imapServer("m.ex.test", "993", "SSL")), `encoding "UTF-16" is not supported`)
	bad(doc(imapServer("", "993", "SSL")), "empty <hostname>")
	bad(doc(imapServer("m.ex.test", "0", "SSL")), `port "0"`)
	bad(doc(imapServer("m.ex.test", "65536", "SSL")), `port "65536"`)
	bad(doc(imapServer("m.ex.test", "99x", "SSL")), `port "99x"`)
	bad(doc(imapServer("m.ex.test", "993", "SSLv3")), `socketType "SSLv3"`)
	bad(doc(imapServer("%EMAILLOCALPART%.ex.test", "993", "SSL")), "placeholder other than %EMAILDOMAIN%")
	bad(doc(imapServer("m_x.ex.test", "993", "SSL")), "not a host name")
	bad(doc(imapServer("-m.ex.test", "993", "SSL")), "not a host name")
	bad(doc(imapServer("m..ex.test", "993", "SSL")), "not a host name")
	bad(doc(imapServer("bücher.ex.test", "993", "SSL")), "not a host name")
	bad(doc(imapServer(strings.Repeat("a", 64)+".ex.test", "993", "SSL")), "not a host name")
	bad(doc(`<incomingServer type="imap"><hostname>a.ex.test</hostname><hostname>b.ex.test</hostname><port>993</port><socketType>SSL</socketType></incomingServer>`),
		"2 <hostname> elements")
	bad(doc(`<incomingServer type="imap"><hostname>a.ex.test</hostname><socketType>SSL</socketType></incomingServer>`), "0 <port> elements")
	bad(doc(`<outgoingServer type="smtp"><hostname>a.ex.test</hostname><port>25</port></outgoingServer>`), "0 <socketType> elements")
	// A broken section spoils the document, but the good ones are still read.
	bad(doc(imapServer("m.ex.test", "993", "SSL")+imapServer("m.ex.test", "x", "SSL")), `port "x"`, "incomingServer imap m.ex.test:993 SSL")
}

func TestCleartextAuth(t *testing.T) {
	for _, c := range []struct {
		auth []string
		want bool
	}{
		{nil, true},
		{[]string{"password-cleartext"}, true},
		{[]string{"plain"}, true},
		{[]string{"OAuth2", "password-cleartext"}, true},
		{[]string{"password-encrypted"}, false},
		{[]string{"OAuth2"}, false},
		{[]string{"none"}, false},
		{[]string{"client-IP-address"}, false},
	} {
		if got := (Server{Authentication: c.auth}).cleartextAuth(); got != c.want {
			t.Errorf("%q: %v, want %v", c.auth, got, c.want)
		}
	}
}
