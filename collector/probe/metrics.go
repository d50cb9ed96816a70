package probe

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// --- the text exposition format, rendered directly -----------------------

// textLayout says where each label goes when a series is written with its
// label names sorted, as client_golang writes them.
type textLayout struct {
	order []int                     // indexes into the label values, by sorted name
	names []string                  // the sorted names
	extra [numFamilies][]extraLabel // a family's extra labels, sorted by name
}

// extraLabel is one extra label of a family: its name, its index in
// extraValues, and the position among the sorted base labels it goes before.
type extraLabel struct {
	name   string
	xi, at int
}

func newTextLayout(base []string) textLayout {
	var l textLayout
	l.order = make([]int, len(base))
	for i := range l.order {
		l.order[i] = i
	}
	slices.SortStableFunc(l.order, func(a, b int) int { return strings.Compare(base[a], base[b]) })
	for _, i := range l.order {
		l.names = append(l.names, base[i])
	}
	for f, spec := range families {
		for xi, name := range spec.extra {
			at, _ := slices.BinarySearch(l.names, name)
			l.extra[f] = append(l.extra[f], extraLabel{name: name, xi: xi, at: at})
		}
		slices.SortStableFunc(l.extra[f], func(a, b extraLabel) int { return strings.Compare(a.name, b.name) })
	}
	return l
}

// renderedLabels are one endpoint's base labels, rendered once per Render:
// `a="x",b="y"` in sorted name order, with cut[i] the offset of pair i.
type renderedLabels struct {
	base string
	cut  []int // len = pairs+1; cut[len-1] = len(base)+1
}

func (l *textLayout) render(values []string, scratch []byte) (renderedLabels, []byte) {
	b := scratch[:0]
	cut := make([]int, 0, len(l.order)+1)
	for k, i := range l.order {
		if k > 0 {
			b = append(b, ',')
		}
		cut = append(cut, len(b))
		b = appendPair(b, l.names[k], values[i])
	}
	cut = append(cut, len(b)+1)
	return renderedLabels{base: string(b), cut: cut}, b
}

// pairs returns base pairs [a, b) as they appear in base, commas included.
func (r *renderedLabels) pairs(a, b int) string { return r.base[r.cut[a] : r.cut[b]-1] }

func appendPair(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value)
	return append(b, '"')
}

// appendEscaped escapes a label value for the text format (backslash,
// double quote, line feed) and replaces invalid UTF-8.
func appendEscaped(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = s[i] != '\\' && s[i] != '"' && s[i] != '\n'
	}
	if clean {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat writes v as client_golang's text encoder does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, '-', '1')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Rendered is one stored result's series in the text exposition format,
// family by family, label names sorted as client_golang writes them. It is
// made once, when the result is stored (Descs.Render), so that a scrape
// only copies bytes: with 10k endpoints a scrape has ~230k endpoint series,
// and building a client_golang metric for each took seconds and hundreds
// of MB per scrape; rendering them at every scrape still walked every
// result once per family, a cache miss each time.
type Rendered struct {
	buf []byte
	end [numFamilies]uint32 // family f is buf[end[f-1]:end[f]]
}

func (t *Rendered) family(f family) []byte {
	var start uint32
	if f > 0 {
		start = t.end[f-1]
	}
	return t.buf[start:t.end[f]]
}

// Size is the rendered text's length in bytes.
func (t *Rendered) Size() int { return len(t.buf) }

var renderScratch = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// Render renders r with label values labels (EndpointLabels then the extra
// keys, as for Collect).
func (d *Descs) Render(r *Result, labels []string) *Rendered {
	sp := renderScratch.Get().(*[]byte)
	var rl renderedLabels
	rl, *sp = d.layout.render(labels, *sp)
	b := (*sp)[:0]
	t := &Rendered{}
	for f := range numFamilies {
		name, extra := families[f].name, d.layout.extra[f]
		eachSample(r, f, func(v float64, x extraValues) {
			b = append(b, name...)
			b = append(b, '{')
			b = appendLabels(b, &rl, extra, &x)
			b = append(b, '}', ' ')
			b = appendFloat(b, v)
			b = append(b, '\n')
		})
		t.end[f] = uint32(len(b))
	}
	t.buf = append(make([]byte, 0, len(b)), b...)
	*sp = b[:0]
	renderScratch.Put(sp)
	return t
}

// WriteText writes the series of every item in the text exposition format
// (version 0.0.4): family by family, each family's series in item order.
func WriteText(w io.Writer, items []*Rendered) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var header []byte
	for f := range numFamilies {
		started := false
		for _, t := range items {
			chunk := t.family(f)
			if len(chunk) == 0 {
				continue
			}
			if !started {
				started = true
				header = appendHeader(header[:0], &families[f])
				_, _ = bw.Write(header)
			}
			if _, err := bw.Write(chunk); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func appendHeader(b []byte, spec *familySpec) []byte {
	b = append(b, "# HELP "...)
	b = append(b, spec.name...)
	b = append(b, ' ')
	for i := 0; i < len(spec.help); i++ {
		switch c := spec.help[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	b = append(b, "\n# TYPE "...)
	b = append(b, spec.name...)
	return append(b, " gauge\n"...)
}

// appendLabels merges the rendered base labels with a family's extra
// labels, keeping names sorted.
func appendLabels(b []byte, rl *renderedLabels, extra []extraLabel, x *extraValues) []byte {
	n := len(rl.cut) - 1
	pos, first := 0, true
	comma := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for _, e := range extra {
		if e.at > pos {
			comma()
			b = append(b, rl.pairs(pos, e.at)...)
			pos = e.at
		}
		comma()
		b = appendPair(b, e.name, x.v[e.xi])
	}
	if pos < n {
		comma()
		b = append(b, rl.pairs(pos, n)...)
	}
	return b
}
