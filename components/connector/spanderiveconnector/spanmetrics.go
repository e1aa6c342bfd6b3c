// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The names Mimir turns into traces_spanmetrics_calls_total and
// traces_spanmetrics_latency_{bucket,sum,count}: no unit, or it would append
// _seconds.
const (
	callsMetric      = "traces.spanmetrics.calls"
	latencyMetric    = "traces.spanmetrics.latency"
	overflowKey      = "otel.metric.overflow"
	spanMetricsScope = "spanmetricsconnector"
)

type spanMetrics struct {
	cfg       *SpanMetricsConfig
	instance  string
	bounds    []float64
	resources map[string]*smResource
	keyBuf    []byte
	// dimSlot[i]: dimension i in spanAttrs.
	dimSlot []int
}

type smResource struct {
	attrs pcommon.Map
	// dims[i] is dimension i's value from the resource (or its default),
	// looked up once: a span's own attribute still comes first.
	dims     []pcommon.Value
	hasDim   []bool
	series   map[string]*smSeries
	lastSeen time.Time
}

// smSeries is one label set. The calls counter and the latency histogram
// always share their label sets, cardinality limit and exemplars in the
// stock connector, so one struct holds both.
type smSeries struct {
	attrs        pcommon.Map
	calls        uint64
	first        bool // the first flush of a new counter writes 0 (Prometheus then sees the increase)
	bucketCounts []uint64
	count        uint64
	sum          float64
	exemplars    []exemplar
	start        pcommon.Timestamp
	lastSeen     time.Time
}

type exemplar struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	value   float64
}

func newSpanMetrics(cfg *Config, attrs *spanAttrs) *spanMetrics {
	bounds := make([]float64, len(cfg.SpanMetrics.Buckets))
	for i, b := range cfg.SpanMetrics.Buckets {
		bounds[i] = b.Seconds()
	}
	var slots []int
	for _, d := range cfg.SpanMetrics.Dimensions {
		slots = append(slots, attrs.slot(d.Name))
	}
	return &spanMetrics{
		dimSlot:   slots,
		cfg:       &cfg.SpanMetrics,
		instance:  cfg.InstanceID,
		bounds:    bounds,
		resources: map[string]*smResource{},
		keyBuf:    make([]byte, 0, 256),
	}
}

func (m *spanMetrics) resource(attrs pcommon.Map, key *string, now time.Time) *smResource {
	k := resourceKey(attrs, key)
	r, ok := m.resources[k]
	if !ok {
		if len(m.resources) >= m.cfg.ResourceMetricsCacheSize {
			m.evictOldest()
		}
		r = &smResource{attrs: pcommon.NewMap(), series: map[string]*smSeries{}}
		attrs.CopyTo(r.attrs)
		n := len(m.cfg.Dimensions)
		r.dims, r.hasDim = make([]pcommon.Value, n), make([]bool, n)
		for i, d := range m.cfg.Dimensions {
			if v, ok := r.attrs.Get(d.Name); ok {
				r.dims[i], r.hasDim[i] = v, true
			} else if d.Default != nil {
				r.dims[i], r.hasDim[i] = pcommon.NewValueStr(*d.Default), true
			}
		}
		m.resources[k] = r
	}
	r.lastSeen = now
	return r
}

func (m *spanMetrics) evictOldest() {
	var oldestKey string
	var oldest time.Time
	for k, r := range m.resources {
		if oldestKey == "" || r.lastSeen.Before(oldest) {
			oldestKey, oldest = k, r.lastSeen
		}
	}
	delete(m.resources, oldestKey)
}

func (m *spanMetrics) add(r *smResource, service string, span ptrace.Span, attrs *spanAttrs, now time.Time) {
	kind := spanKindStr(span.Kind())
	status := statusCodeStr(span.Status().Code())
	b := append(m.keyBuf[:0], service...)
	b = append(b, 0)
	b = append(b, span.Name()...)
	b = append(b, 0)
	b = append(b, kind...)
	b = append(b, 0)
	b = append(b, status...)
	for i, d := range m.cfg.Dimensions {
		v, ok := r.dimensionValue(i, m.dimSlot[i], attrs)
		if !ok {
			continue
		}
		b = append(b, 0)
		b = append(b, d.Name...)
		b = append(b, ':')
		b = appendValue(b, v)
	}
	m.keyBuf = b

	duration := secondsBetween(span.StartTimestamp(), span.EndTimestamp())
	s, ok := r.series[string(b)]
	limited := false
	if !ok {
		if lim := m.cfg.AggregationCardinalityLimit; lim > 0 && len(r.series) >= lim {
			limited = true
			s, ok = r.series[overflowKey]
			if !ok {
				s = m.newSeries(now)
				s.attrs.PutBool(overflowKey, true)
				r.series[overflowKey] = s
			}
			// As in the stock connector, an existing overflow series
			// keeps the time it was created as its last update.
		} else {
			s = m.newSeries(now)
			a := s.attrs
			a.EnsureCapacity(5 + len(m.cfg.Dimensions))
			a.PutStr("service", service)
			a.PutStr("span.name", span.Name())
			a.PutStr("span.kind", kind)
			a.PutStr("status.code", status)
			a.PutStr(instanceKey, m.instance)
			for i, d := range m.cfg.Dimensions {
				if v, ok := r.dimensionValue(i, m.dimSlot[i], attrs); ok {
					v.CopyTo(a.PutEmpty(d.Name))
				}
			}
			r.series[string(b)] = s
		}
	}
	if !limited {
		s.lastSeen = now
		if m.cfg.Exemplars.Enabled && len(s.exemplars) < m.cfg.Exemplars.MaxPerDataPoint && !span.TraceID().IsEmpty() {
			s.exemplars = append(s.exemplars, exemplar{span.TraceID(), span.SpanID(), duration})
		}
	}
	s.calls++
	s.count++
	s.sum += duration
	s.bucketCounts[sort.SearchFloat64s(m.bounds, duration)]++
}

