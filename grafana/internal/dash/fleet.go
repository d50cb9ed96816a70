package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
)

// endpointStatus is 1 (up) or 0 (down) per endpoint, carrying the probe's
// result label (ok, timeout, certificate, …) so the tile says why.
func endpointStatus(vars []string) string {
	return sel("mail_probe_success", vars) +
		" * ignoring(result) group_left(result) " +
		sel("mail_probe_result_info", vars)
}

// endpointGrid is the green/red tile grid of endpoints; a tile links to the
// server's detail dashboard.
func endpointGrid(vars []string, legend string) *stat.PanelBuilder {
	return statusStat("Endpoints",
		"One tile per endpoint: UP when the last probe succeeded (connected, greeted, TLS up and verified, logged in). "+
			"The text under the name is the probe's result: ok, or why it failed (dns, connect, timeout, greeting, "+
			"starttls_unsupported, tls_handshake, certificate, auth, protocol).",
		upDown, query("A", endpointStatus(vars), legend)).
		DataLinks(linkToServer("__field.labels"))
}

// linkToServer links a tile or row to the server's detail dashboard; from
// is "__field.labels" for series panels and "__data.fields" for tables.
func linkToServer(from string) []linkBuilder {
	return []linkBuilder{dashboard.NewDashboardLinkBuilder("Server detail: ${" + from + ".server}").
		Type(dashboard.DashboardLinkTypeLink).
		Url("/d/" + UIDServer + "?var-server=${" + from + ".server}&${datasource:queryparam}&${job:queryparam}&${__url_time_range}")}
}

func linkToDomain() []linkBuilder {
	return []linkBuilder{dashboard.NewDashboardLinkBuilder("Domain detail: ${__data.fields.domain}").
		Type(dashboard.DashboardLinkTypeLink).
		Url("/d/" + UIDDomain + "?var-domain=${__data.fields.domain}&${datasource:queryparam}&${job:queryparam}&${__url_time_range}")}
}

// dnsPosture is one value per (domain, check) for the posture matrix:
// 0 an error-severity problem, 1 warnings only, -1 the lookups failed,
// 2 fine; the "dnssec" column is 2 when every zone of the domain validates
// and 1 when one does not.
func dnsPosture() string {
	by := "max by (domain, check) "
	return "" +
		"(" + by + "(" + sel("mail_dns_problem_info", byDomain, `severity="error"`) + ") * 0)\n" +
		"or (" + by + "(" + sel("mail_dns_problem_info", byDomain, `severity="warning"`) + ") * 0 + 1)\n" +
		"or ((" + by + "(" + sel("mail_dns_lookup_success", byDomain) + ") == 0) - 1)\n" +
		"or (" + by + "(" + sel("mail_dns_record_valid", byDomain) + ") * 2)\n" +
		`or label_replace(min by (domain) (` + sel("mail_dnssec_secure", byDomain) + `) + 1, "check", "dnssec", "", "")`
}

var postureMap = valueMap(
	mapping{"2", "OK", green},
	mapping{"1", "WARN", orange},
	mapping{"0", "ERROR", red},
	mapping{"-1", "LOOKUP FAILED", purple},
)

