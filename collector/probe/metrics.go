package probe

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// The endpoint metric families (SPEC section 3), in output order. Which
// series a Result has is decided in one place, eachSample; both ways of
// exposing results use it: Descs.Collect (client_golang, for /probe and
// tests) and WriteText (/metrics, where there are tens of thousands).
type family int

const (
	famSuccess family = iota
	famDuration
	famPhase
	famResult
	famLastRun
	famTLSVersion
	famTLSCipher
	famNotAfter
	famNotBefore
	famChainNotAfter
	famVerified
	famVerifyError
	famCertInfo
	famStartTLSOffered
	famPlaintextAuth
	famMechanism
	famAuthSuccess
	famQuotaUsed
	famQuotaLimit
	famQuotaMessagesUsed
	famQuotaMessagesLimit
	famRelayAccepted
	famRelayResult
	famBannerInfo
	famBannerMatchesPTR
	numFamilies
)

type familySpec struct {
	name, help string
	extra      []string // label names beyond the endpoint's, in value order
}

var families = [numFamilies]familySpec{
	famSuccess:            {"mail_probe_success", "1 when the last probe of the endpoint succeeded (connected, greeted, TLS up and verified, logged in), else 0.", nil},
	famDuration:           {"mail_probe_duration_seconds", "How long the last probe took, all phases together.", nil},
	famPhase:              {"mail_probe_phase_duration_seconds", "Time spent in each phase of the last probe.", []string{"phase"}},
	famResult:             {"mail_probe_result_info", "Why the last probe ended: ok or the failure reason.", []string{"result"}},
	famLastRun:            {"mail_probe_last_run_timestamp_seconds", "When the last probe finished, as a Unix time.", nil},
	famTLSVersion:         {"mail_tls_version_info", "TLS version negotiated by the last probe.", []string{"version"}},
	famTLSCipher:          {"mail_tls_cipher_info", "TLS cipher suite negotiated by the last probe.", []string{"cipher"}},
	famNotAfter:           {"mail_tls_cert_not_after_timestamp_seconds", "Expiry of the leaf certificate, as a Unix time.", nil},
	famNotBefore:          {"mail_tls_cert_not_before_timestamp_seconds", "Start of validity of the leaf certificate, as a Unix time.", nil},
	famChainNotAfter:      {"mail_tls_chain_not_after_timestamp_seconds", "Earliest expiry in the verified chain (the presented chain if none verified), as a Unix time.", nil},
	famVerified:           {"mail_tls_cert_verified", "1 when the certificate chain verified against the trusted roots for the server name at probe time.", nil},
	famVerifyError:        {"mail_tls_cert_verify_error_info", "Why the certificate did not verify.", []string{"error"}},
	famCertInfo:           {"mail_tls_cert_info", "The leaf certificate presented by the server.", []string{"subject", "issuer", "serial", "dns_names", "fingerprint_sha256"}},
	famStartTLSOffered:    {"mail_starttls_offered", "1 when the server offered STARTTLS/STLS (starttls endpoints).", nil},
	famPlaintextAuth:      {"mail_plaintext_auth_offered", "1 when the server offered login before TLS (starttls endpoints).", nil},
	famMechanism:          {"mail_auth_mechanism_offered", "Login mechanisms offered; stage is after_tls (over TLS) or before_tls (on the unencrypted connection: before STARTTLS, or with tls none).", []string{"mechanism", "stage"}},
	famAuthSuccess:        {"mail_auth_success", "1 when login with the configured credential succeeded.", nil},
	famQuotaUsed:          {"mail_mailbox_quota_used_bytes", "Storage used in the INBOX quota root (RFC 9208).", nil},
	famQuotaLimit:         {"mail_mailbox_quota_limit_bytes", "Storage limit of the INBOX quota root (RFC 9208).", nil},
	famQuotaMessagesUsed:  {"mail_mailbox_quota_used_messages", "Messages in the INBOX quota root, where the server reports MESSAGE (RFC 9208).", nil},
	famQuotaMessagesLimit: {"mail_mailbox_quota_limit_messages", "Message limit of the INBOX quota root, where the server reports MESSAGE (RFC 9208).", nil},
	famRelayAccepted:      {"mail_smtp_relay_accepted", "Relay test: 1 when RCPT to the foreign recipient, written as variant, got a 2xx reply.", []string{"variant"}},
	famRelayResult:        {"mail_smtp_relay_test_result_info", "Relay test verdict: refused (5xx), open (2xx for any variant) or inconclusive (4xx or no answer).", []string{"result"}},
	famBannerInfo:         {"mail_smtp_banner_info", "Host names from the SMTP 220 greeting and the EHLO reply.", []string{"greeting_host", "ehlo_host"}},
	famBannerMatchesPTR:   {"mail_smtp_banner_matches_ptr", "1 when the greeting's host name is a PTR name of the address dialled.", nil},
}

// Values of mail_auth_mechanism_offered's `stage` label.
const (
	StageBeforeTLS = "before_tls"
	StageAfterTLS  = "after_tls"
)

// extraValues are the values of a family's extra labels, in familySpec
// order. A fixed array passed by value: rendering allocates nothing.
type extraValues struct {
	n int
	v [5]string
}

func xv(v ...string) extraValues {
	var x extraValues
	x.n = copy(x.v[:], v)
	return x
}

