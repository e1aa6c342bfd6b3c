package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/tempo"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Datasources, by the UIDs grafana/provisioning/datasources provisions.
var (
	mimir        = ds("prometheus", "grafana_mimir")
	lokiDS       = ds("loki", "grafana_loki")
	tempoDS      = ds("tempo", "grafana_tempo")
	pyroscopeDS  = ds("grafana-pyroscope-datasource", "grafana_pyroscope")
	alertmanager = "Mimir Alertmanager" // the alertGroups panel names its Alertmanager datasource
)

func ds(typ, uid string) common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(typ), Uid: cog.ToPtr(uid)}
}

// The alert rules' thresholds (backends/mimir/rules/anonymous), drawn on
// the panels that show the same numbers; tests/grafana checks the alert
// names the descriptions cite exist.
const (
	sloAvailability       = 0.995 // GatewayZAPILowAvailability
	p95LatencySeconds     = 3.0   // GatewayZAPIHighLatencyP95
	errorRateThreshold    = 0.10  // GatewayZAPIHighErrorRate
	providerErrorRateWarn = 0.20  // GatewayZProviderHighErrorRate
	providerP95Seconds    = 5.0   // GatewayZProviderHighLatencyP95
)

// apiService is the GatewayZ API's service.name (the alert rules' too).
const apiService = "gatewayz-api"

// Selectors of the span metrics. Every panel sums over the collector and
// service instance labels, so several gateways (or replicas of a service)
// never double-count.
const (
	// serverSpans: requests as the API serves them (one SERVER span each).
	serverSpans = `span_kind="SPAN_KIND_SERVER", service=~"$service"`
	// llmSpans: calls to an AI provider (GenAI CLIENT spans).
	llmSpans = `gen_ai_system!="", gen_ai_system=~"$provider", gen_ai_request_model=~"$model"`
	errSpans = `status_code="STATUS_CODE_ERROR"`
)

// promQ is a PromQL range query; RefIds are set explicitly so a panel's
// queries stay stable across regenerations.
func promQ(ref, expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().Datasource(mimir).RefId(ref).Expr(expr).Range()
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

// promInstant is a PromQL instant query (tables, bar gauges).
func promInstant(ref, expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().Datasource(mimir).RefId(ref).Expr(expr).Instant().Format(prometheus.PromQueryFormatTable)
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

func lokiQ(ref, expr, legend string) *loki.DataqueryBuilder {
	q := loki.NewDataqueryBuilder().Datasource(lokiDS).RefId(ref).Expr(expr).QueryType(string(loki.LokiQueryTypeRange))
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

func traceQL(ref, query string, limit int64) *tempo.DataqueryBuilder {
	return tempo.NewDataqueryBuilder().Datasource(tempoDS).RefId(ref).
		QueryType(string(tempo.TempoQueryTypeTraceql)).Query(query).Limit(limit).
		TableType(tempo.SearchTableTypeTraces)
}

// steps builds absolute thresholds: a base colour, then (value, colour) pairs.
func steps(base string, pairs ...any) *dashboard.ThresholdsConfigBuilder {
	s := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i].(float64)
		s = append(s, dashboard.Threshold{Value: &v, Color: pairs[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

// ts is a time-series panel on Mimir, half the dashboard wide.
func ts(title, desc, unit string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).
		Datasource(mimir).
		Height(8).Span(12).
		FillOpacity(10).LineWidth(1).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"mean", "max", "lastNotNull"}))
}

// withLine draws the panel's thresholds as dashed lines: the alert levels.
func withLine(p *timeseries.PanelBuilder, t *dashboard.ThresholdsConfigBuilder) *timeseries.PanelBuilder {
	return p.Thresholds(t).ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// single is a stat panel on Mimir showing one number.
func single(title, desc, unit string, q *prometheus.DataqueryBuilder, t *dashboard.ThresholdsConfigBuilder) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).
		Datasource(mimir).
		Height(5).Span(6).
		WithTarget(q).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if t != nil {
		p = p.Thresholds(t)
	}
	return p
}

func bars(title, desc, unit string, q *prometheus.DataqueryBuilder) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).
		Datasource(mimir).
		Height(8).Span(12).
		WithTarget(q).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		Orientation(common.VizOrientationHorizontal).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

func tablePanel(title, desc string, d common.DataSourceRef) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(desc).Datasource(d).Height(8).Span(24)
}

// mergeTable joins a table's instant queries into one row per label set.
func mergeTable(p *table.PanelBuilder) *table.PanelBuilder {
	return p.WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}})
}

// Template variables. Each allows All, which is the regular expression
// allValue.
func queryVar(ds dashboard.DataSourceRef, name, label, query, allValue string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(allValue).
		Current(allOption())
}

// promVar's All is ".*": it matches series without the label too, so a
// span without a provider still counts under "All".
func promVar(name, label, query string) *dashboard.QueryVariableBuilder {
	return queryVar(mimir, name, label, query, ".*")
}

// lokiVar's All is ".+": Loki refuses a selector whose every matcher
// matches the empty string.
func lokiVar(name, label, query string) *dashboard.QueryVariableBuilder {
	return queryVar(lokiDS, name, label, query, ".+")
}

func allOption() dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
		Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")},
	}
}

// The variables most dashboards share.
func serviceVar() *dashboard.QueryVariableBuilder {
	return promVar("service", "Service", `label_values(traces_spanmetrics_calls_total, service)`)
}

// apiServiceVar is serviceVar preset to the API itself: with All, the
// SERVER spans of the services behind it (the router) would count every
// request twice in request totals and mix their latencies in.
func apiServiceVar() *dashboard.QueryVariableBuilder {
	return serviceVar().Current(dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(apiService)},
		Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(apiService)},
	})
}

func environmentVar() *dashboard.QueryVariableBuilder {
	return promVar("environment", "Environment", `label_values(target_info, deployment_environment)`)
}

func providerVar() *dashboard.QueryVariableBuilder {
	return promVar("provider", "Provider", `label_values(traces_spanmetrics_calls_total{gen_ai_system!=""}, gen_ai_system)`)
}

func modelVar() *dashboard.QueryVariableBuilder {
	return promVar("model", "Model", `label_values(traces_spanmetrics_calls_total{gen_ai_system=~"$provider", gen_ai_request_model!=""}, gen_ai_request_model)`)
}

// base is a dashboard with the settings all of ours share.
func base(uid, title string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Tags(append([]string{"gatewayz"}, tags...)).
		Readonly().
		Timezone("browser").
		Time("now-6h", "now").
		Refresh("1m").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("GatewayZ").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"gatewayz"}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true))
}
