package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func barGauge(title, description string, max float64, thresholds []dashboard.Threshold) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		Min(0).Max(max).
		Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(thresholds)).
		ColorScheme(colorByThresholds()).
		DisplayMode(common.BarGaugeDisplayModeBasic).
		Orientation(common.VizOrientationHorizontal).
		ShowUnfilled(true).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

func th(value float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: &value, Color: color}
}

func domain() *dashboard.DashboardBuilder {
	d := func(metric string, extra ...string) string { return sel(metric, byDomain, extra...) }
	colorText := prop("custom.cellOptions", map[string]any{"type": "color-text"})

	checks := tablePanel("Checks",
		"Each configured check: whether it had anything to check (DANE and PTR need MX hosts, DNSBL needs zones), "+
			"whether its lookups got answers (no SERVFAIL, REFUSED or timeout) and whether the record is "+
			"present and free of error-severity problems. A check that is not applicable has no valid column.",
		tableQuery("A", d("mail_dns_record_valid")), tableQuery("B", d("mail_dns_lookup_success")),
		tableQuery("C", d("mail_dns_check_applicable"))).
		WithTransformation(merge()).
		WithTransformation(organize(hidden, map[string]string{"Value #A": "valid", "Value #B": "lookups", "Value #C": "applicable"},
			[]string{"domain", "check", "Value #C", "Value #A", "Value #B"})).
		OverrideByName("valid", []dashboard.DynamicConfigValue{prop("mappings", validBad), cellBackground()}).
		OverrideByName("lookups", []dashboard.DynamicConfigValue{prop("mappings", okFailed), cellBackground()}).
		OverrideByName("applicable", []dashboard.DynamicConfigValue{prop("mappings",
			valueMap(mapping{"1", "yes", green}, mapping{"0", "not applicable", grey})), cellBackground()})

	problems := tablePanel("Problems",
		"Every problem the checks found (mail_dns_problem_info). The meaning and RFC of each code is in the README.",
		tableQuery("A", d("mail_dns_problem_info"))).
		WithTransformation(organize(append([]string{"Value"}, hidden...), nil, []string{"domain", "check", "severity", "code"})).
		SortBy([]sortBuilder{common.NewTableSortByFieldStateBuilder().DisplayName("severity").Desc(false)}).
		OverrideByName("severity", []dashboard.DynamicConfigValue{
			prop("mappings", valueMap(mapping{"error", "error", red}, mapping{"warning", "warning", orange})), colorText})

	dmarc := tablePanel("DMARC policy",
		"The policy that applies to the domain (p) and to its subdomains (sp). none is monitoring only.",
		tableQuery("A", d("mail_dmarc_policy_info"))).
		WithTransformation(organize(append([]string{"Value"}, hidden...), nil, []string{"domain", "policy", "subdomain_policy"})).
		OverrideByRegexp("policy$", []dashboard.DynamicConfigValue{
			prop("mappings", valueMap(mapping{"reject", "reject", green}, mapping{"quarantine", "quarantine", green},
				mapping{"none", "none", orange})), colorText})

	mtasts := tablePanel("MTA-STS",
		"Mode and max_age of the fetched MTA-STS policy. enforce: senders refuse MX hosts without valid TLS; testing "+
			"only reports.",
		tableQuery("A", d("mail_mtasts_mode_info")), tableQuery("B", d("mail_mtasts_max_age_seconds"))).
		WithTransformation(merge()).
		WithTransformation(organize(append([]string{"Value #A"}, hidden...), map[string]string{"Value #B": "max_age"},
			[]string{"domain", "mode", "Value #B"})).
		OverrideByName("mode", []dashboard.DynamicConfigValue{
			prop("mappings", valueMap(mapping{"enforce", "enforce", green}, mapping{"testing", "testing", orange},
				mapping{"none", "none", red})), colorText}).
		OverrideByName("max_age", []dashboard.DynamicConfigValue{prop("unit", "s")})

	dkim := barGauge("DKIM key size",
		"Bits of each configured selector's public key. RSA: red under 1024 (rejected by verifiers), orange under 2048. "+
			"Ed25519 keys are 256 bits and fine. 0: the key is revoked.",
		4096, []dashboard.Threshold{{Color: red}, th(1024, orange), th(2048, green)}).
		WithTarget(query("A", d("mail_dkim_key_bits", `key_type="rsa"`), "{{domain}} {{selector}} (rsa)")).
		WithTarget(query("B", d("mail_dkim_key_bits", `key_type!="rsa"`), "{{domain}} {{selector}} ({{key_type}})")).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{prop("thresholds", map[string]any{"mode": "absolute",
			"steps": []map[string]any{{"value": nil, "color": red}, {"value": 1, "color": green}}})})

	signed := tablePanel("DKIM on delivered mail",
		"Each DKIM-Signature with this domain as d= on the last message of each roundtrip, verified as it arrived: "+
			"pass, fail (does not verify with the key in DNS: a rotated key, a changed message), permerror (no or bad "+
			"key record), temperror (key lookup failed). Unsigned messages (result none) are on the fleet overview's "+
			"roundtrips and in mail_roundtrip_dkim_result_info with an empty domain.",
		tableQuery("A", d("mail_roundtrip_dkim_result_info"))).
		WithTransformation(organize(append([]string{"Value"}, hidden...), nil, []string{"domain", "selector", "roundtrip", "result"})).
		OverrideByName("result", []dashboard.DynamicConfigValue{
			prop("mappings", valueMap(mapping{"pass", "pass", green}, mapping{"fail", "fail", red},
				mapping{"permerror", "permerror", red}, mapping{"temperror", "temperror", orange})), colorText})

	dnsbl := tablePanel("DNSBL listings",
		"Every MX address looked up in every configured blocklist zone.",
		tableQuery("A", d("mail_dnsbl_listed"))).
		WithTransformation(organize(hidden, map[string]string{"Value": "listed"}, []string{"domain", "ip", "zone", "Value"})).
		SortBy([]sortBuilder{common.NewTableSortByFieldStateBuilder().DisplayName("listed").Desc(true)}).
		OverrideByName("listed", []dashboard.DynamicConfigValue{prop("mappings", badIfTrue), cellBackground()})

	return withMXPosture(newDashboard(UIDDomain, "Mail / Domain detail",
		"One domain's DNS: every check and its problems, DMARC, SPF, DKIM, MTA-STS, DANE, DNSSEC, reverse DNS and blocklists.").
		WithVariable(jobVar()).
		WithVariable(domainVar(false)).
		WithPanel(checks.Span(10).Height(9)).
		WithPanel(problems.Span(14).Height(9)).
		WithPanel(timeline("Checks over time", "Whether each check was valid over time.", validBad,
			rangeQuery("A", d("mail_dns_record_valid"), "{{domain}} {{check}}")).Span(24).Height(7)).
		WithRow(dashboard.NewRowBuilder("Policies and keys")).
		WithPanel(dmarc.Span(8).Height(6)).
		WithPanel(mtasts.Span(8).Height(6)).
		WithPanel(numberStat("MX hosts", "Number of MX hosts of the domain.", "none", steps(red, 1, green),
			query("A", d("mail_mx_hosts"), "{{domain}}")).Span(8).Height(6)).
		WithPanel(barGauge("SPF lookup budget",
			"DNS-querying SPF terms over the whole include tree; more than 10 is a permerror (RFC 7208 4.6.4).",
			10, []dashboard.Threshold{{Color: green}, th(8, orange), th(11, red)}).
			WithTarget(query("A", d("mail_spf_dns_lookups"), "{{domain}}")).Span(8).Height(6)).
		WithPanel(barGauge("SPF void lookups",
			"SPF lookups in the tree that returned NXDOMAIN or no records; more than 2 is a permerror (RFC 7208 4.6.4).",
			2, []dashboard.Threshold{{Color: green}, th(1, orange), th(3, red)}).
			WithTarget(query("A", d("mail_spf_void_lookups"), "{{domain}}")).Span(8).Height(6)).
		WithPanel(dkim.Span(8).Height(6)).
		WithPanel(signed.Span(24).Height(6)).
		WithRow(dashboard.NewRowBuilder("Transport security")).
		WithPanel(statusStat("DANE", "Per MX host: a usable, DNSSEC-authenticated TLSA record matches the certificate the "+
			"host presents after STARTTLS.", validBad,
			query("A", d("mail_dane_valid"), "{{domain}} {{mx}}")).Span(8).Height(6)).
		WithPanel(statusStat("DNSSEC", "Per zone (the domain's and each MX host's): answers came back authenticated by the "+
			"validating resolver.", valueMap(mapping{"1", "secure", green}, mapping{"0", "INSECURE", orange}),
			query("A", d("mail_dnssec_secure"), "{{zone}}")).Span(8).Height(6)).
		WithPanel(statusStat("Reverse DNS", "Per MX address: forward-confirmed reverse DNS (iprev).", validBad,
			query("A", d("mail_ptr_valid"), "{{mx}} {{ip}}")).Span(8).Height(6))).
		WithRow(dashboard.NewRowBuilder("Blocklists")).
		WithPanel(dnsbl.Span(12).Height(7)).
		WithPanel(timeline("Listings over time", "When each MX address was listed.", badIfTrue,
			rangeQuery("A", d("mail_dnsbl_listed"), "{{ip}} @ {{zone}}")).Span(12).Height(7)).
		WithPanel(numberStat("Checked ago", "Time since the domain's checks last finished; orange after 45 minutes (3 default dns_intervals).", "s", steps(green, 2700, orange),
			query("A", "time() - "+d("mail_dns_check_last_run_timestamp_seconds"), "{{domain}}")).Span(24).Height(4))
}
