package main

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/grafanapyroscope"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/nodegraph"
	"github.com/grafana/grafana-foundation-sdk/go/tempo"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

const (
	rate = "$__rate_interval"
	rng  = "$__range"
)

// serviceGraph is Tempo's service map, drawn from the service-graph metrics
// in Mimir (the Tempo datasource's serviceMap setting).
func serviceGraph(desc string) *nodegraph.PanelBuilder {
	return nodegraph.NewPanelBuilder().
		Title("Service graph").
		Description(desc).
		Datasource(tempoDS).
		Height(12).Span(24).
		WithTarget(tempo.NewDataqueryBuilder().Datasource(tempoDS).RefId("A").
			QueryType(string(tempo.TempoQueryTypeServiceMap)))
}

func executiveOverview() *dashboard.DashboardBuilder {
	server := serverSpans
	return base("gatewayz-executive-overview", "GatewayZ: Executive Overview", "overview").
		Description("The few numbers to look at first: traffic, availability against the 99.5% SLO, latency, error budget, tokens, and what is alerting now.").
		WithVariable(apiServiceVar()).
		WithVariable(environmentVar()).
		WithPanel(single("Requests", "Requests the API served in the selected time range (one SERVER span each).", "short",
			promQ("A", increaseOf("traces_spanmetrics_calls_total", server, "", rng), ""), nil)).
		WithPanel(single("Availability", fmt.Sprintf("Share of requests without an error in the selected range. Red below the %.1f%% SLO (alert GatewayZAPILowAvailability).", sloAvailability*100), "percentunit",
			promQ("A", "1 - ("+errorRatio(server, "", rng)+")", ""),
			steps("red", sloAvailability, "green")).Decimals(2)).
		WithPanel(single("P95 latency", fmt.Sprintf("95th percentile of request latency in the selected range. Red at the %gs threshold of alert GatewayZAPIHighLatencyP95.", p95LatencySeconds), "s",
			promQ("A", quantile(0.95, server, "", rng), ""),
			steps("green", p95LatencySeconds*0.8, "orange", p95LatencySeconds, "red"))).
		WithPanel(single("Error budget left", fmt.Sprintf("Part of the %.1f%% SLO's error budget (%.1f%% of requests) not yet spent in the selected range; below 0 the SLO is missed.", sloAvailability*100, (1-sloAvailability)*100), "percentunit",
			promQ("A", fmt.Sprintf("1 - (%s) / %g", errorRatio(server, "", rng), 1-sloAvailability), ""),
			steps("red", 0.0, "orange", 0.25, "green"))).
		WithPanel(single("Tokens today", "Input plus output tokens reported by GenAI spans since midnight.", "short",
			promQ("A", increaseOf("gen_ai_client_token_usage_input_total", "", "", rng)+" + "+increaseOf("gen_ai_client_token_usage_output_total", "", "", rng), ""), nil).
			TimeFrom("now/d").Span(8)).
		WithPanel(single("Error rate", fmt.Sprintf("Share of requests failing right now. Red at %g%% (alert GatewayZAPIHighErrorRate).", errorRateThreshold*100), "percentunit",
			promQ("A", errorRatio(server, "", rate), ""),
			steps("green", errorRateThreshold/2, "orange", errorRateThreshold, "red")).Span(8)).
		WithPanel(single("Requests per second", "Current request rate of the API.", "reqps",
			promQ("A", rateOf("traces_spanmetrics_calls_total", server, ""), ""), nil).Span(8)).
		WithPanel(bars("Top models today", "The five models called most since midnight, by calls to the provider.", "short",
			promInstant("A", fmt.Sprintf(`topk(5, %s)`, increaseOf("traces_spanmetrics_calls_total", `gen_ai_request_model!=""`, "gen_ai_request_model", rng)), "{{gen_ai_request_model}}")).
			TimeFrom("now/d")).
		WithPanel(dashboard.NewPanelBuilder().
			Type("alertGroups").
			Title("Alerts firing now").
			Description("Alert groups in Mimir's Alertmanager (rules in backends/mimir/rules). Empty means nothing is firing.").
			Height(8).Span(12).
			Options(map[string]any{"alertmanager": alertmanager, "expandAll": true, "labels": ""}))
}

