package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Stable dashboard UIDs: links, bookmarks and the provisioning Lambda rely on
// them, so they never change.
const (
	UIDOverview = "cwstream-overview"
	UIDECS      = "cwstream-ecs-service"
	UIDRDS      = "cwstream-rds"
	UIDALB      = "cwstream-alb"
)

// Tag marks every cwstream dashboard; the dashboards' link bar lists all
// dashboards with this tag.
const Tag = "cwstream"

// DataSourceUID is the UID of the Prometheus (AMP) data source the
// provisioning code creates; the dashboards select it by default.
const DataSourceUID = "cwstream-amp"

// allValue is what "All" of a dimension variable expands to. ".+" and not
// ".*": a series without the dimension (a cluster-level series when the
// variable is the service) has an empty label, which ".*" would match.
const allValue = ".+"

// scope is the matcher list every query starts with.
const scope = `account_id=~"$account_id",region=~"$region"`

// sel returns a vector selector for name limited to the dashboard's scope
// and the given extra matchers.
func sel(name string, matchers ...string) string {
	if len(matchers) == 0 {
		return name + "{" + scope + "}"
	}
	return name + "{" + scope + "," + strings.Join(matchers, ",") + "}"
}

// teamAll is what "All" of the team variable expands to: ".*", which also
// matches a missing tag_Team label (see resource.sel).
const teamAll = ".*"

// teamMatcher is the team variable's matcher on a tag_Team label.
const teamMatcher = `tag_Team=~"$team"`

// resource is a kind of resource whose series the team variable filters:
// its YACE info series (written by the tag enrichment, internal/tags) and
// the dimension labels both carry, on which they join.
type resource struct {
	info string // a selector's name part: a metric name or {__name__=~…}
	keys []string
}

var (
	rdsInstance = resource{`__name__="aws_rds_info"`, []string{"dimension_DBInstanceIdentifier"}}
	alb         = resource{`__name__="aws_applicationelb_info"`, []string{"dimension_LoadBalancer"}}
	// A cluster-level series joins the cluster's info series (no
	// dimension_ServiceName on either), a service's the service's.
	ecs = resource{`__name__=~"aws_ecs_info|aws_ecs_containerinsights_info"`, []string{"dimension_ClusterName", "dimension_ServiceName"}}
)

// infoNames selects every info series the dashboards join, for the team
// variable.
const infoNames = `__name__=~"aws_rds_info|aws_applicationelb_info|aws_ecs_info|aws_ecs_containerinsights_info"`

// sel is sel(name, matchers...) limited to the resources of the chosen
// teams: those whose info series carries a tag_Team the team variable
// matches. The right-hand side of the join also holds the selected series
// themselves with the team matcher: they have no tag_Team label, which only
// "All" (.*) matches, so with All every series passes, tagged or not, and
// with the tag enrichment off too.
func (r resource) sel(name string, matchers ...string) string {
	return r.join(sel(name, matchers...), name, matchers)
}

// minute is sel for a count CloudWatch leaves out when zero
// (rules.SparseCounts): the minute's own sample, sum_over_time over one
// minute, and nothing for a minute CloudWatch left out, where a plain
// selector would repeat the last non-zero minute for PromQL's 5-minute
// lookback. The metric name is dropped.
func (r resource) minute(name string, matchers ...string) string {
	return r.join("sum_over_time("+sel(name, matchers...)+"[1m])", name, matchers)
}

// join keeps the series of expr whose resource the team variable selects.
func (r resource) join(expr, name string, matchers []string) string {
	on := "account_id, region, " + strings.Join(r.keys, ", ")
	info := "{" + r.info + "," + scope + "," + teamMatcher + "}"
	self := sel(name, append(matchers, teamMatcher)...)
	return "(" + expr + " and on(" + on + ") (" + info + " or " + self + "))"
}

// teamVariable lists the Team tags of the info series; without them (the
// tag enrichment off) it offers only All.
func teamVariable() cog.Builder[dashboard.VariableModel] {
	return labelVariable("team", "Team", "{"+infoNames+","+scope+"}", "tag_Team", true).AllValue(teamAll)
}

func dsRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// target is one query of a panel.
type target struct{ expr, legend string }

func q(expr, legend string) target { return target{expr: expr, legend: legend} }

func queries(ts []target) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], 0, len(ts))
	for i, t := range ts {
		out = append(out, prometheus.NewDataqueryBuilder().
			Datasource(dsRef()).
			RefId(string(rune('A'+i))).
			Expr(t.expr).
			LegendFormat(t.legend).
			Range())
	}
	return out
}

// step is one threshold: from value on, the colour. The first step of a
// list is the base (value ignored).
type step struct {
	from  float64
	color string
}

// upBad is for values where higher is worse (CPU, latency, errors).
func upBad(warn, crit float64) []step {
	return []step{{0, "green"}, {warn, "orange"}, {crit, "red"}}
}

// downBad is for values where lower is worse (free memory, free storage).
func downBad(crit, warn float64) []step {
	return []step{{0, "red"}, {crit, "orange"}, {warn, "green"}}
}

// neutral has no warning level: the panel shows a quantity, not a health.
func neutral() []step { return []step{{0, "green"}} }

