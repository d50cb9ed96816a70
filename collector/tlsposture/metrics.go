package tlsposture

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Descs are the posture metric descriptors for one set of endpoint label
// names (SPEC 6.2). Immutable; built once per configuration.
type Descs struct {
	success, lastRun, protocol, weak, weakInfo, chainComplete *prometheus.Desc
	keyBits, sigAlg, stapled, ocspStatus, chainNotAfter       *prometheus.Desc
}

// NewDescs builds the descriptors; base are the endpoint label names.
func NewDescs(base []string) *Descs {
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(append([]string{}, base...), extra...), nil)
	}
	return &Descs{
		success:       d("mail_tls_posture_success", "1 when the last TLS posture check could ask the server its questions (connected, reached the handshake), else 0."),
		lastRun:       d("mail_tls_posture_last_run_timestamp_seconds", "When the last TLS posture check finished, as a Unix time."),
		protocol:      d("mail_tls_protocol_accepted", "1 when the server accepted a handshake at this TLS version (posture check).", "version"),
		weak:          d("mail_tls_weak_cipher_accepted", "1 when the server accepted a cipher suite from the documented weak list (posture check)."),
		weakInfo:      d("mail_tls_weak_cipher_info", "A weak cipher suite the server accepted, as Go names it (posture check).", "cipher"),
		chainComplete: d("mail_tls_chain_complete", "1 when the certificates the server sent reach a trusted root without intermediates from anywhere else (posture check)."),
		keyBits:       d("mail_tls_cert_key_bits", "Size of the leaf certificate's public key in bits (posture check).", "key_type"),
		sigAlg:        d("mail_tls_cert_signature_algorithm_info", "The leaf certificate's signature algorithm as Go names it (posture check).", "algorithm"),
		stapled:       d("mail_tls_ocsp_stapled", "1 when the server stapled an OCSP response (posture check)."),
		ocspStatus:    d("mail_tls_ocsp_status_info", "Status of the stapled OCSP response: good, revoked, unknown or invalid (posture check).", "status"),
		chainNotAfter: d("mail_tls_chain_cert_not_after_timestamp_seconds", "Expiry of every certificate the server sent, as a Unix time; depth 0 is the leaf (posture check).", "depth", "subject"),
	}
}

// Collect writes r's series; labels are the values of the base labels.
// A check that could not reach the server writes only its success and
// last run: stale verdicts are not repeated as if they were current.
func (d *Descs) Collect(ch chan<- prometheus.Metric, r *Result, labels []string) {
	base := make([]string, len(labels))
	for i, v := range labels {
		base[i] = validUTF8(v)
	}
	emit := func(desc *prometheus.Desc, v float64, extra ...string) {
		lv := base
		if len(extra) > 0 {
			lv = append(append(make([]string, 0, len(base)+len(extra)), base...), extra...)
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv...)
	}
	emit(d.success, b2f(r.Error == ""))
	emit(d.lastRun, float64(r.Start.Add(r.Duration).UnixNano())/1e9)
	if r.Error != "" {
		return
	}
	for _, p := range r.Protocols {
		emit(d.protocol, b2f(p.Accepted), p.Version)
	}
	emit(d.weak, b2f(len(r.WeakCiphers) > 0))
	for _, c := range r.WeakCiphers {
		emit(d.weakInfo, 1, c)
	}
	f := r.Cert
	if f == nil {
		return
	}
	emit(d.chainComplete, b2f(f.ChainComplete))
	if f.KeyType != "" {
		emit(d.keyBits, float64(f.KeyBits), f.KeyType)
	}
	emit(d.sigAlg, 1, f.SignatureAlgorithm)
	emit(d.stapled, b2f(f.OCSPStapled))
	if f.OCSPStapled {
		emit(d.ocspStatus, 1, f.OCSPStatus)
	}
	for _, c := range f.Chain {
		emit(d.chainNotAfter, float64(c.NotAfter.Unix()), strconv.Itoa(c.Depth), validUTF8(c.Subject))
	}
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