func fourGoldenSignals() *dashboard.DashboardBuilder {
	server := serverSpans
	return base("gatewayz-four-golden-signals", "GatewayZ: Four Golden Signals", "sre").
		Description("Latency, traffic, errors and saturation of the GatewayZ API, from span metrics, and the service graph behind it.").
		WithVariable(apiServiceVar()).
		WithVariable(environmentVar()).
		WithPanel(withLine(ts("Latency P50 / P95 / P99", fmt.Sprintf("Request latency quantiles of SERVER spans. The dashed line is the P95 threshold (%gs) of alert GatewayZAPIHighLatencyP95.", p95LatencySeconds), "s"),
			steps("green", p95LatencySeconds, "red")).
			WithTarget(promQ("A", quantile(0.50, server, "", rate), "P50")).
			WithTarget(promQ("B", quantile(0.95, server, "", rate), "P95")).
			WithTarget(promQ("C", quantile(0.99, server, "", rate), "P99"))).
		WithPanel(ts("Traffic by service", "Requests per second served, per service.", "reqps").
			WithTarget(promQ("A", rateOf("traces_spanmetrics_calls_total", server, "service"), "{{service}}"))).
		WithPanel(withLine(ts("Errors", fmt.Sprintf("Share of requests with an error status, per service. Dashed: the %g%% threshold of alert GatewayZAPIHighErrorRate.", errorRateThreshold*100), "percentunit"),
			steps("green", errorRateThreshold, "red")).
			WithTarget(promQ("A", errorRatio(server, "service", rate), "{{service}}"))).
		WithPanel(ts("Errors by HTTP status", "Failed requests per second by route and response status code.", "reqps").
			WithTarget(promQ("A", rateOf("traces_spanmetrics_calls_total", server+", "+errSpans, "http_route, http_response_status_code"), "{{http_route}} {{http_response_status_code}}"))).
		WithPanel(withLine(ts("Saturation: requests slower than 2.5 s", "Share of requests above the 2.5 s histogram bucket, the nearest below the 3 s P95 objective. When this passes 5%, the P95 is about to breach.", "percentunit"),
			steps("green", 0.05, "red")).
			WithTarget(promQ("A", fmt.Sprintf(`1 - (%s) / (%s)`,
				rateOf("traces_spanmetrics_latency_bucket", server+`, le="2.5"`, ""),
				rateOf("traces_spanmetrics_latency_count", server, "")), "slower than 2.5 s"))).
		WithPanel(withLine(ts("Saturation: gateway export queues", "Fill of the collector's export queues (size / capacity). A queue that fills means a backend is slower than the traffic: at 100% the collector refuses data.", "percentunit"),
			steps("green", 0.8, "red")).
			WithTarget(promQ("A", `max by (exporter) (otelcol_exporter_queue_size) / max by (exporter) (otelcol_exporter_queue_capacity)`, "{{exporter}}"))).
		WithPanel(serviceGraph("Services, AI providers and Redis as the gateway sees them: rate, errors and latency per edge (service-graph metrics in Mimir).")).
		WithPanel(mergeTable(tablePanel("Edges", "Calls per second, failures per second and P95 server latency of each client → server edge.", mimir).
			WithTarget(promInstant("A", `sum by (client, server) (rate(traces_service_graph_request_total[`+rate+`]))`, "")).
			WithTarget(promInstant("B", `sum by (client, server) (rate(traces_service_graph_request_failed_total[`+rate+`]))`, "")).
			WithTarget(promInstant("C", `histogram_quantile(0.95, sum by (le, client, server) (rate(traces_service_graph_request_client_seconds_bucket[`+rate+`])))`, ""))))
}

