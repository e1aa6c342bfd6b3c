// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.InstanceID = "gw-1"
	cfg.SpanMetrics.Buckets = []time.Duration{100 * time.Millisecond, time.Second}
	cfg.SpanMetrics.Dimensions = []Dimension{{Name: "gen_ai.system"}, {Name: "http.response.status_code"}}
	cfg.SpanMetrics.Exemplars.Enabled = true
	cfg.ServiceGraph.Buckets = []time.Duration{100 * time.Millisecond, time.Second}
	cfg.ServiceGraph.Dimensions = []string{"tenant"}
	cfg.ServiceGraph.VirtualNodePeerAttributes = []string{"gen_ai.system", "db.system"}
	return cfg
}

func newTest(t *testing.T, cfg *Config) (*derive, *consumertest.MetricsSink, *time.Time) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	sink := &consumertest.MetricsSink{}
	d := newTestConnector(t, cfg, sink)
	now := t0
	d.now = func() time.Time { return now }
	return d, sink, &now
}

type spanSpec struct {
	service        string
	tid            byte
	sid, parent    byte
	kind           ptrace.SpanKind
	name           string
	dur            time.Duration
	failed         bool
	attrs          map[string]any
	resourceExtras map[string]any
}

func traces(specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range specs {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		_ = rs.Resource().Attributes().FromRaw(merge(map[string]any{"service.name": s.service}, s.resourceExtras))
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{s.tid, 1})
		if s.sid != 0 {
			sp.SetSpanID(pcommon.SpanID{s.sid})
		}
		if s.parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{s.parent})
		}
		sp.SetKind(s.kind)
		sp.SetName(s.name)
		start := pcommon.NewTimestampFromTime(t0)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + pcommon.Timestamp(s.dur))
		if s.failed {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		_ = sp.Attributes().FromRaw(s.attrs)
	}
	return td
}

func merge(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// point finds the one data point of metric name whose attributes include want.
func points(md []pmetric.Metrics, name string, want map[string]string) []pmetric.Metric {
	var out []pmetric.Metric
	for _, m := range md {
		for i := 0; i < m.ResourceMetrics().Len(); i++ {
			sms := m.ResourceMetrics().At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					if ms.At(k).Name() == name {
						out = append(out, ms.At(k))
					}
				}
			}
		}
	}
	_ = want
	return out
}

func matches(attrs pcommon.Map, want map[string]string) bool {
	for k, v := range want {
		got, ok := attrs.Get(k)
		if !ok || got.AsString() != v {
			return false
		}
	}
	return true
}

func sumValue(t *testing.T, md pmetric.Metrics, name string, want map[string]string) (int64, pmetric.NumberDataPoint) {
	t.Helper()
	var found []pmetric.NumberDataPoint
	for _, m := range points([]pmetric.Metrics{md}, name, nil) {
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			if matches(dps.At(i).Attributes(), want) {
				found = append(found, dps.At(i))
			}
		}
	}
	require.Len(t, found, 1, "%s%v", name, want)
	return found[0].IntValue(), found[0]
}

func histPoint(t *testing.T, md pmetric.Metrics, name string, want map[string]string) pmetric.HistogramDataPoint {
	t.Helper()
	var found []pmetric.HistogramDataPoint
	for _, m := range points([]pmetric.Metrics{md}, name, nil) {
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			if matches(dps.At(i).Attributes(), want) {
				found = append(found, dps.At(i))
			}
		}
	}
	require.Len(t, found, 1, "%s%v", name, want)
	return found[0]
}

