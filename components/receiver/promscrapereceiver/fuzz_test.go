// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// FuzzScrape feeds any body, as OpenMetrics or text, to two scrapes in a
// row of a target, and requires that nothing panics and that reading
// series in place gives exactly what keeping the parser's labels gives.
func FuzzScrape(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "equivalence", "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b, strings.HasSuffix(file, ".om"))
		}
	}
	f.Add([]byte("a{b=\"c\"} 1\na{b=\"c\"} 2\n"), false)
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n# EOF\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, openMetrics bool) {
		contentType := "text/plain; version=0.0.4"
		if openMetrics {
			contentType = "application/openmetrics-text; version=1.0.0"
		}
		inPlace, fromLabels := fuzzTarget(false), fuzzTarget(true)
		for scrape := range 2 {
			got := scrapeBody(inPlace, body, contentType, scrape)
			want := scrapeBody(fromLabels, body, contentType, scrape)
			require.Equal(t, want, got, "scrape %d", scrape)
		}
	})
}

func fuzzTarget(labelsOnly bool) *target {
	sc := &ScrapeConfig{JobName: "app", StaticConfigs: []StaticConfig{{Targets: []string{"127.0.0.1:1"}}}}
	t := newTarget(sc, &Config{}, "127.0.0.1:1", map[string]string{"team": "x"}, "test", zap.NewNop())
	t.labelsOnly = labelsOnly
	return t
}

// scrapeBody runs one scrape of body and returns its points, one line
// each, sorted.
func scrapeBody(t *target, body []byte, contentType string, n int) []string {
	var lines []string
	emit := func(md pmetric.Metrics) {
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			res := attrText(rms.At(i).Resource().Attributes())
			for j := 0; j < rms.At(i).ScopeMetrics().Len(); j++ {
				ms := rms.At(i).ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					lines = append(lines, pointLines(res, ms.At(k))...)
				}
			}
		}
	}
	s := t.begin(time.UnixMilli(int64(1e12)+int64(n)*1000), 3, emit)
	err := s.parse(append([]byte(nil), body...), contentType)
	s.finish(time.Millisecond, true, err)
	sort.Strings(lines)
	return lines
}

func attrText(m pcommon.Map) string {
	var kv []string
	m.Range(func(k string, v pcommon.Value) bool {
		kv = append(kv, k+"="+v.AsString())
		return true
	})
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func pointLines(res string, m pmetric.Metric) []string {
	head := fmt.Sprintf("%s|%s|%s|%s|%s", res, m.Name(), m.Type(), m.Unit(), m.Description())
	var out []string
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		var dps pmetric.NumberDataPointSlice
		if m.Type() == pmetric.MetricTypeSum {
			dps = m.Sum().DataPoints()
		} else {
			dps = m.Gauge().DataPoints()
		}
		for i := 0; i < dps.Len(); i++ {
			p := dps.At(i)
			v := p.DoubleValue()
			if m.Name() == "scrape_duration_seconds" {
				v = 0
			}
			out = append(out, fmt.Sprintf("%s|%s|%d|%d|%v|%d", head, attrText(p.Attributes()), p.StartTimestamp(), p.Timestamp(), v, p.Flags()))
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p := dps.At(i)
			out = append(out, fmt.Sprintf("%s|%s|%d|%v|%v|%v|%d", head, attrText(p.Attributes()), p.Count(), p.Sum(),
				p.ExplicitBounds().AsRaw(), p.BucketCounts().AsRaw(), p.Flags()))
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p := dps.At(i)
			out = append(out, fmt.Sprintf("%s|%s|%d|%v|%d", head, attrText(p.Attributes()), p.Count(), p.Sum(), p.QuantileValues().Len()))
		}
	}
	return out
}
