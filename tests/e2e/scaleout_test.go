package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// TestScaleOut runs one agent in front of three gateways that write to one
// Prometheus, the way docs/scaling.md deploys them, and sends 10,000
// traces through the agent in 20 bursts. After the first 6 bursts, while
// the next 8 are sent, one gateway is stopped (SIGTERM as soon as spans
// reach it, no waiting for a flush); then it is restarted on the same ports
// with the same COLLECTOR_INSTANCE_ID and the last 6 bursts follow. What it
// pins:
//
//   - trace-ID routing: every trace's five spans reach one gateway, so every
//     service-graph edge is paired there and the sums over gateways per edge
//     are exact, as are the span-metric calls and the token sums;
//   - the stopped gateway's share is neither lost nor re-routed: the agent
//     keeps it in its on-disk queue and delivers it to that same gateway
//     after the restart, and every span reaches Tempo exactly once;
//   - nothing derived is lost at the stop: the connector writes every
//     span-metric and service-graph count it holds at shutdown, fast
//     enough for SHUTDOWN_TIMEOUT, so the sums stay exact;
//   - the instance label: each gateway's series carry its own
//     collector_instance_id, so Prometheus's OTLP receiver refuses nothing
//     (no duplicate-sample or out-of-order rejection) and the sums are
//     exact (two writers of one series would mix their counters);
//   - scrapes of shared targets: every gateway and the agent are given the
//     same live target for the API, redis_exporter and the backends, and
//     METRICS_RECEIVERS set as compose/scale.yaml sets it; each scraped
//     series is written once, by the agent (the API) or gateway-1 (the
//     rest), with the values the target serves.
//
// The restarted gateway's counters start again from zero (a counter
// reset, as after any restart), so its total is its first run's last value
// plus its second run's (see total).
func TestScaleOut(t *testing.T) {
	const (
		bursts, perBurst   = 20, 500
		stopAfter, downFor = 6, 8 // bursts before the stop, bursts while it is down
		failEvery          = 5
		requests           = bursts * perBurst
		stopped            = 1 // index of the gateway that is stopped
	)
	prom := harness.StartPrometheus(t)
	// One live target for every scrape job, shared by all (any /metrics
	// will do for redis_exporter and the backends): were it scraped from
	// two places, its series would be written twice.
	api := harness.StartFakeFastAPI(t)
	gws := make([]*harness.Gateway, 3)
	for i := range gws {
		// As compose/scale.yaml: gateway-1 scrapes the shared targets, no
		// gateway the API, each gateway itself.
		receivers := "[otlp, promscrape/self]"
		if i == 0 {
			receivers = "[otlp, promscrape/backends, promscrape/self]"
		}
		gws[i] = harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
			"COLLECTOR_INSTANCE_ID":     instanceID(i),
			"MIMIR_OTLP_URL":            prom.OTLPURL,
			"METRICS_RECEIVERS":         receivers,
			"FASTAPI_TARGET":            api,
			"FASTAPI_DATA_METRICS_PATH": harness.FakeFastAPIDataPath,
			"REDIS_EXPORTER_TARGET":     api,
			"MIMIR_METRICS_TARGET":      api,
			"LOKI_METRICS_TARGET":       api,
			"TEMPO_METRICS_TARGET":      api,
			"PYROSCOPE_METRICS_TARGET":  api,
		}})
	}
	env := agentEnv(t, gws[0], t.TempDir())
	staticResolver(env, gws...)
	env["AGENT_SCRAPE_TARGET"] = api
	env["FASTAPI_DATA_METRICS_PATH"] = harness.FakeFastAPIDataPath
	harness.StartCollector(t, "collector-configs/agent.yaml", env)
	agent := env["OTLP_GRPC_ENDPOINT"]

	start := time.Now().Add(-time.Minute)
	send := func(from, to int) {
		for b := from; b < to; b++ {
			sc := scenario.Scenario{Requests: perBurst, FailEvery: failEvery, Start: start, IDBase: b * perBurst}
			harness.SendTraces(t, agent, spanTenant, sc.Traces())
		}
	}
	// Every burst is the same mix, so what n bursts must produce is n times
	// one burst's.
	burst := scenario.Scenario{Requests: perBurst, FailEvery: failEvery}

	send(0, stopAfter)
	// SIGTERM while spans flow, without waiting for any flush: the outage's
	// bursts are being sent, and the gateway is stopped as soon as spans
	// reach it (its Tempo count moves). Everything its first run derived is
	// then held in its connector (firstRunFlush), spans sit in its batch
	// processor and edges wait for their other half: the connector's flush
	// at shutdown is the only way any of it reaches Prometheus.
	down := gws[stopped]
	var stopAt time.Time
	var stopTook time.Duration
	stopErr := make(chan error, 1)
	go func() {
		before := down.Tempo.SpanCount()
		for deadline := time.Now().Add(30 * time.Second); down.Tempo.SpanCount() == before && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		sigterm := time.Now()
		err := down.Stop()
		stopAt = time.Now()
		stopTook = stopAt.Sub(sigterm)
		stopErr <- err
	}()
	// The agent takes every burst while a gateway is stopping or down: the
	// whole run is on its disk queue, not refused to the application.
	send(stopAfter, stopAfter+downFor)
	if err := <-stopErr; err != nil {
		t.Fatalf("stopping %s: %v", instanceID(stopped), err)
	}
	// The shutdownlimit watchdog ends a stop after SHUTDOWN_TIMEOUT (5 s)
	// with status 0, and whatever is still queued is lost: the flush must
	// leave well before.
	if stopTook > 4*time.Second || down.HasLogLine("Shutdown timed out") {
		t.Errorf("%s took %s to stop (SHUTDOWN_TIMEOUT 5s), timed out: %v", instanceID(stopped), stopTook, down.HasLogLine("Shutdown timed out"))
	}
	tempoAtStop := make([]int, len(gws))
	for i, gw := range gws {
		tempoAtStop[i] = gw.Tempo.SpanCount()
	}

	time.Sleep(2 * time.Second)
	duringOutage := make([]int, len(gws))
	for i, gw := range gws {
		duringOutage[i] = gw.Tempo.SpanCount() - tempoAtStop[i]
	}
	// Its second run flushes on the timer, as the others do.
	for _, k := range []string{"SPANMETRICS_FLUSH_INTERVAL", "SERVICE_GRAPH_FLUSH_INTERVAL"} {
		down.Env[k] = gws[0].Env[k]
	}
	down.Restart(t)
	restartedAt := time.Now()
	send(stopAfter+downFor, bursts)

	n, failed := float64(requests), float64(bursts*burst.Failures())
	in, out := burst.Tokens("")
	in, out = in*bursts, out*bursts
	// The exact total over gateways, counting each run of the stopped one:
	// its counters start again from 0 after the restart (a counter reset),
	// so its total is what its first run wrote last plus what its second
	// run wrote last. stopAt (in milliseconds, the resolution Prometheus
	// keeps) parts the two: every sample of the first run, its shutdown
	// flush included, is at or before it, `@ stopAt` reads the latest;
	// every sample of the second run is after it, and `and timestamp() >`
	// keeps a series only if the second run wrote it, so a series only the
	// first run wrote, still within the lookback now, is not counted twice.
	at := strconv.FormatFloat(float64(stopAt.UnixMilli())/1000, 'f', 3, 64)
	total := func(metric, sel string) string {
		selector := func(instance string) string {
			if sel == "" {
				return fmt.Sprintf(`%s{collector_instance_id%s}`, metric, instance)
			}
			return fmt.Sprintf(`%s{%s, collector_instance_id%s}`, metric, sel, instance)
		}
		others, it := selector(fmt.Sprintf(`!=%q`, instanceID(stopped))), selector(fmt.Sprintf(`=%q`, instanceID(stopped)))
		return fmt.Sprintf(`(sum(%s) or vector(0)) + (sum(%s @ %s) or vector(0)) + (sum(%s and timestamp(%s) > %s) or vector(0))`,
			others, it, at, it, it, at)
	}
	prom.WaitFor(t, 90*time.Second, harness.PromQL{
		total("traces_spanmetrics_calls_total", ""): harness.Value(n * scenario.SpansPerRequest),
	})
	t.Logf("%s stopped after %d of %d requests and restarted %s later; meanwhile %d requests were sent and the gateways' Tempo got %v spans; every span counted %s after the restart",
		instanceID(stopped), stopAfter*perBurst, requests, restartedAt.Sub(stopAt).Round(100*time.Millisecond),
		downFor*perBurst, duringOutage, time.Since(restartedAt).Round(100*time.Millisecond))
	atShutdown, err := prom.QueryValue(fmt.Sprintf(`sum(traces_spanmetrics_calls_total{collector_instance_id=%q} @ %s)`, instanceID(stopped), at))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s's stop took %s; its flush at shutdown wrote %v span-metric calls", instanceID(stopped), stopTook.Round(10*time.Millisecond), atShutdown)

	t.Run("edges summed over gateways are exact", func(t *testing.T) {
		edge := func(client, server string) string { return fmt.Sprintf(`client=%q, server=%q`, client, server) }
		prom.Expect(t, harness.PromQL{
			total("traces_service_graph_request_total", edge("user", scenario.GatewayService)):                 harness.Value(n),
			total("traces_service_graph_request_total", edge(scenario.GatewayService, "openai")):               harness.Value(n / 2),
			total("traces_service_graph_request_total", edge(scenario.GatewayService, "anthropic")):            harness.Value(n / 2),
			total("traces_service_graph_request_total", edge(scenario.GatewayService, scenario.RouterService)): harness.Value(n),
			total("traces_service_graph_request_total", edge(scenario.RouterService, "redis")):                 harness.Value(n),
			total("traces_service_graph_request_failed_total", edge(scenario.GatewayService, "openai")):        harness.Value(failed / 2),
			total("traces_service_graph_request_failed_total", edge(scenario.GatewayService, "anthropic")):     harness.Value(failed / 2),
			// Nothing was counted against a virtual node because its other
			// half went to another gateway.
			`traces_service_graph_request_total{server=~"gatewayz-router|gatewayz-api", client!~"user|gatewayz-api"}`: harness.Series(0),
			`traces_service_graph_unpaired_spans_total > 0`:                                                           harness.Series(0),
		})
	})

	t.Run("span metrics and tokens summed over gateways are exact", func(t *testing.T) {
		prom.Expect(t, harness.PromQL{
			total("traces_spanmetrics_calls_total", `service="gatewayz-api"`):                 harness.Value(3 * n),
			total("traces_spanmetrics_calls_total", `service="gatewayz-router"`):              harness.Value(2 * n),
			total("traces_spanmetrics_calls_total", `status_code="STATUS_CODE_ERROR"`):        harness.Value(2 * failed),
			total("traces_spanmetrics_latency_count", `span_kind="SPAN_KIND_SERVER"`):         harness.Value(2 * n),
			total("gen_ai_client_token_usage_input_total", ""):                                harness.Value(float64(in)),
			total("gen_ai_client_token_usage_output_total", ""):                               harness.Value(float64(out)),
			`count(count by (collector_instance_id) (traces_spanmetrics_calls_total))`:        harness.Value(3),
			`count(count by (collector_instance_id) (traces_service_graph_request_total))`:    harness.Value(3),
			`count(count by (collector_instance_id) (gen_ai_client_token_usage_input_total))`: harness.Value(3),
			// Each gateway's self-scrape of "localhost" is named after it.
			`up{job="otelcol-gatewayz", instance=~"gateway-[123]"}`: harness.Series(3),
		})
	})

	t.Run("every trace reached one gateway's Tempo, every span exactly once", func(t *testing.T) {
		owner := map[string]int{}
		spans := map[string]bool{}
		perGateway := make([]int, len(gws))
		for i, gw := range gws {
			for _, r := range gw.Tempo.Requests() {
				if r.Tenant() != spanTenant {
					t.Errorf("%s: a Tempo write as tenant %q, want %q", instanceID(i), r.Tenant(), spanTenant)
				}
				rss := r.Traces.ResourceSpans()
				for j := 0; j < rss.Len(); j++ {
					sss := rss.At(j).ScopeSpans()
					for k := 0; k < sss.Len(); k++ {
						ss := sss.At(k).Spans()
						for m := 0; m < ss.Len(); m++ {
							sp := ss.At(m)
							tid, sid := sp.TraceID().String(), sp.SpanID().String()
							if spans[sid] {
								t.Errorf("span %s of trace %s reached Tempo twice", sid, tid)
							}
							spans[sid] = true
							perGateway[i]++
							if o, ok := owner[tid]; ok && o != i {
								t.Errorf("trace %s is split between %s and %s", tid, instanceID(o), instanceID(i))
							}
							owner[tid] = i
						}
					}
				}
			}
		}
		if len(spans) != requests*scenario.SpansPerRequest || len(owner) != requests {
			t.Errorf("Tempo holds %d spans of %d traces, want %d of %d", len(spans), len(owner), requests*scenario.SpansPerRequest, requests)
		}
		t.Logf("spans per gateway: %v", perGateway)
		// Its share of the bursts sent while it was stopping or down went
		// to it (before the stop or after the restart), not to the others:
		// about a third of those bursts.
		share := 0
		for b := stopAfter; b < stopAfter+downFor; b++ {
			for i := 0; i < perBurst; i++ {
				if owner[scenario.TraceID(b*perBurst+i).String()] == stopped {
					share++
				}
			}
		}
		if share < downFor*perBurst/5 {
			t.Errorf("%s got %d of the %d traces sent while it was down, want about a third: its share was re-routed", instanceID(stopped), share, downFor*perBurst)
		}
	})

	t.Run("every scraped series is written once", func(t *testing.T) {
		scraped := harness.PromQL{
			// The API by the agent (instance = its COLLECTOR_INSTANCE_ID),
			// never also by a gateway (instance = the target's address).
			`sum(gatewayz_http_requests_total{job="gatewayz_production"})`:                                                   harness.Value(harness.FakeFastAPIRequests),
			`gatewayz_http_requests_total{job="gatewayz_production", instance="agent-test"}`:                                 harness.Series(2),
			`sum(gatewayz_models_available{job="gatewayz_data_metrics_production"})`:                                         harness.Value(harness.FakeFastAPIModels),
			`gatewayz_models_available{job="gatewayz_data_metrics_production", instance="agent-test"}`:                       harness.Series(1),
			`up{job=~"gatewayz_production|gatewayz_data_metrics_production|redis_exporter|mimir|loki|tempo|pyroscope"} == 1`: harness.Series(7),
			// The shared targets by gateway-1 alone: only its collector
			// runs that scrape, and no gateway runs the API's.
			`count by (instance) (otelcol_receiver_accepted_metric_points_total{receiver="promscrape/backends"})`:                       harness.Series(1),
			`count by (instance) (otelcol_receiver_accepted_metric_points_total{receiver="promscrape/backends", instance="gateway-1"})`: harness.Series(1),
			`otelcol_receiver_accepted_metric_points_total{job="otelcol-gatewayz", receiver="promscrape"}`:                              harness.Series(0),
			`count by (instance) (otelcol_receiver_accepted_metric_points_total{job="otelcol-gatewayz", receiver="promscrape/self"})`:   harness.Series(3),
		}
		for _, job := range []string{"redis_exporter", "mimir", "loki", "tempo", "pyroscope"} {
			scraped[fmt.Sprintf(`sum(gatewayz_http_requests_total{job=%q})`, job)] = harness.Value(harness.FakeFastAPIRequests)
			scraped[fmt.Sprintf(`gatewayz_http_requests_total{job=%q}`, job)] = harness.Series(2)
		}
		// Longer than Expect's wait: series the agent routed to the stopped
		// gateway arrive once its retry backoff (5 s, growing) reaches the
		// restarted one.
		prom.WaitFor(t, 60*time.Second, scraped)
	})

	t.Run("the OTLP receiver refused nothing", func(t *testing.T) {
		writes := prom.Writes()
		for _, w := range writes {
			if w.Status >= 300 {
				t.Errorf("metrics write of %v answered %d", w.Metrics, w.Status)
			}
		}
		// Each gateway's exporter sends batches in parallel, so a series'
		// samples may arrive out of order and are appended inside the
		// out-of-order window, as Mimir's; none may fall outside it.
		if v := selfCounter(t, prom.URL, "prometheus_tsdb_out_of_order_samples_total"); v != 0 {
			t.Errorf("Prometheus refused %v samples as out of order, want 0", v)
		}
		t.Logf("%d metrics writes, none refused; %v samples appended out of order", len(writes),
			selfCounter(t, prom.URL, "prometheus_tsdb_head_out_of_order_samples_appended_total"))
	})
}

