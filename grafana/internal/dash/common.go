// Package dash builds the mail_exporter Grafana dashboards with the Grafana
// Foundation SDK. Each dashboard is one file; this one holds what they share:
// the variables, label selectors, query and panel shorthands.
//
// Every query filters with regex matchers on the template variables
// (job=~"$job", server=~"$server", endpoint=~"$endpoint", domain=~"$domain"),
// so a test can run each expression with the variables replaced by ".*".
package dash

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Dashboard UIDs, stable so that links between the dashboards keep working.
const (
	UIDFleet    = "mail-exporter-fleet"
	UIDServer   = "mail-exporter-server"
	UIDDomain   = "mail-exporter-domain"
	UIDExporter = "mail-exporter-self"
)

const tag = "mail_exporter"

// Colours by name from Grafana's palette.
const (
	green  = "green"
	red    = "red"
	orange = "orange"
	blue   = "blue"
	purple = "purple"
	grey   = "text"
)

// Builder types the helpers pass around.
type (
	linkBuilder = cog.Builder[dashboard.DashboardLink]
	sortBuilder = cog.Builder[common.TableSortByFieldState]
)

// dsRef points panels and variables at the $datasource variable.
var dsRef = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// sel renders metric{job=~"$job",<var>=~"$<var>"...,extra...}: every
// selector in the dashboards goes through it, so that every query honours
// the variables.
func sel(metric string, vars []string, extra ...string) string {
	m := make([]string, 0, 1+len(vars)+len(extra))
	m = append(m, `job=~"$job"`)
	for _, v := range vars {
		m = append(m, fmt.Sprintf(`%s=~"$%s"`, v, v))
	}
	m = append(m, extra...)
	return metric + "{" + strings.Join(m, ",") + "}"
}

// Variable sets: what each kind of series is filtered by on a dashboard.
var (
	none        = []string{}
	byServer    = []string{"server"}
	byEndpoint  = []string{"server", "endpoint"}
	byDomain    = []string{"domain"}
	rateWindow  = "[$__rate_interval]"
	intervalWin = "[$__interval]"
)

// --- variables ---

func datasourceVar() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Data source").
		Type("prometheus")
}

// queryVar is a label_values variable; multi-select with All (".*") unless
// single is set.
func queryVar(name, label, query string, single bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Datasource(dsRef).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortNaturalAsc)
	if single {
		return v.Multi(false).IncludeAll(false)
	}
	return v.Multi(true).IncludeAll(true).AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		})
}

func jobVar() *dashboard.QueryVariableBuilder {
	return queryVar("job", "Job", `label_values(mail_exporter_build_info, job)`, false)
}

func serverVar(single bool) *dashboard.QueryVariableBuilder {
	return queryVar("server", "Server", `label_values(mail_probe_success{job=~"$job"}, server)`, single)
}

func endpointVar() *dashboard.QueryVariableBuilder {
	return queryVar("endpoint", "Endpoint", `label_values(mail_probe_success{job=~"$job",server=~"$server"}, endpoint)`, false)
}

func domainVar(single bool) *dashboard.QueryVariableBuilder {
	return queryVar("domain", "Domain", `label_values(mail_dns_check_last_run_timestamp_seconds{job=~"$job"}, domain)`, single)
}

// newDashboard sets what all four dashboards share: tags, links to each
// other, the time picker, and the data source variable.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{tag}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("1m").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Link(dashboard.NewDashboardLinkBuilder("mail_exporter").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{tag}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true)).
		WithVariable(datasourceVar())
}

// --- queries ---

// query is an instant query: what the latest value of each series is.
func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).Instant()
}

// tableQuery is an instant query formatted as a table: one row per series,
// one column per label.
func tableQuery(ref, expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).
		Format(prometheus.PromQueryFormatTable).Instant()
}

// rangeQuery is a query over the dashboard's time range.
func rangeQuery(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).Range()
}

// --- field config ---