func (m *spanMetrics) newSeries(now time.Time) *smSeries {
	return &smSeries{
		attrs:        pcommon.NewMap(),
		first:        true,
		bucketCounts: make([]uint64, len(m.bounds)+1),
		start:        pcommon.NewTimestampFromTime(now),
		lastSeen:     now,
	}
}

func (r *smResource) dimensionValue(i, slot int, attrs *spanAttrs) (pcommon.Value, bool) {
	if v, ok := attrs.get(slot); ok {
		return v, true
	}
	return r.dims[i], r.hasDim[i]
}

// build writes every series (cumulative), then clears exemplars and
// expires what is stale, in the stock connector's order.
func (m *spanMetrics) build(now time.Time) pmetric.Metrics { return m.buildAt(now, false) }

// buildFinal is the last build, at shutdown: there is no next flush to
// write the real value of a counter still waiting for its first 0, so such
// a counter gets both points in this one write, the 0 earlier (Prometheus
// then sees its increase from 0) and its value now.
func (m *spanMetrics) buildFinal(now time.Time) pmetric.Metrics { return m.buildAt(now, true) }

func (m *spanMetrics) buildAt(now time.Time, final bool) pmetric.Metrics {
	md := pmetric.NewMetrics()
	ts := pcommon.NewTimestampFromTime(now)
	// At least 1 ms before ts, the resolution Mimir keeps: the same
	// millisecond with another value would be a duplicate sample.
	latestZero := pcommon.NewTimestampFromTime(now.Add(-time.Millisecond))
	for _, r := range m.resources {
		rm := md.ResourceMetrics().AppendEmpty()
		r.attrs.CopyTo(rm.Resource().Attributes())
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(spanMetricsScope)

		calls := sm.Metrics().AppendEmpty()
		calls.SetName(callsMetric)
		sum := calls.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.DataPoints().EnsureCapacity(len(r.series))

		lat := sm.Metrics().AppendEmpty()
		lat.SetName(latencyMetric)
		hist := lat.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		hist.DataPoints().EnsureCapacity(len(r.series))

		for _, s := range r.series {
			if final && s.first {
				zero := sum.DataPoints().AppendEmpty()
				zero.SetStartTimestamp(s.start)
				zero.SetTimestamp(min(s.start, latestZero))
				zero.SetIntValue(0)
				s.attrs.CopyTo(zero.Attributes())
				s.first = false
			}
			dp := sum.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(ts)
			if s.first {
				dp.SetIntValue(0)
				s.first = false
			} else {
				dp.SetIntValue(int64(s.calls))
			}
			putExemplars(dp.Exemplars(), s.exemplars, ts)
			s.attrs.CopyTo(dp.Attributes())

			hp := hist.DataPoints().AppendEmpty()
			hp.SetStartTimestamp(s.start)
			hp.SetTimestamp(ts)
			hp.ExplicitBounds().FromRaw(m.bounds)
			hp.BucketCounts().FromRaw(s.bucketCounts)
			hp.SetCount(s.count)
			hp.SetSum(s.sum)
			putExemplars(hp.Exemplars(), s.exemplars, ts)
			s.attrs.CopyTo(hp.Attributes())
		}
	}
	for k, r := range m.resources {
		for sk, s := range r.series {
			s.exemplars = s.exemplars[:0]
			if m.cfg.SeriesExpiration > 0 && now.Sub(s.lastSeen) >= m.cfg.SeriesExpiration {
				delete(r.series, sk)
			}
		}
		if m.cfg.MetricsExpiration > 0 && now.Sub(r.lastSeen) >= m.cfg.MetricsExpiration {
			delete(m.resources, k)
		}
	}
	return md
}

func putExemplars(dst pmetric.ExemplarSlice, src []exemplar, ts pcommon.Timestamp) {
	dst.EnsureCapacity(len(src))
	for _, e := range src {
		x := dst.AppendEmpty()
		x.SetTimestamp(ts)
		x.SetTraceID(e.traceID)
		x.SetSpanID(e.spanID)
		x.SetDoubleValue(e.value)
	}
}

func spanKindStr(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindUnspecified:
		return "SPAN_KIND_UNSPECIFIED"
	case ptrace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	case ptrace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case ptrace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case ptrace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case ptrace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	}
	return ""
}

func statusCodeStr(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeUnset:
		return "STATUS_CODE_UNSET"
	case ptrace.StatusCodeOk:
		return "STATUS_CODE_OK"
	case ptrace.StatusCodeError:
		return "STATUS_CODE_ERROR"
	}
	return ""
}
