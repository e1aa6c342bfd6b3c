// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	promtranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/prometheus"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver/internal/metadata"
)

// familyMeta is what TYPE, HELP and UNIT lines say of a metric family.
type familyMeta struct {
	typ  model.MetricType
	help string
	unit string
}

// family is the metric a sample belongs to, resolved as the stock
// receiver resolves it: by the metadata of its name, or of its name
// without a _bucket/_count/_sum/_total/_info/_created suffix.
type family struct {
	name string // the metric's name
	// metaName is the name the metadata was found under; a sample named
	// created (metaName+"_created") is the family's start time.
	metaName  string
	created   string
	meta      familyMeta
	mtype     pmetric.MetricType
	monotonic bool
}

// reportNames are Prometheus's report series, in the order finish gives
// their values.
var reportNames = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}

// reportMeta is the stock receiver's metadata of Prometheus's report
// series.
var reportMeta = map[string]familyMeta{
	"up":                                    {typ: model.MetricTypeGauge, help: "The scraping was successful"},
	"scrape_duration_seconds":               {typ: model.MetricTypeGauge, help: "Duration of the scrape", unit: "seconds"},
	"scrape_samples_scraped":                {typ: model.MetricTypeGauge, help: "The number of samples the target exposed"},
	"scrape_samples_post_metric_relabeling": {typ: model.MetricTypeGauge, help: "The number of samples remaining after metric relabeling was applied"},
	"scrape_series_added":                   {typ: model.MetricTypeGauge, help: "The approximate number of new series in this scrape"},
}

var (
	notUsefulOther     = []string{model.MetricNameLabel, model.InstanceLabel, model.SchemeLabel, model.MetricsPathLabel, model.JobLabel}
	notUsefulHistogram = append([]string{model.BucketLabel}, notUsefulOther...)
	notUsefulSummary   = append([]string{model.QuantileLabel}, notUsefulOther...)

	suffixes = []string{"_bucket", "_count", "_sum", "_total", "_info", "_created"}
)

func notUseful(mtype pmetric.MetricType) []string {
	switch mtype {
	case pmetric.MetricTypeHistogram:
		return notUsefulHistogram
	case pmetric.MetricTypeSummary:
		return notUsefulSummary
	default:
		return notUsefulOther
	}
}

func isNotUseful(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func trimSuffix(name string) string {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) && name != s {
			return strings.TrimSuffix(name, s)
		}
	}
	return name
}

func metricType(t model.MetricType) (pmetric.MetricType, bool) {
	switch t {
	case model.MetricTypeCounter:
		return pmetric.MetricTypeSum, true
	case model.MetricTypeHistogram:
		return pmetric.MetricTypeHistogram, true
	case model.MetricTypeSummary:
		return pmetric.MetricTypeSummary, true
	case model.MetricTypeInfo, model.MetricTypeStateset:
		return pmetric.MetricTypeSum, false
	default: // gauge, unknown, gaugehistogram: the stock receiver writes gauges
		return pmetric.MetricTypeGauge, false
	}
}

// group is one data point being assembled from a family's samples.
type group struct {
	hash      uint64
	entry     seriesEntry // the point's first sample's
	ts        int64
	value     float64
	hasValue  bool
	count     float64
	hasCount  bool
	sum       float64
	hasSum    bool
	created   float64
	bounds    []boundValue
	exemplars []exemplar.Exemplar
}

type boundValue struct{ bound, value float64 }

// scrape is one scrape of a target being turned into requests.
type scrape struct {
	t    *target
	ts   int64 // the scrape's time, ms
	gen  uint32
	max  int
	emit func(pmetric.Metrics)
	// body is the chunk being parsed, which starts at base in the whole
	// body, packed.
	body   string
	base   int
	packed packedBody
	meta   map[string]familyMeta

	lastName string
	lastFam  *family
	fams     map[string]*family

	cur     *family
	groups  []group
	ngroups int
	index   map[uint64]int

	md      pmetric.Metrics
	rms     map[string]pmetric.ResourceMetrics
	sms     map[scopeKey]pmetric.ScopeMetrics
	metrics map[metricKey]pmetric.Metric
	points  int

	scraped, added int
	targetInfo     labels.Labels
	sawTargetInfo  bool
	exemplar       exemplar.Exemplar
}

