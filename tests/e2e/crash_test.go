package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// shutdownTimeout is SHUTDOWN_TIMEOUT's default; a stop may overrun it by
// the exit itself.
const (
	shutdownTimeout = 5 * time.Second
	stopBound       = shutdownTimeout + 2*time.Second
)

// shippedQueues are the export-queue settings of compose and Railway.
func shippedQueues(dir string) map[string]string {
	return map[string]string{"EXPORT_QUEUE_STORAGE": "file_storage", "COLLECTOR_STORAGE_DIR": dir}
}

// allDown makes every backend of gw refuse everything until further notice.
func allDown(gw *harness.Gateway) {
	gw.Tempo.SetFault(harness.Fault{GRPCCode: codes.Unavailable})
	gw.Loki.SetFault(harness.Fault{HTTPStatus: http.StatusServiceUnavailable})
	gw.Prometheus.SetFault(harness.Fault{HTTPStatus: http.StatusServiceUnavailable})
}

// fillQueues sends sc's spans and logs to gw (each acknowledged by the
// gateway) and waits until the refusing backends have turned each kind
// away at least once, Mimir the token counters derived from the spans
// among them, so the data sits in the queues.
func fillQueues(t *testing.T, gw *harness.Gateway, sc scenario.Scenario) {
	t.Helper()
	harness.SendTraces(t, gw.OTLPGRPC, spanTenant, sc.Traces())
	harness.SendLogs(t, gw.OTLPHTTP, logTenant, sc.Logs())
	harness.Eventually(t, 30*time.Second, func() error {
		if gw.Tempo.Refused() == 0 || gw.Loki.Refused() == 0 || !refusedMetric(gw.Prometheus, tokensMetric) {
			return fmt.Errorf("refused so far: tempo %d, loki %d, mimir %d (%s among them: %v)",
				gw.Tempo.Refused(), gw.Loki.Refused(), gw.Prometheus.Refused(), tokensMetric, refusedMetric(gw.Prometheus, tokensMetric))
		}
		return nil
	})
	if gw.Tempo.SpanCount() != 0 || gw.Loki.LogCount() != 0 {
		t.Fatalf("refusing backends recorded %d spans and %d log records", gw.Tempo.SpanCount(), gw.Loki.LogCount())
	}
}

// tokensMetric is derived from the spans with every traces batch: only the
// first process, which had the spans, ever makes it.
const tokensMetric = "gen_ai_client_token_usage_input_total"

// refusedMetric: p's fault has refused a write holding metric.
func refusedMetric(p *harness.Prometheus, metric string) bool {
	for _, w := range p.Writes() {
		if w.Status/100 != 2 && w.Metrics[metric] {
			return true
		}
	}
	return false
}

// expectAllDelivered starts a gateway on dir's queues with healthy backends
// and waits until it has delivered everything sc holds, spans and log
// records exactly once, and the first process's token counters: the new
// process has no spans to derive them from, so they came off the disk.
func expectAllDelivered(t *testing.T, dir string, sc scenario.Scenario, env map[string]string) {
	t.Helper()
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: env})
	gw.Tempo.WaitSpans(t, sc.SpanCount(), spanTenant)
	harness.Eventually(t, 30*time.Second, func() error {
		if n := gw.Loki.LogCount(); n < sc.Requests {
			return fmt.Errorf("loki has %d of %d records", n, sc.Requests)
		}
		return nil
	})
	assertOnce(t, gw, sc.SpanCount(), sc.Requests)
	in, _ := sc.Tokens("")
	gw.Prometheus.Expect(t, harness.PromQL{"sum(" + tokensMetric + ")": harness.Value(float64(in))})
}

// TestCrashKeepsAcknowledged: with the shipped on-disk queues, the gateway
// is SIGKILLed while every backend refuses and its queues hold spans, logs
// and metrics (Mimir's exporter has the same on-disk queue: see README
// "Durability"). A new process on the same directory delivers every span
// and log record the first one had acknowledged, exactly once, and the
// metrics the first one derived from its spans.
func TestCrashKeepsAcknowledged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sc := scenario.Scenario{Requests: 25, FailEvery: 5, Start: time.Now().Add(-time.Minute), IDBase: 50000}

	first := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: shippedQueues(dir)})
	allDown(first)
	fillQueues(t, first, sc)
	if err := syscall.Kill(first.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Stop() // reaps the killed process

	expectAllDelivered(t, dir, sc, shippedQueues(dir))
}