func TestSpanMetrics(t *testing.T) {
	d, _, now := newTest(t, testConfig())
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		require.NoError(t, d.ConsumeTraces(ctx, traces(
			spanSpec{service: "api", tid: byte(i + 1), sid: 1, kind: ptrace.SpanKindServer, name: "POST /chat", dur: 300 * time.Millisecond,
				failed: i == 0, attrs: map[string]any{"http.response.status_code": 200}},
			spanSpec{service: "api", tid: byte(i + 1), sid: 2, parent: 1, kind: ptrace.SpanKindClient, name: "chat", dur: 50 * time.Millisecond,
				attrs: map[string]any{"gen_ai.system": "openai"}},
		)))
	}
	// A new counter's first flush writes 0, as the stock connector does.
	md := d.spans.build(*now)
	v, _ := sumValue(t, md, callsMetric, map[string]string{"span.name": "chat"})
	assert.Equal(t, int64(0), v)

	*now = now.Add(time.Second)
	md = d.spans.build(*now)
	v, dp := sumValue(t, md, callsMetric, map[string]string{"span.name": "chat", "span.kind": "SPAN_KIND_CLIENT"})
	assert.Equal(t, int64(7), v)
	assert.Equal(t, map[string]any{
		"service": "api", "span.name": "chat", "span.kind": "SPAN_KIND_CLIENT", "status.code": "STATUS_CODE_UNSET",
		"collector.instance.id": "gw-1", "gen_ai.system": "openai",
	}, dp.Attributes().AsRaw())
	ok, _ := sumValue(t, md, callsMetric, map[string]string{"span.name": "POST /chat", "status.code": "STATUS_CODE_UNSET"})
	failed, fdp := sumValue(t, md, callsMetric, map[string]string{"span.name": "POST /chat", "status.code": "STATUS_CODE_ERROR"})
	assert.Equal(t, int64(6), ok)
	assert.Equal(t, int64(1), failed)
	code, _ := fdp.Attributes().Get("http.response.status_code")
	assert.Equal(t, pcommon.ValueTypeInt, code.Type(), "a dimension keeps its type")

	h := histPoint(t, md, latencyMetric, map[string]string{"span.name": "chat"})
	assert.Equal(t, []float64{0.1, 1}, h.ExplicitBounds().AsRaw())
	assert.Equal(t, []uint64{7, 0, 0}, h.BucketCounts().AsRaw())
	assert.InDelta(t, 0.35, h.Sum(), 1e-9)
	// The exemplars of the first flush were cleared by it; nothing new came.
	assert.Equal(t, 0, h.Exemplars().Len())

	require.NoError(t, d.ConsumeTraces(ctx, traces(spanSpec{service: "api", tid: 9, sid: 2, kind: ptrace.SpanKindClient, name: "chat", dur: 2 * time.Second, attrs: map[string]any{"gen_ai.system": "openai"}})))
	md = d.spans.build(*now)
	h = histPoint(t, md, latencyMetric, map[string]string{"span.name": "chat"})
	assert.Equal(t, []uint64{7, 0, 1}, h.BucketCounts().AsRaw())
	require.Equal(t, 1, h.Exemplars().Len())
	assert.Equal(t, pcommon.TraceID{9, 1}, h.Exemplars().At(0).TraceID())
	assert.InDelta(t, 2.0, h.Exemplars().At(0).DoubleValue(), 1e-9)
	_, dp = sumValue(t, md, callsMetric, map[string]string{"span.name": "chat"})
	assert.Equal(t, 1, dp.Exemplars().Len())
}

func TestSpanMetricsExemplarLimitAndExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.SpanMetrics.SeriesExpiration = time.Minute
	d, _, now := newTest(t, cfg)
	for i := 0; i < 8; i++ {
		require.NoError(t, d.ConsumeTraces(context.Background(), traces(spanSpec{service: "api", tid: byte(i + 1), sid: 1, kind: ptrace.SpanKindServer, name: "a", dur: time.Millisecond})))
	}
	md := d.spans.build(*now)
	assert.Equal(t, cfg.SpanMetrics.Exemplars.MaxPerDataPoint, histPoint(t, md, latencyMetric, nil).Exemplars().Len())

	*now = now.Add(time.Minute)
	md = d.spans.build(*now) // still written at the flush that expires it
	assert.Equal(t, 1, md.DataPointCount()/2)
	assert.Equal(t, 0, d.spans.build(*now).DataPointCount())
}

func TestSpanMetricsCardinalityLimit(t *testing.T) {
	cfg := testConfig()
	cfg.SpanMetrics.AggregationCardinalityLimit = 2
	d, _, now := newTest(t, cfg)
	for _, name := range []string{"a", "b", "c", "d", "a"} {
		require.NoError(t, d.ConsumeTraces(context.Background(), traces(spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindServer, name: name})))
	}
	d.spans.build(*now)
	md := d.spans.build(*now)
	a, _ := sumValue(t, md, callsMetric, map[string]string{"span.name": "a"})
	over, dp := sumValue(t, md, callsMetric, map[string]string{overflowKey: "true"})
	assert.Equal(t, int64(2), a)
	assert.Equal(t, int64(2), over) // c and d
	assert.Equal(t, 1, dp.Attributes().Len(), "the overflow series has only the overflow label")
	assert.Equal(t, 3, md.DataPointCount()/2)
}

