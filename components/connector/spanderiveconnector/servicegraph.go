// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	graphScope          = "traces_service_graph"
	connMessagingSystem = "messaging_system"
	connDatabase        = "database"
	connVirtualNode     = "virtual_node"
)

// serviceGraph pairs the CLIENT (or PRODUCER) span of a call with its
// SERVER (or CONSUMER) span by trace id and the client's span id, as the
// stock service_graph connector's store does: an edge waits up to the
// store's TTL for its other half, then counts against a virtual node.
type serviceGraph struct {
	cfg      *ServiceGraphConfig
	instance string
	start    pcommon.Timestamp
	bounds   []float64
	ttl      time.Duration

	pending map[edgeKey]*edge
	// head..tail: pending edges in insertion order, which is expiry order
	// (one TTL for all).
	head, tail *edge

	series map[string]*sgSeries
	keyBuf []byte
	// free holds edges already counted, for reuse: at tens of thousands
	// of spans a second, allocating one per call was most of this part's
	// cost.
	free []*edge

	// dropped (spans that found the store full) and expired (edges whose
	// other half never came) since derive last reported them.
	dropped, expired int64
}

type edgeKey struct {
	tid pcommon.TraceID
	sid pcommon.SpanID
}

type edge struct {
	key            edgeKey
	connectionType string
	client, server string
	clientLatency  float64
	serverLatency  float64
	failed         bool
	// dims[i] is client_<dim i>, dims[n+i] server_<dim i>; set marks presence.
	dims    []string
	set     []bool
	inline  [4]string // dims and set live here for up to two dimensions
	inSet   [4]bool
	peerIdx int // index into VirtualNodePeerAttributes, -1: none
	peer    string
	expires time.Time

	prev, next *edge
}

type sgSeries struct {
	attrs            pcommon.Map
	total, failedCnt int64
	server, client   histogram
	lastUpdated      time.Time
}

type histogram struct {
	buckets []uint64
	count   uint64
	sum     float64
}

func newServiceGraph(cfg *Config, start time.Time) *serviceGraph {
	bounds := make([]float64, len(cfg.ServiceGraph.Buckets))
	for i, b := range cfg.ServiceGraph.Buckets {
		bounds[i] = b.Seconds()
	}
	return &serviceGraph{
		cfg:      &cfg.ServiceGraph,
		instance: cfg.InstanceID,
		start:    pcommon.NewTimestampFromTime(start),
		bounds:   bounds,
		ttl:      cfg.ServiceGraph.Store.TTL,
		pending:  map[edgeKey]*edge{},
		series:   map[string]*sgSeries{},
	}
}

// The stock connector divides the unsigned difference, so an end before
// the start is a huge latency there too.
func graphSeconds(span ptrace.Span) float64 {
	return float64(span.EndTimestamp()-span.StartTimestamp()) / 1e9
}

func (g *serviceGraph) add(service string, span ptrace.Span, attrs, res pcommon.Map, now time.Time) {
	connectionType := ""
	switch span.Kind() {
	case ptrace.SpanKindProducer:
		connectionType = connMessagingSystem
		fallthrough
	case ptrace.SpanKindClient:
		e, isNew := g.upsert(edgeKey{span.TraceID(), span.SpanID()}, now)
		if e == nil {
			return
		}
		e.connectionType = connectionType
		e.client = service
		e.clientLatency = graphSeconds(span)
		e.failed = e.failed || span.Status().Code() == ptrace.StatusCodeError
		g.setDims(e, 0, attrs, res)
		for i, name := range g.cfg.VirtualNodePeerAttributes {
			if v, ok := attrs.Get(name); ok {
				e.peerIdx, e.peer = i, v.AsString()
				break
			}
		}
		if db, ok := firstValue(g.cfg.DatabaseNameAttributes, res, attrs); ok {
			e.connectionType = connDatabase
			e.server = db
			e.serverLatency = graphSeconds(span)
		}
		g.settle(e, isNew, now)
	case ptrace.SpanKindConsumer:
		connectionType = connMessagingSystem
		fallthrough
	case ptrace.SpanKindServer:
		e, isNew := g.upsert(edgeKey{span.TraceID(), span.ParentSpanID()}, now)
		if e == nil {
			return
		}
		e.connectionType = connectionType
		e.server = service
		e.serverLatency = graphSeconds(span)
		e.failed = e.failed || span.Status().Code() == ptrace.StatusCodeError
		g.setDims(e, len(g.cfg.Dimensions), attrs, res)
		g.settle(e, isNew, now)
	}
}

