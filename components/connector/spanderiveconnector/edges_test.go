// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector/internal/metadatatest"
)

func newTestConnector(t *testing.T, cfg *Config, next consumer.Metrics) *derive {
	t.Helper()
	d, err := newConnector(componenttest.NewNopTelemetrySettings(), cfg, next)
	require.NoError(t, err)
	return d
}

// orphanServer is a SERVER span whose CLIENT parent never arrives: its
// edge waits in the store for the whole TTL. (A root SERVER span's edge
// never waits: it is counted at once.)
func orphanServer(tid byte) spanSpec {
	return spanSpec{service: "api", tid: tid, sid: tid, parent: 200, kind: ptrace.SpanKindServer}
}

// A span that finds the store full is counted in
// otelcol_connector_spanderive_dropped_spans and logged, at most once a
// minute with the count since the last line; edges that wait out the TTL
// are counted as expired, completed ones are not.
func TestStoreFullCountsAndLogsDrops(t *testing.T) {
	cfg := testConfig()
	cfg.ServiceGraph.Store.MaxItems = 2
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := tel.NewTelemetrySettings()
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	d, err := newConnector(set, cfg, &consumertest.MetricsSink{})
	require.NoError(t, err)
	now := t0
	d.now = func() time.Time { return now }
	ctx := context.Background()

	dropped := func(want int64) {
		t.Helper()
		metadatatest.AssertEqualConnectorSpanderiveDroppedSpans(t, tel,
			[]metricdata.DataPoint[int64]{{Value: want}}, metricdatatest.IgnoreTimestamp())
	}
	dropLines := func() []observer.LoggedEntry {
		return logs.FilterMessageSnippet("Service graph store full").AllUntimed()
	}

	// A client and its server complete an edge: it never occupies the store.
	require.NoError(t, d.ConsumeTraces(ctx, traces(
		spanSpec{service: "api", tid: 100, sid: 7, kind: ptrace.SpanKindClient},
		spanSpec{service: "llm", tid: 100, sid: 8, parent: 7, kind: ptrace.SpanKindServer},
	)))
	require.NoError(t, d.ConsumeTraces(ctx, traces(orphanServer(1), orphanServer(2), orphanServer(3), orphanServer(4), orphanServer(5))))
	dropped(3)
	lines := dropLines()
	require.Len(t, lines, 1)
	assert.Equal(t, zapcore.InfoLevel, lines[0].Level)
	fields := lines[0].ContextMap()
	assert.Equal(t, int64(3), fields["dropped_spans"])
	assert.Equal(t, int64(2), fields["max_items"])

	// Within the minute: counted, not logged.
	now = now.Add(30 * time.Second)
	require.NoError(t, d.ConsumeTraces(ctx, traces(orphanServer(6), orphanServer(7))))
	dropped(5)
	assert.Len(t, dropLines(), 1)

	// A minute after the first line, the next drop logs all since then.
	now = now.Add(31 * time.Second)
	require.NoError(t, d.ConsumeTraces(ctx, traces(orphanServer(8))))
	dropped(6)
	lines = dropLines()
	require.Len(t, lines, 2)
	assert.Equal(t, int64(3), lines[1].ContextMap()["dropped_spans"])

	// Shutdown expires the two waiting edges; no drop is left to log.
	require.NoError(t, d.Shutdown(ctx))
	metadatatest.AssertEqualConnectorSpanderiveExpiredEdges(t, tel,
		[]metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	assert.Len(t, dropLines(), 2)
}

// Drops not yet logged when the connector stops are logged then.
func TestShutdownLogsPendingDrops(t *testing.T) {
	cfg := testConfig()
	cfg.ServiceGraph.Store.MaxItems = 1
	set := componenttest.NewNopTelemetrySettings()
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	d, err := newConnector(set, cfg, &consumertest.MetricsSink{})
	require.NoError(t, err)
	now := t0
	d.now = func() time.Time { return now }
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(orphanServer(1), orphanServer(2))))
	now = now.Add(time.Second)
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(orphanServer(3), orphanServer(4))))
	require.NoError(t, d.Shutdown(context.Background()))
	lines := logs.FilterMessageSnippet("Service graph store full").AllUntimed()
	require.Len(t, lines, 2)
	assert.Equal(t, int64(2), lines[1].ContextMap()["dropped_spans"])
}

// waitingEdgeBytes is the heap one waiting edge holds, measured with
// gateway-shaped spans decoded from protobuf as the receiver does (so
// each kept attribute string is its own allocation): half SERVER spans
// whose CLIENT parent has not arrived, half CLIENT spans to an AI provider. The README's
// worst-case memory for service_graph.store.max_items is this times the
// setting.
func waitingEdgeBytes(t *testing.T, n int) float64 {
	cfg := testConfig()
	cfg.ServiceGraph.Store.MaxItems = n
	var attrs spanAttrs
	g := newServiceGraph(cfg, t0, &attrs)
	// Batches of 400 spans, as the loadgen and the batch processor send.
	const batch = 400
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for base := 0; base < n; base += batch {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "gateway-api")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := base; i < base+batch && i < n; i++ {
			sp := spans.AppendEmpty()
			var tid pcommon.TraceID
			binary.BigEndian.PutUint64(tid[:], uint64(i/2+1))
			sp.SetTraceID(tid)
			sp.SetSpanID(pcommon.SpanID{byte(i%2 + 1), 1})
			sp.SetParentSpanID(pcommon.SpanID{1, 1})
			if i%2 == 0 {
				sp.SetKind(ptrace.SpanKindServer)
			} else {
				sp.SetKind(ptrace.SpanKindClient)
				sp.Attributes().PutStr("gen_ai.system", "openai")
			}
			sp.Attributes().PutStr("tenant", "tenant-a")
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Millisecond)))
		}
		buf, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf)
		require.NoError(t, err)
		rs = td.ResourceSpans().At(0)
		service := rs.Resource().Attributes().AsRaw()["service.name"].(string)
		var r graphResource
		g.resource(service, rs.Resource().Attributes(), &r)
		spans = rs.ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			sp := spans.At(i)
			attrs.load(sp.Attributes())
			g.add(&r, sp, &attrs, rs.Resource().Attributes(), t0)
		}
		g.releaseResource(&r)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, n, g.waiting(), "every edge is waiting (nothing pairs, nothing dropped)")
	runtime.KeepAlive(g)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

func TestWaitingEdgeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~40 MB")
	}
	per := waitingEdgeBytes(t, 100_000)
	t.Logf("%.0f bytes per waiting edge; 250000 items: %.0f MiB", per, per*250_000/(1<<20))
	// README and gateway.yaml state ~125 B (60 MiB for the 500000 default).
	assert.Less(t, per, 150.0, "the stated worst case for max_items no longer holds")
}