func TestServiceGraph(t *testing.T) {
	d, _, now := newTest(t, testConfig())
	ctx := context.Background()
	tenant := map[string]any{"tenant": "acme"}
	require.NoError(t, d.ConsumeTraces(ctx, traces(
		// root SERVER span: its client is "user" once the TTL passes
		spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindServer, dur: 300 * time.Millisecond, resourceExtras: tenant},
		// api -> router, paired in either order
		spanSpec{service: "api", tid: 1, sid: 2, parent: 1, kind: ptrace.SpanKindClient, dur: 12 * time.Millisecond, failed: true, resourceExtras: tenant},
		spanSpec{service: "router", tid: 1, sid: 3, parent: 2, kind: ptrace.SpanKindServer, dur: 10 * time.Millisecond},
		spanSpec{service: "router", tid: 2, sid: 3, parent: 2, kind: ptrace.SpanKindServer, dur: 10 * time.Millisecond},
		// api -> openai: a virtual node named by the first peer attribute
		spanSpec{service: "api", tid: 1, sid: 4, parent: 1, kind: ptrace.SpanKindClient, dur: 200 * time.Millisecond, attrs: map[string]any{"gen_ai.system": "openai", "db.system": "x"}},
		// a database by name: counted at once
		spanSpec{service: "router", tid: 1, sid: 5, parent: 3, kind: ptrace.SpanKindClient, dur: 2 * time.Millisecond, attrs: map[string]any{"db.name": "users"}},
	)))
	require.NoError(t, d.ConsumeTraces(ctx, traces(
		spanSpec{service: "api", tid: 2, sid: 2, parent: 1, kind: ptrace.SpanKindClient, dur: 12 * time.Millisecond},
	)))
	md := d.graph.build(*now)
	v, dp := sumValue(t, md, "traces_service_graph_request_total", map[string]string{"client": "api", "server": "router", "failed": "true"})
	assert.Equal(t, int64(1), v)
	assert.Equal(t, map[string]any{"client": "api", "server": "router", "connection_type": "", "failed": true,
		"client_tenant": "acme", "collector.instance.id": "gw-1"}, dp.Attributes().AsRaw())
	f, _ := sumValue(t, md, "traces_service_graph_request_failed_total", map[string]string{"client": "api", "server": "router"})
	assert.Equal(t, 1, countPoints(md, "traces_service_graph_request_failed_total"), "only failed edges have a failed counter")
	assert.Equal(t, int64(1), f)
	v, _ = sumValue(t, md, "traces_service_graph_request_total", map[string]string{"client": "api", "server": "router", "failed": "false"})
	assert.Equal(t, int64(1), v, "the second trace, its SERVER span first")
	v, _ = sumValue(t, md, "traces_service_graph_request_total", map[string]string{"server": "users", "connection_type": "database"})
	assert.Equal(t, int64(1), v)
	srv := histPoint(t, md, "traces_service_graph_request_server", map[string]string{"client": "api", "failed": "true"})
	cli := histPoint(t, md, "traces_service_graph_request_client", map[string]string{"client": "api", "failed": "true"})
	assert.InDelta(t, 0.010, srv.Sum(), 1e-9)
	assert.InDelta(t, 0.012, cli.Sum(), 1e-9)

	// The root SERVER span cannot be paired (its key has an empty span
	// id): user -> api is counted at once; api -> openai waits the TTL.
	d.graph.expire(now.Add(time.Second))
	assert.Equal(t, 4, countPoints(d.graph.build(*now), "traces_service_graph_request_total"))
	v, _ = sumValue(t, d.graph.build(*now), "traces_service_graph_request_total", map[string]string{"client": "user", "server": "api"})
	assert.Equal(t, int64(1), v)
	d.graph.expire(now.Add(3 * time.Second))
	md = d.graph.build(*now)
	v, dp = sumValue(t, md, "traces_service_graph_request_total", map[string]string{"client": "user", "server": "api"})
	assert.Equal(t, int64(1), v)
	cv, _ := dp.Attributes().Get("connection_type")
	assert.Equal(t, "virtual_node", cv.Str())
	v, _ = sumValue(t, md, "traces_service_graph_request_total", map[string]string{"client": "api", "server": "openai", "connection_type": "virtual_node"})
	assert.Equal(t, int64(1), v)
	assert.Zero(t, d.graph.waiting())
	assert.Equal(t, int32(-1), d.graph.head)

	// Series not updated for the stale period are forgotten.
	d.graph.dropStale(now.Add(16 * time.Minute))
	assert.Equal(t, 0, d.graph.build(*now).DataPointCount())
}