func instanceID(i int) string { return fmt.Sprintf("gateway-%d", i+1) }

// selfCounter sums a counter over its series in a Prometheus server's own
// /metrics (the test server scrapes nothing, so it is not queryable).
func selfCounter(t *testing.T, baseURL, name string) float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestAgentStopWithGatewayDown: an agent stopped while its gateway is down
// (so its queue consumers sit in that gateway's retries) exits within
// SHUTDOWN_TIMEOUT, and what it had accepted is still on its disk: the
// next agent process delivers every span exactly once when the gateway
// is back.
func TestAgentStopWithGatewayDown(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{})
	env := agentEnv(t, gw, t.TempDir())
	agent := harness.StartCollector(t, "collector-configs/agent.yaml", env)
	if err := gw.Stop(); err != nil {
		t.Fatal(err)
	}
	sc := scenario.Scenario{Requests: 100, FailEvery: 3, Start: time.Now().Add(-time.Minute)}
	harness.SendTraces(t, env["OTLP_GRPC_ENDPOINT"], spanTenant, sc.Traces())
	// Past the batch timeout: the spans are in the on-disk queue, retrying.
	time.Sleep(time.Second)
	start := time.Now()
	if err := agent.Stop(); err != nil {
		t.Fatalf("agent stop: %v", err)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("the agent took %s to stop, want SHUTDOWN_TIMEOUT (5s) and a little", d.Round(100*time.Millisecond))
	}
	gw.Restart(t)
	harness.StartCollector(t, "collector-configs/agent.yaml", env)
	gw.Tempo.WaitSpans(t, sc.SpanCount(), spanTenant)
	time.Sleep(time.Second)
	if got := gw.Tempo.SpanCount(); got != sc.SpanCount() {
		t.Errorf("Tempo got %d spans, want %d exactly once", got, sc.SpanCount())
	}
}

