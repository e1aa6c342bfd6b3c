// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	promtranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/prometheus"
)

// stored is what the receiver keeps of a series between scrapes, found
// again by the hash of its text as exposed, so a known series is never
// parsed into labels a second time. It holds no strings: the series' text
// is where it was in the body of the scrape that saw it last (off, n), and
// that body is kept until the next scrape has marked what is gone stale.
type stored struct {
	ghash       uint64
	slow        *slowSeries
	off, n      uint32
	gen         uint32 // the scrape that saw it last
	attrs       uint16
	gtype       uint8 // a pmetric.MetricType, in a byte: 32 bytes in all
	timestamped bool
}

// seriesEntry is a series as one scrape handles it.
//
// Most series are their text alone (raw): name{a="x",b="y"}, whose label
// names and values are read in place, into the points' attributes too. A
// series the text cannot stand for keeps its labels instead (slow): one
// with an escape or a quoted name, a label that collides with a target
// label, or otel_scope_* labels.
type seriesEntry struct {
	raw  string
	slow *slowSeries
	// ghash identifies the series' data point within its family (a
	// histogram's buckets share one), for a family of type gtype.
	ghash uint64
	gtype pmetric.MetricType
	// attrs is how many of its own labels become attributes, for gtype.
	attrs uint16
}

// entry reads the series from body, the part of the scrape's body from
// base on.
func (st *stored) entry(body string, base int) seriesEntry {
	e := seriesEntry{slow: st.slow, ghash: st.ghash, gtype: pmetric.MetricType(st.gtype), attrs: st.attrs}
	if st.slow == nil {
		off := int(st.off) - base
		e.raw = body[off : off+int(st.n)]
	}
	return e
}

type slowSeries struct {
	ls    labels.Labels // with the target's labels applied
	name  string
	scope string // scopeKey of its otel_scope_* labels
	// res is "" when the series' job and instance are the target's, and
	// names them otherwise (honor_labels kept the scraped ones).
	res string
}

func (e *seriesEntry) name() string {
	if e.slow != nil {
		return e.slow.name
	}
	if i := strings.IndexByte(e.raw, '{'); i >= 0 {
		return e.raw[:i]
	}
	return e.raw
}

func (e *seriesEntry) resource() string {
	if e.slow != nil {
		return e.slow.res
	}
	return ""
}

func (e *seriesEntry) scope() string {
	if e.slow != nil {
		return e.slow.scope
	}
	return ""
}

// rangeRaw calls f with each label of a series' text, in the order
// exposed, and says whether the text was well formed.
func rangeRaw(raw string, f func(name, value string)) bool {
	i := strings.IndexByte(raw, '{')
	if i < 0 {
		return true
	}
	s := raw[i+1:]
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "}") {
			return strings.TrimSpace(s[1:]) == ""
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return false
		}
		name := strings.TrimRight(s[:eq], " \t")
		s = strings.TrimLeft(s[eq+1:], " \t")
		if !strings.HasPrefix(s, `"`) {
			return false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return false
		}
		f(name, s[1:1+end])
		s = strings.TrimLeft(s[2+end:], " \t")
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		}
	}
}

// label returns the value of a series' label.
func (e *seriesEntry) label(name string) string {
	if e.slow != nil {
		return e.slow.ls.Get(name)
	}
	v := ""
	rangeRaw(e.raw, func(n, value string) {
		if n == name {
			v = value
		}
	})
	return v
}

// newSlow returns nil when a series seen for the first time can be read
// from its text (raw) alone, and its labels otherwise: ls as the parser
// read them, with the target's applied.
func (t *target) newSlow(raw string, ls labels.Labels, mtype pmetric.MetricType) *slowSeries {
	if t.readable(raw, ls, mtype) {
		return nil
	}
	return t.slowSeries(ls)
}

func (t *target) slowSeries(ls labels.Labels) *slowSeries {
	ls = t.applyTargetLabels(ls)
	slow := &slowSeries{ls: ls, name: ls.Get(model.MetricNameLabel), scope: t.scopeKey(ls)}
	if job, instance := ls.Get(model.JobLabel), ls.Get(model.InstanceLabel); job != t.job || instance != t.instance {
		slow.res = job + "\xff" + instance
	}
	return slow
}

