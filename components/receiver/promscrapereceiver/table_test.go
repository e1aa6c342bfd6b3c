// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"math/rand/v2"
	"testing"
)

// The table against a Go map under random puts, gets and sweeps, with
// keys drawn from a small set so that entries collide, wrap around the
// end of the array and are moved back on removal; 0 is one of the keys.
func TestSeriesTableAgainstMap(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, seed))
		keys := make([]uint64, 50+rng.IntN(3000))
		for i := range keys {
			keys[i] = rng.Uint64()
		}
		keys[0] = 0
		var tab seriesTable
		want := map[uint64]stored{}
		check := func(op string) {
			t.Helper()
			if tab.len() != len(want) {
				t.Fatalf("seed %d after %s: %d series, want %d", seed, op, tab.len(), len(want))
			}
			for _, k := range keys {
				var got stored
				ref := tab.ref(k)
				if ref != nil {
					got = *ref
				}
				w, wok := want[k]
				if (ref != nil) != wok || got != w {
					t.Fatalf("seed %d after %s: ref(%x) = %+v %v, want %+v %v", seed, op, k, got, ref != nil, w, wok)
				}
			}
			if n := len(tab.slots); n > minSlots && tab.len()*10 > n*maxLoad {
				t.Fatalf("seed %d after %s: %d series in %d slots", seed, op, tab.len(), n)
			}
		}
		for step := range 300 {
			switch rng.IntN(4) {
			case 0, 1: // a burst of puts, new and known
				for range rng.IntN(len(keys)) {
					k := keys[rng.IntN(len(keys))]
					st := stored{gen: uint32(step), off: rng.Uint32()}
					tab.put(k, st)
					want[k] = st
				}
				check("put")
			case 2: // sweep a random part, as finish forgets series a scrape lacked
				cut := rng.Uint32()
				tab.sweep(func(st *stored) bool { return st.off < cut })
				for k, st := range want {
					if st.off < cut {
						delete(want, k)
					}
				}
				check("sweep")
			case 3: // the sweep's function sees every series once
				seen := 0
				tab.sweep(func(*stored) bool { seen++; return false })
				if seen != len(want) {
					t.Fatalf("seed %d: sweep saw %d series of %d", seed, seen, len(want))
				}
			}
		}
	}
}

// A scrape with many more series than usual does not keep its room once
// the series are gone.
func TestSeriesTableShrinks(t *testing.T) {
	var tab seriesTable
	for i := range uint64(100_000) {
		tab.put(i*0x9e3779b97f4a7c15, stored{gen: 1})
	}
	big := len(tab.slots)
	tab.sweep(func(st *stored) bool { return true })
	if tab.len() != 0 || len(tab.slots) != minSlots {
		t.Fatalf("after forgetting every series: %d series in %d slots (was %d)", tab.len(), len(tab.slots), big)
	}
	if tab.ref(0x9e3779b97f4a7c15) != nil {
		t.Fatal("a forgotten series is still found")
	}
}
