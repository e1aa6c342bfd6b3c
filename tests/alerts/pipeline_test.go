package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

var promqlParser = parser.NewParser(parser.Options{})

// startTroubledGateway runs a gateway with env, has trouble(gw) make it
// refuse or fail something, and returns its telemetry endpoint (host:port of
// its /metrics) once every counter in want is there. The collector creates
// refusal and failure counters only when something is refused or fails, so
// a healthy gateway never has them.
func startTroubledGateway(t *testing.T, env map[string]string, trouble func(gw *harness.Gateway) error, want ...string) string {
	t.Helper()
	telemetry := harness.FreePort(t)
	env["COLLECTOR_TELEMETRY_PORT"] = strconv.Itoa(telemetry)
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: env})
	addr := fmt.Sprintf("127.0.0.1:%d", telemetry)
	harness.Eventually(t, 45*time.Second, func() error {
		if err := trouble(gw); err != nil {
			return err
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, m := range want {
			if !bytes.Contains(body, []byte("\n"+m+"{")) {
				return fmt.Errorf("%s not yet on the troubled gateway's /metrics", m)
			}
		}
		return nil
	})
	return addr
}

// startStarvedGateway: a memory limit of 2 MiB, far under any Go process,
// makes the memory limiter refuse spans, logs and the gateway's own scrapes.
func startStarvedGateway(t *testing.T) string {
	t.Helper()
	sc := scenario.Scenario{Requests: 4, FailEvery: 2, Start: time.Now()}
	logs, err := plogotlp.NewExportRequestFromLogs(sc.Logs()).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	var conn *harness.OTLPConn
	return startTroubledGateway(t, map[string]string{"MEMORY_LIMIT_MIB": "2", "MEMORY_SPIKE_LIMIT_MIB": "1"},
		func(gw *harness.Gateway) error {
			if conn == nil {
				conn = harness.DialOTLP(t, gw.OTLPGRPC)
			}
			// The limiter measures memory once per check_interval (1s), so
			// the first requests may still pass.
			_ = conn.ExportTraces("", ptraceotlp.NewExportRequestFromTraces(sc.Traces()))
			resp, err := http.Post(gw.OTLPHTTP+"/v1/logs", "application/x-protobuf", bytes.NewReader(logs))
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		},
		"otelcol_processor_memory_limiter_refused_spans",
		"otelcol_processor_memory_limiter_refused_log_records",
		"otelcol_processor_memory_limiter_refused_metric_points")
}

// startCutOffGateway: every backend refuses every request for good (gRPC
// InvalidArgument, HTTP 400: nothing to retry), so exports of spans, logs
// and metrics fail. An application's delta counter also sends an export
// older than its last, which delta_to_cumulative drops and counts with
// error="delta.ErrOutOfOrder".
func startCutOffGateway(t *testing.T) string {
	t.Helper()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "refused by the test", http.StatusBadRequest)
	}))
	t.Cleanup(refusing.Close)
	sc := scenario.Scenario{Requests: 4, FailEvery: 2, Start: time.Now()}
	sent := false
	return startTroubledGateway(t, map[string]string{"MIMIR_OTLP_URL": refusing.URL + "/otlp"},
		func(gw *harness.Gateway) error {
			if !sent {
				gw.Tempo.SetFault(harness.Fault{GRPCCode: codes.InvalidArgument})
				gw.Loki.SetFault(harness.Fault{HTTPStatus: http.StatusBadRequest})
				// Accepted into the sending queues, then failed there.
				harness.SendTraces(t, gw.OTLPGRPC, "", sc.Traces())
				harness.SendLogs(t, gw.OTLPHTTP, "", sc.Logs())
				now := time.Now()
				harness.SendMetrics(t, gw.OTLPHTTP, "", deltaCounter(now.Add(-time.Minute), now))
				harness.SendMetrics(t, gw.OTLPHTTP, "", deltaCounter(now.Add(-time.Minute), now.Add(-time.Second)))
				// A client's bad request, which the rejections extension counts.
				resp, err := http.Post(gw.LokiPush+"/loki/api/v1/push", "application/json", strings.NewReader(`{"streams":[`))
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					return fmt.Errorf("a malformed Loki push answered %d, want 400", resp.StatusCode)
				}
				sent = true
			}
			return nil
		},
		"otelcol_exporter_send_failed_spans",
		"otelcol_exporter_send_failed_log_records",
		"otelcol_exporter_send_failed_metric_points",
		"otelcol_ingress_requests_rejected",
		"otelcol_deltatocumulative_datapoints")
}

// deltaCounter is one export of an application's delta counter, one
// increment from start to end.
func deltaCounter(start, end time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "delta-app")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("acme.delta.requests")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(end))
	dp.SetIntValue(1)
	return md
}

