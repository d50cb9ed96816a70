package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// posturePanels are the server-detail panels of the TLS posture check
// (README "TLS posture"): what each endpoint allows, its leaf's strength,
// its OCSP staple and every certificate it sends.
func posturePanels(s func(metric string, extra ...string) string) []cog.Builder[dashboard.Panel] {
	versions := tablePanel("TLS versions accepted",
		"TLS posture check: whether each endpoint accepts a handshake at each TLS version. TLS 1.0 and 1.1 are "+
			"deprecated (RFC 8996) and should read refused; the check runs every posture_interval (default 6 h).",
		tableQuery("A", s("mail_tls_protocol_accepted"))).
		WithTransformation(matrix("endpoint", "version")).
		Mappings(valueMap(mapping{"1", "accepted", orange}, mapping{"0", "refused", green})).
		Align(common.FieldTextAlignmentCenter)

	posture := tablePanel("TLS posture",
		"Per endpoint: a weak cipher suite accepted (RC4, 3DES, static RSA key exchange: see README for what can and "+
			"cannot be tested), whether the chain the server sends is complete without intermediates from elsewhere, "+
			"the leaf's key size and signature algorithm, the OCSP staple, and whether the posture check could run.",
		tableQuery("A", s("mail_tls_weak_cipher_accepted")),
		tableQuery("B", s("mail_tls_chain_complete")),
		tableQuery("C", s("mail_tls_cert_key_bits")),
		tableQuery("D", s("mail_tls_cert_signature_algorithm_info")),
		tableQuery("E", s("mail_tls_ocsp_stapled")),
		tableQuery("F", s("mail_tls_ocsp_status_info")),
		tableQuery("G", s("mail_tls_posture_success")),
		tableQuery("H", "time() - "+s("mail_tls_posture_last_run_timestamp_seconds"))).
		WithTransformation(merge()).
		WithTransformation(organize(append([]string{"server", "host", "port", "Value #D", "Value #F"}, endpointHidden...),
			map[string]string{"Value #A": "weak suite", "Value #B": "chain complete", "Value #C": "key bits",
				"Value #E": "OCSP stapled", "status": "OCSP status", "Value #G": "posture ran", "Value #H": "age"},
			[]string{"endpoint", "Value #A", "Value #B", "key_type", "Value #C", "algorithm", "Value #E", "status", "Value #G", "Value #H"})).
		OverrideByName("weak suite", []dashboard.DynamicConfigValue{prop("mappings", badIfTrue), cellBackground()}).
		OverrideByName("chain complete", []dashboard.DynamicConfigValue{prop("mappings", yesNo), cellBackground()}).
		OverrideByName("OCSP stapled", []dashboard.DynamicConfigValue{prop("mappings", yesNo)}).
		OverrideByName("posture ran", []dashboard.DynamicConfigValue{prop("mappings", okFailed), cellBackground()}).
		OverrideByName("age", []dashboard.DynamicConfigValue{prop("unit", "s")}).
		OverrideByName("key bits", []dashboard.DynamicConfigValue{
			prop("thresholds", map[string]any{"mode": "absolute", "steps": []map[string]any{
				{"value": nil, "color": red}, {"value": 256, "color": green}, {"value": 1024, "color": red}, {"value": 2048, "color": green}}}),
			cellBackground()})

	weak := tablePanel("Weak cipher suites accepted",
		"TLS posture check: each suite of the weak list an endpoint accepted, as Go names it. Empty is good.",
		tableQuery("A", s("mail_tls_weak_cipher_info"))).
		WithTransformation(matrix("endpoint", "cipher")).
		Mappings(valueMap(mapping{"1", "accepted", red})).
		Align(common.FieldTextAlignmentCenter)

	chain := tablePanel("Certificates sent",
		"Every certificate each endpoint sends, leaf at depth 0, and the days until it expires: an intermediate "+
			"expiring before the leaf breaks the chain all the same.",
		tableQuery("A", "("+s("mail_tls_chain_cert_not_after_timestamp_seconds")+" - time()) / 86400")).
		WithTransformation(organize(append([]string{"server", "host", "port"}, endpointHidden...),
			map[string]string{"Value": "days left"}, []string{"endpoint", "depth", "subject", "Value"})).
		OverrideByName("days left", []dashboard.DynamicConfigValue{prop("decimals", 1), prop("thresholds", daysSteps), cellBackground()})

	return []cog.Builder[dashboard.Panel]{versions.Span(10).Height(7), weak.Span(14).Height(7), posture.Span(24).Height(7), chain.Span(24).Height(7)}
}