func steps(base string, more ...any) cog.Builder[dashboard.ThresholdsConfig] {
	s := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(more); i += 2 {
		v := toFloat(more[i])
		s = append(s, dashboard.Threshold{Value: &v, Color: more[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("threshold value %v", v))
}

// mapping is one value → text and colour.
type mapping struct{ value, text, color string }

// valueMap turns value → text/colour pairs into one Grafana value mapping.
func valueMap(ms ...mapping) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, m := range ms {
		opts[m.value] = dashboard.ValueMappingResult{Text: cog.ToPtr(m.text), Color: cog.ToPtr(m.color), Index: cog.ToPtr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

var (
	upDown    = valueMap(mapping{"1", "UP", green}, mapping{"0", "DOWN", red})
	yesNo     = valueMap(mapping{"1", "yes", green}, mapping{"0", "NO", red})
	okFailed  = valueMap(mapping{"1", "OK", green}, mapping{"0", "FAILED", red})
	validBad  = valueMap(mapping{"1", "valid", green}, mapping{"0", "INVALID", red})
	badIfTrue = valueMap(mapping{"1", "YES", red}, mapping{"0", "no", green})
)

func colorByThresholds() cog.Builder[dashboard.FieldColor] {
	return dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)
}

// prop is a field-config override property.
func prop(id string, v any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: v}
}

func cellBackground() dashboard.DynamicConfigValue {
	return prop("custom.cellOptions", map[string]any{"type": "color-background"})
}

// --- transformations ---

func organize(exclude []string, rename map[string]string, order []string) dashboard.DataTransformerConfig {
	ex := map[string]bool{}
	for _, f := range exclude {
		ex[f] = true
	}
	idx := map[string]int{}
	for i, f := range order {
		idx[f] = i
	}
	if rename == nil {
		rename = map[string]string{}
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": ex, "renameByName": rename, "indexByName": idx,
	}}
}

func merge() dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}
}

// matrix pivots a table of (row, column, Value) into a grid.
func matrix(rowField, columnField string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "groupingToMatrix", Options: map[string]any{
		"rowField": rowField, "columnField": columnField, "valueField": "Value", "emptyValue": "null",
	}}
}

// hidden are the columns of a table query that carry no information for a
// reader: the sample time, the metric name and the scrape target.
var hidden = []string{"Time", "__name__", "job", "instance"}

// endpointHidden adds the endpoint labels a table rarely needs.
var endpointHidden = append([]string{"protocol", "tls"}, hidden...)

// --- panels ---

// statusStat is a grid of coloured tiles, one per series, readable from a
// distance: the value is mapped to text (UP/DOWN…), the tile is coloured by
// the mapping.
func statusStat(title, description string, mappings []dashboard.ValueMapping, q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		WithTarget(q).
		Mappings(mappings).
		Thresholds(steps(grey)).
		ColorScheme(colorByThresholds()).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		JustifyMode(common.BigValueJustifyModeCenter).
		Orientation(common.VizOrientationAuto).
		WideLayout(true).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// numberStat is one big number with threshold colours.
func numberStat(title, description, unit string, thresholds cog.Builder[dashboard.ThresholdsConfig], q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		WithTarget(q).
		Unit(unit).
		Thresholds(thresholds).
		ColorScheme(colorByThresholds()).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// labelStat shows a label of each series as text (the series' value is 1).
func labelStat(title, description string, q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		WithTarget(q).
		Thresholds(steps(blue)).
		ColorScheme(colorByThresholds()).
		ColorMode(common.BigValueColorModeNone).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

func tablePanel(title, description string, qs ...*prometheus.DataqueryBuilder) *table.PanelBuilder {
	t := table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{}).CountRows(false)).
		Filterable(true)
	for _, q := range qs {
		t.WithTarget(q)
	}
	return t
}

func timeSeries(title, description, unit string, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	t := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		Unit(unit).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
	for _, q := range qs {
		t.WithTarget(q)
	}
	return t
}

// timeline is a state timeline: a coloured band per series over time.
func timeline(title, description string, mappings []dashboard.ValueMapping, qs ...*prometheus.DataqueryBuilder) *statetimeline.PanelBuilder {
	t := statetimeline.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(dsRef).
		Mappings(mappings).
		Thresholds(steps(grey)).
		ColorScheme(colorByThresholds()).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		RowHeight(0.8).
		FillOpacity(80).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(false))
	for _, q := range qs {
		t.WithTarget(q)
	}
	return t
}

// number gives every panel of a built dashboard a unique id, in layout order.
func number(d *dashboard.Dashboard) {
	var id uint32
	for _, p := range d.Panels {
		id++
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = cog.ToPtr(id)
			}
		}
	}
}
