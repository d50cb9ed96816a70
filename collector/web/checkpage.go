package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
)

// checkPage is the data of one check's page.
type checkPage struct {
	C                    checkView
	Group                string
	Rows                 []sampleRow
	Top                  string
	Refresh              int
	Version, Clock, Zone string
}

// sampleRow is one line of the history table.
type sampleRow struct {
	At, Code                    string
	OK                          bool
	Total, Connect, TLS, Server string
}

// CheckPage serves /check?id=ID: one check's kept history, newest first,
// its current problems with their fixes, and the transcript of its last
// failure (masked).
func CheckPage(src StatusSource, o StatusOptions) http.Handler {
	o = o.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := src.Lookup(r.URL.Query().Get("id"))
		if !ok {
			http.Error(w, "no such check in the configuration", http.StatusNotFound)
			return
		}
		now := src.Now()
		v, d := buildView(c, o.History, now)
		groups := group([]checkView{v}, []collector.Detail{d})
		p := checkPage{C: v, Group: groups[0].Title, Refresh: int(o.Refresh.Seconds()), Version: o.Version, Clock: clock(now), Zone: zone(now)}
		var top time.Duration
		for _, s := range slices.Backward(v.Samples) {
			top = max(top, s.Total)
			row := sampleRow{At: clock(s.At), Code: s.Code, OK: s.OK, Total: fmtDur(s.Total)}
			if sumPhases(s) > 0 {
				row.Connect, row.TLS, row.Server = fmtDur(s.Phases[0]), fmtDur(s.Phases[1]), fmtDur(s.Phases[2])
			}
			p.Rows = append(p.Rows, row)
		}
		p.Top = fmtDur(top)
		render(w, "check.html", p, o.Log)
	})
}