func countPoints(md pmetric.Metrics, name string) int {
	n := 0
	for _, m := range points([]pmetric.Metrics{md}, name, nil) {
		n += m.Sum().DataPoints().Len()
	}
	return n
}

func TestServiceGraphStoreFull(t *testing.T) {
	cfg := testConfig()
	cfg.ServiceGraph.Store.MaxItems = 1
	d, _, now := newTest(t, cfg)
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(
		spanSpec{service: "api", tid: 1, sid: 2, parent: 1, kind: ptrace.SpanKindClient, attrs: map[string]any{"gen_ai.system": "openai"}},
		spanSpec{service: "api", tid: 2, sid: 2, parent: 1, kind: ptrace.SpanKindClient, attrs: map[string]any{"gen_ai.system": "anthropic"}},
	)))
	d.graph.expire(now.Add(time.Hour))
	md := d.graph.build(*now)
	assert.Equal(t, 1, countPoints(md, "traces_service_graph_request_total"), "the second edge was dropped: the store was full")
	v, _ := sumValue(t, md, "traces_service_graph_request_total", map[string]string{"server": "openai"})
	assert.Equal(t, int64(1), v)
}

func TestTokensCumulativeWithTheBatchContext(t *testing.T) {
	d, sink, _ := newTest(t, testConfig())
	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"X-Scope-OrgID": {"acme"}})})
	batch := func(in, out any, system any) ptrace.Traces {
		attrs := map[string]any{"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": out, "gen_ai.request.model": "gpt-4o"}
		if system != nil {
			attrs["gen_ai.system"] = system
		}
		return traces(spanSpec{service: "api", tid: 1, sid: 2, kind: ptrace.SpanKindClient, attrs: attrs},
			spanSpec{service: "router", tid: 1, sid: 3, kind: ptrace.SpanKindServer})
	}
	require.NoError(t, d.ConsumeTraces(ctx, batch(100, 50, "openai")))
	require.NoError(t, d.ConsumeTraces(ctx, batch("30", 5.9, "openai")))
	require.NoError(t, d.ConsumeTraces(ctx, batch(7, "x", nil)))
	all := sink.AllMetrics()
	require.Len(t, all, 3, "one write per batch with token counts")
	in, dp := sumValue(t, all[1], inputTokensMetric, map[string]string{"gen_ai.system": "openai"})
	out, _ := sumValue(t, all[1], outputTokensMetric, map[string]string{"gen_ai.system": "openai"})
	assert.Equal(t, int64(130), in, "cumulative")
	assert.Equal(t, int64(55), out, "a double is truncated")
	assert.Equal(t, map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "collector.instance.id": "gw-1"}, dp.Attributes().AsRaw())
	rm := all[1].ResourceMetrics()
	require.Equal(t, 1, rm.Len(), "only resources with token counts")
	svc, _ := rm.At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, "api", svc.Str())

	in, _ = sumValue(t, all[2], inputTokensMetric, map[string]string{"gen_ai.system": "unknown"})
	assert.Equal(t, int64(7), in)
	assert.Equal(t, 0, len(points(all[2:], outputTokensMetric, nil)), "an unparsable count is not counted")
	assert.Equal(t, 1, all[2].DataPointCount(), "only the series the batch touched")
}

// The batch's client metadata (the sender's tenant) goes with its token
// counts, so headers_setter writes them to that tenant.
func TestTokensKeepTheSendersContext(t *testing.T) {
	var got []context.Context
	next, err := consumer.NewMetrics(func(ctx context.Context, _ pmetric.Metrics) error {
		got = append(got, ctx)
		return nil
	})
	require.NoError(t, err)
	d := newTestConnector(t, testConfig(), next)
	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"X-Scope-OrgID": {"acme"}})})
	require.NoError(t, d.ConsumeTraces(ctx, traces(spanSpec{service: "api", tid: 1, sid: 2, kind: ptrace.SpanKindClient, attrs: map[string]any{"gen_ai.usage.input_tokens": 1}})))
	require.Len(t, got, 1)
	assert.Equal(t, []string{"acme"}, client.FromContext(got[0]).Metadata.Get("X-Scope-OrgID"))
}

