// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"encoding/binary"
	"math/bits"
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
//
// The waiting edges are most of this connector's live heap (hundreds of
// thousands at one core's rate), so they hold no pointers: a slab of
// fixed-size edges linked by index, their strings interned as numbers,
// and a map from a 64-bit hash of the key to the slab index. The garbage
// collector never scans them.
type serviceGraph struct {
	cfg      *ServiceGraphConfig
	instance string
	start    pcommon.Timestamp
	bounds   []float64
	ttl      time.Duration
	virtual  bool // virtual_node_peer_attributes set

	strs *interner
	// edges[i] is one edge; dims[i*2n:(i+1)*2n] its client_ then server_
	// dimension values (interned, 0: not set), n = len(cfg.Dimensions).
	edges []edge
	dims  []uint32
	nDims int
	// free: slab slots not in use.
	free []int32
	// pending indexes the waiting edges by keyHash; overflow holds an edge
	// whose hash another waiting edge already has (about once in 2^64/n
	// edges), so a collision never merges two edges.
	pending  edgeTable
	overflow map[edgeKey]int32
	// head..tail: waiting edges in insertion order, which is expiry order
	// (one TTL for all); -1: none.
	head, tail int32

	// hashTaken: the last upsert's new key has a hash another waiting
	// edge holds (settle then stores it in overflow); else newPos is the
	// free slot of pending it takes.
	hashTaken bool
	newPos    uint64
	// user and unknown: the virtual nodes' names, interned for good.
	user, unknown uint32

	// scratch is the edge of a root SERVER span, counted at once.
	scratch     edge
	scratchDims []uint32

	series map[string]*sgSeries
	keyBuf []byte

	// Slots in spanAttrs of the dimensions, peer and database attributes.
	dimSlot, peerSlot, dbSlot []int

	// dropped (spans that found the store full) and expired (edges whose
	// other half never came) since derive last reported them.
	dropped, expired int64
}

type edgeKey struct {
	tid pcommon.TraceID
	sid pcommon.SpanID
}

// keyHash mixes the 24 bytes of a key into 64 bits. Trace and span ids are
// random in real traffic but sequential in some tests and generators, so
// the words are multiplied in (wyhash's mum), not just xor-folded.
//
// A variable so that a test can make every key collide.
var keyHash = mixKey

