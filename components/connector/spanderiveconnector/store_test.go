// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// graphTotals runs gateway-shaped batches through a connector, some with
// their resources reversed (the router's SERVER spans before the
// gateway's CLIENT spans), some repeated, with expiries between, and
// returns every service-graph series as text with its counts.
func graphTotals(t *testing.T) (map[string]string, *serviceGraph) {
	cfg := benchConfig()
	d := newTestConnector(t, cfg, consumertest.NewNop())
	now := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return now }
	for i, n := range []uint32{1, 2, 2, 3, 4, 4} {
		td := gatewayBatch(t)
		renumber(td, n)
		if i%2 == 1 {
			td = reversed(td)
		}
		require.NoError(t, d.ConsumeTraces(context.Background(), td))
		now = now.Add(time.Second)
		d.graph.expire(now)
	}
	now = now.Add(time.Minute)
	d.graph.expireAll(now)
	out := map[string]string{}
	for k, s := range d.graph.series {
		out[k] = fmt.Sprint(s.total, s.failedCnt, s.server.buckets, s.client.buckets)
	}
	return out, d.graph
}

func reversed(td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	rss := td.ResourceSpans()
	for i := rss.Len() - 1; i >= 0; i-- {
		rss.At(i).CopyTo(out.ResourceSpans().AppendEmpty())
	}
	return out
}

// Two waiting edges whose keys hash alike are kept apart (overflow): the
// series are those of a run without any collision.
func TestStoreHashCollisionsChangeNothing(t *testing.T) {
	want, _ := graphTotals(t)
	require.NotEmpty(t, want)
	// Four hashes for all keys: each is held by one edge at a time, and
	// the holder often completes or expires before the others.
	keyHash = func(k edgeKey) uint64 { return uint64(k.tid[15] % 4) }
	t.Cleanup(func() { keyHash = mixKey })
	got, g := graphTotals(t)
	assert.Equal(t, want, got)
	assert.Zero(t, g.waiting())
}

// Every string a waiting edge held is forgotten once no edge holds it:
// after all edges are counted or expired only the virtual nodes' names
// remain interned, and freed slab slots are all reusable.
func TestStoreForgetsStrings(t *testing.T) {
	_, g := graphTotals(t)
	assert.Zero(t, g.waiting())
	assert.Equal(t, map[string]uint32{"user": g.user, "unknown": g.unknown}, g.strs.ids)
	assert.Len(t, g.free, len(g.edges))
	assert.Equal(t, int32(-1), g.head)
	assert.Equal(t, int32(-1), g.tail)
}

func TestSpanAttrs(t *testing.T) {
	var a spanAttrs
	a.load(pcommon.NewMap()) // no keys registered: nothing to do
	var slots []int
	// More keys than the smallest table holds a quarter of: it grows.
	for i := 0; i < 100; i++ {
		slots = append(slots, a.slot(fmt.Sprintf("key.%d", i)))
	}
	assert.Equal(t, slots[7], a.slot("key.7"), "a key registered twice has one slot")
	m := pcommon.NewMap()
	m.PutStr("key.3", "three")
	m.PutInt("key.99", 99)
	m.PutStr("other", "x")
	m.PutStr("", "empty key")
	a.load(m)
	v, ok := a.get(slots[3])
	assert.True(t, ok)
	assert.Equal(t, "three", v.Str())
	v, ok = a.get(slots[99])
	assert.True(t, ok)
	assert.Equal(t, int64(99), v.Int())
	_, ok = a.get(slots[4])
	assert.False(t, ok)
	a.load(pcommon.NewMap())
	_, ok = a.get(slots[3])
	assert.False(t, ok, "each load starts empty")
}

// The edge holding a hash completes while another with the same hash
// waits in overflow: the other is still found by its second half.
func TestStoreOverflowOutlivesTheHashHolder(t *testing.T) {
	keyHash = func(edgeKey) uint64 { return 42 }
	t.Cleanup(func() { keyHash = mixKey })
	d, _, now := newTest(t, testConfig())
	require.NoError(t, d.ConsumeTraces(context.Background(), traces(
		spanSpec{service: "router", tid: 1, sid: 10, parent: 1, kind: ptrace.SpanKindServer},
		spanSpec{service: "router", tid: 2, sid: 20, parent: 2, kind: ptrace.SpanKindServer},
		spanSpec{service: "api", tid: 1, sid: 1, kind: ptrace.SpanKindClient},
		spanSpec{service: "api", tid: 2, sid: 2, kind: ptrace.SpanKindClient},
	)))
	assert.Zero(t, d.graph.waiting(), "both edges paired")
	v, _ := sumValue(t, d.graph.build(*now), "traces_service_graph_request_total", map[string]string{"client": "api", "server": "router"})
	assert.Equal(t, int64(2), v)
}