// eachSample calls fn once for every series of family f that r has.
func eachSample(r *Result, f family, fn func(v float64, x extraValues)) {
	t := r.TLS
	switch f {
	case famSuccess:
		fn(b2f(r.Success), extraValues{})
	case famDuration:
		fn(r.Duration.Seconds(), extraValues{})
	case famPhase:
		for _, p := range r.Phases {
			fn(p.Duration.Seconds(), xv(string(p.Phase)))
		}
	case famResult:
		fn(1, xv(string(r.Reason)))
	case famLastRun:
		fn(float64(r.Start.Add(r.Duration).UnixNano())/1e9, extraValues{})
	case famTLSVersion:
		if t != nil {
			fn(1, xv(t.Version))
		}
	case famTLSCipher:
		if t != nil {
			fn(1, xv(t.Cipher))
		}
	case famNotAfter:
		if t != nil && !t.NotAfter.IsZero() {
			fn(float64(t.NotAfter.Unix()), extraValues{})
		}
	case famNotBefore:
		if t != nil && !t.NotAfter.IsZero() {
			fn(float64(t.NotBefore.Unix()), extraValues{})
		}
	case famChainNotAfter:
		if t != nil && !t.NotAfter.IsZero() {
			fn(float64(t.ChainNotAfter.Unix()), extraValues{})
		}
	case famVerified:
		if t != nil {
			fn(b2f(t.Verified), extraValues{})
		}
	case famVerifyError:
		if t != nil && !t.Verified {
			fn(1, xv(string(t.VerifyError)))
		}
	case famCertInfo:
		if t != nil && !t.NotAfter.IsZero() {
			fn(1, xv(t.Subject, t.Issuer, t.Serial, t.DNSNames, t.Fingerprint))
		}
	case famStartTLSOffered:
		if r.StartTLSOffered != nil {
			fn(b2f(*r.StartTLSOffered), extraValues{})
		}
	case famPlaintextAuth:
		if r.PlaintextAuthOffered != nil {
			fn(b2f(*r.PlaintextAuthOffered), extraValues{})
		}
	case famMechanism:
		if t != nil { // offered over TLS
			for _, m := range r.AuthMechanisms {
				fn(1, xv(m, StageAfterTLS))
			}
		}
		for _, m := range r.PreTLSAuthMechanisms {
			fn(1, xv(m, StageBeforeTLS))
		}
	case famAuthSuccess:
		if r.AuthSuccess != nil {
			fn(b2f(*r.AuthSuccess), extraValues{})
		}
	case famQuotaUsed:
		if q := r.Quota; q != nil {
			fn(float64(q.UsedBytes), extraValues{})
		}
	case famQuotaLimit:
		if q := r.Quota; q != nil {
			fn(float64(q.LimitBytes), extraValues{})
		}
	case famQuotaMessagesUsed:
		if q := r.Quota; q != nil && q.Messages >= 0 {
			fn(float64(q.Messages), extraValues{})
		}
	case famQuotaMessagesLimit:
		if q := r.Quota; q != nil && q.Messages >= 0 {
			fn(float64(q.MessageLimit), extraValues{})
		}
	case famRelayAccepted:
		if r.Relay != nil {
			for _, rp := range r.Relay.Rcpts {
				fn(b2f(r.Relay.Accepted(rp.Variant)), xv(string(rp.Variant)))
			}
		}
	case famRelayResult:
		if r.Relay != nil {
			fn(1, xv(string(r.Relay.Verdict)))
		}
	case famBannerInfo:
		if b := r.Banner; b != nil {
			fn(1, xv(b.GreetingHost, b.EHLOHost))
		}
	case famBannerMatchesPTR:
		if b := r.Banner; b != nil && b.PTRChecked {
			fn(b2f(b.MatchesPTR()), extraValues{})
		}
	}
}

// Descs are the endpoint metric descriptors for one set of label names
// (the six endpoint labels plus a server's own `labels:` keys). They are
// immutable; the exporter builds one per distinct label set and reuses it.
type Descs struct {
	descs   [numFamilies]*prometheus.Desc
	layout  textLayout
	summary summaryDescs
}

// EndpointLabels are the labels every endpoint series carries, in order:
// the endpoint's, then the address dialled and its family (SPEC 6.2).
var EndpointLabels = []string{"server", "host", "endpoint", "protocol", "port", "tls", "address", "family"}

// addressLabels is how many of EndpointLabels name the address: the
// per-endpoint summary series (mail_probe_addresses) carry the others.
const addressLabels = 2

// NewDescs builds the descriptors for EndpointLabels followed by extra.
func NewDescs(extra []string) *Descs {
	base := append(append([]string{}, EndpointLabels...), extra...)
	d := &Descs{layout: newTextLayout(base)}
	for f, spec := range families {
		d.descs[f] = prometheus.NewDesc(spec.name, spec.help, append(slices.Clip(base), spec.extra...), nil)
	}
	d.summary = newSummaryDescs(extra)
	return d
}

// Describe sends every descriptor.
func (d *Descs) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range d.descs {
		ch <- x
	}
}

// Collect writes r as metrics; labels are the values for EndpointLabels
// followed by the extra labels, in the order given to NewDescs.
func (d *Descs) Collect(ch chan<- prometheus.Metric, r *Result, labels []string) {
	base := make([]string, len(labels))
	for i, v := range labels {
		base[i] = validUTF8(v)
	}
	for f := range numFamilies {
		eachSample(r, f, func(v float64, x extraValues) {
			lv := base
			if x.n > 0 {
				lv = make([]string, len(base), len(base)+x.n)
				copy(lv, base)
				for _, e := range x.v[:x.n] {
					lv = append(lv, validUTF8(e))
				}
			}
			ch <- prometheus.MustNewConstMetric(d.descs[f], prometheus.GaugeValue, v, lv...)
		})
	}
}

// validUTF8 keeps server-supplied text (mechanism names, certificate
// fields) from making a label value client_golang would refuse.
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
