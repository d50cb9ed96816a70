package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

var uptimeSteps = map[string]any{"mode": "absolute", "steps": []map[string]any{
	{"value": nil, "color": red}, {"value": 0.99, "color": orange}, {"value": 0.999, "color": green}}}

var daysSteps = map[string]any{"mode": "absolute", "steps": []map[string]any{
	{"value": nil, "color": red}, {"value": 3, "color": orange}, {"value": 14, "color": green}}}

// uptimeTable shows the recorded uptime ratios <prefix>1d, 7d and 30d
// (deploy/prometheus/rules.yml), one row per value of key.
func uptimeTable(title, description, key, prefix string, vars []string) *table.PanelBuilder {
	exclude := []string{}
	for _, l := range []string{"server", "host", "endpoint", "protocol", "port", "tls", "family"} {
		if l != key {
			exclude = append(exclude, l)
		}
	}
	return tablePanel(title, description,
		tableQuery("A", sel(prefix+"1d", vars)), tableQuery("B", sel(prefix+"7d", vars)), tableQuery("C", sel(prefix+"30d", vars))).
		WithTransformation(merge()).
		WithTransformation(organize(append(exclude, hidden...),
			map[string]string{"Value #A": "24 h", "Value #B": "7 d", "Value #C": "30 d"},
			[]string{key, "address", "Value #A", "Value #B", "Value #C"})).
		Unit("percentunit").Decimals(3).
		SortBy([]sortBuilder{common.NewTableSortByFieldStateBuilder().DisplayName("24 h").Desc(false)}).
		OverrideByRegexp("^(24 h|7 d|30 d)$", []dashboard.DynamicConfigValue{prop("thresholds", uptimeSteps), cellBackground()})
}

// addressesTable lists endpoints with how many addresses their host
// resolved to and how many answered; expr selects which endpoints (the
// mail_probe_addresses_up series to show).
func addressesTable(title, description string, vars []string, expr string) *table.PanelBuilder {
	return tablePanel(title, description,
		tableQuery("A", expr), tableQuery("B", "("+sel("mail_probe_addresses", vars)+") and ("+expr+")")).
		WithTransformation(merge()).
		WithTransformation(organize(endpointHidden,
			map[string]string{"Value #A": "up", "Value #B": "addresses"},
			[]string{"server", "endpoint", "host", "port", "Value #A", "Value #B"})).
		OverrideByName("up", []dashboard.DynamicConfigValue{prop("color", map[string]any{"mode": "fixed", "fixedColor": orange}),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})}).
		DataLinks(linkToServer("__data.fields"))
}