func modelPerformance() *dashboard.DashboardBuilder {
	llm := llmSpans
	tokens := `gen_ai_system=~"$provider", gen_ai_request_model=~"$model"`
	return base("gatewayz-model-performance", "GatewayZ: Model Performance", "models").
		Description("Request rate, latency, errors and tokens of the AI providers and models the gateway routes to (GenAI CLIENT spans and token usage).").
		WithVariable(serviceVar()).
		WithVariable(environmentVar()).
		WithVariable(providerVar()).
		WithVariable(modelVar()).
		WithPanel(ts("Requests by model", "Calls per second to each provider and model.", "reqps").
			WithTarget(promQ("A", rateOf("traces_spanmetrics_calls_total", llm+`, service=~"$service"`, "gen_ai_system, gen_ai_request_model"), "{{gen_ai_system}} / {{gen_ai_request_model}}"))).
		WithPanel(withLine(ts("P95 latency by model", fmt.Sprintf("95th percentile of the provider call's duration. Dashed: the %gs threshold of alert GatewayZProviderHighLatencyP95.", providerP95Seconds), "s"),
			steps("green", providerP95Seconds, "red")).
			WithTarget(promQ("A", quantile(0.95, llm+`, service=~"$service"`, "gen_ai_system, gen_ai_request_model", rate), "{{gen_ai_system}} / {{gen_ai_request_model}}"))).
		WithPanel(withLine(ts("Error rate by provider", fmt.Sprintf("Share of failed calls per provider. Dashed: %g%% (alert GatewayZProviderHighErrorRate).", providerErrorRateWarn*100), "percentunit"),
			steps("green", providerErrorRateWarn, "red")).
			WithTarget(promQ("A", errorRatio(llm+`, service=~"$service"`, "gen_ai_system", rate), "{{gen_ai_system}}"))).
		WithPanel(ts("Tokens per second by model", "Input and output tokens reported by GenAI spans.", "short").
			WithTarget(promQ("A", rateOf("gen_ai_client_token_usage_input_total", tokens, "gen_ai_request_model"), "{{gen_ai_request_model}} input")).
			WithTarget(promQ("B", rateOf("gen_ai_client_token_usage_output_total", tokens, "gen_ai_request_model"), "{{gen_ai_request_model}} output"))).
		WithPanel(mergeTable(tablePanel("Models in the selected range", "Calls, failed calls, P95 latency and tokens per provider and model over the dashboard's time range.", mimir).
			WithTarget(promInstant("A", increaseOf("traces_spanmetrics_calls_total", llm+`, service=~"$service"`, "gen_ai_system, gen_ai_request_model", rng), "")).
			WithTarget(promInstant("B", increaseOf("traces_spanmetrics_calls_total", llm+`, service=~"$service", `+errSpans, "gen_ai_system, gen_ai_request_model", rng), "")).
			WithTarget(promInstant("C", quantile(0.95, llm+`, service=~"$service"`, "gen_ai_system, gen_ai_request_model", rng), "")).
			WithTarget(promInstant("D", increaseOf("gen_ai_client_token_usage_input_total", tokens, "gen_ai_system, gen_ai_request_model", rng), "")).
			WithTarget(promInstant("E", increaseOf("gen_ai_client_token_usage_output_total", tokens, "gen_ai_system, gen_ai_request_model", rng), ""))))
}

// logSelector is the stream selector of the Logs dashboard: only index
// labels the gateway's Loki OTLP export creates.
const logSelector = `{service_name=~"$service", deployment_environment=~"$environment"}`

