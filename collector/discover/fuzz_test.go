package discover

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// FuzzParseClientConfig: any input parses or fails with ErrSyntax, never
// panics, and whatever servers come back are usable endpoints.
func FuzzParseClientConfig(f *testing.F) {
	full, _ := os.ReadFile("testdata/full.xml")
	for _, s := range []string{
		string(full),
		doc(imapServer("mail.ex.test", "993", "SSL", "password-cleartext")),
		doc(imapServer("%EMAILDOMAIN%", "143", "STARTTLS")),
		doc(imapServer("127.0.0.1", "143", "plain")),
		doc(imapServer("m.ex.test", "0", "SSL")),
		`<clientConfig><emailProvider></emailProvider></clientConfig>`,
		`<!DOCTYPE x [<!ENTITY a "b">]><clientConfig>&a;</clientConfig>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><clientConfig/>`,
		"<clientConfig><emailProvider><incomingServer type='imap'><hostname>" + strings.Repeat("a.", 200) + "</hostname></incomingServer></emailProvider></clientConfig>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseClientConfig(data, "ex.test")
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("error %v does not wrap ErrSyntax", err)
		}
		if cfg == nil {
			if err == nil {
				t.Fatal("nil config without an error")
			}
			return
		}
		for _, s := range cfg.Servers {
			if s.Port < 1 || s.Port > 65535 {
				t.Fatalf("port %d", s.Port)
			}
			if s.SocketType != "SSL" && s.SocketType != "STARTTLS" && s.SocketType != "plain" {
				t.Fatalf("socketType %q", s.SocketType)
			}
			if s.Protocol != config.IMAP && s.Protocol != config.POP3 && s.Protocol != config.SMTP {
				t.Fatalf("protocol %q", s.Protocol)
			}
			if _, err := netip.ParseAddr(s.Hostname); err != nil {
				if h, err := hostname(s.Hostname, "ex.test"); err != nil || h != s.Hostname {
					t.Fatalf("hostname %q is not canonical: %q %v", s.Hostname, h, err)
				}
			}
		}
	})
}

// FuzzSelectSRV: the selection is always a subset of the records at the
// lowest usable priority, with no unusable record in it.
func FuzzSelectSRV(f *testing.F) {
	f.Add([]byte{0, 10, 0, 1, 3, 225, 'a', 0, 20, 0, 0, 3, 225, 'b'})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 5, 0, 0, 0, 0, 'x', 0, 5, 0, 7, 3, 225, 'y', 0, 5, 0, 7, 3, 225, 'y'})
	f.Fuzz(func(t *testing.T, data []byte) {
		// 7 bytes a record: priority, weight, port, one target letter (0 = ".").
		var recs []SRVRecord
		for len(data) >= 7 && len(recs) < 64 {
			r := SRVRecord{Priority: binary.BigEndian.Uint16(data), Weight: binary.BigEndian.Uint16(data[2:]), Port: binary.BigEndian.Uint16(data[4:])}
			if data[6] != 0 {
				r.Target = string(rune('a'+data[6]%26)) + ".ex.test"
			}
			recs = append(recs, r)
			data = data[7:]
		}
		s := SelectSRV(recs)
		if s.NotOffered && len(s.Preferred) > 0 {
			t.Fatal("not offered, yet targets preferred")
		}
		minPrio := -1
		for _, r := range recs {
			if r.Target != "" && r.Port != 0 && (minPrio < 0 || int(r.Priority) < minPrio) {
				minPrio = int(r.Priority)
			}
		}
		if (minPrio >= 0) != (len(s.Preferred) > 0) {
			t.Fatalf("usable records at priority %d, preferred %v", minPrio, s.Preferred)
		}
		seen := map[SRVRecord]bool{}
		for i, p := range s.Preferred {
			if p.Target == "" || p.Port == 0 || int(p.Priority) != minPrio || seen[p] {
				t.Fatalf("preferred %v (min priority %d)", s.Preferred, minPrio)
			}
			seen[p] = true
			if i > 0 && s.Preferred[i-1].Weight < p.Weight {
				t.Fatalf("not by weight: %v", s.Preferred)
			}
		}
	})
}
