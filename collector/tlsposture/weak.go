package tlsposture

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"

	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// WeakSuites is the documented weak list (README "TLS posture"): the
// suites a server should no longer accept that Go's crypto/tls can offer,
// so that a handshake can prove the server accepts them.
//
//   - RC4 (RFC 7465 prohibits it in TLS);
//   - 3DES, a 64-bit block cipher (Sweet32, CVE-2016-2183);
//   - static RSA key exchange: no forward secrecy, and the ROBOT family of
//     padding-oracle attacks (NCSC-NL TLS guidelines and internet.nl rate
//     these "phase out"; Go left them out of its defaults in 1.22).
//
// What cannot be tested, because crypto/tls has no implementation to offer:
// NULL (no encryption), EXPORT, anonymous (EDH/AECDH, no authentication),
// single DES, IDEA, SEED, CAMELLIA, ARIA, finite-field DHE, PSK/SRP, CCM,
// SSL 2.0/3.0, and the choice among TLS 1.3 suites (not configurable in
// Go, all of them strong). Telling those apart needs a hand-made
// ClientHello and reading the ServerHello alone, as testssl.sh does; this
// check does not do that.
var WeakSuites = []uint16{
	tls.TLS_RSA_WITH_RC4_128_SHA,
	tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
}

// weakScan offers the weak list (TLS 1.0 to 1.2; TLS 1.3 has no weak
// suite) and removes each suite the server picks, until it refuses the
// rest: one handshake per accepted suite, plus one.
func weakScan(ctx context.Context, t probe.Target) ([]string, error) {
	left := slices.Clone(WeakSuites)
	var found []string
	for len(left) > 0 {
		cfg := &tls.Config{
			ServerName:         t.ServerName,
			InsecureSkipVerify: true, // only the suite is asked about
			MinVersion:         tls.VersionTLS10,
			MaxVersion:         tls.VersionTLS12,
			CipherSuites:       left,
		}
		st, err := handshake(ctx, t, cfg)
		if errors.Is(err, probe.ErrHandshake) {
			return found, nil
		}
		if err != nil {
			return nil, err
		}
		i := slices.Index(left, st.CipherSuite)
		if i < 0 {
			// A server picking a suite it was not offered broke the
			// handshake rules (crypto/tls refuses that): stop here.
			return found, nil
		}
		found = append(found, tls.CipherSuiteName(st.CipherSuite))
		left = slices.Delete(left, i, i+1)
	}
	return found, nil
}
