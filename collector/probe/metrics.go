package probe

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Descs are the endpoint metric descriptors for one set of label names
// (the six endpoint labels plus a server's own `labels:` keys). They are
// immutable; the exporter builds one per distinct label set and reuses it.
type Descs struct {
	success, duration, phase, resultInfo, lastRun                *prometheus.Desc
	tlsVersion, tlsCipher, notAfter, notBefore, chainNotAfter    *prometheus.Desc
	verified, verifyError, certInfo                              *prometheus.Desc
	startTLSOffered, plaintextAuth, mechanism, authSuccess       *prometheus.Desc
	quotaUsed, quotaLimit, quotaMessagesUsed, quotaMessagesLimit *prometheus.Desc
}

// EndpointLabels are the labels every endpoint series carries, in order.
var EndpointLabels = []string{"server", "host", "endpoint", "protocol", "port", "tls"}

// NewDescs builds the descriptors for EndpointLabels followed by extra.
func NewDescs(extra []string) *Descs {
	base := append(append([]string{}, EndpointLabels...), extra...)
	d := func(name, help string, more ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(append([]string{}, base...), more...), nil)
	}
	return &Descs{
		success:            d("mail_probe_success", "1 when the last probe of the endpoint succeeded (connected, greeted, TLS up and verified, logged in), else 0."),
		duration:           d("mail_probe_duration_seconds", "How long the last probe took, all phases together."),
		phase:              d("mail_probe_phase_duration_seconds", "Time spent in each phase of the last probe.", "phase"),
		resultInfo:         d("mail_probe_result_info", "Why the last probe ended: ok or the failure reason.", "result"),
		lastRun:            d("mail_probe_last_run_timestamp_seconds", "When the last probe finished, as a Unix time."),
		tlsVersion:         d("mail_tls_version_info", "TLS version negotiated by the last probe.", "version"),
		tlsCipher:          d("mail_tls_cipher_info", "TLS cipher suite negotiated by the last probe.", "cipher"),
		notAfter:           d("mail_tls_cert_not_after_timestamp_seconds", "Expiry of the leaf certificate, as a Unix time."),
		notBefore:          d("mail_tls_cert_not_before_timestamp_seconds", "Start of validity of the leaf certificate, as a Unix time."),
		chainNotAfter:      d("mail_tls_chain_not_after_timestamp_seconds", "Earliest expiry in the verified chain (the presented chain if none verified), as a Unix time."),
		verified:           d("mail_tls_cert_verified", "1 when the certificate chain verified against the trusted roots for the server name at probe time."),
		verifyError:        d("mail_tls_cert_verify_error_info", "Why the certificate did not verify.", "error"),
		certInfo:           d("mail_tls_cert_info", "The leaf certificate presented by the server.", "subject", "issuer", "serial", "dns_names", "fingerprint_sha256"),
		startTLSOffered:    d("mail_starttls_offered", "1 when the server offered STARTTLS/STLS (starttls endpoints)."),
		plaintextAuth:      d("mail_plaintext_auth_offered", "1 when the server offered login before TLS (starttls endpoints)."),
		mechanism:          d("mail_auth_mechanism_offered", "Login mechanisms offered, after TLS where there is TLS.", "mechanism"),
		authSuccess:        d("mail_auth_success", "1 when login with the configured credential succeeded."),
		quotaUsed:          d("mail_mailbox_quota_used_bytes", "Storage used in the INBOX quota root (RFC 9208)."),
		quotaLimit:         d("mail_mailbox_quota_limit_bytes", "Storage limit of the INBOX quota root (RFC 9208)."),
		quotaMessagesUsed:  d("mail_mailbox_quota_used_messages", "Messages in the INBOX quota root, where the server reports MESSAGE (RFC 9208)."),
		quotaMessagesLimit: d("mail_mailbox_quota_limit_messages", "Message limit of the INBOX quota root, where the server reports MESSAGE (RFC 9208)."),
	}
}

// Describe sends every descriptor.
func (d *Descs) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.success, d.duration, d.phase, d.resultInfo, d.lastRun,
		d.tlsVersion, d.tlsCipher, d.notAfter, d.notBefore, d.chainNotAfter, d.verified, d.verifyError,
		d.certInfo, d.startTLSOffered, d.plaintextAuth, d.mechanism, d.authSuccess,
		d.quotaUsed, d.quotaLimit, d.quotaMessagesUsed, d.quotaMessagesLimit} {
		ch <- x
	}
}

// Collect writes r as metrics; labels are the values for EndpointLabels
// followed by the extra labels, in the order given to NewDescs.
func (d *Descs) Collect(ch chan<- prometheus.Metric, r *Result, labels []string) {
	g := func(desc *prometheus.Desc, v float64, more ...string) {
		lv := labels
		if len(more) > 0 {
			lv = append(append(make([]string, 0, len(labels)+len(more)), labels...), more...)
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv...)
	}
	g(d.success, b2f(r.Success))
	g(d.duration, r.Duration.Seconds())
	for _, p := range r.Phases {
		g(d.phase, p.Duration.Seconds(), string(p.Phase))
	}
	g(d.resultInfo, 1, string(r.Reason))
	g(d.lastRun, float64(r.Start.Add(r.Duration).UnixNano())/1e9)
	if t := r.TLS; t != nil {
		g(d.tlsVersion, 1, t.Version)
		g(d.tlsCipher, 1, t.Cipher)
		if !t.NotAfter.IsZero() {
			g(d.notAfter, float64(t.NotAfter.Unix()))
			g(d.notBefore, float64(t.NotBefore.Unix()))
			g(d.chainNotAfter, float64(t.ChainNotAfter.Unix()))
			g(d.certInfo, 1, t.Subject, t.Issuer, t.Serial, t.DNSNames, t.Fingerprint)
		}
		g(d.verified, b2f(t.Verified))
		if !t.Verified {
			g(d.verifyError, 1, string(t.VerifyError))
		}
	}
	if r.StartTLSOffered != nil {
		g(d.startTLSOffered, b2f(*r.StartTLSOffered))
	}
	if r.PlaintextAuthOffered != nil {
		g(d.plaintextAuth, b2f(*r.PlaintextAuthOffered))
	}
	for _, m := range r.AuthMechanisms {
		g(d.mechanism, 1, m)
	}
	if r.AuthSuccess != nil {
		g(d.authSuccess, b2f(*r.AuthSuccess))
	}
	if q := r.Quota; q != nil {
		g(d.quotaUsed, float64(q.UsedBytes))
		g(d.quotaLimit, float64(q.LimitBytes))
		if q.Messages >= 0 {
			g(d.quotaMessagesUsed, float64(q.Messages))
			g(d.quotaMessagesLimit, float64(q.MessageLimit))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