// readable says whether reading a series' text in place gives exactly the
// labels the parser gave, with no target label to rename.
//
// The parser writes a histogram's le and a summary's quantile as
// OpenMetrics floats ("1" as "1.0"); such a label may differ in its text
// when the family's type (mtype) keeps it out of the attributes.
func (t *target) readable(raw string, ls labels.Labels, mtype pmetric.MetricType) bool {
	if t.labelsOnly || len(raw) == 0 || raw[0] == '{' || raw[0] == '"' || strings.ContainsRune(raw, '\\') {
		return false
	}
	name := ls.Get(model.MetricNameLabel)
	if name == promtranslator.TargetInfoMetricName {
		return false
	}
	e := seriesEntry{raw: raw}
	if e.name() != name {
		return false
	}
	n, same := 0, true
	ok := rangeRaw(e.raw, func(label, value string) {
		n++
		if (ls.Get(label) != value && !sameBound(label, value, ls.Get(label), mtype)) || t.labels.Has(label) || strings.HasPrefix(label, promtranslator.ScopeLabelPrefix) ||
			strings.HasPrefix(label, model.ReservedLabelPrefix) {
			same = false
		}
	})
	return ok && same && n == ls.Len()-1
}

// applyTargetLabels adds the target's labels to a scraped series as
// Prometheus does before storing it.
func (t *target) applyTargetLabels(ls labels.Labels) labels.Labels {
	b := labels.NewBuilder(ls)
	if t.honorLabels {
		t.labels.Range(func(l labels.Label) {
			if !ls.Has(l.Name) {
				b.Set(l.Name, l.Value)
			}
		})
		return b.Labels()
	}
	var conflicts []labels.Label
	t.labels.Range(func(l labels.Label) {
		if v := ls.Get(l.Name); v != "" {
			conflicts = append(conflicts, labels.Label{Name: l.Name, Value: v})
		}
		b.Set(l.Name, l.Value)
	})
	sort.SliceStable(conflicts, func(i, j int) bool { return len(conflicts[i].Name) < len(conflicts[j].Name) })
	for _, l := range conflicts {
		for n := l.Name; ; {
			n = model.ExportedLabelPrefix + n
			if b.Get(n) == "" {
				b.Set(n, l.Value)
				break
			}
		}
	}
	return b.Labels()
}

// setGroup identifies a sample's data point: its labels that are not
// empty, without the name, the target's job and instance (the same for
// every series of a target), and a histogram's le or a summary's
// quantile. The otel_scope_* labels stay in: the same labels in two
// scopes are two points.
//
// The hash is a sum over the labels, so a series read from its text (in
// the order exposed, the target's labels apart) and one kept as labels
// (sorted, the target's applied) hash alike.
func (t *target) setGroup(e *seriesEntry, mtype pmetric.MetricType) {
	skip := notUseful(mtype)
	var sum uint64
	e.attrs = 0
	add := func(name, value string) {
		// An empty label is no label to Prometheus: x{a=""} is x{}.
		if value == "" || isNotUseful(skip, name) {
			return
		}
		e.attrs++
		sum += labelHash(name, value)
	}
	if e.slow != nil {
		e.slow.ls.Range(func(l labels.Label) { add(l.Name, l.Value) })
	} else {
		rangeRaw(e.raw, add)
		attrs := e.attrs
		t.labels.Range(func(l labels.Label) { add(l.Name, l.Value) })
		e.attrs = attrs // the target's are counted apart (staticLabels)
	}
	e.ghash = sum | 1 // never 0, which means "not hashed yet"
	e.gtype = mtype
}

func labelHash(name, value string) uint64 {
	var buf [128]byte
	b := append(append(append(buf[:0], name...), 0xff), value...)
	return xxhash.Sum64(b)
}

// writeAttributes writes a point's labels, without those that name the
// target or the metric, the scope's, and empty ones.
func (t *target) writeAttributes(mtype pmetric.MetricType, e *seriesEntry, dest pcommon.Map) {
	skip := notUseful(mtype)
	put := func(name, value string) {
		if value == "" || isNotUseful(skip, name) || strings.HasPrefix(name, promtranslator.ScopeLabelPrefix) {
			return
		}
		dest.PutStr(name, value)
	}
	if e.slow != nil {
		dest.EnsureCapacity(e.slow.ls.Len())
		e.slow.ls.Range(func(l labels.Label) { put(l.Name, l.Value) })
		return
	}
	dest.EnsureCapacity(int(e.attrs) + t.staticLabels)
	rangeRaw(e.raw, put)
	t.labels.Range(func(l labels.Label) { put(l.Name, l.Value) })
}

func sameBound(label, a, b string, mtype pmetric.MetricType) bool {
	if !(label == model.BucketLabel && mtype == pmetric.MetricTypeHistogram) &&
		!(label == model.QuantileLabel && mtype == pmetric.MetricTypeSummary) {
		return false
	}
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	return errA == nil && errB == nil && x == y
}
