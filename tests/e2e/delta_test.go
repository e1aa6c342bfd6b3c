package e2e

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// A delta export of the test's app: one request holding a cumulative
// counter, a delta counter and a delta histogram, as an OTel SDK set to
// delta temporality sends them.
type deltaExport struct {
	cumulative float64  // the cumulative counter's value at this export
	delta      int64    // the delta counter's increment
	buckets    []uint64 // the delta histogram's bucket counts, bounds deltaBounds
	sum        float64  // and its sum
}

var deltaBounds = []float64{0.1, 0.5, 1}

var deltaExports = []deltaExport{
	{cumulative: 10, delta: 3, buckets: []uint64{1, 2, 0, 0}, sum: 0.85},
	{cumulative: 20, delta: 5, buckets: []uint64{0, 1, 1, 1}, sum: 2.95},
	{cumulative: 35, delta: 7, buckets: []uint64{2, 0, 0, 0}, sum: 0.1},
	{cumulative: 40, delta: 11, buckets: []uint64{0, 0, 3, 0}, sum: 2.1},
}

func deltaRequest(e deltaExport, start, from, to time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "delta-app")
	rm.Resource().Attributes().PutStr("service.instance.id", "delta-app-0")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()

	cum := ms.AppendEmpty()
	cum.SetName("acme.cumulative.requests")
	cs := cum.SetEmptySum()
	cs.SetIsMonotonic(true)
	cs.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := cs.DataPoints().AppendEmpty()
	dp.Attributes().PutStr("route", "/v1/chat/completions")
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(to))
	dp.SetDoubleValue(e.cumulative)

	del := ms.AppendEmpty()
	del.SetName("acme.delta.requests")
	ds := del.SetEmptySum()
	ds.SetIsMonotonic(true)
	ds.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp = ds.DataPoints().AppendEmpty()
	dp.Attributes().PutStr("route", "/v1/chat/completions")
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(from))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(to))
	dp.SetIntValue(e.delta)

	hist := ms.AppendEmpty()
	hist.SetName("acme.delta.latency")
	hist.SetUnit("s")
	h := hist.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	hp := h.DataPoints().AppendEmpty()
	hp.Attributes().PutStr("route", "/v1/chat/completions")
	hp.SetStartTimestamp(pcommon.NewTimestampFromTime(from))
	hp.SetTimestamp(pcommon.NewTimestampFromTime(to))
	hp.ExplicitBounds().FromRaw(deltaBounds)
	hp.BucketCounts().FromRaw(e.buckets)
	var n uint64
	for _, c := range e.buckets {
		n += c
	}
	hp.SetCount(n)
	hp.SetSum(e.sum)
	return md
}

