package grafana

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// backendSelfMetricPanels are the only panels exempt from the e2e checks:
// they show Mimir's own metrics (cortex_*, scraped from Mimir as job
// mimir), and in the e2e a Prometheus stands in for Mimir, so no Mimir
// exports them. The test still checks their queries parse and name only
// cortex_* metrics, so the exemption hides nothing else.
var backendSelfMetricPanels = map[string]string{
	"Ingestion per tenant (Mimir)":     "Mimir's distributor metrics exist only where Mimir runs",
	"Active series per tenant (Mimir)": "Mimir's ingester metrics exist only where Mimir runs",
}

// lokiDefaultIndexLabels are the resource attributes Loki's native OTLP
// ingestion turns into index labels by default (dots become underscores);
// every other attribute is structured metadata. Source: grafana/loki
// v3.7.6 pkg/loghttp/push/otlp_config.go (FACTS.md, Loki).
var lokiDefaultIndexLabels = []string{
	"service.name", "service.namespace", "service.instance.id",
	"deployment.environment", "deployment.environment.name",
	"cloud.region", "cloud.availability_zone",
	"k8s.cluster.name", "k8s.namespace.name", "k8s.pod.name", "k8s.container.name",
	"container.name", "k8s.replicaset.name", "k8s.deployment.name",
	"k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name",
}