func server() *dashboard.DashboardBuilder {
	s := func(metric string, extra ...string) string { return sel(metric, byEndpoint, extra...) }

	uptime := uptimeTable("Uptime",
		"Share of scrapes in which the endpoint's last probe had succeeded, over the last 24 hours, 7 and 30 days "+
			"(recording rules endpoint:mail_probe_success:avg_over_time_*). Red under 99 %, orange under 99.9 %.",
		"endpoint", "endpoint:mail_probe_success:avg_over_time_", byEndpoint)

	tlsTable := tablePanel("TLS",
		"Per endpoint: negotiated TLS version and cipher suite, whether the certificate verified, and days until the "+
			"leaf certificate and the earliest certificate of the chain expire.",
		tableQuery("A", s("mail_tls_version_info")),
		tableQuery("B", s("mail_tls_cipher_info")),
		tableQuery("C", s("mail_tls_cert_verified")),
		tableQuery("D", "("+s("mail_tls_cert_not_after_timestamp_seconds")+" - time()) / 86400"),
		tableQuery("E", "("+s("mail_tls_chain_not_after_timestamp_seconds")+" - time()) / 86400")).
		WithTransformation(merge()).
		WithTransformation(organize(append([]string{"server", "host", "Value #A", "Value #B"}, hidden...),
			map[string]string{"Value #C": "verified", "Value #D": "leaf days left", "Value #E": "chain days left"},
			[]string{"endpoint", "address", "port", "tls", "protocol", "version", "cipher", "Value #C", "Value #D", "Value #E"})).
		OverrideByName("verified", []dashboard.DynamicConfigValue{prop("mappings", validBad), cellBackground()}).
		OverrideByRegexp("days left$", []dashboard.DynamicConfigValue{prop("decimals", 1), prop("thresholds", daysSteps), cellBackground()}).
		OverrideByName("version", []dashboard.DynamicConfigValue{
			prop("mappings", valueMap(mapping{"TLS 1.3", "TLS 1.3", green}, mapping{"TLS 1.2", "TLS 1.2", green},
				mapping{"TLS 1.1", "TLS 1.1", red}, mapping{"TLS 1.0", "TLS 1.0", red})),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})})

	certTable := tablePanel("Certificate",
		"The leaf certificate each endpoint presented (also when it failed verification), its validity period, and "+
			"why verification failed, if it did.",
		tableQuery("A", s("mail_tls_cert_info")),
		tableQuery("B", s("mail_tls_cert_not_before_timestamp_seconds")+" * 1000"),
		tableQuery("C", s("mail_tls_cert_not_after_timestamp_seconds")+" * 1000"),
		tableQuery("D", s("mail_tls_cert_verify_error_info"))).
		WithTransformation(merge()).
		WithTransformation(organize(append([]string{"server", "host", "port", "Value #A", "Value #D"}, endpointHidden...),
			map[string]string{"Value #B": "not before", "Value #C": "not after", "error": "verify error"},
			[]string{"endpoint", "address", "subject", "dns_names", "issuer", "Value #B", "Value #C", "error", "serial", "fingerprint_sha256"})).
		OverrideByRegexp("^not (before|after)$", []dashboard.DynamicConfigValue{prop("unit", "dateTimeAsIso")}).
		OverrideByName("verify error", []dashboard.DynamicConfigValue{prop("color", map[string]any{"mode": "fixed", "fixedColor": red}),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})})

	mechanisms := tablePanel("Login mechanisms offered over TLS",
		"SASL mechanisms each endpoint offers over TLS (after STARTTLS, or on an implicit-TLS port); POP3's USER/PASS shows as USER.",
		tableQuery("A", s("mail_auth_mechanism_offered", `stage="after_tls"`))).
		WithTransformation(matrix("endpoint", "mechanism")).
		Mappings(valueMap(mapping{"1", "✓", green})).
		Align(common.FieldTextAlignmentCenter)
	mechanismsClear := tablePanel("Login mechanisms offered before TLS",
		"Mechanisms offered on the unencrypted connection (before STARTTLS, or on a tls: none endpoint). "+
			"PLAIN, LOGIN and USER send the password in the clear (Login before TLS says YES); "+
			"challenge-response ones (CRAM-MD5, SCRAM-*) do not.",
		tableQuery("A", s("mail_auth_mechanism_offered", `stage="before_tls"`))).
		WithTransformation(matrix("endpoint", "mechanism")).
		Mappings(valueMap(mapping{"1", "✓", orange})).
		Align(common.FieldTextAlignmentCenter)

	d := newDashboard(UIDServer, "Mail / Server detail",
		"One mail server: every endpoint's status, probe phases, TLS and certificate, login and uptime.").
		WithVariable(jobVar()).
		WithVariable(serverVar(true)).
		WithVariable(endpointVar()).
		WithPanel(endpointGrid(byEndpoint, "{{endpoint}} {{address}} · {{result}}").Span(14).Height(6)).
		WithPanel(uptime.Span(10).Height(6)).
		WithPanel(addressesTable("Addresses",
			"Per endpoint: the addresses its host resolves to (addresses rule) and how many answered on their last "+
				"probe. Fewer up than addresses: some clients fail while others get through; the tiles above say which.",
			byEndpoint, s("mail_probe_addresses_up")).Span(24).Height(5)).
		WithPanel(timeline("Availability", "Probe result of each endpoint address over time.", upDown,
			rangeQuery("A", s("mail_probe_success"), "{{endpoint}} {{address}}")).Span(24).Height(6)).
		WithRow(dashboard.NewRowBuilder("Probe phases")).
		WithPanel(timeSeries("Phases: $endpoint",
			"How long each phase of the endpoint's probe took, stacked: the top of the stack is the whole probe. "+
				"For STARTTLS endpoints tls_handshake and capabilities include both rounds. A host with several addresses stacks each address's phases: pick one with the legend.",
			"s", rangeQuery("A", s("mail_probe_phase_duration_seconds"), "{{phase}} {{address}}")).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			FillOpacity(60).
			// Grafana repeats the panel per selected endpoint, up to 3 a row.
			Repeat("endpoint").RepeatDirection(dashboard.PanelRepeatDirectionH).MaxPerRow(3).
			Span(24).Height(8)).
		WithPanel(timeSeries("Probe duration", "The whole probe of each endpoint, all phases together.", "s",
			rangeQuery("A", s("mail_probe_duration_seconds"), "{{endpoint}} {{address}}")).Span(24).Height(7)).
		WithRow(dashboard.NewRowBuilder("TLS and certificates")).
		WithPanel(tlsTable.Span(24).Height(7)).
		WithPanel(certTable.Span(24).Height(7)).
		WithPanel(timeSeries("Certificate expiry", "Days until each endpoint's leaf certificate expires.", "d",
			rangeQuery("A", "("+s("mail_tls_cert_not_after_timestamp_seconds")+" - time()) / 86400", "{{endpoint}}")).
			Thresholds(steps(red, 3, orange, 14, green)).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			Span(12).Height(7)).
		WithPanel(statusStat("STARTTLS offered", "starttls endpoints: whether the server offered STARTTLS/STLS.", yesNo,
			query("A", s("mail_starttls_offered"), "{{endpoint}}")).Span(6).Height(7)).
		WithPanel(statusStat("Login before TLS", "starttls endpoints: whether the server offered a password login before "+
			"STARTTLS (AUTH PLAIN/LOGIN, IMAP LOGIN without LOGINDISABLED, POP3 USER). Should be NO.", badIfTrue,
			query("A", s("mail_plaintext_auth_offered"), "{{endpoint}}")).Span(6).Height(7)).
		WithRow(dashboard.NewRowBuilder("Login")).
		WithPanel(statusStat("Login", "Whether logging in with the configured credential succeeded, where a credential "+
			"applies and the probe got that far.", okFailed,
			query("A", s("mail_auth_success"), "{{endpoint}}")).Span(8).Height(6)).
		WithPanel(timeline("Login over time", "Login result of each endpoint over time.", okFailed,
			rangeQuery("A", s("mail_auth_success"), "{{endpoint}}")).Span(16).Height(6)).
		WithPanel(mechanisms.Span(12).Height(6)).
		WithPanel(mechanismsClear.Span(12).Height(6)).
		WithPanel(timeSeries("Mailbox quota used",
			"IMAP endpoints whose server offers QUOTA: the INBOX quota root's storage and message counts against their limits.",
			"percentunit",
			rangeQuery("A", s("mail_mailbox_quota_used_bytes")+" / "+s("mail_mailbox_quota_limit_bytes"), "{{endpoint}} storage"),
			rangeQuery("B", s("mail_mailbox_quota_used_messages")+" / "+s("mail_mailbox_quota_limit_messages"), "{{endpoint}} messages")).
			Min(0).Max(1).
			Thresholds(steps(green, 0.8, orange, 0.95, red)).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			Span(12).Height(6)).
		WithPanel(timeSeries("Login backoff", "While the server refuses an endpoint's credential, the schedule spaces its "+
			"login attempts (2^n intervals after n refusals in a row, at most 1h) and /probe answers from the last result: "+
			"the gap between attempts. 0 = the endpoint runs at its own interval.", "s",
			rangeQuery("A", s("mail_auth_backoff_seconds"), "{{endpoint}} {{address}}")).
			Min(0).Span(12).Height(6))
	d.WithRow(dashboard.NewRowBuilder("TLS posture"))
	for _, p := range posturePanels(s) {
		d.WithPanel(p)
	}
	return d
}