type metricKey struct {
	res, scope string
	fam        *family
}

type scopeKey struct{ res, scope string }

// resourceMetrics returns the request's resource res ("" is the
// target's), made for series e if it is new.
func (s *scrape) resourceMetrics(res string, e *seriesEntry) pmetric.ResourceMetrics {
	if rm, ok := s.rms[res]; ok {
		return rm
	}
	rm := s.md.ResourceMetrics().AppendEmpty()
	s.rms[res] = rm
	if res != "" {
		// A series whose own job or instance stood (honor_labels) is a
		// resource of its own, as in the stock receiver.
		newResource(e.slow.ls.Get(model.JobLabel), e.slow.ls.Get(model.InstanceLabel), s.t.scheme).MoveTo(rm.Resource())
		return rm
	}
	s.t.resource.CopyTo(rm.Resource())
	return rm
}

// addTargetInfo puts target_info's labels on the target's resource, as
// the stock receiver does: this scrape's if it has had one yet. A request
// handed on before the scrape's end takes the last scrape's else (an
// exposition may put target_info last); the last request none.
func (s *scrape) addTargetInfo(last bool) {
	rm, ok := s.rms[""]
	if !ok {
		return
	}
	info := s.targetInfo
	if !s.sawTargetInfo && !last {
		info = s.t.targetInfo
	}
	attrs := rm.Resource().Attributes()
	info.Range(func(l labels.Label) {
		if l.Name != model.JobLabel && l.Name != model.InstanceLabel && l.Name != model.MetricNameLabel {
			attrs.PutStr(l.Name, l.Value)
		}
	})
}

func (t *target) begin(start time.Time, maxPoints int, emit func(pmetric.Metrics)) *scrape {
	t.gen++
	return &scrape{
		groups: t.groups,
		t:      t, ts: start.UnixMilli(), gen: t.gen, max: maxPoints, emit: emit,
		meta:  map[string]familyMeta{},
		fams:  map[string]*family{},
		index: map[uint64]int{},
	}
}

// parse turns an exposition into data points, a chunk at a time. On an
// error the samples before it stand: they are already handed on.
func (s *scrape) parse(body packedBody, contentType string) error {
	s.packed = body
	// Text 0.0.4 when the target names no format or one not known, as the
	// stock receiver's fallback_scrape_protocol default.
	opts := textparse.ParserOptions{FallbackContentType: "text/plain"}
	p, err := textparse.New(nil, contentType, nil, opts)
	if p == nil {
		if err == nil {
			err = errors.New("no parser for the response")
		}
		return fmt.Errorf("received unsupported Content-Type %q: %w", contentType, err)
	}
	symbols := labels.NewSymbolTable()
	var eof []byte
	switch p.(type) {
	case *textparse.OpenMetricsParser:
		eof = eofLine
	case *textparse.PromParser:
	default: // protobuf, not lines
		raw, err := body.open()
		if err != nil {
			return err
		}
		_, err = s.parseChunk(raw, 0, contentType, symbols, opts)
		return err
	}
	if body.n == 0 {
		_, err := s.parseChunk(nil, 0, contentType, symbols, opts)
		return err
	}
	c := chunker{body: &body}
	for {
		ch, err := c.next()
		if err != nil || ch.text == nil {
			return err
		}
		if !ch.last {
			ch.text = append(ch.text, eof...)
		}
		line, err := s.parseChunk(ch.text, ch.base, contentType, symbols, opts)
		if err != nil {
			return err
		}
		if line != nil {
			c.typeLine = line
		}
	}
}

