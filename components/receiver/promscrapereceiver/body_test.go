// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every exposition of the equivalence test, read and parsed in chunks of
// every size up to longer than its lines, gives what it gives whole:
// scraped twice, and followed by one that lacks some of its series (the
// stale markers read the last body's chunks).
func TestChunkedScrapesAsWhole(t *testing.T) {
	for _, file := range equivalenceFiles(t) {
		first, err := os.ReadFile(file)
		require.NoError(t, err)
		contentType := expositionType(strings.HasSuffix(file, ".om"))
		stale, err := os.ReadFile(filepath.Join("testdata", "equivalence", "stale_2"+filepath.Ext(file)))
		require.NoError(t, err)
		bodies := [][]byte{first, first, stale}
		want := make([][]string, len(bodies))
		wholeTarget := fuzzTarget(false)
		for i, b := range bodies {
			want[i] = scrapeBody(wholeTarget, b, contentType, i)
		}
		for _, size := range append(sizesUpTo(48), 97, 256, 1000) {
			whole, chunked := fuzzTarget(false), fuzzTarget(false)
			chunked.chunk = size
			for i, b := range bodies {
				scrapeBody(whole, b, contentType, i)
				require.Equal(t, want[i], scrapeBody(chunked, b, contentType, i), "%s, chunks of %d bytes, scrape %d", file, size, i)
				// Read in place as often, not from the parser's labels.
				require.Equal(t, countSlow(whole), countSlow(chunked), "%s, chunks of %d bytes, scrape %d", file, size, i)
			}
		}
	}
}

func sizesUpTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// countSlow counts the series t keeps the labels of.
func countSlow(t *target) int {
	n := 0
	t.series.sweep(func(st *stored) bool {
		if st.slow != nil {
			n++
		}
		return false
	})
	return n
}