func logsDashboard() *dashboard.DashboardBuilder {
	return base("gatewayz-logs", "GatewayZ: Logs", "logs").
		Description("Log volume by level and service, and log search; a line's trace id links to the trace in Tempo.").
		WithVariable(lokiVar("service", "Service", "label_values(service_name)")).
		WithVariable(lokiVar("environment", "Environment", "label_values(deployment_environment)")).
		WithVariable(dashboard.NewTextBoxVariableBuilder("search").Label("Line contains").Description("Only lines containing this text (empty: every line).")).
		WithPanel(ts("Volume by level", "Log lines per interval by severity (OTLP severity_text, kept by Loki as structured metadata).", "short").
			Datasource(lokiDS).DrawStyle(common.GraphDrawStyleBars).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(lokiQ("A", `sum by (severity_text) (count_over_time(`+logSelector+` [$__auto]))`, "{{severity_text}}"))).
		WithPanel(ts("Volume by service", "Log lines per interval by service.", "short").
			Datasource(lokiDS).DrawStyle(common.GraphDrawStyleBars).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(lokiQ("A", `sum by (service_name) (count_over_time(`+logSelector+` [$__auto]))`, "{{service_name}}"))).
		WithPanel(ts("Error lines", "Lines at ERROR or worse per interval, by service.", "short").
			Datasource(lokiDS).Span(24).
			WithTarget(lokiQ("A", `sum by (service_name) (count_over_time(`+logSelector+` | severity_text=~"(?i)error|critical|fatal" [$__auto]))`, "{{service_name}}"))).
		WithPanel(logs.NewPanelBuilder().
			Title("Log search").
			Description("Matching lines, newest first. Open a line: its trace_id field links to the trace in Tempo.").
			Datasource(lokiDS).
			Height(14).Span(24).
			ShowTime(true).WrapLogMessage(true).EnableLogDetails(true).SortOrder(common.LogsSortOrderDescending).
			WithTarget(lokiQ("A", logSelector+` |= "$search"`, "").QueryType(string(loki.LokiQueryTypeRange)).MaxLines(1000)))
}

func tracesDashboard() *dashboard.DashboardBuilder {
	server := serverSpans
	return base("gatewayz-traces", "GatewayZ: Traces", "traces").
		Description("The service graph, RED metrics per span name, and trace search in Tempo.").
		WithVariable(serviceVar()).
		WithVariable(environmentVar()).
		WithVariable(dashboard.NewTextBoxVariableBuilder("min_duration").Label("Slower than").DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("1s")}).Description("TraceQL duration, e.g. 500ms or 3s.")).
		WithPanel(serviceGraph("Tempo's service map: every service, AI provider and Redis with its request rate and error share.")).
		WithPanel(mergeTable(tablePanel("RED per span name", "Rate, errors and P95 duration of each span name in the selected range.", mimir).
			WithTarget(promInstant("A", rateOf("traces_spanmetrics_calls_total", `service=~"$service"`, "service, span_name, span_kind"), "")).
			WithTarget(promInstant("B", errorRatio(`service=~"$service"`, "service, span_name, span_kind", rate), "")).
			WithTarget(promInstant("C", quantile(0.95, `service=~"$service"`, "service, span_name, span_kind", rate), "")))).
		WithPanel(ts("Rate by span name", "Spans per second by span name.", "ops").
			WithTarget(promQ("A", rateOf("traces_spanmetrics_calls_total", `service=~"$service"`, "span_name"), "{{span_name}}"))).
		WithPanel(ts("P95 by span name", "95th percentile span duration by span name.", "s").
			WithTarget(promQ("A", quantile(0.95, `service=~"$service"`, "span_name", rate), "{{span_name}}"))).
		WithPanel(tablePanel("Recent traces", "Latest traces of the selected services; click a trace id to open it (its spans link to logs, metrics and profiles).", tempoDS).
			WithTarget(traceQL("A", `{ resource.service.name =~ "$service" }`, 20)).Span(12)).
		WithPanel(tablePanel("Failed or slow traces", "Traces with an error span or a server span slower than $min_duration.", tempoDS).
			WithTarget(traceQL("A", `{ resource.service.name =~ "$service" && (status = error || (kind = server && duration > $min_duration)) }`, 20)).Span(12)).
		WithPanel(ts("Server latency with exemplars", "P95 server latency; the dots are exemplars, each linking to the trace it came from.", "s").
			WithTarget(promQ("A", quantile(0.95, server, "", rate), "P95").Exemplar(true)))
}