// TestRuleMetricsAreProducedByThePipeline runs the gateway scenario into
// the end-to-end Prometheus and checks each alert expression against what
// the pipeline really wrote: every metric it names is stored, every
// selector selects series (so label names and values such as
// exporter="otlp_grpc/tempo" are right), every `by` label is present on
// what it groups, and the whole expression evaluates without error.
//
// The collector creates its refusal and export-failure counters only when
// something is refused or fails, so two more gateways, one starved of
// memory and one cut off from its backends, take the place of the "mimir"
// and "loki" scrape targets: the scenario gateway scrapes their /metrics
// and writes them through the same pipeline (receiver, Mimir's OTLP exporter) as
// its own.
func TestRuleMetricsAreProducedByThePipeline(t *testing.T) {
	starved, cutOff := startStarvedGateway(t), startCutOffGateway(t)
	sc := scenario.Scenario{Requests: 40, FailEvery: 5, Start: time.Now()}
	gw := harness.StartScenarioGateway(t, sc, harness.GatewayOptions{Env: map[string]string{
		"MIMIR_METRICS_TARGET": starved,
		"LOKI_METRICS_TARGET":  cutOff,
	}})
	prom := gw.Prometheus
	// rate() needs two samples of each series in its window.
	harness.SendTraces(t, gw.OTLPGRPC, harness.ScenarioSpanTenant, scenario.Scenario{Requests: 40, FailEvery: 5, Start: time.Now(), IDBase: sc.Requests}.Traces())

	rules := alertRules(t)
	wanted := map[string][]string{}
	for _, r := range rules {
		names, err := prom.SelectedMetricNames(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", r.Alert, err)
		}
		if len(names) == 0 {
			t.Errorf("%s selects no metric", r.Alert)
		}
		for _, n := range names {
			wanted[n] = append(wanted[n], r.Alert)
		}
	}
	// The collector's own metrics arrive with its self-scrape interval.
	harness.Eventually(t, 90*time.Second, func() error {
		stored, err := prom.MetricNames()
		if err != nil {
			return err
		}
		var missing []string
		for n, alerts := range wanted {
			if !slices.Contains(stored, n) {
				missing = append(missing, fmt.Sprintf("%s (read by %s)", n, strings.Join(alerts, ", ")))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return fmt.Errorf("not produced by the pipeline:\n  %s", strings.Join(missing, "\n  "))
		}
		return nil
	})
	t.Logf("%d alerts read %d metric names, all produced by the pipeline", len(rules), len(wanted))

	for _, r := range rules {
		t.Run(r.Alert, func(t *testing.T) {
			expr, err := promqlParser.ParseExpr(r.Expr)
			if err != nil {
				t.Fatal(err)
			}
			// Each check polls: a rate over a series scraped every few
			// seconds needs its second sample first.
			harness.Eventually(t, 30*time.Second, func() error {
				if _, err := prom.Query(r.Expr); err != nil {
					return fmt.Errorf("evaluating the alert: %w", err)
				}
				return errors.Join(checkSelectors(prom, expr)...)
			})
		})
	}
}

// checkSelectors queries each selector of expr and each grouped
// aggregation, skipping those that look an hour back (this Prometheus is
// minutes old).
func checkSelectors(prom *harness.Prometheus, expr parser.Expr) []error {
	var errs []error
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.OriginalOffset != 0 {
				return nil
			}
			// absent_over_time's selector is meant to be able to select nothing,
			// but here the pipeline runs, so it must select something too.
			sel := &parser.VectorSelector{Name: n.Name, LabelMatchers: n.LabelMatchers}
			s, err := prom.Query(sel.String())
			switch {
			case err != nil:
				errs = append(errs, err)
			case len(s) == 0:
				errs = append(errs, fmt.Errorf("%s selects no series", sel))
			}
		case *parser.AggregateExpr:
			if n.Without || len(n.Grouping) == 0 || hasOffset(n.Expr) {
				return nil
			}
			q := fmt.Sprintf("count by (%s) (%s)", strings.Join(n.Grouping, ", "), n.Expr)
			s, err := prom.Query(q)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			if len(s) == 0 {
				errs = append(errs, fmt.Errorf("%s returns nothing", q))
			}
			for _, sample := range s {
				for _, l := range n.Grouping {
					if sample.Metric[l] == "" {
						errs = append(errs, fmt.Errorf("%s: a group without label %s: %v", q, l, sample.Metric))
					}
				}
			}
		}
		return nil
	})
	return errs
}

func hasOffset(e parser.Expr) bool {
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.OriginalOffset != 0 {
			found = true
		}
		return nil
	})
	return found
}

var mailAlertname = regexp.MustCompile(`alertname = ([A-Za-z0-9_]+)`)