// parseChunk parses one chunk, which starts at base in the body, and
// returns a copy of the last TYPE line in it.
func (s *scrape) parseChunk(chunk []byte, base int, contentType string, symbols *labels.SymbolTable, opts textparse.ParserOptions) ([]byte, error) {
	s.body, s.base = "", base
	if len(chunk) > 0 {
		// The chunk is never written again: the points' attributes are
		// read from it in place.
		s.body = unsafe.String(&chunk[0], len(chunk))
	}
	p, _ := textparse.New(chunk, contentType, symbols, opts)
	var typeLine []byte
	t := s.t
	for {
		et, err := p.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return typeLine, nil
			}
			return nil, fmt.Errorf("parsing the exposition: %w", err)
		}
		switch et {
		case textparse.EntryType:
			name, typ := p.Type()
			m := s.meta[string(name)]
			m.typ = typ
			s.meta[string(name)] = m
			if off, ok := offsetIn(s.body, name); ok {
				from := strings.LastIndexByte(s.body[:off], '\n') + 1
				to := len(s.body)
				if nl := strings.IndexByte(s.body[off:], '\n'); nl >= 0 {
					to = off + nl + 1
				}
				typeLine = append(typeLine[:0], s.body[from:to]...)
			}
		case textparse.EntryHelp:
			name, help := p.Help()
			m := s.meta[string(name)]
			m.help = string(help)
			s.meta[string(name)] = m
		case textparse.EntryUnit:
			name, unit := p.Unit()
			m := s.meta[string(name)]
			m.unit = string(unit)
			s.meta[string(name)] = m
		case textparse.EntrySeries:
			raw, tsp, v := p.Series()
			s.scraped++
			off, inBody := offsetIn(s.body, raw)
			h := xxhash.Sum64(raw)
			// One probe for a series seen before: its entry is updated
			// in place.
			ref := t.series.ref(h)
			var st stored
			known := ref != nil
			if known {
				st = *ref
			}
			switch {
			case known && st.gen == s.gen:
				continue // the same series twice: the first one counts
			case !known:
				var ls labels.Labels
				p.Labels(&ls)
				if _, dup := ls.HasDuplicateLabelNames(); dup {
					continue // Prometheus refuses such a sample, as does the stock receiver
				}
				if inBody {
					st.slow = t.newSlow(s.body[off:off+len(raw)], ls, s.resolve(ls.Get(model.MetricNameLabel)).mtype)
				} else {
					st.slow = t.slowSeries(ls)
				}
				s.added++
			}
			st.gen, st.off, st.n = s.gen, uint32(s.base+off), uint32(len(raw))
			e := st.entry(s.body, s.base)
			ts := s.ts
			st.timestamped = tsp != nil && t.honorTimestamps
			if st.timestamped {
				ts = *tsp
			}
			g := s.add(&e, ts, v)
			st.ghash, st.gtype, st.attrs = e.ghash, uint8(e.gtype), e.attrs
			if known {
				*ref = st
			} else {
				t.series.put(h, st)
			}
			for g != nil {
				s.exemplar = exemplar.Exemplar{}
				if !p.Exemplar(&s.exemplar) {
					break
				}
				if !s.exemplar.HasTs {
					s.exemplar.Ts = ts // as Prometheus stores it
				}
				g.exemplars = append(g.exemplars, s.exemplar)
			}
		}
	}
}

// resolve finds the family of a sample name, as the stock receiver's
// metadataForMetric does.
func (s *scrape) resolve(name string) *family {
	if name == s.lastName && s.lastFam != nil {
		return s.lastFam
	}
	f, ok := s.fams[name]
	if !ok {
		name = strings.Clone(name) // not the chunk's: kept to the scrape's end
		f = s.newFamily(name)
		s.fams[name] = f
	}
	s.lastName, s.lastFam = name, f
	return f
}

func (s *scrape) lookupMeta(name string) (familyMeta, bool) {
	if m, ok := s.meta[name]; ok {
		return m, true
	}
	m, ok := s.t.meta[name]
	return m, ok
}