func TestTokensMaxStale(t *testing.T) {
	d, sink, now := newTest(t, testConfig())
	b := traces(spanSpec{service: "api", tid: 1, sid: 2, kind: ptrace.SpanKindClient, attrs: map[string]any{"gen_ai.usage.input_tokens": 10}})
	require.NoError(t, d.ConsumeTraces(context.Background(), b))
	*now = now.Add(6 * time.Minute)
	require.NoError(t, d.ConsumeTraces(context.Background(), b))
	in, _ := sumValue(t, sink.AllMetrics()[1], inputTokensMetric, nil)
	assert.Equal(t, int64(10), in, "a counter idle past max_stale starts again")
}

func TestLifecycleFlushes(t *testing.T) {
	cfg := testConfig()
	cfg.SpanMetrics.MetricsFlushInterval = 20 * time.Millisecond
	cfg.ServiceGraph.MetricsFlushInterval = 20 * time.Millisecond
	cfg.ServiceGraph.StoreExpirationLoop = 10 * time.Millisecond
	cfg.ServiceGraph.Store.TTL = time.Millisecond
	sink := &consumertest.MetricsSink{}
	d := newTestConnector(t, cfg, sink)
	require.NoError(t, d.Start(context.Background(), nil))
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindServer})))
	require.Eventually(t, func() bool {
		var calls, graph bool
		for _, md := range sink.AllMetrics() {
			calls = calls || len(points([]pmetric.Metrics{md}, callsMetric, nil)) > 0
			graph = graph || len(points([]pmetric.Metrics{md}, "traces_service_graph_request_total", nil)) > 0
		}
		return calls && graph
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, d.Shutdown(context.Background()))
	require.NoError(t, d.Shutdown(context.Background()))
}

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "gw-7", cfg.InstanceID)
	assert.Equal(t, []time.Duration{5 * time.Millisecond, time.Second}, cfg.SpanMetrics.Buckets)
	assert.Equal(t, 5000, cfg.SpanMetrics.AggregationCardinalityLimit)
	assert.Equal(t, []string{"tenant"}, cfg.ServiceGraph.Dimensions)
	assert.Equal(t, 10000, cfg.ServiceGraph.Store.MaxItems)
	assert.Equal(t, "gen_ai.usage.input_tokens", cfg.Tokens.InputAttribute, "defaults stay")

	bad := createDefaultConfig().(*Config)
	bad.SpanMetrics.Buckets = []time.Duration{time.Second, time.Millisecond}
	bad.ServiceGraph.Store.TTL = 0
	bad.Tokens.Attributes = []TokenAttribute{{Key: "gen_ai.system"}}
	err = bad.Validate()
	require.Error(t, err)
	for _, want := range []string{"span_metrics.buckets", "store.ttl", `"gen_ai.system" needs a key and a default_value`} {
		assert.Contains(t, err.Error(), want)
	}
}

// Edges are reused once counted: nothing of the last one may leak into
// the next (its tenant, its peer, its failure).
func TestServiceGraphReusedEdgesStartClean(t *testing.T) {
	d, _, now := newTest(t, testConfig())
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(
		spanSpec{service: "api", tid: 1, sid: 2, parent: 1, kind: ptrace.SpanKindClient, failed: true, resourceExtras: map[string]any{"tenant": "acme"}, attrs: map[string]any{"gen_ai.system": "openai"}},
		spanSpec{service: "router", tid: 1, sid: 3, parent: 2, kind: ptrace.SpanKindServer, resourceExtras: map[string]any{"tenant": "acme"}},
	)))
	require.Len(t, d.graph.free, 1)
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(
		spanSpec{service: "api", tid: 2, sid: 2, parent: 1, kind: ptrace.SpanKindClient},
	)))
	d.graph.expire(now.Add(time.Hour))
	_, dp := sumValue(t, d.graph.build(*now), "traces_service_graph_request_total", map[string]string{"server": "unknown"})
	assert.Equal(t, map[string]any{"client": "api", "server": "unknown", "connection_type": "virtual_node", "failed": false,
		"collector.instance.id": "gw-1"}, dp.Attributes().AsRaw())
}