// TestAlertsReachAPerson is the whole path with real parts: the gateway's
// output for a scenario in which a quarter of the API's requests fail (all
// of them at openai), the repository's rules in the end-to-end Prometheus,
// a real Alertmanager started with the repository's alertmanager.yaml
// rendered as a deployment renders it, and a local SMTP server that
// requires the configured credentials. The API's error-rate alert must
// arrive as mail at the on-call address, the openai spike at the provider
// address, a warning at the ops address, and no warning at on-call.
func TestAlertsReachAPerson(t *testing.T) {
	smtp := harness.StartSMTPServer(t, "alerts", trickyPassword)
	cfg, err := harness.RenderAlertmanagerConfig(alertmanagerTemplate(t), deploymentEnv(smtp.Addr, trickyPassword))
	if err != nil {
		t.Fatal(err)
	}
	am := harness.StartAlertmanager(t, cfg)

	severity := map[string]string{}
	for _, r := range alertRules(t) {
		severity[r.Alert] = r.Labels["severity"]
	}
	sc := scenario.Scenario{Requests: 40, FailEvery: 4, Start: time.Now()}
	gw := harness.StartScenarioGateway(t, sc, harness.GatewayOptions{PrometheusOptions: harness.PrometheusOptions{
		RuleFiles:       fastRuleFiles(t, "2s"),
		AlertmanagerURL: am.URL,
	}})

	// Mail names its alerts in the body's label list.
	alertsIn := func(mails []harness.Mail) map[string]bool {
		names := map[string]bool{}
		for _, m := range mails {
			for _, n := range mailAlertname.FindAllStringSubmatch(m.Body, -1) {
				names[n[1]] = true
			}
		}
		return names
	}
	oncall, ops, providers := testAddr("oncall"), testAddr("ops"), testAddr("providers")
	start := time.Now()
	burst := 1
	// The counters must keep rising for rate() to see the errors, as live
	// traffic would: a burst of the scenario every second.
	harness.Eventually(t, 3*time.Minute, func() error {
		next := sc
		next.Start, next.IDBase = time.Now(), burst*sc.Requests
		harness.SendTraces(t, gw.OTLPGRPC, harness.ScenarioSpanTenant, next.Traces())
		burst++
		time.Sleep(time.Second)
		var missing []string
		if !alertsIn(smtp.MailTo(oncall))["GatewayZAPIHighErrorRate"] {
			missing = append(missing, "GatewayZAPIHighErrorRate at "+oncall)
		}
		if !alertsIn(smtp.MailTo(providers))["GatewayZProviderHighErrorRate"] {
			missing = append(missing, "GatewayZProviderHighErrorRate at "+providers)
		}
		if len(smtp.MailTo(ops)) == 0 {
			missing = append(missing, "a warning at "+ops)
		}
		if len(missing) > 0 {
			alerts, _ := am.Alerts()
			return fmt.Errorf("no mail yet for %s; the Alertmanager holds %d alerts", strings.Join(missing, ", "), len(alerts))
		}
		return nil
	})
	t.Logf("all three mailboxes had mail %s after the scenario (%d bursts of %d requests)",
		time.Since(start).Round(time.Second), burst, sc.Requests)

	// The ops route waits longest (group_wait 1m against on-call's 30s),
	// so a warning misrouted to on-call would have arrived by now.
	for _, m := range smtp.Mail() {
		if m.Username != "alerts" {
			t.Errorf("mail to %v was sent without SMTP AUTH as the configured user (got %q)", m.To, m.Username)
		}
		if m.From != testAddr("alertmanager") {
			t.Errorf("mail to %v came from %q, want the configured sender", m.To, m.From)
		}
		if len(m.To) != 1 {
			t.Errorf("mail %q went to %v, want one receiver's address", m.Subject, m.To)
		}
	}
	for name := range alertsIn(smtp.MailTo(oncall)) {
		if severity[name] != "critical" {
			t.Errorf("%s (severity %q) was mailed to on-call", name, severity[name])
		}
	}
	for _, m := range smtp.MailTo(oncall) {
		if strings.Contains(m.Body, "severity = warning") {
			t.Errorf("on-call mail %q lists a warning:\n%s", m.Subject, m.Body)
		}
	}
	for name := range alertsIn(smtp.MailTo(ops)) {
		if severity[name] != "warning" || name == "GatewayZProviderHighErrorRate" {
			t.Errorf("%s (severity %q) was mailed to ops", name, severity[name])
		}
	}
	for name := range alertsIn(smtp.MailTo(providers)) {
		if name != "GatewayZProviderHighErrorRate" {
			t.Errorf("%s was mailed to the provider receiver", name)
		}
	}
	for _, m := range smtp.MailTo(providers) {
		if !strings.Contains(m.Body, "gen_ai_system = openai") || strings.Contains(m.Body, "gen_ai_system = anthropic") {
			t.Errorf("provider mail %q should name openai (half its calls fail) and not anthropic (none fail):\n%s", m.Subject, m.Body)
		}
	}
	for _, m := range smtp.Mail() {
		t.Logf("mail to %v: %s", m.To, m.Subject)
	}
}
