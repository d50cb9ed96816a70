package web

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/scheduler"
)

// StatusSource is what the status page reads (collector.Exporter).
type StatusSource interface {
	Checks() []collector.Check
	Now() time.Time
	Ready() bool
}

type statusView struct {
	Rows     []collector.StatusRow
	Now      time.Time
	Failing  int
	Total    int
	Version  string
	Reloaded bool
	Schedule scheduler.Stats
}

// ScheduleSource is what a StatusSource may also offer: the scheduler's
// load, shown in the summary (collector.Exporter has it).
type ScheduleSource interface {
	Schedule() scheduler.Stats
}

// Status serves the status page: every check, its last result, how
// old it is, why it failed and how many days its certificate has left.
// Failing checks come first; it needs no Grafana and no JavaScript.
func Status(src StatusSource, version string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		v := statusView{Now: src.Now(), Version: version, Reloaded: src.Ready()}
		if s, ok := src.(ScheduleSource); ok {
			v.Schedule = s.Schedule()
		}
		for _, c := range src.Checks() {
			row := c.Status()
			v.Total++
			if row.Ran && !row.OK {
				v.Failing++
			}
			v.Rows = append(v.Rows, row)
		}
		sort.SliceStable(v.Rows, func(i, j int) bool {
			return rank(v.Rows[i]) < rank(v.Rows[j])
		})
		var b bytes.Buffer
		if err := statusTemplate.Execute(&b, v); err != nil {
			log.Error("status page", "err", err)
			http.Error(w, "status page failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b.Bytes())
	})
}

// rank puts failures first, then checks that have not run, then the rest.
func rank(r collector.StatusRow) int {
	switch {
	case r.Ran && !r.OK:
		return 0
	case !r.Ran:
		return 1
	}
	return 2
}

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"age": func(now, t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mail_exporter status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{padding:.35em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.ok{color:#0a7d22;font-weight:600}.fail{color:#b00020;font-weight:600}.pending{color:#777}
.warn{color:#a65e00;font-weight:600}
</style></head><body>
<h1>mail_exporter</h1>
<p>{{.Total}} checks, <span class="{{if .Failing}}fail{{else}}ok{{end}}">{{.Failing}} failing</span>.
Version {{.Version}}. <a href="/metrics">Metrics</a>.</p>
{{with .Schedule}}{{if .Overloaded}}<p class="fail" id="overloaded">Overloaded: the schedule is not kept ({{.Skipped}} runs skipped in the last minute, lag p99 {{.LagP99}}, shortest interval {{.ShortestInterval}}, {{.InFlight}} of {{.Concurrency}} in flight, {{.Queued}} queued). Raise global.concurrency, add a shard, or lengthen intervals.</p>
{{else if .Jobs}}<p id="schedule">Schedule kept: lag p99 {{.LagP99}} over the last minute, {{.InFlight}} of {{.Concurrency}} in flight.</p>
{{end}}{{end}}<table>
<tr><th>Status</th><th>Kind</th><th>Check</th><th>Target</th><th>Result</th><th>Last run</th><th>Certificate</th><th>Reason</th></tr>
{{range .Rows}}<tr>
<td>{{if not .Ran}}<span class="pending">pending</span>{{else if .OK}}<span class="ok">OK</span>{{else}}<span class="fail">FAIL</span>{{end}}</td>
<td>{{.Kind}}</td><td>{{.Name}}</td><td>{{.Target}}</td><td>{{.Result}}</td>
<td>{{age $.Now .Finished}}</td>
<td>{{if .HasCert}}<span class="{{if lt .CertDays 3.0}}fail{{else if lt .CertDays 14.0}}warn{{end}}">{{.CertDays}} days</span>{{end}}</td>
<td>{{.Reason}}</td>
</tr>{{end}}
</table></body></html>
`))
