package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// ofDomainMX narrows an endpoint series to the endpoints whose host is one
// of the selected domains' MX hosts (the mx label of mail_ptr_valid):
// endpoint series carry no domain label.
func ofDomainMX(expr string) string {
	return expr + ` and on(host) label_replace(` + sel("mail_ptr_valid", byDomain) + `, "host", "$1", "mx", "(.+)")`
}

// withMXPosture adds the inbound-MX row: relay test, banner against reverse
// DNS, and how long the MX took to answer MAIL and RCPT.
func withMXPosture(b *dashboard.DashboardBuilder) *dashboard.DashboardBuilder {
	e := func(metric string, extra ...string) string { return ofDomainMX(sel(metric, none, extra...)) }
	colorText := prop("custom.cellOptions", map[string]any{"type": "color-text"})

	posture := tablePanel("MX relay test and banner",
		"Per MX endpoint and address: the open-relay test (relay_test: true; open = anyone can send mail through it, "+
			"critical; inconclusive = a 4xx or no answer), the host names of the 220 greeting and the EHLO reply, and "+
			"whether the greeting's name is a PTR name of the address (a mismatch is a warning; iprev is the Reverse DNS "+
			"panel). Endpoints whose host is an MX host of the domain.",
		tableQuery("A", e("mail_smtp_relay_test_result_info")),
		tableQuery("B", e("mail_smtp_banner_info")),
		tableQuery("C", e("mail_smtp_banner_matches_ptr"))).
		WithTransformation(merge()).
		WithTransformation(organize(append([]string{"Value #A", "Value #B"}, endpointHidden...),
			map[string]string{"result": "relay test", "Value #C": "banner = PTR"},
			[]string{"server", "host", "endpoint", "address", "result", "greeting_host", "ehlo_host", "Value #C"})).
		OverrideByName("relay test", []dashboard.DynamicConfigValue{prop("mappings",
			valueMap(mapping{"open", "OPEN RELAY", red}, mapping{"refused", "refused", green}, mapping{"inconclusive", "inconclusive", orange})),
			colorText}).
		OverrideByName("banner = PTR", []dashboard.DynamicConfigValue{prop("mappings",
			valueMap(mapping{"1", "yes", green}, mapping{"0", "no", orange})), cellBackground()})

	return b.WithRow(dashboard.NewRowBuilder("Inbound MX (port 25)")).
		WithPanel(posture.Span(14).Height(7)).
		WithPanel(statusStat("Relay variants accepted",
			"Per MX address and way of writing the foreign recipient (plain user@foreign, the %-hack user%foreign@mx, "+
				"the source route @mx:user@foreign): ACCEPTED means RCPT got a 2xx, an open relay.",
			valueMap(mapping{"1", "ACCEPTED", red}, mapping{"0", "not accepted", green}),
			query("A", e("mail_smtp_relay_accepted"), "{{server}} {{address}} {{variant}}")).Span(10).Height(7)).
		WithPanel(timeSeries("MX transaction time",
			"MAIL FROM through the last RCPT reply of the relay test (phase transaction): how long the MX takes to "+
				"accept an envelope. Greylisting tarpits and slow policy services show here.",
			"s", rangeQuery("A", e("mail_probe_phase_duration_seconds", `phase="transaction"`), "{{server}} {{address}}")).
			Span(24).Height(7))
}