func (s *scrape) newFamily(name string) *family {
	f := &family{name: name, metaName: name, meta: familyMeta{typ: model.MetricTypeUnknown}}
	if m, ok := reportMeta[name]; ok {
		f.meta = m
	} else if m, ok := s.lookupMeta(name); ok {
		f.meta = m
	} else if trimmed := trimSuffix(name); trimmed != name {
		if m, ok := s.lookupMeta(trimmed); ok {
			f.meta, f.metaName = m, trimmed
			switch {
			case m.typ != model.MetricTypeCounter:
				f.name = trimmed
			case strings.HasSuffix(name, "_created"):
				f.name = trimmed + "_total"
			}
		}
	}
	f.mtype, f.monotonic = metricType(f.meta.typ)
	f.created = f.metaName + "_created"
	if f.name != name {
		// x_total and x_created of one counter, or the samples of one
		// histogram, are one family.
		if shared, ok := s.fams[f.name]; ok && shared.metaName == f.metaName && shared.mtype == f.mtype {
			return shared
		}
		s.fams[f.name] = f
	}
	return f
}

// add adds one sample to the data point it belongs to and returns that
// point, or nil when the sample makes none.
func (s *scrape) add(e *seriesEntry, ts int64, v float64) *group {
	name := e.name()
	if name == promtranslator.TargetInfoMetricName {
		if !value.IsStaleNaN(v) {
			s.targetInfo, s.sawTargetInfo = e.slow.ls, true
		}
		return nil
	}
	f := s.resolve(name)
	if f != s.cur {
		s.flushFamily()
		s.cur = f
	}
	if e.gtype != f.mtype || e.ghash == 0 {
		s.t.setGroup(e, f.mtype)
	}
	g := s.group(e, ts)
	if g.ts != ts {
		return nil // the stock receiver refuses samples of one point at two times
	}
	switch f.mtype {
	case pmetric.MetricTypeHistogram, pmetric.MetricTypeSummary:
		switch {
		case strings.HasSuffix(name, "_sum"):
			g.sum, g.hasSum = v, true
		case strings.HasSuffix(name, "_count"):
			g.count, g.hasCount = v, true
		case name == f.created:
			g.created = v
		default:
			label := model.BucketLabel
			if f.mtype == pmetric.MetricTypeSummary {
				label = model.QuantileLabel
			}
			bound, err := strconv.ParseFloat(e.label(label), 64)
			if err != nil {
				return nil
			}
			g.bounds = append(g.bounds, boundValue{bound: bound, value: v})
		}
	case pmetric.MetricTypeSum:
		if name == f.created {
			g.created = v
		} else {
			g.value, g.hasValue = v, true
		}
	default:
		g.value, g.hasValue = v, true
	}
	return g
}

func (s *scrape) group(e *seriesEntry, ts int64) *group {
	if n := s.ngroups; n > 0 && s.groups[n-1].hash == e.ghash {
		return &s.groups[n-1]
	}
	indexed := s.cur.mtype != pmetric.MetricTypeGauge
	if indexed {
		if i, ok := s.index[e.ghash]; ok {
			return &s.groups[i]
		}
	}
	if s.points+s.ngroups >= s.max {
		// The request is full: a family larger than one goes out in
		// parts. Every client writes a point's samples (a histogram's
		// buckets, sum, count and _created) next to each other, so no point
		// is cut in two.
		s.flushGroups()
	}
	if indexed {
		s.index[e.ghash] = s.ngroups
	}
	if s.ngroups == len(s.groups) {
		s.groups = append(s.groups, group{})
	}
	g := &s.groups[s.ngroups]
	s.ngroups++
	*g = group{hash: e.ghash, entry: *e, ts: ts, bounds: g.bounds[:0], exemplars: g.exemplars[:0]}
	return g
}

// flushFamily writes the points of the family being built into the
// request.
func (s *scrape) flushFamily() {
	if s.cur != nil {
		s.flushGroups()
		s.cur = nil
	}
}

// flushGroups writes the points assembled so far, and hands the request
// on once it holds enough points.
func (s *scrape) flushGroups() {
	f := s.cur
	for i := 0; i < s.ngroups; i++ {
		if s.writePoint(f, &s.groups[i]) {
			s.points++
		}
	}
	s.ngroups = 0
	clear(s.index)
	if s.points >= s.max {
		s.flushRequest(false)
	}
}