func longTerm() *dashboard.DashboardBuilder {
	server := serverSpans
	return base("gatewayz-long-term", "GatewayZ: Long-term (Mimir)", "mimir").
		Description("30-day trends from Mimir's long-term storage, Mimir's ingestion and active series per tenant.").
		Time("now-30d", "now").
		WithVariable(apiServiceVar()).
		WithVariable(environmentVar()).
		WithPanel(ts("Requests per day", "Requests served per day over 30 days.", "short").
			DrawStyle(common.GraphDrawStyleBars).Interval("1d").
			WithTarget(promQ("A", increaseOf("traces_spanmetrics_calls_total", server, "", "1d"), "requests"))).
		WithPanel(withLine(ts("Availability per day", fmt.Sprintf("Share of requests without an error, per day. Dashed: the %.1f%% SLO (alert GatewayZAPILowAvailability).", sloAvailability*100), "percentunit"),
			steps("red", sloAvailability, "green")).
			Interval("1d").
			WithTarget(promQ("A", "1 - ("+errorRatio(server, "", "1d")+")", "availability"))).
		WithPanel(ts("P95 latency per day", "Daily 95th percentile of request latency.", "s").
			Interval("1d").
			WithTarget(promQ("A", quantile(0.95, server, "", "1d"), "P95"))).
		WithPanel(ts("Tokens per day", "Input and output tokens per day.", "short").
			DrawStyle(common.GraphDrawStyleBars).Interval("1d").Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(promQ("A", increaseOf("gen_ai_client_token_usage_input_total", "", "", "1d"), "input")).
			WithTarget(promQ("B", increaseOf("gen_ai_client_token_usage_output_total", "", "", "1d"), "output"))).
		WithPanel(ts("Samples written by the gateway", "Metric points per second the gateways send to Mimir over OTLP (failures: Collector dashboard, Failed items per exporter).", "short").
			WithTarget(promQ("A", `sum(rate(otelcol_exporter_sent_metric_points_total{exporter="otlp_http/mimir"}[`+rate+`]))`, "sent"))).
		WithPanel(ts("Ingestion per tenant (Mimir)", "Backend self-metric: samples per second Mimir's distributors accepted, per tenant.", "short").
			WithTarget(promQ("A", `sum by (user) (rate(cortex_distributor_received_samples_total{job="mimir"}[`+rate+`]))`, "{{user}}"))).
		WithPanel(ts("Active series per tenant (Mimir)", "Backend self-metric: in-memory series of Mimir's ingesters, per tenant. Growth without more traffic means a label's cardinality is exploding.", "short").
			WithTarget(promQ("A", `sum by (user) (cortex_ingester_active_series{job="mimir"})`, "{{user}}"))).
		WithPanel(single("Mimir up", "Whether the gateway can scrape Mimir's own /metrics; red: Mimir is down or unreachable.", "bool_yes_no",
			promQ("A", `min(up{job="mimir"})`, ""), steps("red", 1.0, "green")))
}

// when says what to do when a Collector panel is red.
func when(desc, red string) string { return desc + " When red: " + red }

