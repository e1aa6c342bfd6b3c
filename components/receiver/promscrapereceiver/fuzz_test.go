// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"os"
	"path/filepath"
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

// scrapeBody runs one scrape of body and returns its points as the
// equivalence test writes them.
func scrapeBody(t *target, body []byte, contentType string, n int) []string {
	var reqs []pmetric.Metrics
	at := time.UnixMilli(int64(1e12) + int64(n)*1000)
	s := t.begin(at, 3, func(md pmetric.Metrics) { reqs = append(reqs, md) })
	err := s.parse(append([]byte(nil), body...), contentType)
	s.finish(time.Millisecond, true, err)
	return canonicalScrape(reqs, pcommon.NewTimestampFromTime(at), "1")
}