// A dimension comes from the span, else its resource, else its default.
func TestSpanMetricsDimensionSources(t *testing.T) {
	cfg := testConfig()
	none := "none"
	cfg.SpanMetrics.Dimensions = []Dimension{{Name: "env"}, {Name: "tenant", Default: &none}}
	d, _, now := newTest(t, cfg)
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(
		spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindServer, name: "from-resource", resourceExtras: map[string]any{"env": "prod"}},
		spanSpec{service: "api", tid: 1, sid: 2, kind: ptrace.SpanKindServer, name: "span-wins", resourceExtras: map[string]any{"env": "prod"}, attrs: map[string]any{"env": "canary", "tenant": "acme"}},
		spanSpec{service: "api", tid: 1, sid: 3, kind: ptrace.SpanKindServer, name: "absent"},
	)))
	md := d.spans.build(*now)
	for name, want := range map[string]map[string]any{
		"from-resource": {"env": "prod", "tenant": "none"},
		"span-wins":     {"env": "canary", "tenant": "acme"},
		"absent":        {"tenant": "none"},
	} {
		_, dp := sumValue(t, md, callsMetric, map[string]string{"span.name": name})
		got := dp.Attributes().AsRaw()
		for _, k := range []string{"service", "span.name", "span.kind", "status.code", "collector.instance.id"} {
			delete(got, k)
		}
		assert.Equal(t, want, got, name)
	}
}