func collectorDashboard() *dashboard.DashboardBuilder {
	// The collector's own metric names: items are counted per signal.
	signals := []struct{ name, metric string }{
		{"spans", "spans"},
		{"metric points", "metric_points"},
		{"log records", "log_records"},
		{"profile samples", "profile_samples"},
	}
	b := base("gatewayz-collector", "GatewayZ: Collector", "otelcol").
		Description("The otelcol-gatewayz gateways: items accepted, refused, sent and failed per signal, receiver and exporter; scrape targets; export queues; memory against the limiter.").
		WithVariable(dashboard.NewCustomVariableBuilder("memory_limit_mib").
			Label("memory_limiter limit (MiB)").
			Description("MEMORY_LIMIT_MIB of the gateways, drawn on the memory panel.").
			Values(dashboard.StringOrMap{String: cog.ToPtr("1600,400")}).
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("1600")}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("1600")}}))
	for _, s := range signals {
		b = b.
			WithPanel(ts("Accepted "+s.name+" per receiver", when(
				"Items per second each receiver (otlp, lokipush, pyroscope, promscrape) accepted, summed over every gateway.",
				"nothing arrives: check the senders' endpoint and the receiver's listen address."), "short").
				Span(8).
				WithTarget(promQ("A", fmt.Sprintf(`sum by (receiver, transport) (rate(otelcol_receiver_accepted_%s_total[%s]))`, s.metric, rate), "{{receiver}} {{transport}}"))).
			WithPanel(ts("Refused "+s.name+" per receiver", when(
				"Items per second a receiver refused (the pipeline said no: usually the memory limiter) or failed to decode (alert GatewayZCollectorRefusingData).",
				"the gateway is over its memory limit or a downstream queue is full; scale out or raise MEMORY_LIMIT_MIB, then check the exporter panels."), "short").
				Span(8).
				WithTarget(promQ("A", fmt.Sprintf(`sum by (receiver) (rate(otelcol_receiver_refused_%s_total[%s]))`, s.metric, rate), "{{receiver}} refused")).
				WithTarget(promQ("B", fmt.Sprintf(`sum by (receiver) (rate(otelcol_receiver_failed_%s_total[%s]))`, s.metric, rate), "{{receiver}} failed")).
				Thresholds(steps("green", 0.001, "red"))).
			WithPanel(ts("Sent "+s.name+" per exporter", when(
				"Items per second each exporter delivered to its backend.",
				"a backend receives nothing: see the failed panel below."), "short").
				Span(8).
				WithTarget(promQ("A", fmt.Sprintf(`sum by (exporter) (rate(otelcol_exporter_sent_%s_total[%s]))`, s.metric, rate), "{{exporter}}")))
	}
	b = b.WithPanel(ts("Failed items per exporter", when(
		"Items per second an exporter could not deliver (a permanent error, or retries exhausted), every signal (alert GatewayZCollectorExportFailing). A series appears once its exporter has failed at least once.",
		"the backend is down, refuses the tenant, or is too slow: check its /ready and logs; data is lost once retries (EXPORT_RETRY_MAX_ELAPSED) run out."), "short").
		Span(24).
		WithTarget(promQ("A", `sum by (exporter) (rate({__name__=~"otelcol_exporter_send_failed_.+"}[`+rate+`]))`, "{{exporter}}")).
		Thresholds(steps("green", 0.001, "red"))).
		WithPanel(ts("Rejected requests per receiver and reason", when(
			"Requests per second a receiver turned away before any item was accepted, by reason: bad_request (undecodable or invalid body), too_large (over the receiver's body limit), unsupported (content type or encoding), unauthenticated (missing or wrong INGEST_TOKEN), refused_downstream (the pipeline refused: memory limit or full queue; the client retries). The other reasons lose the client's data (alert GatewayZIngestRequestsRejected). Every gateway logs the last such request per receiver and reason once a REJECTIONS_LOG_INTERVAL.",
			"unauthenticated: a client's token differs from INGEST_TOKEN; bad_request or unsupported: a client sends a format the receiver does not take (the gateway's log line names the peer and the error); refused_downstream: see the refused and memory panels."), "reqps").
			Span(24).
			WithTarget(promQ("A", `sum by (receiver, reason) (rate(otelcol_ingress_requests_rejected_total[`+rate+`]))`, "{{receiver}} {{reason}}")).
			Thresholds(steps("green", 0.001, "red")))
	return b.
		WithPanel(tablePanel("Scrape targets", when(
			"Every job the gateway scrapes, 1 = up (alerts GatewayZScrapeTargetDown, GatewayZBackendDown, GatewayZAPIDown). The old Prometheus targets page.",
			"the target is down or unreachable from the gateway: check FASTAPI_TARGET, REDIS_EXPORTER_TARGET and the *_METRICS_TARGET variables."), mimir).
			WithTarget(promInstant("A", `min by (job) (up)`, "")).
			WithTarget(promInstant("B", `max by (job) (scrape_duration_seconds)`, "")).
			WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
			Thresholds(steps("red", 1.0, "green")).Span(12)).
		WithPanel(ts("Scrape targets up", when("1 = the last scrape of the job succeeded.", "as in the table."), "short").
			Min(0).Max(1).
			WithTarget(promQ("A", `min by (job) (up)`, "{{job}}")).
			Thresholds(steps("red", 1.0, "green"))).
		WithPanel(withLine(ts("Export queue size against capacity", when(
			"Data waiting in each exporter's sending queue, as a share of its capacity (EXPORT_QUEUE_SIZE items; Pyroscope's PROFILES_QUEUE_BYTES). Dashed: 80%, alert GatewayZCollectorQueueNearFull.",
			"the backend is slower than the traffic or down; at 100% new data is refused. Fix the backend, or raise the queue size if it is a burst."), "percentunit"),
			steps("green", 0.8, "red")).
			WithTarget(promQ("A", `max by (exporter) (otelcol_exporter_queue_size) / max by (exporter) (otelcol_exporter_queue_capacity)`, "{{exporter}}"))).
		WithPanel(ts("Export queue size", when("Batches waiting per exporter, and the capacity.", "see the panel on the left."), "short").
			WithTarget(promQ("A", `max by (exporter) (otelcol_exporter_queue_size)`, "{{exporter}} size")).
			WithTarget(promQ("B", `max by (exporter) (otelcol_exporter_queue_capacity)`, "{{exporter}} capacity"))).
		WithPanel(ts("Memory against the limiter", when(
			"Heap in use and RSS of the busiest gateway against memory_limiter's limit (variable memory_limit_mib = MEMORY_LIMIT_MIB). Once the heap passes the limit minus the spike allowance the limiter refuses data.",
			"the heap line nears the limit line: the gateway is about to refuse data. Add gateways, or give the container more memory and raise MEMORY_LIMIT_MIB (about 80% of it)."), "bytes").
			WithTarget(promQ("A", `max(otelcol_process_runtime_heap_alloc_bytes)`, "heap (busiest gateway)")).
			WithTarget(promQ("B", `max(otelcol_process_memory_rss)`, "RSS (busiest gateway)")).
			WithTarget(promQ("C", `vector($memory_limit_mib * 1024 * 1024)`, "limit"))).
		WithPanel(ts("CPU", when("CPU seconds per second used by each gateway process, summed.", "sustained near the container's cores: add gateways."), "percentunit").
			WithTarget(promQ("A", `sum(rate(otelcol_process_cpu_seconds_total[`+rate+`]))`, "all gateways")))
}