// TestPanelsAgainstScenario runs the gateway scenario through the built
// collector into a real Prometheus, feeds every receiver (our Loki push
// and Pyroscope ingest ones too), makes two exporters fail once, and then
// runs every PromQL query of every dashboard and of the Tempo datasource's
// metric links: each may name only metrics the pipeline stored, must run
// without error and must return data. LogQL selectors may use only the
// index labels the gateway's Loki export creates.
func TestPanelsAgainstScenario(t *testing.T) {
	sc := scenario.Scenario{Requests: 40, FailEvery: 5, Start: time.Now().Add(-time.Minute)}
	gw := harness.StartScenarioGateway(t, sc, harness.GatewayOptions{
		Env: map[string]string{"REDIS_EXPORTER_TARGET": startFakeRedisExporter(t)},
	})
	prom := gw.Prometheus

	pushLokiStream(t, gw.LokiPush)
	ingestProfile(t, gw.PyroscopeIngest)
	// The rejections panel has a series only once a receiver has turned a
	// request away.
	pushMalformedLoki(t, gw.LokiPush)
	// The failed-items panel has a series only once an exporter has failed:
	// make Tempo and Loki refuse (permanently, so there is no retry) one
	// more request each.
	gw.Tempo.SetFault(harness.Fault{GRPCCode: codes.InvalidArgument})
	gw.Loki.SetFault(harness.Fault{HTTPStatus: http.StatusBadRequest})
	extra := scenario.Scenario{Requests: 1, FailEvery: 5, Start: time.Now(), IDBase: 1000}
	harness.SendTraces(t, gw.OTLPGRPC, harness.ScenarioSpanTenant, extra.Traces())
	harness.SendLogs(t, gw.OTLPHTTP, harness.ScenarioLogTenant, extra.Logs())
	// A panel's rate() needs two samples of a series: wait for the
	// collector's second self-scrape after each new series appeared.
	prom.WaitFor(t, 60*time.Second, harness.PromQL{
		`sum(rate(otelcol_exporter_send_failed_spans_total{exporter="otlp_grpc/tempo"}[1m]))`:              harness.Series(1),
		`sum(rate(otelcol_exporter_send_failed_log_records_total{exporter="otlp_http/loki"}[1m]))`:         harness.Series(1),
		`sum(rate(otelcol_receiver_accepted_log_records_total{receiver="lokipush"}[1m]))`:                  harness.Series(1),
		`sum(rate(otelcol_receiver_accepted_profile_samples_total{receiver="pyroscope"}[1m]))`:             harness.Series(1),
		`sum(rate(otelcol_exporter_sent_profile_samples_total[1m]))`:                                       harness.Series(1),
		`sum(rate(redis_commands_processed_total[1m]))`:                                                    harness.Series(1),
		`sum(rate(otelcol_ingress_requests_rejected_total{receiver="lokipush",reason="bad_request"}[1m]))`: harness.Series(1),
		`up{job="redis_exporter"}`: harness.Value(1),
	})
	gw.Tempo.SetFault(harness.Fault{})
	gw.Loki.SetFault(harness.Fault{})

	stored, err := prom.MetricNames()
	if err != nil {
		t.Fatal(err)
	}
	isStored := map[string]bool{}
	for _, n := range stored {
		isStored[n] = true
	}

	// checkPromQL: names only stored metrics, runs, returns data.
	checkPromQL := func(where, expr string) []harness.Sample {
		t.Helper()
		names, err := prom.SelectedMetricNames(expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return nil
		}
		for _, n := range names {
			if !isStored[n] {
				t.Errorf("%s uses metric %s, which the pipeline did not produce in the scenario\n  %s", where, n, expr)
			}
		}
		s, err := prom.Query(expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return nil
		}
		if len(s) == 0 {
			t.Errorf("%s returns no data after the scenario\n  %s", where, expr)
		}
		return s
	}

	ran, exempt := 0, map[string]bool{}
	for _, d := range loadDashboards(t) {
		vars := variables(t, d)
		for _, q := range queries(d) {
			if q.dsType != "prometheus" {
				continue
			}
			expr, err := substitute(q.text, vars)
			if err != nil {
				t.Errorf("%s: %v", q.where, err)
				continue
			}
			if _, ok := backendSelfMetricPanels[q.panel]; ok {
				exempt[q.panel] = true
				for _, m := range regexp.MustCompile(`[a-z_:][a-z0-9_:]*\{`).FindAllString(expr, -1) {
					if m = strings.TrimSuffix(m, "{"); !strings.HasPrefix(m, "cortex_") {
						t.Errorf("%s is exempt as a Mimir self-metric panel but names %s", q.where, m)
					}
				}
				continue
			}
			ran++
			checkPromQL(q.where, expr)
		}
		for _, v := range vars {
			if v.typ != "query" || v.dsType != "prometheus" {
				continue
			}
			sel, label, ok := labelValues(v.query)
			if !ok {
				continue // TestPromQLParses reports it
			}
			expr, err := substitute(fmt.Sprintf("count by (%s) (%s)", label, sel), vars)
			if err != nil {
				t.Errorf("%s variable %s: %v", d.path, v.name, err)
				continue
			}
			for _, s := range checkPromQL(d.path+" variable "+v.name, expr) {
				if s.Metric[label] == "" {
					t.Errorf("%s variable %s: a series of %s has no %s label: %v", d.path, v.name, sel, label, s.Metric)
				}
			}
		}
	}
	for title := range backendSelfMetricPanels {
		if !exempt[title] {
			t.Errorf("exempt panel %q is on no dashboard: drop it from backendSelfMetricPanels", title)
		}
	}
	if ran == 0 {
		t.Fatal("no PromQL panel queries ran")
	}
	t.Logf("%d PromQL panel queries ran against the scenario; %d metric names stored", ran, len(stored))

	for _, l := range linkQueries(t) {
		if l.lang == "promql" {
			checkPromQL(l.where, l.query)
		}
	}

	t.Run("collector panels show our own receivers", func(t *testing.T) {
		for metric, receiver := range map[string]string{
			"otelcol_receiver_accepted_log_records_total":     "lokipush",
			"otelcol_receiver_accepted_profile_samples_total": "pyroscope",
			"otelcol_receiver_accepted_spans_total":           "otlp",
			"otelcol_receiver_accepted_metric_points_total":   "promscrape",
		} {
			expr := panelQuery(t, "collector/collector.json", metric)
			s, err := prom.Query(strings.ReplaceAll(expr, "$__rate_interval", "1m"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(s, func(x harness.Sample) bool { return x.Metric["receiver"] == receiver }) {
				t.Errorf("%s: no series for receiver %s: %v", expr, receiver, s)
			}
		}
	})

	t.Run("LogQL selectors use Loki index labels the gateway sends", func(t *testing.T) {
		index := lokiIndexLabels(gw)
		t.Logf("index labels of the gateway's Loki requests: %v", sortedKeys(index))
		use := func(where, label string) {
			if !index[label] {
				t.Errorf("%s selects on %s, which is not an index label of the gateway's Loki export (have %v)", where, label, sortedKeys(index))
			}
		}
		for _, d := range loadDashboards(t) {
			for _, q := range queries(d) {
				if q.dsType == "loki" {
					for _, l := range selectorLabels(q.text) {
						use(q.where, l)
					}
				}
			}
			for _, v := range variables(t, d) {
				if v.dsType == "loki" {
					_, label, ok := labelValues(v.query)
					if !ok {
						t.Errorf("%s variable %s: %q is not label_values(<label>)", d.path, v.name, v.query)
					}
					use(d.path+" variable "+v.name, label)
				}
			}
		}
		for _, l := range linkQueries(t) {
			if l.lang == "logql" {
				for _, lb := range selectorLabels(l.query) {
					use(l.where, lb)
				}
			}
		}
	})
}

// panelQuery is the first query of a dashboard that names metric.
func panelQuery(t *testing.T, path, metric string) string {
	t.Helper()
	for _, d := range loadDashboards(t) {
		if d.path != path {
			continue
		}
		for _, q := range queries(d) {
			if strings.Contains(q.text, metric+"[") || strings.Contains(q.text, metric+"{") {
				return q.text
			}
		}
	}
	t.Fatalf("%s has no query on %s", path, metric)
	return ""
}

// lokiIndexLabels is every index label the gateway's requests to the Loki
// sink would get from Loki's default OTLP mapping.
func lokiIndexLabels(gw *harness.Gateway) map[string]bool {
	labels := map[string]bool{}
	for _, r := range gw.Loki.Requests() {
		rls := r.Logs.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			for k := range rls.At(i).Resource().Attributes().All() {
				if slices.Contains(lokiDefaultIndexLabels, k) {
					labels[strings.ReplaceAll(k, ".", "_")] = true
				}
			}
		}
	}
	return labels
}

var (
	streamSelector = regexp.MustCompile(`\{([^}]*)\}`)
	matcherName    = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)`)
)

// selectorLabels are the label names of a LogQL query's stream selector.
func selectorLabels(q string) []string {
	m := streamSelector.FindStringSubmatch(q)
	if m == nil {
		return []string{"<no stream selector>"}
	}
	var out []string
	for _, part := range strings.Split(m[1], ",") {
		if n := matcherName.FindStringSubmatch(part); n != nil {
			out = append(out, n[1])
		} else if strings.TrimSpace(part) != "" {
			out = append(out, "<unparsed "+strings.TrimSpace(part)+">")
		}
	}
	return out
}

// startFakeRedisExporter serves what oliver006/redis_exporter exposes for
// the Backend Services panels, and returns its host:port.
func startFakeRedisExporter(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, `# TYPE redis_up gauge
redis_up 1
# TYPE redis_connected_clients gauge
redis_connected_clients 12
# TYPE redis_memory_used_bytes gauge
redis_memory_used_bytes 5.24288e+07
# TYPE redis_memory_max_bytes gauge
redis_memory_max_bytes 2.68435456e+08
# TYPE redis_keyspace_hits_total counter
redis_keyspace_hits_total 900
# TYPE redis_keyspace_misses_total counter
redis_keyspace_misses_total 100
# TYPE redis_commands_processed_total counter
redis_commands_processed_total 4000
`)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushLokiStream pushes one python-logging-loki style stream, a JSON line
// with a trace id, to the gateway's Loki push receiver.
func pushLokiStream(t *testing.T, base string) {
	t.Helper()
	body := fmt.Sprintf(`{"streams":[{"stream":{"application":%q,"environment":"production","severity":"error"},"values":[["%d","{\"level\":\"error\",\"trace_id\":\"%s\",\"msg\":\"provider timeout\"}"]]}]}`,
		scenario.GatewayService, time.Now().UnixNano(), scenario.TraceID(0))
	pushLoki(t, base, body, http.StatusNoContent)
}

// pushMalformedLoki sends a Loki push whose JSON does not parse, which the
// receiver must refuse with 400 (and the rejections extension count).
func pushMalformedLoki(t *testing.T, base string) {
	t.Helper()
	pushLoki(t, base, `{"streams":[{"stream":`, http.StatusBadRequest)
}

// pushLoki posts a JSON Loki push for the scenario's log tenant and fails
// the test unless it is answered want.
func pushLoki(t *testing.T, base, body string, want int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/loki/api/v1/push", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(harness.TenantHeader, harness.ScenarioLogTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("Loki push of %.40q answered %d, want %d", body, resp.StatusCode, want)
	}
}

// ingestProfile sends one folded-stacks CPU profile, as pyroscope-io does,
// to the gateway's Pyroscope ingest receiver.
func ingestProfile(t *testing.T, base string) {
	t.Helper()
	now := time.Now()
	q := url.Values{
		"name":       {scenario.GatewayService + ".cpu"},
		"format":     {"folded"},
		"sampleRate": {"100"},
		"spyName":    {"pyspy"},
		"from":       {fmt.Sprint(now.Add(-10 * time.Second).Unix())},
		"until":      {fmt.Sprint(now.Unix())},
	}
	req, err := http.NewRequest(http.MethodPost, base+"/ingest?"+q.Encode(), strings.NewReader("main;route;call_provider 7\nmain;idle 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set(harness.TenantHeader, harness.ScenarioLogTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Pyroscope ingest answered %d, want 200", resp.StatusCode)
	}
}
