package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// TestMinuteLongOutageLosesNothing: under a steady load of spans and logs,
// Mimir (the Prometheus proxy, HTTP 503), Loki (HTTP 503) and Tempo (gRPC
// UNAVAILABLE) refuse everything for 60 s, with the shipped defaults (in-
// memory export queues). Afterwards
// every span and log record has arrived exactly once, the span-metric
// count equals the spans sent, and the collector's own scrapes taken
// during the outage are all in Prometheus. The health check answers 200
// throughout: the queues have room, so the gateway still takes data, and
// a readiness probe must not pull it.
func TestMinuteLongOutageLosesNothing(t *testing.T) {
	t.Parallel()
	const (
		outage   = 60 * time.Second
		bursts   = 30
		interval = 2500 * time.Millisecond // bursts span 75 s: before, during and after the outage
	)
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true})
	// Prometheus at the start: let the first self-scrapes land before the
	// outage, so the scrape count below covers a window with data at both ends.
	began := time.Now()
	time.Sleep(6 * time.Second)
	gw.Prometheus.SetFault(harness.Fault{HTTPStatus: http.StatusServiceUnavailable, For: outage})
	gw.Loki.SetFault(harness.Fault{HTTPStatus: http.StatusServiceUnavailable, For: outage})
	gw.Tempo.SetFault(harness.Fault{GRPCCode: codes.Unavailable, For: outage})
	outageEnds := time.Now().Add(outage)
	health := watchHealth(t, gw.Health, time.Second)

	spans, records := 0, 0
	for i := range bursts {
		sc := scenario.Scenario{Requests: 4, FailEvery: 3, Start: time.Now(), IDBase: 1000 * (i + 1)}
		harness.SendTraces(t, gw.OTLPGRPC, spanTenant, sc.Traces())
		harness.SendLogs(t, gw.OTLPHTTP, logTenant, sc.Logs())
		spans += sc.SpanCount()
		records += sc.Requests
		time.Sleep(interval)
	}
	if time.Now().Before(outageEnds) {
		t.Fatal("the load ended before the outage did")
	}
	health.Stop()
	if answers := health.between(began, time.Now()); len(answers) != 1 || answers[http.StatusOK] == 0 {
		t.Errorf("health check during the outage: %v, want only 200", answers)
	} else {
		t.Logf("health check during the outage: %v", answers)
	}

	// Retries back off up to 30 s between attempts.
	gw.Prometheus.WaitFor(t, 90*time.Second, harness.PromQL{
		`sum(traces_spanmetrics_calls_total)`: harness.Value(float64(spans)),
	})
	harness.Eventually(t, 90*time.Second, func() error {
		if n, m := gw.Tempo.SpanCount(), gw.Loki.LogCount(); n < spans || m < records {
			return fmt.Errorf("tempo has %d of %d spans, loki %d of %d records", n, spans, m, records)
		}
		return nil
	})
	for name, refused := range map[string]int{
		"tempo": gw.Tempo.Refused(), "loki": gw.Loki.Refused(), "mimir": gw.Prometheus.Refused(),
	} {
		if refused < 2 {
			t.Errorf("%s refused %d requests: the outage did not hold the data back", name, refused)
		}
	}
	assertOnce(t, gw, spans, records)

	// The collector scrapes itself every 5 s (SELF_SCRAPE_INTERVAL in the
	// harness): a sample for every scrape since the start, outage or not,
	// because the write-ahead log kept them. One scrape of slack at each end.
	window := time.Since(began)
	want := int(window/(5*time.Second)) - 2
	got, err := gw.Prometheus.QueryValue(fmt.Sprintf(`count_over_time(up{job="otelcol-gatewayz"}[%ds])`, int(window.Seconds())))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d spans, %d log records; refused: tempo %d, loki %d, mimir %d; %d self-scrape samples over %v (want at least %d)",
		spans, records, gw.Tempo.Refused(), gw.Loki.Refused(), gw.Prometheus.Refused(), int(got), window.Round(time.Second), want)
	if int(got) < want {
		t.Errorf("%v of self-scrapes left %d samples in Prometheus, want at least %d", window.Round(time.Second), int(got), want)
	}
}

// assertOnce fails unless gw's Tempo and Loki sinks each hold every one of
// spans spans and records log records exactly once.
func assertOnce(t *testing.T, gw *harness.Gateway, spans, records int) {
	t.Helper()
	spanIDs, recordIDs := map[string]int{}, map[string]int{}
	for _, r := range gw.Tempo.Requests() {
		countIDs(spanIDs, r.Traces)
	}
	for _, r := range gw.Loki.Requests() {
		countLogIDs(recordIDs, r.Logs)
	}
	for what, seen := range map[string]map[string]int{"span": spanIDs, "log record": recordIDs} {
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s %s delivered %d times", what, id, n)
			}
		}
	}
	if len(spanIDs) != spans || len(recordIDs) != records {
		t.Errorf("delivered %d distinct spans and %d log records, want %d and %d", len(spanIDs), len(recordIDs), spans, records)
	}
}