// TestAgentWithoutScrape: AGENT_METRICS_RECEIVERS=[otlp] (an agent with no
// API beside it, docs/scaling.md) turns the agent's scrape off, and what
// the application pushes still gets through.
func TestAgentWithoutScrape(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: map[string]string{
		"METRICS_RECEIVERS": "[otlp, promscrape/self]",
	}})
	env := agentEnv(t, gw, t.TempDir())
	env["AGENT_SCRAPE_TARGET"] = harness.StartFakeFastAPI(t)
	env["AGENT_METRICS_RECEIVERS"] = "[otlp]"
	harness.StartCollector(t, "collector-configs/agent.yaml", env)
	started := time.Now()

	harness.SendMetrics(t, "http://"+env["OTLP_HTTP_ENDPOINT"], spanTenant, pushedGauge("acme_agent_pushed_gauge", 7))
	gw.Prometheus.WaitFor(t, 30*time.Second, harness.PromQL{
		`acme_agent_pushed_gauge`: harness.Value(7),
	})
	// A running scrape would have written by then: promscrape first scrapes
	// a target at an offset within its interval, a second for job
	// gatewayz_production here (with the scrape on, this test sees 8 series
	// of that job by then, 14 once the 30 s data job has run too).
	time.Sleep(time.Until(started.Add(12 * time.Second)))
	gw.Prometheus.Expect(t, harness.PromQL{
		`{job=~"gatewayz_production|gatewayz_data_metrics_production"}`: harness.Series(0),
	})
}