// Shutdown writes what the timers had not yet: every span-metric series
// (a new counter as 0 then its value, since no later flush will come) and
// every service-graph series, with the edges still waiting counted as on
// expiry.
func TestShutdownFlushesEverythingHeld(t *testing.T) {
	cfg := testConfig()
	// Longer than the test: only Shutdown can write anything.
	cfg.SpanMetrics.MetricsFlushInterval = time.Hour
	cfg.ServiceGraph.MetricsFlushInterval = time.Hour
	cfg.ServiceGraph.StoreExpirationLoop = time.Hour
	d, sink, now := newTest(t, cfg)
	require.NoError(t, d.Start(context.Background(), nil))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		require.NoError(t, d.ConsumeTraces(ctx, traces(
			// root SERVER span: no parent, so "user" calls it
			spanSpec{service: "api", tid: byte(i + 1), sid: 1, kind: ptrace.SpanKindServer, name: "POST /chat", dur: 300 * time.Millisecond},
			// both halves arrived: counted as a real edge
			spanSpec{service: "api", tid: byte(i + 1), sid: 2, parent: 1, kind: ptrace.SpanKindClient, name: "route", dur: 20 * time.Millisecond, failed: i == 0},
			spanSpec{service: "router", tid: byte(i + 1), sid: 3, parent: 2, kind: ptrace.SpanKindServer, name: "route", dur: 10 * time.Millisecond},
			// no SERVER half will come: the peer attribute names the server
			spanSpec{service: "api", tid: byte(i + 1), sid: 4, parent: 1, kind: ptrace.SpanKindClient, name: "chat", dur: 200 * time.Millisecond,
				attrs: map[string]any{"gen_ai.system": "openai"}},
			// a SERVER span whose CLIENT parent went elsewhere: not a
			// root, so no virtual client (the stock expiry rule)
			spanSpec{service: "router", tid: byte(i + 1), sid: 5, parent: 9, kind: ptrace.SpanKindServer, name: "orphan", dur: 10 * time.Millisecond},
		)))
	}
	*now = now.Add(10 * time.Millisecond) // well inside the store's TTL
	require.Empty(t, sink.AllMetrics(), "no timer has fired")
	require.Equal(t, 3*2, d.graph.waiting(), "the root SERVER spans' edges were counted at once")

	require.NoError(t, d.Shutdown(ctx))
	all := sink.AllMetrics()
	require.Len(t, all, 2, "one write of span metrics, one of the service graph")
	spans, graph := all[0], all[1]

	ts := pcommon.NewTimestampFromTime(*now)
	// span name: calls, series (route: the failed CLIENT span, the other
	// two, and the SERVER spans)
	want := map[string][2]int{"POST /chat": {3, 1}, "route": {6, 3}, "chat": {3, 1}, "orphan": {3, 1}}
	for name, w := range want {
		var dps []pmetric.NumberDataPoint
		for _, m := range points([]pmetric.Metrics{spans}, callsMetric, nil) {
			for i := 0; i < m.Sum().DataPoints().Len(); i++ {
				if dp := m.Sum().DataPoints().At(i); matches(dp.Attributes(), map[string]string{"span.name": name}) {
					dps = append(dps, dp)
				}
			}
		}
		var total int64
		for _, dp := range dps {
			if dp.IntValue() == 0 {
				assert.Less(t, dp.Timestamp(), ts, "%s: the 0 goes first", name)
				assert.LessOrEqual(t, dp.Timestamp(), ts-pcommon.Timestamp(time.Millisecond), "%s: a millisecond apart at least", name)
				continue
			}
			assert.Equal(t, ts, dp.Timestamp())
			total += dp.IntValue()
		}
		assert.Equal(t, int64(w[0]), total, "%s calls", name)
		assert.Len(t, dps, 2*w[1], "%s: a 0 and the value per series", name)
	}
	h := histPoint(t, spans, latencyMetric, map[string]string{"span.name": "chat"})
	assert.Equal(t, uint64(3), h.Count())

	edge := func(client, server string, failed bool) int64 {
		v, _ := sumValue(t, graph, "traces_service_graph_request_total", map[string]string{"client": client, "server": server, "failed": fmt.Sprint(failed)})
		return v
	}
	assert.Equal(t, int64(1), edge("api", "router", true))
	assert.Equal(t, int64(2), edge("api", "router", false))
	assert.Equal(t, int64(3), edge("user", "api", false))
	assert.Equal(t, int64(3), edge("api", "openai", false))
	assert.Equal(t, 4, countPoints(graph, "traces_service_graph_request_total"), "nothing else: the orphan SERVER span has no virtual client")
	_, dp := sumValue(t, graph, "traces_service_graph_request_total", map[string]string{"server": "openai"})
	ct, _ := dp.Attributes().Get("connection_type")
	assert.Equal(t, "virtual_node", ct.Str())
	f, _ := sumValue(t, graph, "traces_service_graph_request_failed_total", map[string]string{"client": "api", "server": "router"})
	assert.Equal(t, int64(1), f)
	assert.Zero(t, d.graph.waiting())

	// A second Shutdown writes nothing more.
	require.NoError(t, d.Shutdown(ctx))
	assert.Len(t, sink.AllMetrics(), 2)
}

// Without virtual_node_peer_attributes an expired edge is dropped, at
// shutdown as on expiry.
func TestShutdownWithoutVirtualNodes(t *testing.T) {
	cfg := testConfig()
	cfg.ServiceGraph.VirtualNodePeerAttributes = nil
	d, sink, _ := newTest(t, cfg)
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(
		spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindServer},
		spanSpec{service: "api", tid: 1, sid: 2, parent: 1, kind: ptrace.SpanKindClient, attrs: map[string]any{"gen_ai.system": "openai"}},
	)))
	// Never started: Shutdown still writes what was consumed.
	require.NoError(t, d.Shutdown(context.Background()))
	all := sink.AllMetrics()
	require.Len(t, all, 1, "span metrics only: no edge was complete")
	assert.Empty(t, points(all, "traces_service_graph_request_total", nil))
	assert.Equal(t, 2*2+2, all[0].DataPointCount(), "two call counters as 0 and value, two histograms")
	assert.Zero(t, d.graph.waiting())
}

func TestShutdownWithoutStartOrData(t *testing.T) {
	d, sink, _ := newTest(t, testConfig())
	require.NoError(t, d.Shutdown(context.Background()))
	require.NoError(t, d.Shutdown(context.Background()))
	assert.Empty(t, sink.AllMetrics())
}

// A refusal by the next consumer at shutdown is returned, not only logged.
func TestShutdownReturnsTheRefusal(t *testing.T) {
	cfg := testConfig()
	d := newTestConnector(t, cfg, consumertest.NewErr(errors.New("queue full")))
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindServer})))
	assert.ErrorContains(t, d.Shutdown(context.Background()), "queue full")
}
