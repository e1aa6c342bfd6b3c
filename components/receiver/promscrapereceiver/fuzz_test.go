// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"bytes"
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
// series in place, from chunks of any size, gives exactly what keeping the
// parser's labels of the whole body gives.
func FuzzScrape(f *testing.F) {
	for _, file := range equivalenceFiles(f) {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b, strings.HasSuffix(file, ".om"), uint16(len(b)/3))
		}
	}
	f.Add([]byte("a{b=\"c\"} 1\na{b=\"c\"} 2\n"), false, uint16(0))
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n# EOF\n"), true, uint16(20))
	// Chunked, these parsed otherwise than whole: a line break within a
	// label value, a NUL (where the text lexer stops), a chunk with no
	// room for the line break the text parser appends.
	f.Add([]byte("A{A=\"\n\"}0"), false, uint16(0))
	f.Add([]byte("#00\x0000\"0\"\n0000000"), false, uint16(9))
	f.Add([]byte("# TYPE A histogram\nB{le=\"0\"}0"), false, uint16(0))
	f.Fuzz(func(t *testing.T, body []byte, openMetrics bool, chunk uint16) {
		contentType := expositionType(openMetrics)
		inPlace, fromLabels := fuzzTarget(false), fuzzTarget(true)
		inPlace.chunk = 1 + int(chunk)%512
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
	err := s.parse(packed(body, t.chunk), contentType)
	s.finish(time.Millisecond, true, err)
	return canonicalScrape(reqs, pcommon.NewTimestampFromTime(at), "1")
}

// equivalenceFiles are the expositions the equivalence test compares.
func equivalenceFiles(tb testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "equivalence", "*"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	return files
}

// packed is body as a fetch in chunks of size bytes packs it.
func packed(body []byte, size int) packedBody {
	var b packedBody
	if err := b.readFrom(bytes.NewReader(body), size, 0); err != nil {
		panic(err) // a bytes.Reader does not fail
	}
	return b
}