func fleet() *dashboard.DashboardBuilder {
	// The chain's earliest expiry: usually the leaf, but an expiring
	// intermediate breaks clients as surely. MailCertificateExpiring uses it too.
	daysLeft := "(" + sel("mail_tls_chain_not_after_timestamp_seconds", byServer) + " - time()) / 86400"

	certTable := tablePanel("Certificates by days left",
		"Days until the certificate chain each server host presents expires (its earliest certificate, usually the "+
			"leaf; the earliest of the host's endpoints), soonest first. Red under 3 days, orange under 14.",
		tableQuery("A", "min by (server, host) ("+daysLeft+")")).
		WithTransformation(organize(hidden, map[string]string{"Value": "Days left"}, []string{"server", "host", "Value"})).
		SortBy([]sortBuilder{common.NewTableSortByFieldStateBuilder().DisplayName("Days left").Desc(false)}).
		OverrideByName("Days left", []dashboard.DynamicConfigValue{
			prop("decimals", 1),
			prop("thresholds", map[string]any{"mode": "absolute", "steps": []map[string]any{
				{"value": nil, "color": red}, {"value": 3, "color": orange}, {"value": 14, "color": green}}}),
			cellBackground(),
		})

	failingEndpoints := tablePanel("Endpoints failing now",
		"Each endpoint whose last probe failed, and why (the result label of mail_probe_result_info).",
		tableQuery("A", sel("mail_probe_result_info", byServer, `result!="ok"`))).
		WithTransformation(organize(append([]string{"Value"}, endpointHidden...),
			map[string]string{"result": "why"}, []string{"server", "endpoint", "host", "address", "family", "port", "result"})).
		OverrideByName("why", []dashboard.DynamicConfigValue{prop("color", map[string]any{"mode": "fixed", "fixedColor": red}),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})}).
		DataLinks(linkToServer("__data.fields"))

	partly := addressesTable("Endpoints partly down",
		"Endpoints of which some addresses fail and others answer: clients and MTAs that land on a failing "+
			"address (often the IPv6 one) fail while the endpoint looks up. Which addresses fail: \"Endpoints failing now\".",
		byServer, "("+sel("mail_probe_addresses_up", byServer)+" > 0) < "+sel("mail_probe_addresses", byServer))

	failingDNS := tablePanel("DNS errors now",
		"Each error-severity problem of the domain checks (mail_dns_problem_info); the code list is in the README.",
		tableQuery("A", sel("mail_dns_problem_info", byDomain, `severity="error"`))).
		WithTransformation(organize(append([]string{"Value", "severity"}, hidden...),
			map[string]string{"code": "why"}, []string{"domain", "check", "code"})).
		OverrideByName("why", []dashboard.DynamicConfigValue{prop("color", map[string]any{"mode": "fixed", "fixedColor": red}),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})}).
		DataLinks(linkToDomain())

	failingRoundtrips := tablePanel("End-to-end failing now",
		"Each roundtrip (submit a message, see it arrive over IMAP) whose last run failed, and at which step.",
		tableQuery("A", sel("mail_roundtrip_result_info", none, `result!="ok"`))).
		WithTransformation(organize(append([]string{"Value"}, hidden...),
			map[string]string{"result": "why"}, []string{"roundtrip", "result"})).
		OverrideByName("why", []dashboard.DynamicConfigValue{prop("color", map[string]any{"mode": "fixed", "fixedColor": red}),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})})

	verdicts := tablePanel("Receivers' verdicts",
		"Per roundtrip, each method result (dkim, spf, dmarc, arc, ...) in the Authentication-Results fields that the "+
			"trusted authserv-ids (trusted_authserv_ids; default the receive server's host) added to the last message.",
		tableQuery("A", sel("mail_roundtrip_auth_results_info", none))).
		WithTransformation(organize(append([]string{"Value"}, hidden...), nil, []string{"roundtrip", "authserv_id", "method", "result"})).
		OverrideByName("result", []dashboard.DynamicConfigValue{
			prop("mappings", valueMap(mapping{"pass", "pass", green}, mapping{"fail", "fail", red},
				mapping{"permerror", "permerror", red}, mapping{"softfail", "softfail", orange},
				mapping{"temperror", "temperror", orange}, mapping{"none", "none", orange})),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})})

	posture := tablePanel("DNS posture",
		"Domain × check. OK; WARN: warning-severity problems only; ERROR: an error-severity problem "+
			"(see \"DNS errors now\"); LOOKUP FAILED: SERVFAIL or timeout. The dnssec column is OK when every zone "+
			"of the domain (and of its MX hosts) validates, WARN when one does not.",
		tableQuery("A", dnsPosture())).
		WithTransformation(matrix("domain", "check")).
		Mappings(postureMap).
		CellOptions(common.TableCellOptions{TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
			Type: common.TableCellDisplayModeColorBackground}}).
		Align(common.FieldTextAlignmentCenter).
		// groupingToMatrix names the row-label column "<row>\<column>".
		OverrideByName(`domain\check`, []dashboard.DynamicConfigValue{
			prop("custom.cellOptions", map[string]any{"type": "auto"}), prop("custom.align", "left")})

	return newDashboard(UIDFleet, "Mail / Fleet overview",
		"Every mail endpoint, certificate, domain and end-to-end check at a glance; made for a wall screen.").
		Refresh("30s").
		WithVariable(jobVar()).
		WithVariable(serverVar(false)).
		WithVariable(domainVar(false)).
		WithPanel(numberStat("Endpoints down", "Endpoints none of whose addresses answered on their last probe.", "none", steps(green, 1, red),
			query("A", "count("+sel("mail_probe_addresses_up", byServer)+" == 0) or vector(0)", "")).Span(4).Height(4)).
		WithPanel(numberStat("Endpoints up", "Endpoints every address of which answered on its last probe.", "none", steps(green),
			query("A", "count("+sel("mail_probe_addresses_up", byServer)+" == "+sel("mail_probe_addresses", byServer)+") or vector(0)", "")).Span(4).Height(4)).
		WithPanel(numberStat("Certificates < 14 days", "Endpoints whose certificate chain expires within 14 days (or has expired).",
			"none", steps(green, 1, orange),
			query("A", "count("+daysLeft+" < 14) or vector(0)", "")).Span(4).Height(4)).
		WithPanel(numberStat("DNS checks failing", "Domain checks with an error-severity problem.", "none", steps(green, 1, red),
			query("A", "count(count by (domain, check) ("+sel("mail_dns_problem_info", byDomain, `severity="error"`)+")) or vector(0)", "")).Span(4).Height(4)).
		WithPanel(numberStat("DNSBL listings", "MX addresses listed on a DNS blocklist.", "none", steps(green, 1, red),
			query("A", "sum("+sel("mail_dnsbl_listed", byDomain)+") or vector(0)", "")).Span(4).Height(4)).
		WithPanel(numberStat("End-to-end failing", "Roundtrips whose last run failed.", "none", steps(green, 1, red),
			query("A", "count("+sel("mail_roundtrip_success", none)+" == 0) or vector(0)", "")).Span(4).Height(4)).
		WithPanel(endpointGrid(byServer, "{{server}} {{endpoint}} {{address}} · {{result}}").Span(24).Height(9)).
		WithPanel(partly.Span(24).Height(5)).
		WithPanel(failingEndpoints.Span(10).Height(8)).
		WithPanel(failingDNS.Span(8).Height(8)).
		WithPanel(failingRoundtrips.Span(6).Height(8)).
		WithPanel(certTable.Span(8).Height(10)).
		WithPanel(posture.Span(16).Height(10)).
		WithRow(dashboard.NewRowBuilder("End-to-end delivery")).
		WithPanel(statusStat("Delivery", "Last roundtrip per check: submitted over SMTP, then seen in the mailbox over IMAP.",
			okFailed, query("A", sel("mail_roundtrip_success", none), "{{roundtrip}}")).Span(6).Height(8)).
		WithPanel(numberStat("Last delivered", "Time since each roundtrip last succeeded.", "s", steps(green, 900, orange, 3600, red),
			query("A", "time() - "+sel("mail_roundtrip_last_success_timestamp_seconds", none), "{{roundtrip}}")).Span(6).Height(8)).
		WithPanel(timeSeries("Delivery time", "Submit accepted → message visible over IMAP, per roundtrip.", "s",
			rangeQuery("A", sel("mail_roundtrip_duration_seconds", none), "{{roundtrip}}")).Span(12).Height(8)).
		WithPanel(statusStat("DKIM aligned", "Per roundtrip: the last message carried a passing DKIM signature aligned "+
			"with its From domain (DMARC alignment, relaxed or strict as the domain's adkim says).",
			valueMap(mapping{"1", "aligned", green}, mapping{"0", "NOT ALIGNED", red}),
			query("A", sel("mail_roundtrip_dkim_aligned", none), "{{roundtrip}}")).Span(6).Height(8)).
		WithPanel(verdicts.Span(18).Height(8)).
		WithPanel(timeSeries("Roundtrip login backoff", "While a server refuses a roundtrip's login, its runs are spaced "+
			"(2^n intervals after n refusals in a row, at most 1h): the gap between runs. 0 = it runs at its own interval.", "s",
			rangeQuery("A", sel("mail_roundtrip_auth_backoff_seconds", none), "{{roundtrip}}")).Min(0).Span(24).Height(6)).
		WithRow(dashboard.NewRowBuilder("Uptime")).
		WithPanel(uptimeTable("Uptime by server",
			"Mean of each server's endpoint uptimes over 24 hours, 7 and 30 days (recording rules "+
				"server:mail_probe_success:avg_over_time_*).",
			"server", "server:mail_probe_success:avg_over_time_", byServer).Span(12).Height(8)).
		WithPanel(uptimeTable("End-to-end success",
			"Share of successful roundtrips over 24 hours, 7 and 30 days (recording rules "+
				"roundtrip:mail_roundtrip_success:avg_over_time_*).",
			"roundtrip", "roundtrip:mail_roundtrip_success:avg_over_time_", none).Span(12).Height(8))
}