func thresholds(steps []step) *dashboard.ThresholdsConfigBuilder {
	out := make([]dashboard.Threshold, len(steps))
	for i, s := range steps {
		out[i] = dashboard.Threshold{Color: s.color}
		if i > 0 {
			out[i].Value = cog.ToPtr(s.from)
		}
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(out)
}

// panel describes one panel; graph and single turn it into a builder.
type panel struct {
	title, desc, unit string
	targets           []target
	steps             []step
	width             uint32 // of 24; default 12
	stack             bool
	link              *panelLink
}

type panelLink struct{ title, uid string }

func (p panel) w() uint32 {
	if p.width == 0 {
		return 12
	}
	return p.width
}

func (p panel) links() []cog.Builder[dashboard.DashboardLink] {
	if p.link == nil {
		return nil
	}
	return []cog.Builder[dashboard.DashboardLink]{
		dashboard.NewDashboardLinkBuilder(p.link.title).
			Type(dashboard.DashboardLinkTypeLink).
			Url(dashboardURL(p.link.uid)),
	}
}

// dashboardURL links to another cwstream dashboard with the same time range,
// data source, account and region.
func dashboardURL(uid string) string {
	return "/d/" + uid + "?${__url_time_range}&${datasource:queryparam}&${account_id:queryparam}&${region:queryparam}&${team:queryparam}"
}

// graph builds a time series panel.
func graph(p panel) *timeseries.PanelBuilder {
	steps := p.steps
	if steps == nil {
		steps = neutral()
	}
	b := timeseries.NewPanelBuilder().
		Title(p.title).
		Description(p.desc).
		Datasource(dsRef()).
		Unit(p.unit).
		Min(0).
		Span(p.w()).
		Height(8).
		Targets(queries(p.targets)).
		Thresholds(thresholds(steps)).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Float64: cog.ToPtr(float64(180_000))}).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"mean", "max", "lastNotNull"})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	if len(p.steps) > 1 {
		// Draw the warning and critical levels on the graph.
		b.ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
	}
	if p.stack {
		b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
	}
	if l := p.links(); l != nil {
		b.Links(l)
	}
	return b
}

// single builds a stat panel showing the last value.
func single(p panel) *stat.PanelBuilder {
	steps := p.steps
	if steps == nil {
		steps = neutral()
	}
	b := stat.NewPanelBuilder().
		Title(p.title).
		Description(p.desc).
		Datasource(dsRef()).
		Unit(p.unit).
		Span(p.w()).
		Height(4).
		Targets(queries(p.targets)).
		Thresholds(thresholds(steps)).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if l := p.links(); l != nil {
		b.Links(l)
	}
	return b
}

// variables returns the template variables every dashboard starts with:
// data source, account and region, the latter two read from anchor (a
// selector-less metric name the dashboard always has), and team.
func variables(anchor string) []cog.Builder[dashboard.VariableModel] {
	return []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus").
			Current(option(DataSourceUID)),
		labelVariable("account_id", "Account", anchor+"{}", "account_id", true),
		labelVariable("region", "Region", anchor+`{account_id=~"$account_id"}`, "region", true),
		teamVariable(),
	}
}

// labelVariable is a query variable listing the values of label on the
// series of selector.
func labelVariable(name, label, selector, labelName string, multi bool) *dashboard.QueryVariableBuilder {
	query := fmt.Sprintf("label_values(%s, %s)", selector, labelName)
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(dsRef()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(multi).
		IncludeAll(multi).
		AllValue(allValue).
		Current(option("All"))
}

func option(v string) dashboard.VariableOption {
	value := v
	if v == "All" {
		value = "$__all"
	}
	return dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(v)},
		Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(value)},
	}
}

// newDashboard sets what all four dashboards share.
func newDashboard(uid, title, desc string, extraTags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(desc).
		Tags(append([]string{Tag}, extraTags...)).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("1m").
		Time("now-3h", "now").
		Timezone(common.TimeZoneBrowser).
		Link(dashboard.NewDashboardLinkBuilder("cwstream dashboards").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true)).
		Link(dashboard.NewDashboardLinkBuilder("Operations guide").
			Type(dashboard.DashboardLinkTypeLink).
			Icon("doc").
			Url("https://github.com/cwstream/cwstream/blob/main/docs/operations.md").
			TargetBlank(true))
}

// row adds an expanded row followed by its panels to b. Grafana keeps the
// panels of an expanded row at the top level after it (a row holds panels
// only while collapsed), so they are added to the dashboard, not the row.
func row(b *dashboard.DashboardBuilder, title string, panels ...cog.Builder[dashboard.Panel]) {
	b.WithRow(dashboard.NewRowBuilder(title).Collapsed(false))
	for _, p := range panels {
		b.WithPanel(p)
	}
}

// Units used by the panels, named once.
const (
	unitPercent     = units.Percent
	unitPercentUnit = units.PercentUnit
	unitSeconds     = units.Seconds
	unitBytes       = units.BytesIEC
	unitMiB         = "decmbytes"
	unitBytesPerSec = "Bps"
	unitReqPerSec   = "reqps"
	unitPerSec      = "cps"
	unitIOPS        = "iops"
	unitShort       = "short"
)
