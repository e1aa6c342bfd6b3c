// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector/internal/metadata"
)

const (
	serviceNameKey = "service.name"
	// instanceKey becomes the Prometheus label collector_instance_id.
	instanceKey = "collector.instance.id"
	// dropLogInterval spaces the store-full log lines: at tens of
	// thousands of spans a second a line per drop would flood the log.
	dropLogInterval = time.Minute
)

// derive holds the three aggregations. One lock guards them all: a batch is
// walked once, and every span updates all three before the next one.
type derive struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	next      consumer.Metrics
	now       func() time.Time

	mu     sync.Mutex
	spans  *spanMetrics
	graph  *serviceGraph
	tokens *tokenUsage
	// graphRes is reused for each ResourceSpans, attrs for each span
	// (under mu).
	graphRes graphResource
	attrs    spanAttrs
	// unloggedDrops spans dropped since lastDropLog.
	unloggedDrops int64
	lastDropLog   time.Time

	done     chan struct{}
	wg       sync.WaitGroup
	shutdown sync.Once
}

func newConnector(set component.TelemetrySettings, cfg *Config, next consumer.Metrics) (*derive, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	d := &derive{cfg: cfg, logger: set.Logger, telemetry: tb, next: next, now: time.Now, done: make(chan struct{})}
	start := d.now()
	d.spans = newSpanMetrics(cfg, &d.attrs)
	d.graph = newServiceGraph(cfg, start, &d.attrs)
	d.tokens = newTokenUsage(cfg, &d.attrs)
	return d, nil
}

func (*derive) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (d *derive) Start(context.Context, component.Host) error {
	d.every(d.cfg.SpanMetrics.MetricsFlushInterval, d.flushSpanMetrics)
	d.every(d.cfg.ServiceGraph.MetricsFlushInterval, d.flushServiceGraph)
	d.every(d.cfg.ServiceGraph.StoreExpirationLoop, func() {
		now := d.now()
		d.mu.Lock()
		d.graph.expire(now)
		d.reportGraph(context.Background(), now, false)
		d.mu.Unlock()
	})
	d.every(d.cfg.ServiceGraph.CacheLoop, func() {
		d.mu.Lock()
		d.graph.dropStale(d.now())
		d.mu.Unlock()
	})
	return nil
}

