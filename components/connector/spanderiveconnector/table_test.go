// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// edgeTable against a Go map, with hashes crowded into a few home slots
// near the end of the table, so that probe runs wrap around and deletions
// shift entries back across the wrap.
func TestEdgeTableMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, spread := range []uint64{8, 64, 1 << 40} {
		var tab edgeTable
		ref := map[uint64]int32{}
		for step := 0; step < 200_000; step++ {
			h := tableHash(tableMinSize - 4 + r.Uint64N(spread))
			pos, found := tab.find(h)
			want, ok := ref[h]
			require.Equal(t, ok, found, "step %d hash %d", step, h)
			switch {
			case found:
				require.Equal(t, want, tab.slots[pos].idx)
				if r.IntN(2) == 0 {
					tab.delete(h)
					delete(ref, h)
				}
			case len(ref) < 3000:
				tab.insertAt(pos, h, int32(step))
				ref[h] = int32(step)
			}
			require.Equal(t, len(ref), tab.n)
		}
		for h, idx := range ref {
			pos, found := tab.find(h)
			require.True(t, found)
			require.Equal(t, idx, tab.slots[pos].idx)
		}
	}
}
