// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const (
	inputTokensMetric  = "gen_ai.client.token.usage.input"
	outputTokensMetric = "gen_ai.client.token.usage.output"
	// Mimir labels every series otel_scope_name: keep the one the
	// token series had when signal_to_metrics wrote them.
	tokensScope = "github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector"
	// A unit in braces is an annotation: Mimir drops it
	// (gen_ai_client_token_usage_input_total).
	tokensUnit = "{token}"
)

// tokenUsage keeps one cumulative counter per resource, direction and
// label set, and writes the counters a batch touched with that batch, as
// signal_to_metrics followed by delta_to_cumulative did.
type tokenUsage struct {
	cfg       *TokensConfig
	instance  string
	resources map[string]*tokResource
	touched   []*tokSeries
	keyBuf    []byte
	lastSweep time.Time
	// Slots in spanAttrs: the two counts and each label attribute.
	inSlot, outSlot int
	labelSlot       []int
}

type tokResource struct {
	attrs  pcommon.Map
	series map[string]*tokSeries
}

type tokSeries struct {
	res      *tokResource
	output   bool
	attrs    pcommon.Map
	value    int64
	start    pcommon.Timestamp
	lastSeen time.Time
	touched  bool
}

func newTokenUsage(cfg *Config, attrs *spanAttrs) *tokenUsage {
	t := &tokenUsage{cfg: &cfg.Tokens, instance: cfg.InstanceID, resources: map[string]*tokResource{},
		inSlot: attrs.slot(cfg.Tokens.InputAttribute), outSlot: attrs.slot(cfg.Tokens.OutputAttribute)}
	for _, a := range cfg.Tokens.Attributes {
		t.labelSlot = append(t.labelSlot, attrs.slot(a.Key))
	}
	return t
}

func (t *tokenUsage) beginBatch() { t.touched = t.touched[:0] }

// resource is looked up lazily: most resources (services without GenAI
// calls) never need one.
type lazyTokResource struct {
	t     *tokenUsage
	attrs pcommon.Map
	key   *string
	r     *tokResource
}

func (t *tokenUsage) resource(attrs pcommon.Map, key *string) *lazyTokResource {
	return &lazyTokResource{t: t, attrs: attrs, key: key}
}

func (l *lazyTokResource) get() *tokResource {
	if l.r != nil {
		return l.r
	}
	k := resourceKey(l.attrs, l.key)
	r, ok := l.t.resources[k]
	if !ok {
		r = &tokResource{attrs: pcommon.NewMap(), series: map[string]*tokSeries{}}
		l.attrs.CopyTo(r.attrs)
		l.t.resources[k] = r
	}
	l.r = r
	return r
}

func (t *tokenUsage) add(l *lazyTokResource, attrs *spanAttrs, now time.Time) {
	if v, ok := attrs.get(t.inSlot); ok {
		t.count(l, attrs, false, v, now)
	}
	if v, ok := attrs.get(t.outSlot); ok {
		t.count(l, attrs, true, v, now)
	}
}

func (t *tokenUsage) count(l *lazyTokResource, attrs *spanAttrs, output bool, v pcommon.Value, now time.Time) {
	n, ok := tokenCount(v)
	if !ok {
		return
	}
	b := t.keyBuf[:0]
	if output {
		b = append(b, 'o')
	} else {
		b = append(b, 'i')
	}
	for i, a := range t.cfg.Attributes {
		b = append(b, 0)
		if v, ok := attrs.get(t.labelSlot[i]); ok {
			b = appendValue(b, v)
		} else {
			b = append(b, a.DefaultValue...)
		}
	}
	t.keyBuf = b
	r := l.get()
	s, ok := r.series[string(b)]
	if ok && t.cfg.MaxStale > 0 && now.Sub(s.lastSeen) > t.cfg.MaxStale {
		// delta_to_cumulative forgets a stream idle longer than max_stale:
		// it starts again from zero.
		ok = false
	}
	if !ok {
		s = &tokSeries{res: r, output: output, attrs: pcommon.NewMap(), start: pcommon.NewTimestampFromTime(now)}
		for i, a := range t.cfg.Attributes {
			if v, ok := attrs.get(t.labelSlot[i]); ok {
				v.CopyTo(s.attrs.PutEmpty(a.Key))
			} else {
				s.attrs.PutStr(a.Key, a.DefaultValue)
			}
		}
		s.attrs.PutStr(instanceKey, t.instance)
		r.series[string(b)] = s
	}
	s.value += n
	s.lastSeen = now
	if !s.touched {
		s.touched = true
		t.touched = append(t.touched, s)
	}
}

// tokenCount reads a token count as OTTL's Int() does: integers as they
// are, doubles truncated, strings parsed, booleans as 0 or 1.
func tokenCount(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return int64(v.Double()), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		return n, err == nil
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// endBatch builds the counters this batch touched and forgets stale ones.
func (t *tokenUsage) endBatch(now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	if len(t.touched) == 0 {
		return md
	}
	ts := pcommon.NewTimestampFromTime(now)
	byRes := map[*tokResource][2]pmetric.Sum{}
	for _, s := range t.touched {
		s.touched = false
		sums, ok := byRes[s.res]
		if !ok {
			rm := md.ResourceMetrics().AppendEmpty()
			s.res.attrs.CopyTo(rm.Resource().Attributes())
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(tokensScope)
			sums[0] = tokenMetric(sm, inputTokensMetric, "Input (prompt) tokens reported by GenAI spans")
			sums[1] = tokenMetric(sm, outputTokensMetric, "Output (completion) tokens reported by GenAI spans")
			byRes[s.res] = sums
		}
		i := 0
		if s.output {
			i = 1
		}
		dp := sums[i].DataPoints().AppendEmpty()
		dp.SetStartTimestamp(s.start)
		dp.SetTimestamp(ts)
		dp.SetIntValue(s.value)
		s.attrs.CopyTo(dp.Attributes())
	}
	// Empty metrics (a resource with only input or only output) are removed.
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		ms := md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics()
		ms.RemoveIf(func(m pmetric.Metric) bool { return m.Sum().DataPoints().Len() == 0 })
	}
	// Swept at most once a second, not for every batch.
	if t.cfg.MaxStale > 0 && now.Sub(t.lastSweep) >= time.Second {
		t.lastSweep = now
		for k, r := range t.resources {
			for sk, s := range r.series {
				if now.Sub(s.lastSeen) > t.cfg.MaxStale {
					delete(r.series, sk)
				}
			}
			if len(r.series) == 0 {
				delete(t.resources, k)
			}
		}
	}
	return md
}

func tokenMetric(sm pmetric.ScopeMetrics, name, description string) pmetric.Sum {
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	m.SetDescription(description)
	m.SetUnit(tokensUnit)
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return s
}
