package probe

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

func TestKeySharesOffer(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	a := keyShareKey{netip.MustParseAddrPort("192.0.2.1:587"), "mail.example.test"}
	b := keyShareKey{netip.MustParseAddrPort("192.0.2.1:587"), "other.example.test"}
	ks := NewKeyShares(16, time.Hour)
	steps := []struct {
		name    string
		do      func()
		k       keyShareKey
		at      time.Time
		classic bool
	}{
		{"nothing known: the default", nil, a, t0, false},
		{"chose X25519: classic only", func() { ks.learn(a, tls.X25519, t0) }, a, t0.Add(time.Minute), true},
		{"another name is another server", nil, b, t0.Add(time.Minute), false},
		{"still classic just before refresh", nil, a, t0.Add(time.Hour - time.Second), true},
		{"the full offer again at refresh", nil, a, t0.Add(time.Hour), false},
		{"and the choice is gone", nil, a, t0.Add(time.Minute), false},
		{"chose P-256 (TLS 1.2 too)", func() { ks.learn(a, tls.CurveP256, t0) }, a, t0, true},
		{"clock set back: the default", nil, a, t0.Add(-time.Second), false},
		{"chose X25519 again", func() { ks.learn(a, tls.X25519, t0) }, a, t0, true},
		{"a failed handshake forgets", func() { ks.forget(a) }, a, t0, false},
		{"chose the hybrid: the default", func() { ks.learn(a, tls.X25519, t0); ks.learn(a, tls.X25519MLKEM768, t0) }, a, t0, false},
		{"no key exchange named (TLS 1.2 RSA): classic", func() { ks.learn(a, 0, t0) }, a, t0, true},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		got := ks.offer(st.k, st.at)
		if (got != nil) != st.classic {
			t.Errorf("%s: offer %v, want classic=%v", st.name, got, st.classic)
		}
		if got != nil && slices.ContainsFunc(got, isHybrid) {
			t.Errorf("%s: the classic offer holds a hybrid: %v", st.name, got)
		}
	}
	var none *KeyShares // a Target without one
	if none.offer(a, t0) != nil {
		t.Error("nil KeyShares offers classic")
	}
	none.learn(a, tls.X25519, t0)
	none.forget(a)
}

func TestKeySharesIsBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ks := NewKeyShares(4, time.Hour)
	key := func(i int) keyShareKey {
		return keyShareKey{netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 25), ""}
	}
	ks.learn(key(0), tls.X25519, t0.Add(-2*time.Hour)) // stale
	for i := 1; i < 4; i++ {
		ks.learn(key(i), tls.X25519, t0)
	}
	ks.learn(key(4), tls.X25519, t0) // full: the stale one goes
	if n := ks.size(); n != 4 {
		t.Fatalf("size %d after pruning the stale one, want 4", n)
	}
	if ks.offer(key(1), t0) == nil || ks.offer(key(4), t0) == nil {
		t.Error("fresh choices were dropped while a stale one could go")
	}
	ks.learn(key(5), tls.X25519, t0) // full of fresh ones: start afresh
	if n := ks.size(); n > 4 {
		t.Fatalf("size %d, bound 4", n)
	}
	if ks.offer(key(5), t0) == nil {
		t.Error("the newest choice was dropped")
	}
}

// TestProbeSparesRefusedKeyShare probes two implicit-TLS servers three
// times each, the third an hour on: one server takes only X25519, the other
// Go's default (the hybrid first). The groups each ClientHello offered are
// read by the server.
func TestProbeSparesRefusedKeyShare(t *testing.T) {
	p := newPKI(t, fakes.CertOptions{})
	cases := []struct {
		name   string
		groups []tls.CurveID // the server's; nil = Go's default
		hybrid []bool        // offered in probe 1, 2, 3
	}{
		{"server without ML-KEM", []tls.CurveID{tls.X25519}, []bool{true, false, true}},
		{"server with ML-KEM", nil, []bool{true, true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			offered := make(chan []tls.CurveID, 3)
			cfg := p.ServerConfig().Clone()
			cfg.CurvePreferences = tc.groups
			cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				offered <- h.SupportedCurves
				return nil, nil
			}
			port := script(t, func(raw net.Conn, _ *bufio.Reader) {
				c := tls.Server(raw, cfg)
				r := bufio.NewReader(c)
				c.Write([]byte("220 mx.example.test ESMTP\r\n"))
				if expect(r, "EHLO") {
					c.Write([]byte("250 mx.example.test\r\n"))
				}
				if expect(r, "QUIT") {
					c.Write([]byte("221 bye\r\n"))
				}
			})
			now := time.Now()
			tg := target(p, config.SMTP, config.TLSImplicit, port, nil)
			tg.Address = netip.MustParseAddr("127.0.0.1")
			tg.KeyShares = NewKeyShares(16, KeySharesRefresh)
			tg.Now = func() time.Time { return now }
			for i, want := range tc.hybrid {
				if i == 2 {
					now = now.Add(KeySharesRefresh)
				}
				if r := run(t, tg); !r.Success {
					t.Fatalf("probe %d: %s: %s", i+1, r.Reason, r.Error)
				}
				got := <-offered
				if slices.Contains(got, tls.X25519MLKEM768) != want {
					t.Errorf("probe %d offered %v, want the hybrid: %v", i+1, got, want)
				}
			}
		})
	}
}
