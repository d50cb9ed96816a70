package probe

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// BenchmarkProbe runs one whole probe (connect, greeting, capabilities,
// TLS, login, logout) per iteration against the in-process fake servers:
// BenchmarkProbe/<protocol>/<tls>. The fake server runs in this process, so
// ns/op and allocs/op include the server's half of the dialogue and of the
// TLS handshake; use cmd/mail_loadtest for the exporter's cost alone.
//
//	go test ./collector/probe -run '^$' -bench BenchmarkProbe -benchmem
func BenchmarkProbe(b *testing.B) {
	p := newPKI(b, peers.CertOptions{})
	servers := map[config.Protocol]func(implicit bool) int{
		config.SMTP: func(implicit bool) int { return startSMTP(b, p, implicit) },
		config.IMAP: func(implicit bool) int { return startIMAP(b, p, implicit) },
		config.POP3: func(implicit bool) int {
			capa := []string{"SASL PLAIN", "USER"}
			if !implicit {
				capa = append([]string{"STLS"}, capa...)
			}
			return script(b, fakes.POP3Handler(p, implicit, capa))
		},
	}
	for _, proto := range []config.Protocol{config.SMTP, config.IMAP, config.POP3} {
		for _, mode := range []config.TLSMode{config.TLSStartTLS, config.TLSImplicit} {
			b.Run(string(proto)+"/"+string(mode), func(b *testing.B) {
				port := servers[proto](mode == config.TLSImplicit)
				tg := target(p, proto, mode, port, cred())
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if r := Run(ctx, tg); !r.Success {
						b.Fatalf("probe failed: %s: %s", r.Reason, r.Error)
					}
				}
			})
		}
	}
}

// BenchmarkCollectResult turns one stored result into metrics: through
// client_golang (Collect, as /probe does) and as text (Render, done once
// per probe for /metrics).
func BenchmarkCollectResult(b *testing.B) {
	p := newPKI(b, peers.CertOptions{})
	tg := target(p, config.SMTP, config.TLSStartTLS, startSMTP(b, p, false), cred())
	r := Run(context.Background(), tg)
	if !r.Success {
		b.Fatalf("probe failed: %s: %s", r.Reason, r.Error)
	}
	d := NewDescs([]string{"site"})
	labels := []string{"mx1", "127.0.0.1", "submission", "smtp", "587", "starttls", "127.0.0.1", "ipv4", "fra"}
	b.Run("collect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch := make(chan prometheus.Metric, 64)
			go func() { d.Collect(ch, r, labels); close(ch) }()
			for range ch {
			}
		}
	})
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		for b.Loop() {
			size = d.Render(r, labels).Size()
		}
		b.ReportMetric(float64(size), "bytes/result")
	})
}

// TestGreetingPhaseTiming checks that phase timings measure the server, not
// the prober: a server that waits 200 ms before its greeting must read
// close to 200 ms in the greeting phase. The figures are printed (go test
// -v); the assertion is deliberately loose, as the machine may be busy.
func TestGreetingPhaseTiming(t *testing.T) {
	const delay = 200 * time.Millisecond
	port := script(t, func(c net.Conn, r *bufio.Reader) {
		time.Sleep(delay)
		c.Write([]byte("220 slow.example.test ESMTP\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"):
				c.Write([]byte("250-slow.example.test\r\n250 8BITMIME\r\n"))
			case cmd == "QUIT":
				c.Write([]byte("221 bye\r\n"))
				return
			default:
				c.Write([]byte("502 unknown\r\n"))
			}
		}
	})
	tg := target(nil, config.SMTP, config.TLSNone, port, nil)
	var got []time.Duration
	for range 5 {
		r := Run(context.Background(), tg)
		if !r.Success {
			t.Fatalf("probe failed: %s: %s", r.Reason, r.Error)
		}
		g, ok := r.PhaseDuration(PhaseGreeting)
		if !ok {
			t.Fatal("no greeting phase")
		}
		got = append(got, g)
		if g < 150*time.Millisecond || g > 400*time.Millisecond {
			t.Errorf("greeting phase %v for a %v delay", g, delay)
		}
	}
	slices.Sort(got)
	t.Logf("server greeting delay %v: greeting phase min %v median %v max %v (error of median %+.2f ms)",
		delay, got[0], got[len(got)/2], got[len(got)-1], float64(got[len(got)/2]-delay)/1e6)
}