// TestStopIsBoundedOnDisk: SIGTERM with every backend down and the on-disk
// queues full exits within stopBound; what an exporter's queue still held
// then is logged in items. A restart then delivers every span, log record
// and derived metric. The stock exporters log the batches they could not send
// while stopping as "Dropping data" even here, where the persistent queue
// keeps them ("interrupted due to shutdown"): the restart proves it.
func TestStopIsBoundedOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sc := scenario.Scenario{Requests: 25, FailEvery: 5, Start: time.Now().Add(-time.Minute), IDBase: 60000}

	first := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: shippedQueues(dir)})
	allDown(first)
	fillQueues(t, first, sc)
	stopWithin(t, first.Collector)
	for _, line := range strings.Split(first.Logs(), "\n") {
		if strings.Contains(line, "Exporting failed. Dropping data.") && !strings.Contains(line, "interrupted due to shutdown") {
			t.Errorf("an on-disk queue gave up on a batch for another reason than the stop: %s", line)
		}
	}
	// An on-disk queue the timeout found still holding data counts items.
	for _, exporter := range []string{"otlp_grpc/tempo", "otlp_http/loki", "otlp_http/mimir"} {
		for unit, n := range queuedAtTimeout(t, first.Collector)[exporter] {
			if unit != "queued_items" {
				t.Errorf("%s: logged %s %d, want its queue counted in items", exporter, unit, n)
			}
		}
	}

	expectAllDelivered(t, dir, sc, shippedQueues(dir))
}

// TestStopIsBoundedInMemory: the same stop with the in-memory queues of
// `make run` exits within stopBound, and the log accounts for every span
// and log record exactly: what an exporter dropped while draining (the
// stock exporters' dropped_items) plus what it still held when the timeout
// came (shutdownlimit's queued_items: exporters stop one after another) is
// what was queued. The metrics Mimir refused are lost too, and logged the
// same way, in items (metric points).
func TestStopIsBoundedInMemory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"COLLECTOR_STORAGE_DIR": dir}
	sc := scenario.Scenario{Requests: 25, FailEvery: 5, Start: time.Now().Add(-time.Minute), IDBase: 70000}

	first := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: env})
	allDown(first)
	fillQueues(t, first, sc)
	stopWithin(t, first.Collector)
	dropped := droppedItems(t, first.Logs())
	queued := queuedAtTimeout(t, first.Collector)
	want := map[string]int{"otlp_grpc/tempo": sc.SpanCount(), "otlp_http/loki": sc.Requests}
	for exporter, n := range want {
		items := queued[exporter]["queued_items"]
		t.Logf("%s: %d items dropped while draining, %d still queued at the timeout (of %d)", exporter, dropped[exporter], items, n)
		if dropped[exporter]+items != n {
			t.Errorf("%s: %d dropped + %d queued items logged, want the %d it was sent", exporter, dropped[exporter], items, n)
		}
		for unit := range queued[exporter] {
			if unit != "queued_items" {
				t.Errorf("%s: logged %s, want its queue counted in items", exporter, unit)
			}
		}
	}
	// How many metric points were queued depends on the self-scrapes, but
	// Mimir refused some, so some were lost and said so.
	const mimir = "otlp_http/mimir"
	for unit := range queued[mimir] {
		if unit != "queued_items" {
			t.Errorf("%s: logged %s, want its queue counted in items", mimir, unit)
		}
	}
	if lost := dropped[mimir] + queued[mimir]["queued_items"]; lost == 0 {
		t.Errorf("%s: no dropped or queued metric points logged, though Mimir refused its writes", mimir)
	} else {
		t.Logf("%s: %d metric points dropped while draining, %d still queued at the timeout", mimir, dropped[mimir], queued[mimir]["queued_items"])
	}
	delete(dropped, mimir)
	if len(dropped) > len(want) {
		t.Errorf("dropped items by exporter: %v, want only %v", dropped, want)
	}
}

// queuedAtTimeout reads shutdownlimit's lines from c's log: by exporter,
// its queued_<unit> fields.
func queuedAtTimeout(t *testing.T, c *harness.Collector) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, line := range strings.Split(c.Logs(), "\n") {
		if !strings.Contains(line, "Shutdown timed out: exporter still holds queued data") {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(line[strings.Index(line, "{"):]), &fields); err != nil {
			t.Fatalf("shutdownlimit line %q: %v", line, err)
		}
		exporter, _ := fields["exporter"].(string)
		for k, v := range fields {
			if n, ok := v.(float64); ok && strings.HasPrefix(k, "queued_") {
				if out[exporter] == nil {
					out[exporter] = map[string]int{}
				}
				out[exporter][k] += int(n)
			}
		}
	}
	return out
}

// stopWithin sends SIGTERM and fails unless c exits cleanly within stopBound.
func stopWithin(t *testing.T, c *harness.Collector) {
	t.Helper()
	start := time.Now()
	err := c.Stop()
	took := time.Since(start)
	t.Logf("stop took %v", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("stop: %v after %v", err, took.Round(time.Millisecond))
	}
	if took > stopBound {
		t.Errorf("stop took %v, more than %v", took.Round(time.Millisecond), stopBound)
	}
}

// droppedItems sums, by exporter, the dropped_items of the stock exporters'
// one log line per dropped batch ("Exporting failed. Dropping data.").
func droppedItems(t *testing.T, logs string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "Exporting failed. Dropping data.") {
			continue
		}
		start := strings.Index(line, "{")
		if start < 0 {
			t.Fatalf("drop line without fields: %s", line)
		}
		var fields struct {
			Component string `json:"otelcol.component.id"`
			Dropped   int    `json:"dropped_items"`
		}
		if err := json.NewDecoder(strings.NewReader(line[start:])).Decode(&fields); err != nil {
			t.Fatalf("drop line %q: %v", line, err)
		}
		out[fields.Component] += fields.Dropped
	}
	return out
}