func profilesDashboard() *dashboard.DashboardBuilder {
	cpu := "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	return base("gatewayz-profiles", "GatewayZ: Profiles", "profiles").
		Description("CPU flame graph per service from Pyroscope, and the service's traces: a trace's spans link back to their profile.").
		WithVariable(serviceVar()).
		WithPanel(timeseries.NewPanelBuilder().
			Title("CPU").
			Description("CPU time per second of the selected services, from their profiles.").
			Datasource(pyroscopeDS).Unit("ns").
			Height(7).Span(24).
			WithTarget(grafanapyroscope.NewDataqueryBuilder().Datasource(pyroscopeDS).RefId("A").
				QueryType(string(grafanapyroscope.PyroscopeQueryTypeMetrics)).
				ProfileTypeId(cpu).LabelSelector(`{service_name=~"$service"}`).GroupBy([]string{"service_name"}))).
		WithPanel(dashboard.NewPanelBuilder().
			Type("flamegraph").
			Title("CPU flame graph").
			Description("Where the selected services spend CPU over the time range. Narrow the range to a slow trace's window to see what it ran.").
			Datasource(pyroscopeDS).
			Height(14).Span(24).
			WithTarget(grafanapyroscope.NewDataqueryBuilder().Datasource(pyroscopeDS).RefId("A").
				QueryType(string(grafanapyroscope.PyroscopeQueryTypeProfile)).
				ProfileTypeId(cpu).LabelSelector(`{service_name=~"$service"}`))).
		WithPanel(tablePanel("Traces of the service", "Latest traces of the selected services. In a trace, a span's \"Profiles\" link opens its CPU profile (Tempo → Pyroscope).", tempoDS).
			WithTarget(traceQL("A", `{ resource.service.name =~ "$service" && kind = server }`, 20)))
}

