package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func exporter() *dashboard.DashboardBuilder {
	x := func(metric string, extra ...string) string { return sel(metric, none, extra...) }
	checks := x("mail_exporter_checks_total")
	failures := x("mail_exporter_checks_total", `result="failure"`)
	lag := x("mail_exporter_schedule_lag_seconds_bucket")
	quantile := func(q string) string {
		return "histogram_quantile(" + q + ", sum by (le) (rate(" + lag + rateWindow + ")))"
	}

	return newDashboard(UIDExporter, "Mail / Exporter",
		"The exporter itself: is it scraped, how many checks it runs and how many fail, how late the schedule is, "+
			"checks in flight, configuration reloads, and the process.").
		WithVariable(jobVar()).
		WithPanel(statusStat("Scrape", "Whether Prometheus could scrape each exporter instance (the up series).", upDown,
			query("A", x("up"), "{{instance}}")).Span(6).Height(5)).
		WithPanel(labelStat("Version", "mail_exporter_build_info of each instance.",
			query("A", x("mail_exporter_build_info"), "{{instance}}: {{version}}")).Span(6).Height(5)).
		WithPanel(statusStat("Last config reload", "Whether the last attempt to load the configuration succeeded. "+
			"When it failed, the exporter runs on with the previous configuration.", okFailed,
			query("A", x("mail_exporter_config_last_reload_successful"), "{{instance}}")).Span(6).Height(5)).
		WithPanel(numberStat("Config loaded", "When the configuration was last loaded successfully.", "dateTimeFromNow",
			steps(blue), query("A", x("mail_exporter_config_last_reload_success_timestamp_seconds")+" * 1000", "{{instance}}")).
			Span(6).Height(5)).
		WithRow(dashboard.NewRowBuilder("Checks")).
		WithPanel(timeSeries("Checks per second", "Checks run by the schedule, by kind (endpoint, domain, roundtrip) and result.",
			"ops", rangeQuery("A", "sum by (kind, result) (rate("+checks+rateWindow+"))", "{{kind}} {{result}}")).
			Span(12).Height(8)).
		WithPanel(timeSeries("Failure ratio", "Share of each kind's checks that failed.", "percentunit",
			rangeQuery("A", "sum by (kind) (rate("+failures+rateWindow+")) / sum by (kind) (rate("+checks+rateWindow+"))",
				"{{kind}}")).Min(0).Max(1).Span(12).Height(8)).
		WithPanel(timeSeries("Schedule lag", "How late checks start against their schedule: quantiles of "+
			"mail_exporter_schedule_lag_seconds. A growing lag means the checks do not fit in concurrency × interval.",
			"s",
			rangeQuery("A", quantile("0.5"), "p50"),
			rangeQuery("B", quantile("0.9"), "p90"),
			rangeQuery("C", quantile("0.99"), "p99"),
			rangeQuery("D", "sum(rate("+x("mail_exporter_schedule_lag_seconds_sum")+rateWindow+")) / sum(rate("+
				x("mail_exporter_schedule_lag_seconds_count")+rateWindow+"))", "mean")).
			Span(12).Height(8)).
		WithPanel(timeSeries("In flight", "Checks running at this moment (at most global.concurrency).", "none",
			rangeQuery("A", x("mail_exporter_checks_in_flight"), "{{instance}}")).
			Min(0).Span(12).Height(8)).
		WithPanel(timeSeries("Overloaded", "1 while the exporter cannot keep its schedule: in the last minute a run was "+
			"skipped, or the lag p99 was above 10 % of the shortest interval (mail_exporter_overloaded). "+
			"Raise global.concurrency or host_concurrency, add a shard, or lengthen intervals; the "+
			"MailExporterOverloaded alert fires after 5 minutes.", "none",
			rangeQuery("A", x("mail_exporter_overloaded"), "{{instance}}")).
			DrawStyle(common.GraphDrawStyleLine).
			Min(0).Max(1).Span(12).Height(8)).
		WithPanel(timeSeries("Skipped runs", "Runs skipped because the previous run of the same check was still queued or "+
			"running (mail_exporter_schedule_skipped_total), per minute: the exporter falls behind by one run per "+
			"check instead of building a queue.", "none",
			rangeQuery("A", "sum by (instance, kind) (rate("+x("mail_exporter_schedule_skipped_total")+rateWindow+")) * 60", "{{instance}} {{kind}}")).
			Min(0).Span(12).Height(8)).
		WithPanel(timeSeries("Oldest result", "Age of the oldest endpoint probe and domain check result. It should stay "+
			"under a few intervals; the MailResultsStale alert fires at 3.", "s",
			rangeQuery("A", "max by (instance) (time() - "+x("mail_probe_last_run_timestamp_seconds")+")", "{{instance}} endpoints"),
			rangeQuery("B", "max by (instance) (time() - "+x("mail_dns_check_last_run_timestamp_seconds")+")", "{{instance}} domains")).
			Span(12).Height(8)).
		WithPanel(timeSeries("Config reloads", "Successful configuration loads (at start, on SIGHUP or POST /-/reload) per "+
			"interval; the red line is 1 while the last attempt failed.", "none",
			rangeQuery("A", "changes("+x("mail_exporter_config_last_reload_success_timestamp_seconds")+intervalWin+")", "{{instance}} loaded"),
			rangeQuery("B", "1 - "+x("mail_exporter_config_last_reload_successful"), "{{instance}} last reload failed")).
			DrawStyle(common.GraphDrawStyleBars).
			OverrideByRegexp("failed$", []dashboard.DynamicConfigValue{
				prop("color", map[string]any{"mode": "fixed", "fixedColor": red}),
				prop("custom.drawStyle", "line")}).
			Min(0).Span(12).Height(8)).
		WithPanel(timeSeries("/probe refused", "On-demand /probe requests answered 429 because probe_max_in_flight runs "+
			"were in flight (mail_exporter_probe_refused_total), per second.", "reqps",
			rangeQuery("A", "sum by (instance, reason) (rate("+x("mail_exporter_probe_refused_total")+rateWindow+"))",
				"{{instance}} {{reason}}")).
			Min(0).Span(24).Height(8)).
		WithRow(dashboard.NewRowBuilder("Process")).
		WithPanel(timeSeries("Memory", "Resident memory of the exporter process.", "bytes",
			rangeQuery("A", x("process_resident_memory_bytes"), "{{instance}}")).Span(8).Height(7)).
		WithPanel(timeSeries("CPU", "CPU used by the exporter process, in cores.", "none",
			rangeQuery("A", "rate("+x("process_cpu_seconds_total")+rateWindow+")", "{{instance}}")).Span(8).Height(7)).
		WithPanel(timeSeries("Goroutines", "Goroutines of the exporter process; roughly checks in flight plus a constant.", "none",
			rangeQuery("A", x("go_goroutines"), "{{instance}}")).Span(8).Height(7))
}