func (s *scrape) metric(f *family, e *seriesEntry) pmetric.Metric {
	res, scope := e.resource(), e.scope()
	k := metricKey{res: res, scope: scope, fam: f}
	if m, ok := s.metrics[k]; ok {
		return m
	}
	if s.metrics == nil {
		s.md = pmetric.NewMetrics()
		s.rms = map[string]pmetric.ResourceMetrics{}
		s.sms = map[scopeKey]pmetric.ScopeMetrics{}
		s.metrics = map[metricKey]pmetric.Metric{}
	}
	sk := scopeKey{res: res, scope: scope}
	sm, ok := s.sms[sk]
	if !ok {
		sm = s.resourceMetrics(res, e).ScopeMetrics().AppendEmpty()
		s.t.writeScope(scope, sm)
		s.sms[sk] = sm
	}
	m := sm.Metrics().AppendEmpty()
	m.SetName(f.name)
	m.SetDescription(f.meta.help)
	m.SetUnit(promtranslator.UnitWordToUCUM(f.meta.unit))
	m.Metadata().PutStr(promtranslator.MetricMetadataTypeKey, string(f.meta.typ))
	switch f.mtype {
	case pmetric.MetricTypeHistogram:
		m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	case pmetric.MetricTypeSummary:
		m.SetEmptySummary()
	case pmetric.MetricTypeSum:
		sum := m.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.SetIsMonotonic(f.monotonic)
	default:
		m.SetEmptyGauge()
	}
	s.metrics[k] = m
	return m
}

var staleFlags = pmetric.DefaultDataPointFlags.WithNoRecordedValue(true)

// writePoint writes g as the stock receiver's metricGroup does, and says
// whether it made a point.
func (s *scrape) writePoint(f *family, g *group) bool {
	switch f.mtype {
	case pmetric.MetricTypeHistogram:
		if !g.hasCount {
			return false
		}
		dp := s.metric(f, &g.entry).Histogram().DataPoints().AppendEmpty()
		writeHistogram(g, dp)
		startTime(g, dp.SetStartTimestamp)
		dp.SetTimestamp(msToTimestamp(g.ts))
		s.t.writeAttributes(f.mtype, &g.entry, dp.Attributes())
		writeExemplars(g.exemplars, dp.Exemplars())
	case pmetric.MetricTypeSummary:
		if !g.hasCount {
			return false
		}
		dp := s.metric(f, &g.entry).Summary().DataPoints().AppendEmpty()
		writeSummary(g, dp)
		dp.SetTimestamp(msToTimestamp(g.ts))
		startTime(g, dp.SetStartTimestamp)
		s.t.writeAttributes(f.mtype, &g.entry, dp.Attributes())
	default:
		if !g.hasValue {
			return false
		}
		m := s.metric(f, &g.entry)
		var dp pmetric.NumberDataPoint
		if f.mtype == pmetric.MetricTypeSum {
			dp = m.Sum().DataPoints().AppendEmpty()
			startTime(g, dp.SetStartTimestamp)
		} else {
			dp = m.Gauge().DataPoints().AppendEmpty()
		}
		dp.SetTimestamp(msToTimestamp(g.ts))
		if value.IsStaleNaN(g.value) {
			dp.SetFlags(staleFlags)
		} else {
			dp.SetDoubleValue(g.value)
		}
		s.t.writeAttributes(pmetric.MetricTypeGauge, &g.entry, dp.Attributes())
		writeExemplars(g.exemplars, dp.Exemplars())
	}
	return true
}

func startTime(g *group, set func(pcommon.Timestamp)) {
	// A stale series' _created is stale too: no start time then.
	if g.created != 0 && !math.IsNaN(g.created) {
		secs := int64(g.created)
		set(pcommon.Timestamp(secs*1e9 + int64((g.created-float64(secs))*1e9)))
	}
}

func msToTimestamp(ms int64) pcommon.Timestamp { return pcommon.Timestamp(ms * 1e6) }