// every runs f on its own ticker until Shutdown. The flush goroutines use
// a fresh context: the one Start gets ends with Start.
func (d *derive) every(interval time.Duration, f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-d.done:
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// Shutdown stops the timers and writes everything still held, so a
// stopped gateway loses none of what it derived. The collector stops
// components in topological order (service/internal/graph ShutdownAll at
// v0.158.0): the batch processor before us has already pushed its last
// spans in, and the processors and exporters after us still run and drain
// their queues once it is their turn. Token counters need nothing here:
// they leave with each batch. A second call does nothing.
func (d *derive) Shutdown(ctx context.Context) error {
	var err error
	d.shutdown.Do(func() {
		close(d.done)
		d.wg.Wait()
		err = d.flushAll(ctx)
		d.telemetry.Shutdown()
	})
	return err
}

// flushAll is the last flush: edges still waiting for their other half
// are counted as on expiry (virtual nodes), then both families are written
// with every series, new ones included.
func (d *derive) flushAll(ctx context.Context) error {
	now := d.now()
	d.mu.Lock()
	d.graph.expireAll(now)
	d.reportGraph(ctx, now, true)
	spans := d.spans.buildFinal(now)
	graph := d.graph.build(now)
	d.mu.Unlock()
	return errors.Join(d.send(ctx, spans), d.send(ctx, graph))
}

func (d *derive) flushSpanMetrics() {
	d.mu.Lock()
	md := d.spans.build(d.now())
	d.mu.Unlock()
	_ = d.send(context.Background(), md)
}

func (d *derive) flushServiceGraph() {
	d.mu.Lock()
	md := d.graph.build(d.now())
	d.mu.Unlock()
	_ = d.send(context.Background(), md)
}

// send logs a refusal (the timers have no one to return it to) and
// returns it.
func (d *derive) send(ctx context.Context, md pmetric.Metrics) error {
	if md.DataPointCount() == 0 {
		return nil
	}
	err := d.next.ConsumeMetrics(ctx, md)
	if err != nil {
		d.logger.Error("Failed ConsumeMetrics", zap.Error(err))
	}
	return err
}

// reportGraph adds the store's drops and expiries since the last call to
// the collector's own metrics (otelcol_connector_spanderive_*), once per
// batch or expiry run rather than per span, and logs drops at most once a
// dropLogInterval (force: now, as at shutdown). Called with d.mu held.
func (d *derive) reportGraph(ctx context.Context, now time.Time, force bool) {
	g := d.graph
	if g.expired > 0 {
		d.telemetry.ConnectorSpanderiveExpiredEdges.Add(ctx, g.expired)
		g.expired = 0
	}
	if g.dropped > 0 {
		d.telemetry.ConnectorSpanderiveDroppedSpans.Add(ctx, g.dropped)
		d.unloggedDrops += g.dropped
		g.dropped = 0
	}
	if d.unloggedDrops == 0 || !(force || d.lastDropLog.IsZero() || now.Sub(d.lastDropLog) >= dropLogInterval) {
		return
	}
	d.logger.Info("Service graph store full: spans dropped, their edges are missing from traces_service_graph_*; raise service_graph.store.max_items",
		zap.Int64("dropped_spans", d.unloggedDrops),
		zap.Int("max_items", d.cfg.ServiceGraph.Store.MaxItems),
		zap.String("ttl", d.cfg.ServiceGraph.Store.TTL.String()))
	d.unloggedDrops = 0
	d.lastDropLog = now
}

// ConsumeTraces walks the batch once. Token usage leaves with the batch's
// context (so it reaches the sender's tenant, as signal_to_metrics did);
// span metrics and the service graph are flushed on their timers.
func (d *derive) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	now := d.now()
	d.mu.Lock()
	d.tokens.beginBatch()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		serviceVal, ok := res.Get(serviceNameKey)
		if !ok {
			continue
		}
		// As in the stock connectors: span metrics take a string
		// service.name as is, the service graph any value as text.
		spanService, graphService := serviceVal.Str(), serviceVal.AsString()
		var resKey string
		smRes := d.spans.resource(res, &resKey, now)
		tokRes := d.tokens.resource(res, &resKey)
		d.graph.resource(graphService, res, &d.graphRes)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				d.attrs.load(span.Attributes())
				d.spans.add(smRes, spanService, span, &d.attrs, now)
				d.graph.add(&d.graphRes, span, &d.attrs, res, now)
				d.tokens.add(tokRes, &d.attrs, now)
			}
		}
		d.graph.releaseResource(&d.graphRes)
	}
	tokens := d.tokens.endBatch(now)
	d.reportGraph(ctx, now, false)
	d.mu.Unlock()
	_ = d.send(ctx, tokens)
	return nil
}

// resourceKey identifies a resource by its attributes, independent of their
// order. Computed once per ResourceSpans and shared by the aggregations.
func resourceKey(attrs pcommon.Map, into *string) string {
	if *into != "" {
		return *into
	}
	keys := make([]string, 0, attrs.Len())
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	sortStrings(keys)
	buf := make([]byte, 0, 128)
	for _, k := range keys {
		v, _ := attrs.Get(k)
		buf = append(buf, k...)
		buf = append(buf, 0, byte(v.Type()))
		buf = append(buf, v.AsString()...)
		buf = append(buf, 0)
	}
	*into = string(buf)
	if *into == "" {
		*into = "\x00"
	}
	return *into
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// appendValue appends v as the stock connectors' keys spell it
// (pcommon.Value.AsString), without allocating for strings and integers.
func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return append(b, v.Str()...)
	case pcommon.ValueTypeInt:
		return appendInt(b, v.Int())
	default:
		return append(b, v.AsString()...)
	}
}

func appendInt(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		if n == -n { // math.MinInt64
			return append(b, "9223372036854775808"...)
		}
		n = -n
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

func secondsBetween(start, end pcommon.Timestamp) float64 {
	if end > start {
		return float64(end-start) / 1e9
	}
	return 0
}