// upsert finds the waiting edge for key, or makes a new one that is not
// yet stored (settle stores it if it is still incomplete). nil: the store
// is full, the span is dropped as in the stock connector.
func (g *serviceGraph) upsert(key edgeKey, now time.Time) (*edge, bool) {
	if e, ok := g.pending[key]; ok {
		return e, false
	}
	var e *edge
	if n := len(g.free); n > 0 {
		e = g.free[n-1]
		g.free = g.free[:n-1]
		dims, set := e.dims, e.set
		clear(dims)
		clear(set)
		*e = edge{dims: dims, set: set}
	} else {
		e = &edge{}
		if n := 2 * len(g.cfg.Dimensions); n <= len(e.inline) {
			e.dims, e.set = e.inline[:n], e.inSet[:n]
		} else {
			e.dims, e.set = make([]string, n), make([]bool, n)
		}
	}
	e.key, e.peerIdx, e.expires = key, -1, now.Add(g.ttl)
	return e, true
}

// recycle returns an edge that is in no list or map any more.
func (g *serviceGraph) recycle(e *edge) {
	if len(g.free) < g.cfg.Store.MaxItems {
		g.free = append(g.free, e)
	}
}

func (g *serviceGraph) settle(e *edge, isNew bool, now time.Time) {
	complete := e.client != "" && e.server != ""
	switch {
	case complete:
		g.count(e, now)
		if !isNew {
			g.unlink(e)
		}
		g.recycle(e)
	case isNew:
		if len(g.pending) >= g.cfg.Store.MaxItems {
			g.dropped++
			g.recycle(e) // dropped: too many items
			return
		}
		g.pending[e.key] = e
		e.prev = g.tail
		if g.tail != nil {
			g.tail.next = e
		} else {
			g.head = e
		}
		g.tail = e
	}
}