func writeHistogram(g *group, dp pmetric.HistogramDataPoint) {
	sort.Slice(g.bounds, func(i, j int) bool { return g.bounds[i].bound < g.bounds[j].bound })
	stale := value.IsStaleNaN(g.sum) || value.IsStaleNaN(g.count)
	n := len(g.bounds) + 1
	if n > 1 && math.IsInf(g.bounds[n-2].bound, 1) {
		n-- // OTLP's last bucket is +Inf already
	}
	bounds := dp.ExplicitBounds()
	bounds.EnsureCapacity(n - 1)
	counts := dp.BucketCounts()
	counts.EnsureCapacity(n)
	for i := 0; i < n-1; i++ {
		bounds.Append(g.bounds[i].bound)
		c := g.bounds[i].value
		switch {
		case stale:
			c = 0
		case i != 0:
			c -= g.bounds[i-1].value
		}
		counts.Append(uint64(c))
	}
	last := g.count
	switch {
	case stale:
		last = 0
	case n > 1:
		last -= g.bounds[n-2].value
	}
	counts.Append(uint64(last))
	if stale {
		dp.SetFlags(staleFlags)
		return
	}
	dp.SetCount(uint64(g.count))
	if g.hasSum {
		dp.SetSum(g.sum)
	}
}

func writeSummary(g *group, dp pmetric.SummaryDataPoint) {
	sort.Slice(g.bounds, func(i, j int) bool { return g.bounds[i].bound < g.bounds[j].bound })
	stale := value.IsStaleNaN(g.sum) || value.IsStaleNaN(g.count)
	if stale {
		dp.SetFlags(staleFlags)
	} else {
		if g.hasSum {
			dp.SetSum(g.sum)
		}
		dp.SetCount(uint64(g.count))
	}
	qs := dp.QuantileValues()
	qs.EnsureCapacity(len(g.bounds))
	for _, b := range g.bounds {
		q := qs.AppendEmpty()
		if !stale {
			q.SetValue(b.value)
		}
		q.SetQuantile(b.bound)
	}
}

func writeExemplars(src []exemplar.Exemplar, dest pmetric.ExemplarSlice) {
	if len(src) == 0 {
		return
	}
	dest.EnsureCapacity(len(src))
	for _, pe := range src {
		e := dest.AppendEmpty()
		e.SetTimestamp(msToTimestamp(pe.Ts))
		e.SetDoubleValue(pe.Value)
		attrs := e.FilteredAttributes()
		attrs.EnsureCapacity(pe.Labels.Len())
		pe.Labels.Range(func(l labels.Label) {
			switch strings.ToLower(l.Name) {
			case promtranslator.ExemplarTraceIDKey:
				var id [16]byte
				if decodeID(id[:], l.Value) {
					e.SetTraceID(id)
					return
				}
			case promtranslator.ExemplarSpanIDKey:
				var id [8]byte
				if decodeID(id[:], l.Value) {
					e.SetSpanID(id)
					return
				}
			}
			attrs.PutStr(l.Name, l.Value)
		})
	}
}

