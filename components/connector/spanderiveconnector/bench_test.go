// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// benchConfig is collector-configs/gateway.yaml's spanderive block with
// its environment defaults.
func benchConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.InstanceID = "gateway-0"
	buckets := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
		5 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second}
	sm := &cfg.SpanMetrics
	sm.Buckets = buckets
	sm.Dimensions = []Dimension{{Name: "gen_ai.system"}, {Name: "gen_ai.request.model"}, {Name: "http.route"},
		{Name: "http.response.status_code"}, {Name: "tenant"}}
	sm.Exemplars.Enabled = true
	sm.AggregationCardinalityLimit = 5000
	sm.MetricsFlushInterval = 15 * time.Second
	sm.MetricsExpiration, sm.SeriesExpiration = 10*time.Minute, 10*time.Minute
	sg := &cfg.ServiceGraph
	sg.Dimensions = []string{"tenant"}
	sg.Buckets = buckets
	sg.VirtualNodePeerAttributes = []string{"gen_ai.system", "peer.service", "db.system", "db.name", "server.address"}
	sg.Store = StoreConfig{TTL: 2 * time.Second, MaxItems: 500000}
	sg.StoreExpirationLoop = 500 * time.Millisecond
	sg.MetricsFlushInterval = 15 * time.Second
	return cfg
}

// gatewayBatch is one batch as the gateway's connector gets it: the load
// generator's 400 spans (80 requests: gateway SERVER, provider CLIENT with
// GenAI attributes and token counts, router CLIENT and SERVER, Redis
// CLIENT; every tenth request failed), decoded from protobuf as the
// receiver does.
func gatewayBatch(tb testing.TB) ptrace.Traces {
	td := loadgen.Scenario{Requests: 80, FailEvery: loadgen.TraceFailEvery, Start: time.Unix(1_700_000_000, 0)}.Traces()
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		td.ResourceSpans().At(i).Resource().Attributes().PutStr("tenant", "tenant-a")
	}
	buf, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(tb, err)
	td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf)
	require.NoError(tb, err)
	return td
}

// renumber gives every trace of the batch a new id, so that each
// iteration's spans are new traffic, not the other halves of the last
// one's waiting edges.
func renumber(td ptrace.Traces, n uint32) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				tid := sp.TraceID()
				binary.BigEndian.PutUint32(tid[:4], n)
				sp.SetTraceID(tid)
			}
		}
	}
}

// BenchmarkConsumeTraces: the connector's cost per span at the gateway's
// rate (a 400-span batch every 1.3 ms of simulated time, ~300k spans/s),
// with the store's expiry loop run on the simulated clock, so waiting edges
// come and go as in production.
func BenchmarkConsumeTraces(b *testing.B) {
	cfg := benchConfig()
	require.NoError(b, cfg.Validate())
	d, err := newConnector(componenttest.NewNopTelemetrySettings(), cfg, consumertest.NewNop())
	require.NoError(b, err)
	now := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return now }
	td := gatewayBatch(b)
	spans := td.SpanCount()
	const step = 1333 * time.Microsecond
	nextExpiry := now.Add(cfg.ServiceGraph.StoreExpirationLoop)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		renumber(td, uint32(i+1))
		b.StartTimer()
		now = now.Add(step)
		if err := d.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
		if now.After(nextExpiry) {
			d.mu.Lock()
			d.graph.expire(now)
			d.mu.Unlock()
			nextExpiry = now.Add(cfg.ServiceGraph.StoreExpirationLoop)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	b.ReportMetric(float64(d.graph.waiting()), "waiting-edges")
}