// TestDeltaTemporality sends what an OTel SDK with delta temporality
// sends, a cumulative counter beside a delta counter and a delta
// histogram in every request, and checks that Mimir's stand-in stores
// all three: the delta metrics as cumulative series whose every sample is
// the running total of the increments sent, the cumulative counter as
// sent, and no metrics write refused (Mimir answers a request with a delta
// sum 400, and the exporter would count the whole batch as failed).
func TestDeltaTemporality(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true})
	prom := gw.Prometheus
	metricsURL := fmt.Sprintf("http://127.0.0.1:%s/metrics", gw.Env["COLLECTOR_TELEMETRY_PORT"])

	// Whole seconds, so each export's time can be queried with `@`.
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	at := func(i int) time.Time { return start.Add(time.Duration(10*(i+1)) * time.Second) }
	for i, e := range deltaExports {
		from := start
		if i > 0 {
			from = at(i - 1)
		}
		// One export at a time, as an SDK's periodic reader sends them.
		harness.SendMetrics(t, gw.OTLPHTTP, spanTenant, deltaRequest(e, start, from, at(i)))
	}

	const sel = `{job="delta-app", instance="delta-app-0", route="/v1/chat/completions"}`
	want := harness.PromQL{
		// Every point of every export arrived, none twice.
		`count_over_time(acme_delta_requests_total` + sel + `[10m])`:        harness.Value(float64(len(deltaExports))),
		`count_over_time(acme_delta_latency_seconds_count` + sel + `[10m])`: harness.Value(float64(len(deltaExports))),
		`count_over_time(acme_cumulative_requests_total` + sel + `[10m])`:   harness.Value(float64(len(deltaExports))),
	}
	var total int64
	var count, sum float64
	cumBuckets := make([]uint64, len(deltaBounds)+1)
	for i, e := range deltaExports {
		total += e.delta
		sum += e.sum
		for j, c := range e.buckets {
			cumBuckets[j] += c
			count += float64(c)
		}
		ts := fmt.Sprintf(" @ %d", at(i).Unix())
		want[`acme_delta_requests_total`+sel+ts] = harness.Value(float64(total))
		want[`acme_cumulative_requests_total`+sel+ts] = harness.Value(e.cumulative)
		want[`acme_delta_latency_seconds_count`+sel+ts] = harness.Value(count)
		want[`acme_delta_latency_seconds_sum`+sel+ts] = harness.Approx(sum)
	}
	// Prometheus's buckets are cumulative over le, the last one is +Inf.
	var le uint64
	for j, c := range cumBuckets {
		le += c
		bound := "+Inf"
		if j < len(deltaBounds) {
			bound = fmt.Sprint(deltaBounds[j])
		}
		want[fmt.Sprintf(`acme_delta_latency_seconds_bucket{job="delta-app", route="/v1/chat/completions", le="%s"}`, bound)] = harness.Value(float64(le))
	}
	prom.Expect(t, want)

	for _, w := range prom.Writes() {
		if w.Status/100 != 2 {
			t.Errorf("metrics write of %v answered %d", keys(w.Metrics), w.Status)
		}
	}
	// The collector's own count, which GatewayZCollectorExportFailing reads.
	if sent := selfMetric(t, metricsURL, "otelcol_exporter_sent_metric_points", `exporter="otlp_http/mimir"`); sent == 0 {
		t.Error("otlp_http/mimir reports no metric points sent")
	}
	if failed := selfMetric(t, metricsURL, "otelcol_exporter_send_failed_metric_points", `exporter="otlp_http/mimir"`); failed != 0 {
		t.Errorf("otlp_http/mimir reports %v failed metric points", failed)
	}
	// The processor's own counts, which README "Delta temporality" names:
	// every delta point (counter and histogram, each export) went through
	// it, none dropped.
	if n := selfMetric(t, metricsURL, "otelcol_deltatocumulative_datapoints"); n != float64(2*len(deltaExports)) {
		t.Errorf("otelcol_deltatocumulative_datapoints = %v, want %d", n, 2*len(deltaExports))
	}
	if n := selfMetric(t, metricsURL, "otelcol_deltatocumulative_datapoints", `error=`); n != 0 {
		t.Errorf("otelcol_deltatocumulative_datapoints{error=...} = %v, want 0", n)
	}
	if n := selfMetric(t, metricsURL, "otelcol_deltatocumulative_streams_tracked"); n != 2 {
		t.Errorf("otelcol_deltatocumulative_streams_tracked = %v, want the 2 delta streams", n)
	}

	// Another tenant sending the very same streams starts totals of its
	// own: its first sample is its own first increment, not the first
	// tenant's total plus it. The stand-in keeps one TSDB for all tenants,
	// so the sample lands in the same series, at a later time.
	later := at(len(deltaExports))
	harness.SendMetrics(t, gw.OTLPHTTP, logTenant, deltaRequest(deltaExports[0], later.Add(-10*time.Second), later.Add(-10*time.Second), later))
	first := deltaExports[0]
	var firstCount uint64
	for _, c := range first.buckets {
		firstCount += c
	}
	ts := fmt.Sprintf(" @ %d", later.Unix())
	prom.Expect(t, harness.PromQL{
		`acme_delta_requests_total` + sel + ts:        harness.Value(float64(first.delta)),
		`acme_delta_latency_seconds_count` + sel + ts: harness.Value(float64(firstCount)),
		// The tenant attribute is the processor's alone: no label, no
		// target_info of its own.
		`count(target_info{job="delta-app"})`:                                  harness.Value(1),
		`count({__name__=~"acme_.+", gatewayz_delta_tenant!=""}) or vector(0)`: harness.Value(0),
	})
	if n := selfMetric(t, metricsURL, "otelcol_deltatocumulative_streams_tracked"); n != 4 {
		t.Errorf("otelcol_deltatocumulative_streams_tracked = %v, want 4: two streams per tenant", n)
	}
	for _, w := range prom.Writes() {
		if w.Status/100 != 2 {
			t.Errorf("metrics write of %v for %s answered %d", keys(w.Metrics), w.Tenant(), w.Status)
		}
	}
}