func backendServices() *dashboard.DashboardBuilder {
	server := serverSpans
	redis := `server="redis"`
	return base("gatewayz-backend-services", "GatewayZ: Backend Services", "backend").
		Description("The GatewayZ API (its own metrics and its server spans) and Redis (redis_exporter and the calls the services make to it).").
		WithVariable(apiServiceVar()).
		WithVariable(environmentVar()).
		WithPanel(ts("API requests by route and status", "Requests per second as the FastAPI backend counts them (scraped from its /metrics).", "reqps").
			WithTarget(promQ("A", rateOf("gatewayz_http_requests_total", `job="gatewayz_production"`, "route, status"), "{{route}} {{status}}"))).
		WithPanel(single("Models available", "Models the router can serve right now (data-metrics endpoint).", "short",
			promQ("A", `max(gatewayz_models_available{job="gatewayz_data_metrics_production"})`, ""), steps("red", 1.0, "green"))).
		WithPanel(single("API scrape up", "Whether the gateway can scrape the backend's /metrics (alert GatewayZAPIDown).", "bool_yes_no",
			promQ("A", `min(up{job="gatewayz_production"})`, ""), steps("red", 1.0, "green"))).
		WithPanel(withLine(ts("API P95 latency by route", fmt.Sprintf("95th percentile of SERVER span duration per route. Dashed: the %gs objective.", p95LatencySeconds), "s"),
			steps("green", p95LatencySeconds, "red")).
			WithTarget(promQ("A", quantile(0.95, server, "http_route", rate), "{{http_route}}"))).
		WithPanel(ts("API error rate by route", "Share of failed requests per route, from server spans.", "percentunit").
			WithTarget(promQ("A", errorRatio(server, "http_route", rate), "{{http_route}}"))).
		WithPanel(single("Redis exporter up", "Whether the gateway can scrape redis_exporter; red: the exporter or Redis is down.", "bool_yes_no",
			promQ("A", `min(up{job="redis_exporter"})`, ""), steps("red", 1.0, "green"))).
		WithPanel(single("Redis connected clients", "Clients connected to Redis (redis_exporter).", "short",
			promQ("A", `sum(redis_connected_clients{job="redis_exporter"})`, ""), nil)).
		WithPanel(single("Redis memory used", "Memory Redis uses against its maxmemory (0: no limit set).", "percentunit",
			promQ("A", `sum(redis_memory_used_bytes{job="redis_exporter"}) / sum(redis_memory_max_bytes{job="redis_exporter"} > 0)`, ""), steps("green", 0.8, "orange", 0.9, "red"))).
		WithPanel(single("Redis cache hit ratio", "Share of key lookups that found their key.", "percentunit",
			promQ("A", `sum(rate(redis_keyspace_hits_total{job="redis_exporter"}[`+rate+`])) / (sum(rate(redis_keyspace_hits_total{job="redis_exporter"}[`+rate+`])) + sum(rate(redis_keyspace_misses_total{job="redis_exporter"}[`+rate+`])))`, ""),
			steps("red", 0.5, "orange", 0.8, "green"))).
		WithPanel(ts("Redis commands per second", "Commands Redis processed per second (redis_exporter).", "ops").
			WithTarget(promQ("A", `sum(rate(redis_commands_processed_total{job="redis_exporter"}[`+rate+`]))`, "commands"))).
		WithPanel(ts("Redis calls from services", "Calls per second to Redis and failed ones, per calling service (service graph).", "ops").
			WithTarget(promQ("A", `sum by (client) (rate(traces_service_graph_request_total{`+redis+`}[`+rate+`]))`, "{{client}}")).
			// A client whose Redis calls never failed has no failed series: 0.
			WithTarget(promQ("B", `sum by (client) (rate(traces_service_graph_request_failed_total{`+redis+`}[`+rate+`])) or sum by (client) (rate(traces_service_graph_request_total{`+redis+`}[`+rate+`])) * 0`, "{{client}} failed"))).
		WithPanel(ts("Redis call latency P95", "95th percentile of Redis calls as the calling service measures them (client side of the service-graph edge).", "s").
			WithTarget(promQ("A", `histogram_quantile(0.95, sum by (le, client) (rate(traces_service_graph_request_client_seconds_bucket{`+redis+`}[`+rate+`])))`, "{{client}}")))
}