func (g *serviceGraph) unlink(e *edge) {
	delete(g.pending, e.key)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		g.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		g.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (g *serviceGraph) setDims(e *edge, offset int, attrs, res pcommon.Map) {
	for i, name := range g.cfg.Dimensions {
		if v, ok := res.Get(name); ok {
			e.dims[offset+i], e.set[offset+i] = v.AsString(), true
		} else if v, ok := attrs.Get(name); ok {
			e.dims[offset+i], e.set[offset+i] = v.AsString(), true
		}
	}
}

func firstValue(keys []string, maps ...pcommon.Map) (string, bool) {
	for _, k := range keys {
		for _, m := range maps {
			if v, ok := m.Get(k); ok {
				return v.AsString(), true
			}
		}
	}
	return "", false
}

// expire counts every edge whose TTL has passed against a virtual node:
// a SERVER span without a parent is called by "user", a CLIENT span
// without its SERVER half calls its first peer attribute (or "unknown").
func (g *serviceGraph) expire(now time.Time) {
	for g.head != nil && now.After(g.head.expires) {
		g.expireEdge(g.head, now)
	}
}

// expireAll expires every waiting edge, TTL or not: at shutdown the other
// half of an edge can no longer arrive here (the load-balancing exporter
// sends a trace's spans to one gateway, and this one has stopped taking
// them). An edge whose two halves both arrived was counted when the second
// one did, so every edge still waiting is incomplete.
func (g *serviceGraph) expireAll(now time.Time) {
	for g.head != nil {
		g.expireEdge(g.head, now)
	}
}

func (g *serviceGraph) expireEdge(e *edge, now time.Time) {
	g.unlink(e)
	defer g.recycle(e)
	g.expired++
	if len(g.cfg.VirtualNodePeerAttributes) == 0 {
		return
	}
	e.connectionType = connVirtualNode
	if e.client == "" && e.key.sid.IsEmpty() {
		e.client = "user"
		g.count(e, now)
	}
	if e.server == "" {
		e.server = "unknown"
		if e.peerIdx >= 0 {
			e.server = e.peer
		}
		g.count(e, now)
	}
}

func (g *serviceGraph) count(e *edge, now time.Time) {
	b := append(g.keyBuf[:0], e.client...)
	b = append(b, 0)
	b = append(b, e.server...)
	b = append(b, 0)
	b = append(b, e.connectionType...)
	b = append(b, 0)
	if e.failed {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	n := len(g.cfg.Dimensions)
	for i, name := range g.cfg.Dimensions {
		for side, prefix := range [2]string{"client_", "server_"} {
			if e.set[side*n+i] {
				b = append(b, 0)
				b = append(b, prefix...)
				b = append(b, name...)
				b = append(b, '_')
				b = append(b, e.dims[side*n+i]...)
			}
		}
	}
	g.keyBuf = b
	s, ok := g.series[string(b)]
	if !ok {
		s = &sgSeries{
			attrs:  pcommon.NewMap(),
			server: histogram{buckets: make([]uint64, len(g.bounds)+1)},
			client: histogram{buckets: make([]uint64, len(g.bounds)+1)},
		}
		a := s.attrs
		a.PutStr("client", e.client)
		a.PutStr("server", e.server)
		a.PutStr("connection_type", e.connectionType)
		a.PutBool("failed", e.failed)
		for i, name := range g.cfg.Dimensions {
			if e.set[i] {
				a.PutStr("client_"+name, e.dims[i])
			}
			if e.set[n+i] {
				a.PutStr("server_"+name, e.dims[n+i])
			}
		}
		a.PutStr(instanceKey, g.instance)
		g.series[strings.Clone(string(b))] = s
	}
	s.lastUpdated = now
	s.total++
	if e.failed {
		s.failedCnt++
	}
	s.server.observe(g.bounds, e.serverLatency)
	s.client.observe(g.bounds, e.clientLatency)
}

func (h *histogram) observe(bounds []float64, v float64) {
	h.buckets[sort.SearchFloat64s(bounds, v)]++
	h.count++
	h.sum += v
}

// dropStale forgets series not updated for StaleSeries, as the stock
// connector's cache loop does (15 minutes there, fixed).
func (g *serviceGraph) dropStale(now time.Time) {
	for k, s := range g.series {
		if now.Sub(s.lastUpdated) > g.cfg.StaleSeries {
			delete(g.series, k)
		}
	}
}

func (g *serviceGraph) build(now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	if len(g.series) == 0 {
		return md
	}
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(graphScope)
	ts := pcommon.NewTimestampFromTime(now)

	total := sm.Metrics().AppendEmpty()
	total.SetName("traces_service_graph_request_total")
	totalSum := total.SetEmptySum()
	totalSum.SetIsMonotonic(true)
	totalSum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	var failedSum pmetric.Sum
	for _, s := range g.series {
		if s.failedCnt == 0 {
			continue
		}
		failed := sm.Metrics().AppendEmpty()
		failed.SetName("traces_service_graph_request_failed_total")
		failedSum = failed.SetEmptySum()
		failedSum.SetIsMonotonic(true)
		failedSum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		break
	}
	server := g.histogramMetric(sm, "traces_service_graph_request_server")
	client := g.histogramMetric(sm, "traces_service_graph_request_client")
	for _, s := range g.series {
		dp := totalSum.DataPoints().AppendEmpty()
		g.stamp(dp, ts, s.attrs)
		dp.SetIntValue(s.total)
		if s.failedCnt > 0 {
			dp := failedSum.DataPoints().AppendEmpty()
			g.stamp(dp, ts, s.attrs)
			dp.SetIntValue(s.failedCnt)
		}
		g.histogramPoint(server.DataPoints().AppendEmpty(), ts, s.attrs, &s.server)
		g.histogramPoint(client.DataPoints().AppendEmpty(), ts, s.attrs, &s.client)
	}
	return md
}

func (g *serviceGraph) stamp(dp pmetric.NumberDataPoint, ts pcommon.Timestamp, attrs pcommon.Map) {
	dp.SetStartTimestamp(g.start)
	dp.SetTimestamp(ts)
	attrs.CopyTo(dp.Attributes())
}

func (*serviceGraph) histogramMetric(sm pmetric.ScopeMetrics, name string) pmetric.Histogram {
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	// Remote write appends _seconds: traces_service_graph_request_server_seconds.
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return h
}

func (g *serviceGraph) histogramPoint(dp pmetric.HistogramDataPoint, ts pcommon.Timestamp, attrs pcommon.Map, h *histogram) {
	dp.SetStartTimestamp(g.start)
	dp.SetTimestamp(ts)
	dp.ExplicitBounds().FromRaw(g.bounds)
	dp.BucketCounts().FromRaw(h.buckets)
	dp.SetCount(h.count)
	dp.SetSum(h.sum)
	attrs.CopyTo(dp.Attributes())
}
