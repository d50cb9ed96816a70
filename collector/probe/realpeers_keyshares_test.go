package probe

import (
	"context"
	"crypto/tls"
	"net/netip"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// TestRealPeersKeyShares probes real Postfix and Dovecot with Go's default
// offer and then, whatever they chose, with the classic offer alone: both
// must log in, and the classic choice must stand after the second probe (a
// failed handshake would have dropped it).
func TestRealPeersKeyShares(t *testing.T) {
	m := peers.StartMail(t)
	for _, w := range []struct {
		proto config.Protocol
		port  string
	}{{config.SMTP, "submission"}, {config.IMAP, "imap"}, {config.POP3, "pop3"}} {
		t.Run(w.port, func(t *testing.T) {
			ks := NewKeyShares(16, KeySharesRefresh)
			tg := peerTarget(m, m.Host, w.proto, w.port)
			tg.KeyShares = ks
			key := keyShareKey{netip.AddrPortFrom(netip.MustParseAddr(m.Host), uint16(m.Ports[w.port])), m.ServerName}

			if r := Run(context.Background(), tg); !r.Success {
				t.Fatalf("default offer: %s: %s", r.Reason, r.Error)
			}
			t.Logf("%s with Go's default offer: classic choice remembered: %v", w.port, ks.offer(key, time.Now()) != nil)

			ks.learn(key, tls.X25519, time.Now())
			if r := Run(context.Background(), tg); !r.Success {
				t.Fatalf("classic offer: %s: %s", r.Reason, r.Error)
			}
			if ks.offer(key, time.Now()) == nil {
				t.Error("the classic choice was dropped after the classic offer")
			}
		})
	}
}