func mixKey(k edgeKey) uint64 {
	a := binary.LittleEndian.Uint64(k.tid[:8])
	b := binary.LittleEndian.Uint64(k.tid[8:])
	c := binary.LittleEndian.Uint64(k.sid[:])
	return mum(mum(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)^c, 0x8ebc6af09c88c6e3)
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

type connType uint8

const (
	connNone connType = iota
	connMessaging
	connDB
	connVirtual
)

var connTypeNames = [...]string{connNone: "", connMessaging: connMessagingSystem, connDB: connDatabase, connVirtual: connVirtualNode}

// edge holds no pointer (see serviceGraph). client and server are interned
// service names, 0 while that half has not arrived (as in the stock store,
// an empty name counts as not arrived); peer is the interned value of the
// first virtual_node_peer_attributes the CLIENT span had, 0: none.
type edge struct {
	key            edgeKey
	expires        int64 // unix nanoseconds
	clientLatency  float64
	serverLatency  float64
	client, server uint32
	peer           uint32
	prev, next     int32
	conn           connType
	failed         bool
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

func newServiceGraph(cfg *Config, start time.Time, attrs *spanAttrs) *serviceGraph {
	slots := func(keys []string) []int {
		var s []int
		for _, k := range keys {
			s = append(s, attrs.slot(k))
		}
		return s
	}
	bounds := make([]float64, len(cfg.ServiceGraph.Buckets))
	for i, b := range cfg.ServiceGraph.Buckets {
		bounds[i] = b.Seconds()
	}
	n := len(cfg.ServiceGraph.Dimensions)
	strs := newInterner()
	return &serviceGraph{
		user:        strs.ref("user"),
		unknown:     strs.ref("unknown"),
		cfg:         &cfg.ServiceGraph,
		instance:    cfg.InstanceID,
		start:       pcommon.NewTimestampFromTime(start),
		bounds:      bounds,
		ttl:         cfg.ServiceGraph.Store.TTL,
		virtual:     len(cfg.ServiceGraph.VirtualNodePeerAttributes) > 0,
		strs:        strs,
		nDims:       n,
		overflow:    map[edgeKey]int32{},
		head:        -1,
		tail:        -1,
		scratchDims: make([]uint32, 2*n),
		series:      map[string]*sgSeries{},
		dimSlot:     slots(cfg.ServiceGraph.Dimensions),
		peerSlot:    slots(cfg.ServiceGraph.VirtualNodePeerAttributes),
		dbSlot:      slots(cfg.ServiceGraph.DatabaseNameAttributes),
	}
}

// waiting is the number of edges in the store.
func (g *serviceGraph) waiting() int { return g.pending.n + len(g.overflow) }

// graphResource is what the service graph takes from a ResourceSpans once:
// its service name and dimension values, interned (0: none). derive holds a
// reference to each for the resource's spans and releases it after them.
type graphResource struct {
	service uint32
	dims    []uint32
}

func (g *serviceGraph) resource(service string, res pcommon.Map, into *graphResource) {
	into.service = 0
	if service != "" {
		into.service = g.strs.ref(service)
	}
	into.dims = into.dims[:0]
	for _, name := range g.cfg.Dimensions {
		var id uint32
		if v, ok := res.Get(name); ok {
			id = g.strs.refValue(v)
		}
		into.dims = append(into.dims, id)
	}
}

func (g *serviceGraph) releaseResource(r *graphResource) {
	g.strs.unref(r.service)
	for _, id := range r.dims {
		g.strs.unref(id)
	}
}

// The stock connector divides the unsigned difference, so an end before
// the start is a huge latency there too.
func graphSeconds(span ptrace.Span) float64 {
	return float64(span.EndTimestamp()-span.StartTimestamp()) / 1e9
}

func (g *serviceGraph) add(r *graphResource, span ptrace.Span, attrs *spanAttrs, res pcommon.Map, now time.Time) {
	conn := connNone
	switch span.Kind() {
	case ptrace.SpanKindProducer:
		conn = connMessaging
		fallthrough
	case ptrace.SpanKindClient:
		idx, isNew := g.upsert(edgeKey{span.TraceID(), span.SpanID()}, now)
		if idx < 0 {
			return
		}
		e := &g.edges[idx]
		e.conn = conn
		g.setService(&e.client, r.service)
		e.clientLatency = graphSeconds(span)
		e.failed = e.failed || span.Status().Code() == ptrace.StatusCodeError
		g.setDims(g.edgeDims(idx), 0, r, attrs)
		for _, slot := range g.peerSlot {
			if v, ok := attrs.get(slot); ok {
				old := e.peer
				e.peer = g.strs.refValue(v)
				g.strs.unref(old)
				break
			}
		}
		if db, ok := g.database(res, attrs); ok {
			e.conn = connDB
			old := e.server
			e.server = 0
			if db != "" {
				e.server = g.strs.ref(db)
			}
			g.strs.unref(old)
			e.serverLatency = graphSeconds(span)
		}
		g.settle(idx, isNew, now)
	case ptrace.SpanKindConsumer:
		conn = connMessaging
		fallthrough
	case ptrace.SpanKindServer:
		if span.ParentSpanID().IsEmpty() {
			g.addRoot(r, span, attrs, now)
			return
		}
		idx, isNew := g.upsert(edgeKey{span.TraceID(), span.ParentSpanID()}, now)
		if idx < 0 {
			return
		}
		e := &g.edges[idx]
		e.conn = conn
		g.setService(&e.server, r.service)
		e.serverLatency = graphSeconds(span)
		e.failed = e.failed || span.Status().Code() == ptrace.StatusCodeError
		g.setDims(g.edgeDims(idx), g.nDims, r, attrs)
		g.settle(idx, isNew, now)
	}
}

// addRoot counts the edge of a SERVER (CONSUMER) span without a parent at
// once. The stock store keys it by the trace id and the empty span id,
// and its other half would be a CLIENT span whose own span id is empty,
// which no valid span has: it always waits out the TTL and is then called
// by "user" (with virtual nodes; without, it is dropped). Counting it now
// gives the same series and values a TTL sooner, and keeps a third of the
// gateway's edges out of the store.
func (g *serviceGraph) addRoot(r *graphResource, span ptrace.Span, attrs *spanAttrs, now time.Time) {
	if !g.virtual {
		return
	}
	e := &g.scratch
	*e = edge{conn: connVirtual, client: g.user, server: r.service,
		serverLatency: graphSeconds(span), failed: span.Status().Code() == ptrace.StatusCodeError}
	dims := g.scratchDims
	clear(dims)
	g.setDims(dims, g.nDims, r, attrs)
	g.count(e, dims, now)
	if e.server == 0 {
		// No service name: at expiry the stock store also counts the
		// edge to the server it then names "unknown" (a SERVER span sets
		// no peer).
		e.server = g.unknown
		g.count(e, dims, now)
	}
	for _, id := range dims {
		g.strs.unref(id)
	}
}

func (g *serviceGraph) setService(dst *uint32, id uint32) {
	old := *dst
	*dst = id
	g.strs.addRef(id)
	g.strs.unref(old)
}

func (g *serviceGraph) edgeDims(idx int32) []uint32 {
	n := 2 * g.nDims
	return g.dims[int(idx)*n : int(idx)*n+n]
}

// upsert finds the waiting edge for key, or makes a new one that is not
// yet stored (settle stores it if it is still incomplete). -1: the store
// is full, the span is dropped as in the stock connector.
func (g *serviceGraph) upsert(key edgeKey, now time.Time) (int32, bool) {
	h := tableHash(keyHash(key))
	pos, found := g.pending.find(h)
	g.newPos, g.hashTaken = pos, found
	if found {
		if idx := g.pending.slots[pos].idx; g.edges[idx].key == key {
			return idx, false
		}
	}
	// Also when no edge holds the hash now: the one that did may have left
	// before this key's edge, stored in overflow then.
	if len(g.overflow) > 0 {
		if idx, ok := g.overflow[key]; ok {
			return idx, false
		}
	}
	var idx int32
	if n := len(g.free); n > 0 {
		idx = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		idx = int32(len(g.edges))
		g.edges = append(g.edges, edge{})
		g.dims = append(g.dims, make([]uint32, 2*g.nDims)...)
	}
	g.edges[idx] = edge{key: key, expires: now.Add(g.ttl).UnixNano(), prev: -1, next: -1}
	clear(g.edgeDims(idx))
	return idx, true
}

// release drops the edge's string references and frees its slot; it is
// in no map or list any more.
func (g *serviceGraph) release(idx int32) {
	e := &g.edges[idx]
	g.strs.unref(e.client)
	g.strs.unref(e.server)
	g.strs.unref(e.peer)
	for _, id := range g.edgeDims(idx) {
		g.strs.unref(id)
	}
	*e = edge{}
	g.free = append(g.free, idx)
}

func (g *serviceGraph) settle(idx int32, isNew bool, now time.Time) {
	e := &g.edges[idx]
	complete := e.client != 0 && e.server != 0
	switch {
	case complete:
		g.count(e, g.edgeDims(idx), now)
		if !isNew {
			g.unlink(idx)
		}
		g.release(idx)
	case isNew:
		if g.waiting() >= g.cfg.Store.MaxItems {
			g.dropped++
			g.release(idx) // dropped: too many items
			return
		}
		if g.hashTaken {
			g.overflow[e.key] = idx
		} else {
			g.pending.insertAt(g.newPos, tableHash(keyHash(e.key)), idx)
		}
		e.prev = g.tail
		if g.tail >= 0 {
			g.edges[g.tail].next = idx
		} else {
			g.head = idx
		}
		g.tail = idx
	}
}

func (g *serviceGraph) unlink(idx int32) {
	e := &g.edges[idx]
	if len(g.overflow) > 0 && g.inOverflow(e.key) {
		delete(g.overflow, e.key)
	} else {
		g.pending.delete(tableHash(keyHash(e.key)))
	}
	if e.prev >= 0 {
		g.edges[e.prev].next = e.next
	} else {
		g.head = e.next
	}
	if e.next >= 0 {
		g.edges[e.next].prev = e.prev
	} else {
		g.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// setDims sets one side's dimensions, resource first, then span, holding
// a reference to each value; a value set before (the same span id seen
// twice) is released.
func (g *serviceGraph) setDims(dims []uint32, offset int, r *graphResource, attrs *spanAttrs) {
	for i, slot := range g.dimSlot {
		var id uint32
		if rid := r.dims[i]; rid != 0 {
			id = rid
			g.strs.addRef(id)
		} else if v, ok := attrs.get(slot); ok {
			id = g.strs.refValue(v)
		} else {
			continue
		}
		g.strs.unref(dims[offset+i])
		dims[offset+i] = id
	}
}

// database is the first database_name_attributes value, each looked up
// in the resource, then the span.
func (g *serviceGraph) database(res pcommon.Map, attrs *spanAttrs) (string, bool) {
	for i, k := range g.cfg.DatabaseNameAttributes {
		if v, ok := res.Get(k); ok {
			return v.AsString(), true
		}
		if v, ok := attrs.get(g.dbSlot[i]); ok {
			return v.AsString(), true
		}
	}
	return "", false
}

// expire counts every edge whose TTL has passed against a virtual node:
// a CLIENT span without its SERVER half calls its first peer attribute
// (or "unknown"). Root SERVER spans never wait (addRoot).
func (g *serviceGraph) expire(now time.Time) {
	ns := now.UnixNano()
	for g.head >= 0 && ns > g.edges[g.head].expires {
		g.expireEdge(g.head, now)
	}
}

// expireAll expires every waiting edge, TTL or not: at shutdown the other
// half of an edge can no longer arrive here (the load-balancing exporter
// sends a trace's spans to one gateway, and this one has stopped taking
// them). An edge whose two halves both arrived was counted when the second
// one did, so every edge still waiting is incomplete.
func (g *serviceGraph) expireAll(now time.Time) {
	for g.head >= 0 {
		g.expireEdge(g.head, now)
	}
}

func (g *serviceGraph) expireEdge(idx int32, now time.Time) {
	g.unlink(idx)
	defer g.release(idx)
	g.expired++
	if !g.virtual {
		return
	}
	e := &g.edges[idx]
	e.conn = connVirtual
	if e.client == 0 && e.key.sid.IsEmpty() {
		// Only a CLIENT span with an empty span id (invalid) and an
		// empty service name gets here: the stock rule names it "user".
		e.client = g.user
		g.strs.addRef(e.client)
		g.count(e, g.edgeDims(idx), now)
	}
	if e.server == 0 {
		if e.peer != 0 {
			e.server = e.peer
			g.strs.addRef(e.server)
		} else {
			e.server = g.unknown
			g.strs.addRef(e.server)
		}
		g.count(e, g.edgeDims(idx), now)
	}
}

func (g *serviceGraph) count(e *edge, dims []uint32, now time.Time) {
	client, server, conn := g.strs.str(e.client), g.strs.str(e.server), connTypeNames[e.conn]
	b := append(g.keyBuf[:0], client...)
	b = append(b, 0)
	b = append(b, server...)
	b = append(b, 0)
	b = append(b, conn...)
	b = append(b, 0)
	if e.failed {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	n := g.nDims
	for i, name := range g.cfg.Dimensions {
		for side, prefix := range [2]string{"client_", "server_"} {
			if id := dims[side*n+i]; id != 0 {
				b = append(b, 0)
				b = append(b, prefix...)
				b = append(b, name...)
				b = append(b, '_')
				b = append(b, g.strs.str(id)...)
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
		a.PutStr("client", client)
		a.PutStr("server", server)
		a.PutStr("connection_type", conn)
		a.PutBool("failed", e.failed)
		for i, name := range g.cfg.Dimensions {
			if id := dims[i]; id != 0 {
				a.PutStr("client_"+name, g.strs.str(id))
			}
			if id := dims[n+i]; id != 0 {
				a.PutStr("server_"+name, g.strs.str(id))
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

// interner numbers the strings waiting edges hold, counting references,
// so a string is forgotten when no edge holds it any more. 0 is no string.
type interner struct {
	ids  map[string]uint32
	strs []string
	refs []int32
	free []uint32
}

func newInterner() *interner {
	return &interner{ids: map[string]uint32{}, strs: []string{""}, refs: []int32{0}}
}

func (in *interner) str(id uint32) string { return in.strs[id] }

func (in *interner) ref(s string) uint32 {
	id, ok := in.ids[s]
	if !ok {
		s = strings.Clone(s)
		if n := len(in.free); n > 0 {
			id = in.free[n-1]
			in.free = in.free[:n-1]
			in.strs[id] = s
		} else {
			id = uint32(len(in.strs))
			in.strs = append(in.strs, s)
			in.refs = append(in.refs, 0)
		}
		in.ids[s] = id
	}
	in.refs[id]++
	return id
}

// refValue interns a value as the stock connector spells it
// (pcommon.Value.AsString), without allocating for strings.
func (in *interner) refValue(v pcommon.Value) uint32 {
	if v.Type() == pcommon.ValueTypeStr {
		return in.ref(v.Str())
	}
	return in.ref(v.AsString())
}

func (in *interner) addRef(id uint32) {
	if id != 0 {
		in.refs[id]++
	}
}

func (in *interner) unref(id uint32) {
	if id == 0 {
		return
	}
	if in.refs[id]--; in.refs[id] == 0 {
		delete(in.ids, in.strs[id])
		in.free = append(in.free, id)
	}
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
	// Mimir appends _seconds: traces_service_graph_request_server_seconds.
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

func (g *serviceGraph) inOverflow(k edgeKey) bool {
	_, ok := g.overflow[k]
	return ok
}
