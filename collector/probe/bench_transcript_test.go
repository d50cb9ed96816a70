package probe

import (
	"context"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// BenchmarkProbeTranscript is BenchmarkProbe's SMTP and IMAP cases with a
// transcript recorded on every run, as the status page would need to show
// the last dialogue of every check: compare with BenchmarkProbe for the
// cost, and see bytes/transcript for the memory one would hold.
//
//	go test ./collector/probe -run '^$' -bench 'BenchmarkProbe(Transcript)?/(smtp|imap)' -benchmem
func BenchmarkProbeTranscript(b *testing.B) {
	p := newPKI(b, peers.CertOptions{})
	for _, tc := range []struct {
		proto config.Protocol
		mode  config.TLSMode
		start func() int
	}{
		{config.SMTP, config.TLSStartTLS, func() int { return startSMTP(b, p, false) }},
		{config.SMTP, config.TLSImplicit, func() int { return startSMTP(b, p, true) }},
		{config.IMAP, config.TLSStartTLS, func() int { return startIMAP(b, p, false) }},
		{config.IMAP, config.TLSImplicit, func() int { return startIMAP(b, p, true) }},
	} {
		b.Run(string(tc.proto)+"/"+string(tc.mode), func(b *testing.B) {
			tg := target(p, tc.proto, tc.mode, tc.start(), cred())
			ctx := context.Background()
			b.ReportAllocs()
			var size int
			for b.Loop() {
				t := tg
				t.Transcript = NewTranscript()
				if r := Run(ctx, t); !r.Success {
					b.Fatalf("probe failed: %s: %s", r.Reason, r.Error)
				}
				size = len(t.Transcript.String())
			}
			b.ReportMetric(float64(size), "bytes/transcript")
		})
	}
}