// decodeID decodes a hex id into dst as the stock receiver does: a longer
// id is cut to dst's size, a shorter one right-aligned.
func decodeID(dst []byte, src string) bool {
	n := len(src) / 2
	if n >= len(dst) {
		src = src[:2*len(dst)]
	} else {
		dst = dst[len(dst)-n:]
		src = src[:2*n]
		if len(src)%2 != 0 {
			return false
		}
	}
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// flushRequest hands on the request built so far; last is the scrape's
// last.
func (s *scrape) flushRequest(last bool) {
	if s.metrics == nil {
		return
	}
	s.addTargetInfo(last)
	md := s.md
	s.md, s.rms, s.sms, s.metrics, s.points = pmetric.Metrics{}, nil, nil, nil, 0
	s.emit(md)
}

// finish marks every series the scrape did not see as stale, adds the
// report gauges and hands on the rest. err is why the scrape failed: a
// scrape that fetched nothing (fetched false) saw no sample.
func (s *scrape) finish(duration time.Duration, fetched bool, err error) {
	t := s.t
	s.flushFamily()
	type staleSeries struct {
		fam string
		e   seriesEntry
	}
	// As Prometheus: the series of the last scrape that appended any (a
	// failed one appends none) that this one lacks are stale; a successful
	// scrape forgets every series it lacks, a failed one none.
	var gone []stored
	t.series.sweep(func(st *stored) bool {
		if st.gen == s.gen {
			return false
		}
		if st.gen == t.lastAppended && !st.timestamped {
			gone = append(gone, *st)
		}
		return err == nil
	})
	t.lastAppended = s.gen
	var stale []staleSeries
	if len(gone) > 0 {
		raw, derr := t.prevBody.open()
		prev := unsafe.String(unsafe.SliceData(raw), len(raw))
		if derr != nil {
			s.t.logger.Error("The last scrape's body is lost: no stale markers for the series gone", zap.Error(derr))
			gone = nil
		}
		for _, st := range gone {
			e := st.entry(prev, 0)
			stale = append(stale, staleSeries{fam: s.resolve(e.name()).name, e: e})
		}
	}
	if s.packed.n > 0 {
		t.prevBody = s.packed
	}
	// By family, so each family's stale points are assembled in one go.
	sort.Slice(stale, func(i, j int) bool {
		if stale[i].fam != stale[j].fam {
			return stale[i].fam < stale[j].fam
		}
		return stale[i].e.name() < stale[j].e.name()
	})
	staleNaN := math.Float64frombits(value.StaleNaN)
	for i := range stale {
		s.add(&stale[i].e, s.ts, staleNaN)
	}
	s.flushFamily()

	up := 1.0
	scraped, added := s.scraped, s.added
	if err != nil {
		up = 0
	}
	if !fetched {
		scraped, added = 0, 0
	}
	values := []float64{up, duration.Seconds(), float64(scraped), float64(scraped), float64(added)}
	for i, r := range t.report {
		s.add(r, s.ts, values[i])
	}
	s.flushFamily()
	s.flushRequest(true)
	// Reused: a scrape assembles at most a request's points at once. Their
	// entries read the body (exemplars are the parser's copies): kept, the
	// next scrape's fetch would find the heap holding this body too.
	for i := range s.groups {
		s.groups[i].entry = seriesEntry{}
	}
	t.groups = s.groups

	if err == nil {
		t.meta = s.meta
		t.targetInfo = s.targetInfo
	}
}

// scopeKey names the instrumentation scope of a series' otel_scope_*
// labels; "" is the receiver's own.
func (t *target) scopeKey(ls labels.Labels) string {
	var b strings.Builder
	ls.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, promtranslator.ScopeLabelPrefix) {
			b.WriteString(l.Name)
			b.WriteByte(0xff)
			b.WriteString(l.Value)
			b.WriteByte(0xff)
		}
	})
	if b.Len() == 0 {
		return ""
	}
	key := b.String()
	if _, ok := t.scopes[key]; !ok {
		if t.scopes == nil {
			t.scopes = map[string]labels.Labels{}
		}
		t.scopes[key] = ls
	}
	return key
}

// writeScope names sm's scope after the otel_scope_* labels of key, or
// after this receiver for "".
func (t *target) writeScope(key string, sm pmetric.ScopeMetrics) {
	scope := sm.Scope()
	if key == "" {
		scope.SetName(metadata.ScopeName)
		scope.SetVersion(t.version)
		return
	}
	t.scopes[key].Range(func(l labels.Label) {
		switch l.Name {
		case promtranslator.ScopeNameLabelKey:
			scope.SetName(l.Value)
		case promtranslator.ScopeVersionLabelKey:
			scope.SetVersion(l.Value)
		case promtranslator.ScopeSchemaURLLabelKey:
			sm.SetSchemaUrl(l.Value)
		default:
			if strings.HasPrefix(l.Name, promtranslator.ScopeLabelPrefix) {
				scope.Attributes().PutStr(strings.TrimPrefix(l.Name, promtranslator.ScopeLabelPrefix), l.Value)
			}
		}
	})
}

// offsetIn returns where raw, a slice of the body, starts in it.
func offsetIn(body string, raw []byte) (int, bool) {
	if len(raw) == 0 || len(body) == 0 {
		return 0, false
	}
	off := int(uintptr(unsafe.Pointer(&raw[0])) - uintptr(unsafe.Pointer(unsafe.StringData(body))))
	return off, off >= 0 && off+len(raw) <= len(body)
}
