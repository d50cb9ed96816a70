package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/scheduler"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// StatusSource is what the status pages read (collector.Exporter).
type StatusSource interface {
	Checks() []collector.Check
	Lookup(id string) (collector.Check, bool)
	Now() time.Time
	Ready() bool
}

// ScheduleSource is what a StatusSource may also offer: the scheduler's
// load, shown in the summary (collector.Exporter has it).
type ScheduleSource interface {
	Schedule() scheduler.Stats
}

// StatusOptions configure the status pages.
type StatusOptions struct {
	Version string
	// History holds the recent results (see History); nil = no history.
	History *history.Store
	// Refresh is the pages' meta refresh; 0 = 30s.
	Refresh time.Duration
	Log     *slog.Logger
}

//go:embed templates
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	// The status page: every kept result in the bar, the last sparkRuns
	// in the sparkline (enough for its width, and half the bytes).
	"bar": func(v checkView) template.HTML { return uptimeBar(v.Samples, v.Slots, "bar", false) },
	"spark": func(v checkView) template.HTML {
		ss, slots := v.Samples, min(v.Slots, sparkRuns)
		return sparkline(ss[max(0, len(ss)-slots):], slots, "spark")
	},
	// The check page: separators between the results, every one drawn.
	"fullBar":   func(v checkView) template.HTML { return uptimeBar(v.Samples, v.Slots, "bar", true) },
	"fullSpark": func(v checkView) template.HTML { return sparkline(v.Samples, v.Slots, "spark") },
	"days": func(d float64) string {
		if d < 0 {
			return fmt.Sprintf("expired %.0f d ago", -d)
		}
		return fmt.Sprintf("%.0f d", d)
	},
	"stateText": func(s string) string {
		return map[string]string{"ok": "OK", "fail": "FAIL", "pending": "WAIT"}[s]
	},
	"clock": clock,
	"dur":   fmtDur,
}).ParseFS(templateFS, "templates/*"))

// sparkRuns is how many results the status page's sparklines draw.
const sparkRuns = 30

// statusPage is the data of the main page.
type statusPage struct {
	Groups                         []groupView
	Attention                      []attention
	Failing, Expiring, OK, Pending int
	Total, PerCheck, Refresh       int
	Version, Clock, Zone           string
	Ready                          bool
	Schedule                       scheduler.Stats // when the source offers it (ScheduleSource)
}

// attention is one line of "Needs attention": a failing check, or one
// whose certificate expires soon.
type attention struct {
	Label, Link, Message, Fix string
	Status                    string // the finding's: critical or warning
}

// Status serves the status page at "/": every check grouped by domain and
// by server, with an uptime bar and a latency sparkline from the kept
// history, days until certificate expiry, and the current problem with its
// fix. It is plain HTML and inline SVG: no script, no external file.
func Status(src StatusSource, o StatusOptions) http.Handler {
	o = o.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		now := src.Now()
		checks := src.Checks()
		views := make([]checkView, 0, len(checks))
		details := make([]collector.Detail, 0, len(checks))
		for _, c := range checks {
			v, d := buildView(c, o.History, now)
			if d.Covered {
				continue // an endpoint's resolution: its addresses have the rows
			}
			views, details = append(views, v), append(details, d)
		}
		p := statusPage{Groups: group(views, details), Total: len(views), Refresh: int(o.Refresh.Seconds()),
			Version: o.Version, Clock: clock(now), Zone: zone(now), Ready: src.Ready()}
		if o.History != nil {
			p.PerCheck = o.History.PerCheck()
		}
		if s, ok := src.(ScheduleSource); ok {
			p.Schedule = s.Schedule()
		}
		for _, g := range p.Groups {
			for _, v := range allChecks(g) {
				expiring := v.HasCert && v.CertClass != "cert-ok"
				switch {
				case v.State == "fail":
					p.Failing++
				case v.State == "pending":
					p.Pending++
				case !expiring:
					p.OK++
				}
				if expiring {
					p.Expiring++
				}
				if v.State == "fail" || expiring {
					a := attention{Label: v.Label, Link: v.Link, Message: v.Reason, Status: "critical"}
					if len(v.Problems) > 0 {
						f := v.Problems[0]
						a.Message, a.Fix, a.Status = f.Message, f.Advice, string(f.Status)
					}
					p.Attention = append(p.Attention, a)
				}
			}
		}
		// Failures first, then what only warns; each in page order.
		sort.SliceStable(p.Attention, func(i, j int) bool {
			return p.Attention[i].Status == "critical" && p.Attention[j].Status != "critical"
		})
		render(w, "status.html", p, o.Log)
	})
}

func (o StatusOptions) withDefaults() StatusOptions {
	if o.Refresh <= 0 {
		o.Refresh = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

func render(w http.ResponseWriter, name string, data any, log *slog.Logger) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		log.Error("status page", "page", name, "err", err)
		http.Error(w, "status page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func zone(t time.Time) string {
	name, _ := t.Local().Zone()
	return name
}
